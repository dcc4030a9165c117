//! The adapter: Node's Redis adapter protocols (classic, sharded, streams) on fred's
//! clients.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Duration,
};

use bytes::Bytes;
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
mod inbound;
mod sharded;
mod streams;

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

enum Outgoing {
    /// A Redis command, written when first polled, that reports its outcome itself.
    Command(BoxFuture<()>),
    /// Sharded mode: a room channel to SSUBSCRIBE (`true`) or SUNSUBSCRIBE, in order
    /// with the messages around it.
    RoomChannel(String, bool),
}

/// A request of ours that waits for other servers' responses.
enum Pending {
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

    /// Queues a Redis command at once, and returns a future of its outcome: commands are
    /// written in the order they were queued.
    fn queue<T: Send + 'static>(
        &self,
        command: impl std::future::Future<Output = Result<T, fred::error::Error>> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, AdapterError>> + Send + 'static {
        use std::sync::atomic::Ordering::Relaxed;
        let (sent, result) = oneshot::channel();
        // While Redis does not answer, what is queued waits here: refused past the bound
        // rather than held without end.
        let admitted = self
            .queued
            .fetch_update(Relaxed, Relaxed, |queued| {
                (queued < self.config.max_queued).then_some(queued + 1)
            })
            .is_ok();
        let counter = Arc::clone(&self.queued);
        let refusing = Arc::clone(&self.refusing);
        let queued = if admitted {
            self.outbox
                .send(Outgoing::Command(Box::pin(async move {
                    let outcome = command.await.map_err(transport);
                    counter.fetch_sub(1, Relaxed);
                    if outcome.is_ok() {
                        refusing.store(false, Relaxed);
                    }
                    let _ = sent.send(outcome);
                })))
                .map_err(|_| "the adapter is closed")
        } else {
            Err("Redis is not answering: too many commands queued")
        };
        match queued {
            Err(_) if admitted => {
                self.queued.fetch_sub(1, Relaxed);
            }
            // Said once until Redis answers again.
            Err(why) if !self.refusing.swap(true, Relaxed) => {
                tracing::error!(limit = self.config.max_queued, "{why}: messages dropped");
            }
            _ => {}
        }
        async move {
            if let Err(why) = queued {
                return Err(AdapterError::Transport(why.to_owned()));
            }
            result.await.unwrap_or_else(|_| {
                Err(AdapterError::Transport("the adapter is closed".to_owned()))
            })
        }
    }

    /// Queues a message at once, and returns a future that tells when it was published.
    fn publish(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<(), AdapterError>> + Send + 'static {
        let publisher = self.publisher.clone();
        let payload = Bytes::from(payload);
        let spublish = self.spublish();
        self.queue(async move {
            if spublish {
                publisher.spublish::<(), _, _>(channel, payload).await
            } else {
                publisher.publish::<(), _, _>(channel, payload).await
            }
        })
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

/// Sends what was queued, in order, until the adapter is dropped. Commands queued
/// together are pipelined: fred writes each command when its future is first polled, and
/// `join_all` polls them in order, so they reach Redis in the order they were queued
/// without waiting for one reply before sending the next.
async fn publish_in_order(
    subscriber: SubscriberClient,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, 256).await > 0 {
        let mut commands = Vec::new();
        for message in batch.drain(..) {
            match message {
                Outgoing::Command(command) => commands.push(command),
                Outgoing::RoomChannel(channel, subscribe) => {
                    // What was queued before goes first.
                    futures_util::future::join_all(commands.drain(..)).await;
                    let result = if subscribe {
                        subscriber.ssubscribe(channel).await
                    } else {
                        subscriber.sunsubscribe(channel).await
                    };
                    if let Err(err) = result {
                        tracing::warn!(%err, subscribe, "room channel subscription not changed");
                    }
                }
            }
        }
        futures_util::future::join_all(commands).await;
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
        let inner = Arc::clone(&self.inner);
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

    fn fetch_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        let inner = Arc::clone(&self.inner);
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
        let inner = Arc::clone(&self.inner);
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
