//! Requests that wait for the other nodes' answers: broadcasts with acknowledgements,
//! fetching sockets, server-side emits with answers, all rooms. The responses are
//! matched to them in `inbound`.

use std::{sync::Arc, time::Duration};

use bytestring::ByteString;
use socketio_core::{Args, Value};
use socketio_server::adapter::{
    Adapter, AdapterError, BroadcastOptions, RemoteAcks, Room, SocketInfo,
};
use tokio::sync::{mpsc, oneshot};

use super::{BoxFuture, Inner, RedisAdapter, cluster, set, uid, values};
use crate::{
    AdapterMode,
    wire::{self, kind},
};

/// A request of ours that waits for other servers' responses.
pub(super) enum Pending {
    Rooms {
        expected: usize,
        got: usize,
        rooms: Vec<Room>,
        done: Option<oneshot::Sender<Vec<Room>>>,
    },
    Fetch {
        ns: ByteString,
        expected: usize,
        got: usize,
        sockets: Vec<SocketInfo>,
        done: Option<oneshot::Sender<Vec<SocketInfo>>>,
    },
    ServerSide {
        expected: usize,
        answers: Vec<Args>,
        done: Option<oneshot::Sender<Vec<Args>>>,
    },
    Acks {
        servers: usize,
        counted: usize,
        clients: usize,
        counts: Option<oneshot::Sender<usize>>,
        acks: mpsc::UnboundedSender<Args>,
    },
}

impl RedisAdapter {
    /// The rooms that have sockets in namespace `ns` on any node, each once (Node's
    /// `adapter.allRooms()`; sockets' own rooms included). Classic mode only: the
    /// sharded and streams protocols have no such request.
    pub async fn all_rooms(&self, ns: &str) -> Result<Vec<Room>, AdapterError> {
        let inner = Arc::clone(&self.inner);
        if inner.config.mode != AdapterMode::Classic {
            return Err(AdapterError::Unsupported(
                "all rooms across nodes needs the classic mode",
            ));
        }
        let mut rooms: std::collections::BTreeSet<Room> =
            inner.local.local_rooms(ns).into_iter().collect();
        let others = inner.count(ns).await?.saturating_sub(1);
        if others > 0 {
            let request_id = uid();
            let body = wire::json(serde_json::json!({
                "uid": inner.uid,
                "requestId": request_id,
                "type": kind::ALL_ROOMS,
            }));
            let timeout = inner.config.requests_timeout;
            let remote = Arc::clone(&inner)
                .request(
                    ns,
                    move |done| Pending::Rooms {
                        expected: others,
                        got: 0,
                        rooms: Vec::new(),
                        done: Some(done),
                    },
                    body,
                    request_id,
                    timeout,
                )
                .await?;
            rooms.extend(remote);
        }
        Ok(rooms.into_iter().collect())
    }
}

impl Inner {
    /// Registers a request, publishes it, and waits for its responses or its timeout.
    async fn request<T>(
        self: Arc<Self>,
        ns: &str,
        pending: impl FnOnce(oneshot::Sender<T>) -> Pending,
        body: Vec<u8>,
        request_id: String,
        timeout: Duration,
    ) -> Result<T, AdapterError> {
        let (done, answer) = oneshot::channel();
        self.requests().insert(request_id.clone(), pending(done));
        if let Err(err) = self.publish(self.outgoing_request_channel(ns), body).await {
            self.requests().remove(&request_id);
            return Err(err);
        }
        let result = tokio::time::timeout(timeout, answer).await;
        self.requests().remove(&request_id);
        match result {
            Ok(Ok(value)) => Ok(value),
            _ => Err(AdapterError::Timeout),
        }
    }

