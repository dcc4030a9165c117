//! A Redis adapter for `socketio-server`, wire-compatible with Node's
//! `@socket.io/redis-adapter` 8.x in its classic (pub/sub) mode, which
//! `@socket.io/redis-emitter` also speaks, and in its sharded mode
//! ([`AdapterMode::Sharded`]): Rust and Node servers can share one cluster, rooms,
//! broadcasts, acknowledgements and requests included.
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
//! What the classic protocol cannot do, this adapter does not either: connection state
//! recovery stays on the node that held the socket, and a message published while Redis
//! is away is lost (Redis pub/sub keeps nothing).

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
}

impl AdapterMode {
    pub(crate) fn is_sharded(self) -> bool {
        matches!(self, Self::Sharded(_))
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
        }
    }
}

impl RedisAdapterConfig {
    /// The protocol: classic (the default) or sharded.
    pub fn mode(mut self, mode: AdapterMode) -> Self {
        self.mode = mode;
        self
    }

    /// The prefix of every channel name (Node's `key` option, `channelPrefix` in sharded
    /// mode); default `socket.io`.
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
