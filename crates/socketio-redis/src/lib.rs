//! A Redis adapter for `socketio-server`, wire-compatible with Node's
//! `@socket.io/redis-adapter` 8.x in its classic (pub/sub) mode, which
//! `@socket.io/redis-emitter` also speaks, in its sharded mode
//! ([`AdapterMode::Sharded`]), and with `@socket.io/redis-streams-adapter` 0.3
//! ([`AdapterMode::Streams`]): Rust and Node servers can share one cluster, rooms,
//! broadcasts, acknowledgements, requests and connection state recovery included.
//!
//! ```no_run
//! use std::time::Duration;
//! use socketio_redis::{RedisAdapter, RedisAdapterConfig};
//! use socketio_server::{Namespace, SocketIo};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RedisAdapterConfig::default()
//!     .requests_timeout(Duration::from_secs(3))
//!     .on_server_event(|event| {
//!         if let Some(ack) = event.ack {
//!             ack.send("pong".into());
//!         }
//!     });
//! let adapter = RedisAdapter::connect("redis://127.0.0.1:6379", config).await?;
//! let (layer, io) = SocketIo::builder().adapter(adapter.clone()).build()?;
//! io.ns("/", Namespace::new());
//! adapter.subscribed("/").await;
//! let app: axum::Router = axum::Router::new().layer(layer);
//! # let _ = app; Ok(()) }
//! ```
//!
//! In classic and sharded modes, connection state recovery stays on the node that held
//! the socket, and a message published while Redis is away is lost (Redis pub/sub keeps
//! nothing). Streams mode ([`AdapterMode::Streams`], compatible with
//! `@socket.io/redis-streams-adapter` 0.3) keeps broadcasts in a Redis stream and
//! sessions in Redis keys: a client that drops from one node recovers on any other.

mod adapter;
mod msgpack;
mod wire;

use std::{fmt, sync::Arc, time::Duration};

use bytestring::ByteString;
use socketio_core::{Args, Value};
use tokio::sync::oneshot;

pub use adapter::RedisAdapter;

/// A server-side emit from another server (`serverSideEmit` in Node), given to the
/// handler set with [`RedisAdapterConfig::on_server_event`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerEvent {
    /// The namespace it was emitted on.
    pub ns: ByteString,
    /// The event name.
    pub event: ByteString,
    /// Its arguments.
    pub args: Args,
    /// Present when the sender waits for an answer (`serverSideEmitWithAck`).
    pub ack: Option<ServerAck>,
}

/// The answer to a [`ServerEvent`] whose sender waits for one.
#[derive(Debug)]
pub struct ServerAck {
    sender: oneshot::Sender<Value>,
}

impl ServerAck {
    /// Answers. Only one value crosses, as in Node, where the first argument of the
    /// callback is the one sent.
    pub fn send(self, value: Value) {
        let _ = self.sender.send(value);
    }
}

type ServerEventHandler = Arc<dyn Fn(ServerEvent) + Send + Sync>;

/// Which of Node's Redis adapters the cluster runs; every node of a cluster must run the
/// same one (they do not understand each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AdapterMode {
    /// `createAdapter` of `@socket.io/redis-adapter`: classic pub/sub, with pattern
    /// subscriptions; what `@socket.io/redis-emitter` speaks.
    #[default]
    Classic,
    /// `createShardedAdapter` (8.2 and later): sharded pub/sub (SPUBLISH, Redis 7 or
    /// later), with room channels subscribed as the subscription mode says.
    Sharded(SubscriptionMode),
    /// `@socket.io/redis-streams-adapter` 0.3: broadcasts and room changes go through a
    /// Redis stream that every node reads (Redis 6.2 or later), requests and responses
    /// through pub/sub. With connection state recovery on, sessions are kept in Redis
    /// and the stream's entry ids are the offsets, so a client recovers on any node.
    /// Settings in [`StreamsConfig`].
    Streams,
}

impl AdapterMode {
    /// Whether the messages are socket.io-adapter's `ClusterAdapter` ones (sharded and
    /// streams modes) rather than the classic adapter's requests.
    pub(crate) fn is_cluster(self) -> bool {
        matches!(self, Self::Sharded(_) | Self::Streams)
    }

    /// The sharded subscription mode, when rooms get channels of their own.
    pub(crate) fn room_channels(self) -> Option<SubscriptionMode> {
        match self {
            Self::Sharded(mode) if mode != SubscriptionMode::Static => Some(mode),
            _ => None,
        }
    }
}

/// Which rooms have a channel of their own in sharded mode (Node's `subscriptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// No room channels: everything goes through the namespace's channel.
    Static,
    /// Public rooms (not a socket's own room) have a channel, subscribed while this node
    /// holds the room. Node's default.
    #[default]
    Dynamic,
    /// Every room has a channel, sockets' own rooms included.
    DynamicPrivate,
}

