//! The adapter: Node's Redis adapter protocols (classic, sharded, streams) on fred's
//! clients.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Duration,
};

use bytestring::ByteString;
use fred::{
    clients::{Client, SubscriberClient},
    interfaces::{ClientLike, EventInterface, PubsubInterface},
    types::{Builder, config::Config, config::ReconnectPolicy},
};
use socketio_core::{Args, Value};
use socketio_server::{
    LocalAdapter,
    adapter::{
        Adapter, AdapterError, BroadcastOptions, RemoteAcks, Restored, Room, ServerHandle, Session,
        SocketInfo,
    },
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    AdapterMode, RedisAdapterConfig, RedisAdapterError, ServerAck, ServerEvent, StreamsConfig,
    wire::{self, kind},
};

mod cluster;
mod commands;
mod inbound;
mod requests;
mod sharded;
mod streams;

use commands::{Outgoing, publish_in_order};
use requests::Pending;

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// A Socket.IO adapter that joins this server to others through Redis, speaking the
/// protocol of Node's `@socket.io/redis-adapter` 8.x (classic pub/sub), so that Rust
/// and Node servers can share one cluster. Cheap to clone: clones share one adapter.
///
/// Per namespace it subscribes once to the broadcast pattern `<key>#<ns>#*`, the request
/// channel `<key>-request#<ns>#`, and the two response channels, as Node does; Redis
/// counts the servers by the request channel's subscribers. The clients reconnect and
/// subscribe again by themselves after Redis restarts.
///
/// ```no_run
/// use socketio_redis::{RedisAdapter, RedisAdapterConfig};
/// use socketio_server::{Namespace, SocketIo};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let adapter = RedisAdapter::connect("redis://127.0.0.1:6379", RedisAdapterConfig::default()).await?;
/// let (layer, io) = SocketIo::builder().adapter(adapter.clone()).build()?;
/// io.ns("/", Namespace::new());
/// adapter.subscribed("/").await;
/// // io.emit(..) now reaches the clients of every server in the cluster.
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.inner.uid)
            .field("key", &self.inner.config.key)
            .finish_non_exhaustive()
    }
}

struct Inner {
    uid: String,
    config: RedisAdapterConfig,
    local: LocalAdapter,
    publisher: Client,
    subscriber: SubscriberClient,
    /// Streams mode: the connection that blocks reading the streams.
    reader: Option<Client>,
    /// Streams mode: set once the reader knows where the streams end, from which it
    /// reads everything.
    reading: watch::Sender<bool>,
    closed: std::sync::atomic::AtomicBool,
    runtime: tokio::runtime::Handle,
    server: OnceLock<ServerHandle>,
    namespaces: Mutex<HashSet<String>>,
    subscribed: watch::Sender<HashSet<String>>,
    requests: Mutex<HashMap<String, Pending>>,
    /// What to publish, in the order the server asked: a broadcast published after a
    /// join reaches the other servers after it, as with Node.
    outbox: mpsc::UnboundedSender<Outgoing>,
    /// Commands queued and not answered yet, at most `config.max_queued`.
    queued: Arc<std::sync::atomic::AtomicUsize>,
    /// Set while commands are refused, so that it is logged once.
    refusing: Arc<std::sync::atomic::AtomicBool>,
}

/// Six characters of `[A-Za-z0-9_-]`, as `uid2(6)` in Node.
fn uid() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..6)
        .map(|_| {
            let index = rand::random_range(0..CHARS.len());
            char::from(CHARS.get(index).copied().unwrap_or(b'x'))
        })
        .collect()
}

fn transport(err: fred::error::Error) -> AdapterError {
    AdapterError::Transport(err.to_string())
}

