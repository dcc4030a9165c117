//! The `ClusterAdapter` protocol of Node's socket.io-adapter, which the sharded Redis
//! adapter (`createShardedAdapter` of `@socket.io/redis-adapter` 8.2+, over SPUBLISH)
//! and the streams adapter (`@socket.io/redis-streams-adapter` 0.3) speak.
//!
//! Every message is `{type, data, uid, nsp}`. The sharded adapter sends JSON, or msgpack
//! when a message that can carry binary does; the streams adapter sends msgpack on
//! pub/sub and puts its durable messages in a stream (see `streams`). Each namespace
//! has a main channel `<key>#<ns>#` and a response channel per node
//! `<key>#<ns>#<uid>#`.

use std::{collections::BTreeMap, sync::Arc};

use futures_util::StreamExt;
use socketio_core::{Args, Value};
use socketio_server::adapter::BroadcastOptions;

use super::{Inner, inbound::handle_response};
use crate::{
    msgpack,
    wire::{self, kind},
};

/// `MessageType` of socket.io-adapter's `ClusterAdapter`.
pub(super) mod message {
    pub(crate) const BROADCAST: u64 = 3;
    pub(crate) const SOCKETS_JOIN: u64 = 4;
    pub(crate) const SOCKETS_LEAVE: u64 = 5;
    pub(crate) const DISCONNECT_SOCKETS: u64 = 6;
    pub(crate) const FETCH_SOCKETS: u64 = 7;
    pub(crate) const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 9;
    pub(crate) const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub(crate) const BROADCAST_ACK: u64 = 12;
}

/// Sixteen hex characters, as `randomBytes(8).toString("hex")`.
pub(super) fn uid() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The envelope `{type, data, uid, nsp}`, msgpack when its type may carry binary and it
/// does, JSON otherwise (as Node encodes it).
/// The envelope as this mode sends it on pub/sub: in streams mode always msgpack (what
/// Node's streams adapter reads there).
pub(super) fn encode(inner: &Inner, ns: &str, kind: u64, data: Value) -> Vec<u8> {
    let packed = inner.config.mode == crate::AdapterMode::Streams;
    envelope(&inner.uid, ns, kind, data, packed)
}

/// Whether messages of this type may carry binary, which Node then packs.
pub(super) fn may_carry_binary(kind: u64) -> bool {
    matches!(
        kind,
        message::BROADCAST
            | message::FETCH_SOCKETS_RESPONSE
            | message::SERVER_SIDE_EMIT
            | message::SERVER_SIDE_EMIT_RESPONSE
            | message::BROADCAST_ACK
    )
}

