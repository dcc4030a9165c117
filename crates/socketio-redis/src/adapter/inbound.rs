//! What the adapter receives from Redis: broadcasts from the other nodes, their
//! requests (answered here), and the responses to ours.

use std::sync::Weak;

use fred::types::Message;
use futures_util::StreamExt;

use super::*;

/// Reads what Redis delivers, in order, until the adapter is dropped.
pub(super) async fn receive(
    inner: Weak<Inner>,
    mut messages: tokio::sync::broadcast::Receiver<Message>,
) {
    loop {
        let message = match messages.recv().await {
            Ok(message) => message,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                tracing::error!(missed, "Redis messages dropped: the adapter fell behind");
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        let Some(inner) = inner.upgrade() else { return };
        let Some(payload) = message.value.as_bytes() else {
            tracing::debug!(channel = %message.channel, "non-binary Redis message ignored");
            continue;
        };
        let channel: &str = &message.channel;
        on_message(&inner, channel, payload);
    }
}

pub(super) fn on_message(inner: &Arc<Inner>, channel: &str, payload: &[u8]) {
    if inner.config.mode.is_cluster() {
        return cluster::on_message(inner, channel, payload);
    }
    let key = inner.key();
    if let Some(rest) = channel.strip_prefix(key) {
        if let Some(ns) = rest
            .strip_prefix("-request#")
            .and_then(|ns| ns.strip_suffix('#'))
        {
            return on_request(inner, ns, payload);
        }
        if rest.starts_with("-response#") {
            return on_response(inner, payload);
        }
    }
    if let Some((ns, room)) = inner.broadcast_target(channel) {
        on_broadcast(inner, &ns, room, payload);
    }
}

pub(super) fn on_broadcast(inner: &Inner, ns: &str, room: &str, payload: &[u8]) {
    tracing::trace!(ns, room, "broadcast received");
    // Node drops a room broadcast for a room it does not hold before decoding it: with
    // connection state recovery on, every emit to one socket comes this way.
    if !room.is_empty() && !inner.room_is_local(ns, room) {
        return;
    }
    let Some(broadcast) = wire::decode_broadcast(payload) else {
        tracing::warn!(ns, "undecodable broadcast ignored");
        return;
    };
    if broadcast.uid == inner.uid || broadcast.nsp != ns {
        return;
    }
    let Some(server) = inner.server() else { return };
    let mut data = broadcast.data.into_iter();
    let Some(Value::String(event)) = data.next() else {
        return;
    };
    let args = Args::from_values(data.collect());
    match server.deliver_local(ns, &event, args, &broadcast.opts) {
        Ok(delivery) => tracing::trace!(ns, event, ?delivery, "broadcast from another node"),
        Err(err) => tracing::warn!(ns, %err, "broadcast from another node not delivered"),
    }
}

pub(super) fn on_request(inner: &Arc<Inner>, ns: &str, payload: &[u8]) {
    let Some(request) = wire::decode_object(payload) else {
        tracing::warn!(ns, "undecodable request ignored");
        return;
    };
    let Some(kind) = wire::u64_field(&request, "type") else {
        tracing::warn!(ns, "request without a type ignored");
        return;
    };
    let request_id = wire::str_field(&request, "requestId").map(str::to_owned);
    let uid = wire::str_field(&request, "uid");
    let ours = request_id
        .as_deref()
        .is_some_and(|id| inner.requests().contains_key(id));
    let Some(server) = inner.server() else { return };
    let opts = match request.get("opts") {
        None => BroadcastOptions::default(),
        Some(_) => match wire::message_opts(&request) {
            Some(opts) => opts,
            None => {
                tracing::warn!(ns, kind, "request with malformed opts ignored");
                return;
            }
        },
    };
    let reply_channel = match uid {
        Some(uid) if inner.config.publish_on_specific_response_channel => {
            format!("{}-response#{ns}#{uid}#", inner.key())
        }
        _ => inner.response_channel(ns),
    };
    let reply = |payload: Vec<u8>, channel: String| {
        let inner = Arc::clone(inner);
        inner.runtime.clone().spawn(async move {
            if let Err(err) = inner.publish(channel, payload).await {
                tracing::warn!(%err, "response not sent");
            }
        });
    };
    match kind {
        kind::SOCKETS | kind::ALL_ROOMS | kind::REMOTE_FETCH if !ours => {
            let Some(request_id) = request_id else { return };
            let body = match kind {
                kind::SOCKETS => {
                    let opts = BroadcastOptions {
                        rooms: wire::room_list(request.get("rooms")),
                        ..BroadcastOptions::default()
                    };
                    let sockets: Vec<String> = server
                        .local_sockets_info(ns, &opts)
                        .into_iter()
                        .map(|socket| socket.id.to_string())
                        .collect();
                    serde_json::json!({ "requestId": request_id, "sockets": sockets })
                }
                kind::ALL_ROOMS => {
                    let rooms: Vec<String> = inner
                        .local
                        .local_rooms(ns)
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    serde_json::json!({ "requestId": request_id, "rooms": rooms })
                }
                _ => {
                    let sockets: Vec<serde_json::Value> = server
                        .local_sockets_info(ns, &opts)
                        .iter()
                        .map(|socket| {
                            serde_json::json!({
                                "id": &*socket.id,
                                "rooms": socket.rooms.iter().map(|r| &**r).collect::<Vec<&str>>(),
                                "data": wire::to_json(&socket.data),
                            })
                        })
                        .collect();
                    serde_json::json!({ "requestId": request_id, "sockets": sockets })
                }
            };
            reply(wire::json(body), reply_channel);
        }
        kind::REMOTE_JOIN | kind::REMOTE_LEAVE | kind::REMOTE_DISCONNECT => {
            // Our own requests were applied here before they were published.
            if uid == Some(inner.uid.as_str()) {
                return;
            }
            if !request.contains_key("opts") {
                return legacy_socket_request(inner, &server, ns, kind, &request, reply_channel);
            }
            let rooms = wire::room_list(request.get("rooms"));
            match kind {
                kind::REMOTE_JOIN => server.local_join(ns, &opts, &rooms),
                kind::REMOTE_LEAVE => server.local_leave(ns, &opts, &rooms),
                _ => {
                    let close = matches!(request.get("close"), Some(Value::Bool(true)));
                    server.local_disconnect(ns, &opts, close);
                }
            }
        }
        kind::SERVER_SIDE_EMIT => {
            if uid == Some(inner.uid.as_str()) {
                return;
            }
            let Some(Value::Array(data)) = request.get("data") else {
                return;
            };
            let answer = inner.server_event(ns, data.iter().cloned(), request_id.is_some());
            if let (Some(answer), Some(request_id)) = (answer, request_id) {
                let inner = Arc::clone(inner);
                let channel = inner.response_channel(ns);
                inner.runtime.clone().spawn(async move {
                    let Ok(value) = answer.await else { return };
                    let body = serde_json::json!({
                        "type": kind::SERVER_SIDE_EMIT,
                        "requestId": request_id,
                        "data": wire::to_json(&value),
                    });
                    if let Err(err) = inner.publish(channel, wire::json(body)).await {
                        tracing::warn!(%err, "server-side acknowledgement not sent");
                    }
                });
            }
        }
        kind::BROADCAST if !ours => {
            let Some(request_id) = request_id else { return };
            let Some(Value::Object(packet)) = request.get("packet") else {
                return;
            };
            let Some((nsp, data)) = wire::read_packet(packet) else {
                return;
            };
            if nsp != ns {
                return;
            }
            let mut data = data.into_iter();
            let Some(Value::String(event)) = data.next() else {
                return;
            };
            let timeout = opts.timeout.unwrap_or(inner.config.requests_timeout);
            let Some(handle) = inner.server.get() else {
                return;
            };
            let delivered = match handle.deliver_local_with_ack(
                ns,
                &event,
                Args::from_values(data.collect()),
                &opts,
                timeout,
            ) {
                Some(Ok(delivered)) => Some(delivered),
                Some(Err(err)) => {
                    tracing::warn!(%err, "broadcast with acknowledgements not delivered");
                    None
                }
                None => None,
            };
            let inner = Arc::clone(inner);
            inner.runtime.clone().spawn(async move {
                let (count, acks) = match delivered {
                    Some((count, acks)) => (count, Some(acks)),
                    None => (0, None),
                };
                // The count first, even when it is 0: the requester waits for one from
                // every server.
                let body = serde_json::json!({
                    "type": kind::BROADCAST_CLIENT_COUNT,
                    "requestId": request_id,
                    "clientCount": count,
                });
                if let Err(err) = inner.publish(reply_channel.clone(), wire::json(body)).await {
                    tracing::warn!(%err, "client count not sent");
                }
                let Some(mut acks) = acks else { return };
                while let Some(ack) = acks.next().await {
                    // Only the first argument of an acknowledgement crosses, as in Node.
                    let Ok(args) = ack.answer else { continue };
                    let first = args
                        .into_values()
                        .ok()
                        .and_then(|values| values.into_iter().next())
                        .unwrap_or(Value::Null);
                    let payload = wire::encode_broadcast_ack(&request_id, &first);
                    if let Err(err) = inner.publish(reply_channel.clone(), payload).await {
                        tracing::warn!(%err, "acknowledgement not sent");
                    }
                }
            });
        }
        kind::SOCKETS | kind::ALL_ROOMS | kind::REMOTE_FETCH | kind::BROADCAST => {}
        other => tracing::debug!(ns, kind = other, "unknown request type ignored"),
    }
}

/// The pre-8 form of join / leave / disconnect: `{sid, room}` for one local socket,
/// answered with `{requestId}`.
pub(super) fn legacy_socket_request(
    inner: &Arc<Inner>,
    server: &socketio_server::SocketIo,
    ns: &str,
    kind: u64,
    request: &std::collections::BTreeMap<String, Value>,
    reply_channel: String,
) {
    let Some(sid) = wire::str_field(request, "sid") else {
        return;
    };
    let Some(socket) = server.sockets(ns).into_iter().find(|s| s.id() == sid) else {
        return;
    };
    match (kind, wire::str_field(request, "room")) {
        (kind::REMOTE_JOIN, Some(room)) => socket.join(room),
        (kind::REMOTE_LEAVE, Some(room)) => socket.leave(room),
        (kind::REMOTE_DISCONNECT, _) => {
            if matches!(request.get("close"), Some(Value::Bool(true))) {
                socket.close_connection();
            } else {
                let _ = socket.disconnect();
            }
        }
        _ => return,
    }
    if let Some(request_id) = wire::str_field(request, "requestId") {
        let body = wire::json(serde_json::json!({ "requestId": request_id }));
        let inner = Arc::clone(inner);
        inner.runtime.clone().spawn(async move {
            let _ = inner.publish(reply_channel, body).await;
        });
    }
}

pub(super) fn on_response(inner: &Inner, payload: &[u8]) {
    let Some(response) = wire::decode_object(payload) else {
        tracing::warn!("undecodable response ignored");
        return;
    };
    handle_response(inner, &response);
}

/// A response in the classic shape (`ClusterAdapter` responses are translated to it).
pub(super) fn handle_response(inner: &Inner, response: &std::collections::BTreeMap<String, Value>) {
    let Some(request_id) = wire::str_field(response, "requestId") else {
        return;
    };
    let mut requests = inner.requests();
    let Some(pending) = requests.get_mut(request_id) else {
        // Another server's request, or one of ours that timed out.
        return;
    };
    let finished = match pending {
        Pending::Rooms {
            expected,
            got,
            rooms,
            done,
        } => {
            *got += 1;
            rooms.extend(wire::room_list(response.get("rooms")));
            if *got >= *expected {
                if let Some(done) = done.take() {
                    let _ = done.send(std::mem::take(rooms));
                }
                true
            } else {
                false
            }
        }
        Pending::Fetch {
            ns,
            expected,
            got,
            sockets,
            done,
        } => {
            *got += 1;
            if let Some(Value::Array(found)) = response.get("sockets") {
                sockets.extend(found.iter().filter_map(|socket| socket_info(ns, socket)));
            }
            if *got >= *expected {
                if let Some(done) = done.take() {
                    let _ = done.send(std::mem::take(sockets));
                }
                true
            } else {
                false
            }
        }
        Pending::ServerSide {
            expected,
            answers,
            done,
        } => {
            if wire::u64_field(response, "type") != Some(kind::SERVER_SIDE_EMIT) {
                return;
            }
            let data = response.get("data").cloned().unwrap_or(Value::Null);
            answers.push(Args::from_values(vec![data]));
            if answers.len() >= *expected {
                if let Some(done) = done.take() {
                    let _ = done.send(std::mem::take(answers));
                }
                true
            } else {
                false
            }
        }
        Pending::Acks {
            servers,
            counted,
            clients,
            counts,
            acks,
        } => {
            match wire::u64_field(response, "type") {
                Some(kind::BROADCAST_CLIENT_COUNT) => {
                    *counted += 1;
                    *clients += wire::u64_field(response, "clientCount")
                        .and_then(|n| usize::try_from(n).ok())
                        .unwrap_or(0);
                    if *counted >= *servers {
                        if let Some(counts) = counts.take() {
                            let _ = counts.send(*clients);
                        }
                    }
                }
                Some(kind::BROADCAST_ACK) => {
                    let packet = response.get("packet").cloned().unwrap_or(Value::Null);
                    let _ = acks.send(Args::from_values(vec![packet]));
                }
                _ => {}
            }
            // Removed when its timeout passes: acknowledgements may still come.
            false
        }
    };
    if finished {
        requests.remove(request_id);
    }
}