/// The settings of streams mode ([`AdapterMode::Streams`]), named as Node's
/// `@socket.io/redis-streams-adapter` options; every node of a cluster must use the same.
#[derive(Debug, Clone)]
#[must_use]
pub struct StreamsConfig {
    pub(crate) stream_name: String,
    pub(crate) stream_count: u32,
    pub(crate) max_len: u64,
    pub(crate) read_count: u64,
    pub(crate) session_key_prefix: String,
    pub(crate) sharded_pubsub: bool,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            stream_name: "socket.io".to_owned(),
            stream_count: 1,
            max_len: 10_000,
            read_count: 100,
            session_key_prefix: "sio:session:".to_owned(),
            sharded_pubsub: false,
        }
    }
}

impl StreamsConfig {
    /// The stream's key (`streamName`); default `socket.io`.
    pub fn stream_name(mut self, name: impl Into<String>) -> Self {
        self.stream_name = name.into();
        self
    }

    /// Spreads the namespaces over this many streams, `<name>-<i>` (`streamCount`);
    /// default 1, one stream. Node picks a namespace's stream by a hash of its name that
    /// can be negative, giving streams (`<name>--<i>`) that its nodes never read; this
    /// adapter writes where Node does and reads those streams too, so Rust nodes see
    /// such broadcasts from every node, but Node nodes miss them, from every node. A
    /// warning is logged for such a namespace.
    pub fn stream_count(mut self, count: u32) -> Self {
        self.stream_count = count.max(1);
        self
    }

    /// The approximate length the stream is trimmed to (`maxLen`); default 10,000. A
    /// client can recover the packets still in the stream.
    pub fn max_len(mut self, max_len: u64) -> Self {
        self.max_len = max_len;
        self
    }

    /// How many entries one read takes (`readCount`); default 100.
    pub fn read_count(mut self, count: u64) -> Self {
        self.read_count = count.max(1);
        self
    }

    /// The prefix of the keys that hold disconnected sessions (`sessionKeyPrefix`);
    /// default `sio:session:`.
    pub fn session_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.session_key_prefix = prefix.into();
        self
    }

    /// Requests and responses over sharded pub/sub (SPUBLISH, `useShardedPubSub`);
    /// default off.
    pub fn sharded_pubsub(mut self, on: bool) -> Self {
        self.sharded_pubsub = on;
        self
    }
}

/// The settings of a [`RedisAdapter`]. Every server of a cluster must use the same
/// `key`.
#[derive(Clone)]
#[must_use]
pub struct RedisAdapterConfig {
    key: String,
    requests_timeout: Duration,
    publish_on_specific_response_channel: bool,
    on_server_event: Option<ServerEventHandler>,
    mode: AdapterMode,
    streams: StreamsConfig,
    max_queued: usize,
}

impl fmt::Debug for RedisAdapterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapterConfig")
            .field("key", &self.key)
            .field("requests_timeout", &self.requests_timeout)
            .field(
                "publish_on_specific_response_channel",
                &self.publish_on_specific_response_channel,
            )
            .field("mode", &self.mode)
            .field("streams", &self.streams)
            .field("max_queued", &self.max_queued)
            .finish_non_exhaustive()
    }
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        Self {
            key: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            on_server_event: None,
            mode: AdapterMode::Classic,
            streams: StreamsConfig::default(),
            max_queued: 65_536,
        }
    }
}

impl RedisAdapterConfig {
    /// The protocol: classic (the default), sharded or streams.
    pub fn mode(mut self, mode: AdapterMode) -> Self {
        self.mode = mode;
        self
    }

    /// How many messages and commands may wait for Redis at once (default 65,536):
    /// while Redis does not answer, what comes past that is refused (an error, logged),
    /// so that memory does not grow without bound.
    pub fn max_queued(mut self, max: usize) -> Self {
        self.max_queued = max.max(1);
        self
    }

    /// Streams mode, with these settings.
    pub fn streams(mut self, streams: StreamsConfig) -> Self {
        self.mode = AdapterMode::Streams;
        self.streams = streams;
        self
    }

    /// The prefix of every channel name (Node's `key` option, `channelPrefix` in sharded
    /// and streams modes); default `socket.io`.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// How long a request to the other servers (fetching sockets, a broadcast's client
    /// counts when it has no timeout of its own) waits for them; default 5 s.
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Answers a request on the requester's own response channel rather than the one
    /// every server reads (Node's `publishOnSpecificResponseChannel`); default off.
    /// Node servers of 7.1 or later read both.
    pub fn publish_on_specific_response_channel(mut self, on: bool) -> Self {
        self.publish_on_specific_response_channel = on;
        self
    }

    /// Handles the server-side emits of other servers. Without a handler they are
    /// ignored, and a sender that waits for answers times out.
    pub fn on_server_event(
        mut self,
        handler: impl Fn(ServerEvent) + Send + Sync + 'static,
    ) -> Self {
        self.on_server_event = Some(Arc::new(handler));
        self
    }
}

/// The adapter could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisAdapterError {
    /// Redis refused the settings or the connection.
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
}