fn envelope(uid: &str, ns: &str, kind: u64, data: Value, packed: bool) -> Vec<u8> {
    let binary = packed || (may_carry_binary(kind) && data.has_binary());
    let mut envelope = BTreeMap::new();
    envelope.insert("type".to_owned(), Value::from(kind));
    envelope.insert("data".to_owned(), data);
    envelope.insert("uid".to_owned(), Value::from(uid));
    envelope.insert("nsp".to_owned(), Value::from(ns));
    let envelope = Value::Object(envelope);
    if binary {
        msgpack::encode(&msgpack::to_msgpack(&envelope))
    } else {
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

/// `{rooms, except, flags}`.
pub(super) fn opts(opts: &BroadcastOptions, timeout_ms: Option<u64>) -> Value {
    let mut flags = Vec::new();
    if opts.volatile {
        flags.push(("volatile", Value::Bool(true)));
    }
    if let Some(ms) = timeout_ms {
        flags.push(("timeout", Value::from(ms)));
    }
    wire::object(vec![
        ("rooms", wire::room_values(&opts.rooms)),
        ("except", wire::room_values(&opts.except)),
        ("flags", wire::object(flags)),
    ])
}

/// The packet object, without `nsp` as Node's sharded adapter publishes it.
pub(super) fn packet(event: &str, args: Vec<Value>) -> Value {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::from(event));
    data.extend(args);
    wire::object(vec![
        ("type", Value::from(2u64)),
        ("data", Value::Array(data)),
    ])
}

pub(super) fn on_message(inner: &Arc<Inner>, channel: &str, payload: &[u8]) {
    let Some((ns, rest)) = inner.broadcast_target(channel) else {
        return;
    };
    let Some(envelope) = wire::decode_object(payload) else {
        tracing::warn!(ns, "undecodable message ignored");
        return;
    };
    let Some(kind) = wire::u64_field(&envelope, "type") else {
        tracing::warn!(ns, "message without a type ignored");
        return;
    };
    let data = match envelope.get("data") {
        Some(Value::Object(data)) => data.clone(),
        _ => BTreeMap::new(),
    };
    let is_response = matches!(
        kind,
        message::FETCH_SOCKETS_RESPONSE
            | message::SERVER_SIDE_EMIT_RESPONSE
            | message::BROADCAST_CLIENT_COUNT
            | message::BROADCAST_ACK
    );
    if is_response {
        // On our own channel, or (as Node routes them) on the main one.
        if rest.is_empty() || rest == inner.uid {
            on_response(inner, kind, &data);
        }
        return;
    }
    let uid = wire::str_field(&envelope, "uid").unwrap_or_default();
    if uid == inner.uid || wire::str_field(&envelope, "nsp") != Some(ns.as_str()) {
        return;
    }
    on_request(inner, &ns, kind, uid, &data, None);
}

/// A response translated to the classic shape that [`handle_response`] reads.
fn on_response(inner: &Inner, kind: u64, data: &BTreeMap<String, Value>) {
    let mut response = BTreeMap::new();
    if let Some(id) = data.get("requestId") {
        response.insert("requestId".to_owned(), id.clone());
    }
    let packet = data.get("packet").cloned().unwrap_or(Value::Null);
    match kind {
        message::FETCH_SOCKETS_RESPONSE => {
            if let Some(sockets) = data.get("sockets") {
                response.insert("sockets".to_owned(), sockets.clone());
            }
        }
        message::SERVER_SIDE_EMIT_RESPONSE => {
            response.insert("type".to_owned(), Value::from(kind::SERVER_SIDE_EMIT));
            response.insert("data".to_owned(), packet);
        }
        message::BROADCAST_CLIENT_COUNT => {
            response.insert("type".to_owned(), Value::from(kind::BROADCAST_CLIENT_COUNT));
            if let Some(count) = data.get("clientCount") {
                response.insert("clientCount".to_owned(), count.clone());
            }
        }
        _ => {
            response.insert("type".to_owned(), Value::from(kind::BROADCAST_ACK));
            response.insert("packet".to_owned(), packet);
        }
    }
    handle_response(inner, &response);
}

/// A message from another node, from pub/sub or (with its `offset`, the entry's id)
/// from a stream.
pub(super) fn on_request(
    inner: &Arc<Inner>,
    ns: &str,
    kind: u64,
    requester: &str,
    data: &BTreeMap<String, Value>,
    offset: Option<&str>,
) {
    let Some(server) = inner.server() else { return };
    let opts = wire::message_opts(data);
    let selects = matches!(
        kind,
        message::BROADCAST
            | message::SOCKETS_JOIN
            | message::SOCKETS_LEAVE
            | message::DISCONNECT_SOCKETS
            | message::FETCH_SOCKETS
    );
    let opts = match opts {
        Some(opts) => opts,
        None if selects => {
            tracing::warn!(ns, kind, "message without valid opts ignored");
            return;
        }
        None => BroadcastOptions::default(),
    };
    let request_id = wire::str_field(data, "requestId").map(str::to_owned);
    let reply_channel = format!("{}#{ns}#{requester}#", inner.key());
    let reply = |kind: u64, data: Value| {
        let payload = encode(inner, ns, kind, data);
        let sent = inner.publish(reply_channel.clone(), payload);
        inner.runtime.spawn(async move {
            if let Err(err) = sent.await {
                tracing::warn!(%err, "response not sent");
            }
        });
    };
    match kind {
        message::BROADCAST => {
            let Some(Value::Object(packet)) = data.get("packet") else {
                return;
            };
            let Some(Value::Array(items)) = packet.get("data") else {
                return;
            };
            let mut items = items.iter().cloned();
            let Some(Value::String(event)) = items.next() else {
                return;
            };
            let args = Args::from_values(items.collect());
            let Some(request_id) = request_id else {
                let delivered = match offset {
                    Some(offset) => server.deliver_local_stored(ns, &event, args, &opts, offset),
                    None => server.deliver_local(ns, &event, args, &opts),
                };
                if let Err(err) = delivered {
                    tracing::warn!(ns, %err, "broadcast from another node not delivered");
                }
                return;
            };
            let timeout = opts.timeout.unwrap_or(inner.config.requests_timeout);
            let delivered = inner
                .server
                .get()
                .and_then(|handle| handle.deliver_local_with_ack(ns, &event, args, &opts, timeout))
                .and_then(|result| {
                    result
                        .map_err(|err| tracing::warn!(%err, "broadcast with acknowledgements not delivered"))
                        .ok()
                });
            let (count, acks) = match delivered {
                Some((count, acks)) => (count, Some(acks)),
                None => (0, None),
            };
            let count = Value::from(u64::try_from(count).unwrap_or(u64::MAX));
            reply(
                message::BROADCAST_CLIENT_COUNT,
                wire::object(vec![
                    ("requestId", Value::from(request_id.as_str())),
                    ("clientCount", count),
                ]),
            );
            let Some(mut acks) = acks else { return };
            let inner = Arc::clone(inner);
            let ns = ns.to_owned();
            inner.runtime.clone().spawn(async move {
                while let Some(ack) = acks.next().await {
                    let Ok(args) = ack.answer else { continue };
                    let first = args
                        .into_values()
                        .ok()
                        .and_then(|values| values.into_iter().next())
                        .unwrap_or(Value::Null);
                    let data = wire::object(vec![
                        ("requestId", Value::from(request_id.as_str())),
                        ("packet", first),
                    ]);
                    let payload = encode(&inner, &ns, message::BROADCAST_ACK, data);
                    if let Err(err) = inner.publish(reply_channel.clone(), payload).await {
                        tracing::warn!(%err, "acknowledgement not sent");
                    }
                }
            });
        }
        message::SOCKETS_JOIN | message::SOCKETS_LEAVE => {
            let rooms = wire::room_list(data.get("rooms"));
            if kind == message::SOCKETS_JOIN {
                server.local_join(ns, &opts, &rooms);
            } else {
                server.local_leave(ns, &opts, &rooms);
            }
        }
        message::DISCONNECT_SOCKETS => {
            let close = matches!(data.get("close"), Some(Value::Bool(true)));
            server.local_disconnect(ns, &opts, close);
        }
        message::FETCH_SOCKETS => {
            let Some(request_id) = request_id else { return };
            let sockets = server
                .local_sockets_info(ns, &opts)
                .into_iter()
                .map(|socket| {
                    wire::object(vec![
                        ("id", Value::from(&*socket.id)),
                        ("handshake", Value::Object(BTreeMap::new())),
                        ("rooms", wire::room_values(&socket.rooms)),
                        ("data", socket.data),
                    ])
                })
                .collect();
            reply(
                message::FETCH_SOCKETS_RESPONSE,
                wire::object(vec![
                    ("requestId", Value::from(request_id.as_str())),
                    ("sockets", Value::Array(sockets)),
                ]),
            );
        }
        message::SERVER_SIDE_EMIT => {
            let Some(Value::Array(items)) = data.get("packet") else {
                return;
            };
            let answer = inner.server_event(ns, items.iter().cloned(), request_id.is_some());
            if let (Some(answer), Some(request_id)) = (answer, request_id) {
                let inner = Arc::clone(inner);
                let ns = ns.to_owned();
                inner.runtime.clone().spawn(async move {
                    let Ok(value) = answer.await else { return };
                    let data = wire::object(vec![
                        ("requestId", Value::from(request_id.as_str())),
                        ("packet", value),
                    ]);
                    let payload = encode(&inner, &ns, message::SERVER_SIDE_EMIT_RESPONSE, data);
                    if let Err(err) = inner.publish(reply_channel, payload).await {
                        tracing::warn!(%err, "server-side acknowledgement not sent");
                    }
                });
            }
        }
        other => tracing::debug!(ns, kind = other, "unknown message type ignored"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn messages_are_json_unless_they_carry_binary() {
        let data = wire::object(vec![("packet", packet("e", vec![Value::from("x")]))]);
        let json = envelope("0123456789abcdef", "/", message::BROADCAST, data, false);
        assert_eq!(json.first(), Some(&b'{'));
        let read = wire::decode_object(&json).unwrap();
        assert_eq!(wire::u64_field(&read, "type"), Some(message::BROADCAST));
        assert_eq!(wire::str_field(&read, "uid"), Some("0123456789abcdef"));
        assert_eq!(wire::str_field(&read, "nsp"), Some("/"));

        let binary = Value::Binary(bytes::Bytes::from_static(&[1, 2, 3]));
        let data = wire::object(vec![("packet", packet("e", vec![binary.clone()]))]);
        let packed = envelope("0123456789abcdef", "/", message::BROADCAST, data, false);
        assert_ne!(packed.first(), Some(&b'{'));
        let read = wire::decode_object(&packed).unwrap();
        let Some(Value::Object(data)) = read.get("data") else {
            unreachable!("data is an object");
        };
        let Some(Value::Object(packet)) = data.get("packet") else {
            unreachable!("packet is an object");
        };
        assert_eq!(
            packet.get("data"),
            Some(&Value::Array(vec![Value::from("e"), binary]))
        );
        // A join never carries binary: JSON.
        let join = envelope("u", "/", message::SOCKETS_JOIN, wire::object(vec![]), false);
        assert_eq!(join.first(), Some(&b'{'));
    }
}