impl RedisAdapter {
    /// Connects to Redis at `url` (`redis://host:port/db`, see fred's `Config::from_url`)
    /// with two connections, one to publish and one to subscribe; both reconnect by
    /// themselves when Redis goes away, and the subscriptions are made again.
    pub async fn connect(url: &str, config: RedisAdapterConfig) -> Result<Self, RedisAdapterError> {
        let redis = Config::from_url(url)?;
        let mut builder = Builder::from_config(redis);
        // Retry forever, at most every half second.
        builder.set_policy(ReconnectPolicy::new_exponential(0, 50, 500, 2));
        // Room for bursts between Redis and the task that delivers them (fred's default
        // of 32 drops messages as soon as the task falls a little behind).
        builder.with_performance_config(|perf| perf.broadcast_channel_capacity = 4096);
        let publisher = builder.build()?;
        let subscriber = builder.build_subscriber_client()?;
        publisher.init().await?;
        subscriber.init().await?;
        let reader = if config.mode == AdapterMode::Streams {
            let reader = builder.build()?;
            reader.init().await?;
            Some(reader)
        } else {
            None
        };
        // Subscribes again to everything after each reconnection, for as long as it runs.
        drop(subscriber.manage_subscriptions());
        let messages = subscriber.message_rx();
        let (outbox, queue) = mpsc::unbounded_channel();
        tokio::spawn(publish_in_order(subscriber.clone(), queue));
        let uid = if config.mode.is_cluster() {
            cluster::uid()
        } else {
            uid()
        };
        let inner = Arc::new(Inner {
            outbox,
            queued: Arc::default(),
            refusing: Arc::default(),
            uid,
            config,
            local: LocalAdapter::default(),
            publisher,
            subscriber,
            reader: reader.clone(),
            reading: watch::Sender::new(false),
            closed: std::sync::atomic::AtomicBool::new(false),
            runtime: tokio::runtime::Handle::current(),
            server: OnceLock::new(),
            namespaces: Mutex::new(HashSet::new()),
            subscribed: watch::Sender::new(HashSet::new()),
            requests: Mutex::new(HashMap::new()),
        });
        tokio::spawn(inbound::receive(Arc::downgrade(&inner), messages));
        if let Some(reader) = reader {
            tokio::spawn(streams::read(Arc::downgrade(&inner), reader));
        }
        Ok(Self { inner })
    }

    /// This server's id in the cluster (six characters, as Node's).
    pub fn uid(&self) -> &str {
        &self.inner.uid
    }

    /// Waits until this server is subscribed to the channels of namespace `ns` (which
    /// the server asks for when it creates the namespace): from then on, the other
    /// servers count it and it receives their traffic.
    pub async fn subscribed(&self, ns: &str) {
        let mut watch = self.inner.subscribed.subscribe();
        let _ = watch.wait_for(|done| done.contains(ns)).await;
        if self.inner.reader.is_some() {
            let _ = self
                .inner
                .reading
                .subscribe()
                .wait_for(|reading| *reading)
                .await;
        }
    }

    /// Closes the Redis connections: the other servers stop counting this one.
    pub async fn close(&self) {
        self.inner
            .closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.inner.subscriber.quit().await;
        let _ = self.inner.publisher.quit().await;
        if let Some(reader) = &self.inner.reader {
            let _ = reader.quit().await;
        }
    }
}

impl Inner {
    fn key(&self) -> &str {
        &self.config.key
    }

    fn broadcast_channel(&self, ns: &str) -> String {
        format!("{}#{ns}#", self.key())
    }

    fn request_channel(&self, ns: &str) -> String {
        format!("{}-request#{ns}#", self.key())
    }

    fn response_channel(&self, ns: &str) -> String {
        format!("{}-response#{ns}#", self.key())
    }

    /// Where requests go: the request channel, or in sharded and streams modes the
    /// main channel.
    fn outgoing_request_channel(&self, ns: &str) -> String {
        if self.config.mode.is_cluster() {
            self.broadcast_channel(ns)
        } else {
            self.request_channel(ns)
        }
    }

    /// Sharded and streams modes: this node's response channel.
    fn own_channel(&self, ns: &str) -> String {
        format!("{}#{ns}#{}#", self.key(), self.uid)
    }

    fn own_response_channel(&self, ns: &str) -> String {
        format!("{}-response#{ns}#{}#", self.key(), self.uid)
    }