    pub(super) fn broadcast_with_ack(
        self: &Arc<Self>,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<RemoteAcks, AdapterError>> {
        let inner = Arc::clone(self);
        let ns = ns.to_owned();
        let event = event.to_owned();
        let args = values(args);
        let opts = opts.clone();
        Box::pin(async move {
            let args = args?;
            let timeout = opts.timeout.unwrap_or(inner.config.requests_timeout);
            let servers = inner.count(&ns).await?.saturating_sub(1);
            let (acks, received) = mpsc::unbounded_channel();
            let stream = Box::pin(futures_util::stream::unfold(
                received,
                |mut received| async move { received.recv().await.map(|ack| (ack, received)) },
            ));
            if servers == 0 {
                return Ok(RemoteAcks {
                    expected: 0,
                    acks: stream,
                });
            }
            let request_id = uid();
            let (counts, counted) = oneshot::channel();
            inner.requests().insert(
                request_id.clone(),
                Pending::Acks {
                    servers,
                    counted: 0,
                    clients: 0,
                    counts: Some(counts),
                    acks,
                },
            );
            // The entry goes when the timeout passes, as Node's does.
            let cleanup = Arc::clone(&inner);
            let id = request_id.clone();
            inner.runtime.spawn(async move {
                tokio::time::sleep(timeout).await;
                cleanup.requests().remove(&id);
            });
            let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            let body = if inner.config.mode.is_cluster() {
                let data = wire::object(vec![
                    ("packet", cluster::packet(&event, args)),
                    ("opts", cluster::opts(&opts, Some(timeout_ms))),
                    ("requestId", Value::from(request_id.as_str())),
                ]);
                cluster::encode(&inner, &ns, cluster::message::BROADCAST, data)
            } else {
                wire::encode_broadcast_request(
                    &inner.uid,
                    &request_id,
                    &ns,
                    &event,
                    &args,
                    &opts,
                    timeout_ms,
                )
            };
            inner
                .publish(inner.outgoing_request_channel(&ns), body)
                .await?;
            // Until every server has told how many clients it holds; past the timeout,
            // those that did.
            let expected = match tokio::time::timeout(timeout, counted).await {
                Ok(Ok(clients)) => clients,
                _ => match inner.requests().get(&request_id) {
                    Some(Pending::Acks { clients, .. }) => *clients,
                    _ => 0,
                },
            };
            Ok(RemoteAcks {
                expected,
                acks: stream,
            })
        })
    }

    pub(super) fn fetch_sockets(
        self: &Arc<Self>,
        ns: &str,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        let inner = Arc::clone(self);
        let ns = ByteString::from(ns);
        let opts = opts.clone();
        let body = serde_json::json!({
            "type": kind::REMOTE_FETCH,
            "opts": wire::request_opts(&opts),
        });
        Box::pin(async move {
            let others = inner.count(&ns).await?.saturating_sub(1);
            if others == 0 {
                return Ok(Vec::new());
            }
            let request_id = uid();
            let mut body = body;
            set(&mut body, "uid", inner.uid.as_str());
            set(&mut body, "requestId", request_id.as_str());
            let body = if inner.config.mode.is_cluster() {
                let data = wire::object(vec![
                    ("opts", cluster::opts(&opts, None)),
                    ("requestId", Value::from(request_id.as_str())),
                ]);
                cluster::encode(&inner, &ns, cluster::message::FETCH_SOCKETS, data)
            } else {
                wire::json(body)
            };
            let timeout = inner.config.requests_timeout;
            let pending_ns = ns.clone();
            Arc::clone(&inner)
                .request(
                    &ns,
                    move |done| Pending::Fetch {
                        ns: pending_ns,
                        expected: others,
                        got: 0,
                        sockets: Vec::new(),
                        done: Some(done),
                    },
                    body,
                    request_id,
                    timeout,
                )
                .await
        })
    }

    pub(super) fn server_side_emit(
        self: &Arc<Self>,
        ns: &str,
        event: &str,
        args: &Args,
        ack: Option<Duration>,
    ) -> BoxFuture<Result<Vec<Args>, AdapterError>> {
        let inner = Arc::clone(self);
        let ns = ns.to_owned();
        let event = event.to_owned();
        let args = values(args);
        Box::pin(async move {
            let args = args?;
            let cluster = inner.config.mode.is_cluster();
            // The body with the request id, if any.
            let body = |request_id: Option<&str>| {
                if cluster {
                    let mut packet = vec![Value::from(event.as_str())];
                    packet.extend(args.iter().cloned());
                    let mut data = vec![("packet", Value::Array(packet))];
                    if let Some(id) = request_id {
                        data.push(("requestId", Value::from(id)));
                    }
                    cluster::encode(
                        &inner,
                        &ns,
                        cluster::message::SERVER_SIDE_EMIT,
                        wire::object(data),
                    )
                } else {
                    let mut data = vec![serde_json::Value::from(event.as_str())];
                    data.extend(args.iter().map(wire::to_json));
                    let mut body = serde_json::json!({
                        "uid": inner.uid,
                        "type": kind::SERVER_SIDE_EMIT,
                        "data": data,
                    });
                    if let Some(id) = request_id {
                        set(&mut body, "requestId", id);
                    }
                    wire::json(body)
                }
            };
            let Some(timeout) = ack else {
                let payload = body(None);
                inner
                    .publish(inner.outgoing_request_channel(&ns), payload)
                    .await?;
                return Ok(Vec::new());
            };
            let others = inner.count(&ns).await?.saturating_sub(1);
            if others == 0 {
                return Ok(Vec::new());
            }
            let request_id = uid();
            let payload = body(Some(&request_id));
            Arc::clone(&inner)
                .request(
                    &ns,
                    move |done| Pending::ServerSide {
                        expected: others,
                        answers: Vec::new(),
                        done: Some(done),
                    },
                    payload,
                    request_id,
                    timeout,
                )
                .await
        })
    }
}