    fn requests(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn server(&self) -> Option<socketio_server::SocketIo> {
        self.server.get()?.server()
    }

    fn streams(&self) -> &StreamsConfig {
        &self.config.streams
    }

    /// Whether messages go over sharded pub/sub (SPUBLISH).
    fn spublish(&self) -> bool {
        match self.config.mode {
            AdapterMode::Sharded(_) => true,
            AdapterMode::Streams => self.streams().sharded_pubsub,
            _ => false,
        }
    }

    /// How many servers are subscribed to the request channel of `ns`, this one included.
    async fn count(&self, ns: &str) -> Result<usize, AdapterError> {
        let channel = if self.config.mode.is_cluster() {
            self.broadcast_channel(ns)
        } else {
            self.request_channel(ns)
        };
        let reply: Vec<fred::types::Value> = if self.spublish() {
            self.publisher.pubsub_shardnumsub(channel).await
        } else {
            self.publisher.pubsub_numsub(channel).await
        }
        .map_err(transport)?;
        let count = reply
            .get(1)
            .and_then(fred::types::Value::as_i64)
            .unwrap_or(0);
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn has_namespace(&self, ns: &str) -> bool {
        self.namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(ns)
    }

    fn room_is_local(&self, ns: &str, room: &str) -> bool {
        let opts = BroadcastOptions {
            rooms: vec![Room::from(room)],
            ..BroadcastOptions::default()
        };
        !self.local.local_targets(ns, &opts).is_empty()
    }

    /// The namespace whose broadcast channels `channel` belongs to, and the room part.
    fn broadcast_target<'c>(&self, channel: &'c str) -> Option<(String, &'c str)> {
        let rest = channel.strip_prefix(self.key())?.strip_prefix('#')?;
        let namespaces = self
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The longest namespace that fits, for names that contain `#`.
        let ns = namespaces
            .iter()
            .filter(|ns| {
                rest.strip_prefix(ns.as_str())
                    .is_some_and(|tail| tail.starts_with('#'))
            })
            .max_by_key(|ns| ns.len())?
            .clone();
        let tail = rest.get(ns.len() + 1..)?;
        let room = tail.strip_suffix('#').unwrap_or(tail);
        Some((ns, room))
    }
}

/// A socket of a REMOTE_FETCH response: `{id, rooms?, data?}`.
fn socket_info(ns: &ByteString, socket: &Value) -> Option<SocketInfo> {
    let Value::Object(socket) = socket else {
        return None;
    };
    Some(SocketInfo {
        id: ByteString::from(wire::str_field(socket, "id")?),
        ns: ns.clone(),
        rooms: wire::room_list(socket.get("rooms")),
        data: socket.get("data").cloned().unwrap_or(Value::Null),
    })
}

fn values(args: &Args) -> Result<Vec<Value>, AdapterError> {
    args.to_values()
        .map_err(|err| AdapterError::Transport(format!("arguments not encodable: {err}")))
}

fn set(object: &mut serde_json::Value, key: &str, value: &str) {
    if let Some(object) = object.as_object_mut() {
        object.insert(key.to_owned(), serde_json::Value::from(value));
    }
}

fn str_rooms(rooms: &[Room]) -> Vec<&str> {
    rooms.iter().map(|room| &**room).collect()
}

impl Inner {
    /// Hands a server-side emit from another node (`[event, ...args]`) to the
    /// application's handler; with `answered`, returns where its answer will come.
    fn server_event(
        &self,
        ns: &str,
        mut data: impl Iterator<Item = Value>,
        answered: bool,
    ) -> Option<oneshot::Receiver<Value>> {
        let Some(Value::String(event)) = data.next() else {
            return None;
        };
        let handler = self.config.on_server_event.clone()?;
        let (ack, answer) = if answered {
            let (sender, receiver) = oneshot::channel();
            (Some(ServerAck { sender }), Some(receiver))
        } else {
            (None, None)
        };
        handler(ServerEvent {
            ns: ByteString::from(ns),
            event: ByteString::from(event),
            args: Args::from_values(data.collect()),
            ack,
        });
        answer
    }

    async fn subscribe(self: Arc<Self>, ns: String) {
        if self.config.mode.is_cluster() {
            let channels = vec![self.broadcast_channel(&ns), self.own_channel(&ns)];
            let result = if self.spublish() {
                self.subscriber.ssubscribe(channels).await
            } else {
                self.subscriber.subscribe(channels).await
            };
            match result {
                Ok(()) => self.subscribed.send_modify(|done| {
                    done.insert(ns);
                }),
                Err(err) => tracing::warn!(ns, %err, "subscription failed"),
            }
            return;
        }
        let pattern = format!("{}*", self.broadcast_channel(&ns));
        let channels = vec![
            self.request_channel(&ns),
            self.response_channel(&ns),
            self.own_response_channel(&ns),
        ];
        let result = async {
            self.subscriber.psubscribe(pattern).await?;
            self.subscriber.subscribe(channels).await
        }
        .await;
        match result {
            Ok(()) => {
                self.subscribed.send_modify(|done| {
                    done.insert(ns);
                });
            }
            // The subscriber client remembers them and subscribes again on reconnection.
            Err(err) => tracing::warn!(ns, %err, "subscription failed"),
        }
    }
}

impl Adapter for RedisAdapter {
    fn init(&self, server: ServerHandle) {
        let _ = self.inner.server.set(server);
    }

    fn namespace_added(&self, ns: &str) {
        let new = self
            .inner
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(ns.to_owned());
        // One subscription per channel: a second one would count this server twice.
        if new {
            if self.inner.config.mode == AdapterMode::Streams {
                streams::check_namespace(self.inner.streams(), ns);
            }
            let inner = Arc::clone(&self.inner);
            self.inner.runtime.spawn(inner.subscribe(ns.to_owned()));
        }
    }

    fn add_all(&self, ns: &str, sid: &engineio_core::Sid, rooms: &[Room]) {
        let Some(mode) = self.inner.config.mode.room_channels() else {
            return self.inner.local.add_all(ns, sid, rooms);
        };
        // A room this node did not hold is created: its channel is subscribed.
        let created: Vec<&Room> = rooms
            .iter()
            .filter(|room| {
                sharded::room_has_channel(mode, room, sid.as_str())
                    && !self.inner.room_is_local(ns, room)
            })
            .collect();
        self.inner.local.add_all(ns, sid, rooms);
        for room in created {
            sharded::room_channel(&self.inner, ns, room, true);
        }
    }

    fn del(&self, ns: &str, sid: &engineio_core::Sid, room: &Room) {
        self.inner.local.del(ns, sid, room);
        if let Some(mode) = self.inner.config.mode.room_channels() {
            if sharded::room_has_channel(mode, room, sid.as_str())
                && !self.inner.room_is_local(ns, room)
            {
                sharded::room_channel(&self.inner, ns, room, false);
            }
        }
    }

    fn del_all(&self, ns: &str, sid: &engineio_core::Sid) {
        let Some(mode) = self.inner.config.mode.room_channels() else {
            return self.inner.local.del_all(ns, sid);
        };
        let rooms = self.inner.local.socket_rooms(ns, sid);
        self.inner.local.del_all(ns, sid);
        for room in rooms {
            if sharded::room_has_channel(mode, &room, sid.as_str())
                && !self.inner.room_is_local(ns, &room)
            {
                sharded::room_channel(&self.inner, ns, &room, false);
            }
        }
    }

    fn socket_rooms(&self, ns: &str, sid: &engineio_core::Sid) -> Vec<Room> {
        self.inner.local.socket_rooms(ns, sid)
    }

    fn local_targets(&self, ns: &str, opts: &BroadcastOptions) -> Vec<engineio_core::Sid> {
        self.inner.local.local_targets(ns, opts)
    }

    fn local_rooms(&self, ns: &str) -> Vec<Room> {
        self.inner.local.local_rooms(ns)
    }

    fn broadcast(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let inner = &self.inner;
        if inner.config.mode == AdapterMode::Streams {
            let appended = streams::append_broadcast(inner, ns, event, args, opts);
            return Box::pin(async move { appended.await.map(drop) });
        }
        if let AdapterMode::Sharded(mode) = inner.config.mode {
            return match values(args) {
                Ok(args) => {
                    let channel = sharded::broadcast_channel(inner, mode, ns, opts);
                    let data = wire::object(vec![
                        ("packet", cluster::packet(event, args)),
                        ("opts", cluster::opts(opts, None)),
                    ]);
                    let payload = cluster::encode(inner, ns, cluster::message::BROADCAST, data);
                    Box::pin(inner.publish(channel, payload))
                }
                Err(err) => Box::pin(std::future::ready(Err(err))),
            };
        }
        // Node's sender uses the room's own channel when there is exactly one room.
        let mut channel = inner.broadcast_channel(ns);
        if let [room] = opts.rooms.as_slice() {
            channel.push_str(room);
            channel.push('#');
        }
        // Queued now, not when the future is first polled: broadcasts leave in the order
        // they were made.
        match values(args) {
            Ok(args) => {
                let payload = wire::encode_broadcast(&inner.uid, ns, event, &args, opts);
                Box::pin(inner.publish(channel, payload))
            }
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn broadcast_with_ack(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<RemoteAcks, AdapterError>> {
        self.inner.broadcast_with_ack(ns, event, args, opts)
    }

    fn fetch_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        self.inner.fetch_sockets(ns, opts)
    }

    fn add_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
        rooms: &[Room],
    ) -> BoxFuture<Result<(), AdapterError>> {
        let kinds = (kind::REMOTE_JOIN, cluster::message::SOCKETS_JOIN);
        self.fire_rooms(ns, opts, rooms, kinds)
    }

    fn del_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
        rooms: &[Room],
    ) -> BoxFuture<Result<(), AdapterError>> {
        let kinds = (kind::REMOTE_LEAVE, cluster::message::SOCKETS_LEAVE);
        self.fire_rooms(ns, opts, rooms, kinds)
    }

    fn disconnect_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
        close: bool,
    ) -> BoxFuture<Result<(), AdapterError>> {
        self.fire(
            ns,
            serde_json::json!({
                "uid": self.inner.uid,
                "type": kind::REMOTE_DISCONNECT,
                "opts": wire::request_opts(opts),
                "close": close,
            }),
            cluster::message::DISCONNECT_SOCKETS,
            wire::object(vec![
                ("opts", cluster::opts(opts, None)),
                ("close", Value::Bool(close)),
            ]),
        )
    }

    fn server_side_emit(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        ack: Option<Duration>,
    ) -> BoxFuture<Result<Vec<Args>, AdapterError>> {
        self.inner.server_side_emit(ns, event, args, ack)
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { inner.count("/").await.map(|count| count.max(1)) })
    }

    fn store_packet(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> Option<ByteString> {
        if self.inner.config.mode == AdapterMode::Streams {
            // Offsets are the stream's; a packet only this node sends has none.
            return None;
        }
        self.inner.local.store_packet(ns, event, args, opts)
    }

    fn publish_stored(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> Option<BoxFuture<Result<ByteString, AdapterError>>> {
        if self.inner.config.mode != AdapterMode::Streams {
            return None;
        }
        Some(Box::pin(streams::append_broadcast(
            &self.inner,
            ns,
            event,
            args,
            opts,
        )))
    }

    fn persist_session(&self, session: Session) {
        if self.inner.config.mode == AdapterMode::Streams {
            return streams::persist_session(&self.inner, &session);
        }
        self.inner.local.persist_session(session);
    }

    fn restore_session(
        &self,
        ns: &str,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<Result<Option<Restored>, AdapterError>> {
        if self.inner.config.mode == AdapterMode::Streams {
            return Box::pin(streams::restore_session(
                Arc::clone(&self.inner),
                ns.to_owned(),
                pid.to_owned(),
                offset.to_owned(),
            ));
        }
        self.inner.local.restore_session(ns, pid, offset)
    }
}

impl RedisAdapter {
    /// Publishes a request that needs no answer: `classic` in classic mode, `data` with
    /// `kind` in sharded mode, and in streams mode as an entry of the stream.
    fn fire(
        &self,
        ns: &str,
        classic: serde_json::Value,
        kind: u64,
        data: Value,
    ) -> BoxFuture<Result<(), AdapterError>> {
        let inner = &self.inner;
        if inner.config.mode == AdapterMode::Streams {
            let appended = streams::append(inner, ns, kind, data);
            return Box::pin(async move { appended.await.map(drop) });
        }
        let channel = inner.outgoing_request_channel(ns);
        let payload = if inner.config.mode.is_cluster() {
            cluster::encode(inner, ns, kind, data)
        } else {
            wire::json(classic)
        };
        Box::pin(inner.publish(channel, payload))
    }

    /// Publishes a remote join or leave of `rooms` (`kinds`: the classic request type and
    /// the sharded message type).
    fn fire_rooms(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
        rooms: &[Room],
        (classic, sharded): (u64, u64),
    ) -> BoxFuture<Result<(), AdapterError>> {
        self.fire(
            ns,
            serde_json::json!({
                "uid": self.inner.uid,
                "type": classic,
                "opts": wire::request_opts(opts),
                "rooms": str_rooms(rooms),
            }),
            sharded,
            wire::object(vec![
                ("opts", cluster::opts(opts, None)),
                ("rooms", wire::room_values(rooms)),
            ]),
        )
    }
}
