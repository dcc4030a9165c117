//! Configuration of the Engine.IO server, and its builder.

use std::{fmt, sync::Arc, time::Duration};

use engineio_core::{SessionConfig, TransportKind};

use super::{EngineHandler, EngineIo, EngineIoLayer};

/// Decides whether a handshake request may open a session. Refused handshakes get
/// `403 {"code":4,"message":"Forbidden"}`.
pub type AllowRequest = Arc<dyn Fn(&http::request::Parts) -> bool + Send + Sync>;

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The path must start with `/`.
    #[error("path {0:?} must start with '/'")]
    Path(String),
    /// No transport is enabled.
    #[error("at least one transport must be enabled")]
    NoTransport,
    /// A duration or size that must be positive is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
}

/// The server's settings. Built by [`EngineIoBuilder`]; the defaults are the reference
/// server's.
#[derive(Clone)]
pub(crate) struct EngineConfig {
    pub(crate) path: String,
    pub(crate) polling: bool,
    pub(crate) websocket: bool,
    pub(crate) session: SessionConfig,
    pub(crate) allow_request: Option<AllowRequest>,
    pub(crate) ws_read_buffer: usize,
    pub(crate) message_queue: usize,
    pub(crate) slow_consumer_timeout: Option<Duration>,
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("polling", &self.polling)
            .field("websocket", &self.websocket)
            .field("session", &self.session)
            .field("allow_request", &self.allow_request.is_some())
            .field("ws_read_buffer", &self.ws_read_buffer)
            .field("message_queue", &self.message_queue)
            .field("slow_consumer_timeout", &self.slow_consumer_timeout)
            .finish()
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            path: "/engine.io/".to_owned(),
            polling: true,
            websocket: true,
            session: SessionConfig::default(),
            allow_request: None,
            ws_read_buffer: 1024,
            message_queue: 1024,
            slow_consumer_timeout: None,
        }
    }
}

/// Builds an Engine.IO server: the [`EngineIoLayer`] to mount and the [`EngineIo`]
/// handle to reach its sessions.
///
/// ```
/// use std::time::Duration;
/// use socketio_server::engine::{EngineConnection, EngineIo, EngineSocket};
/// use engineio_core::{CloseReason, Message};
///
/// struct Echo(EngineSocket);
/// impl EngineConnection for Echo {
///     fn on_message(&mut self, message: Message) {
///         let _ = self.0.send(message);
///     }
///     fn on_close(&mut self, _reason: CloseReason) {}
/// }
///
/// let (layer, _engine) = EngineIo::builder()
///     .ping_interval(Duration::from_secs(10))
///     .max_payload(64 * 1024)
///     .build(|socket| Box::new(Echo(socket)) as Box<dyn EngineConnection>)
///     .unwrap();
/// let app: axum::Router = axum::Router::new().layer(layer);
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct EngineIoBuilder {
    config: EngineConfig,
}

impl EngineIoBuilder {
    /// The URL path the server answers on; default `/engine.io/`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.path = path.into();
        self
    }

    /// Time between two pings; default 25 s.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config.session.ping_interval = interval;
        self
    }

    /// Time to wait for a pong; default 20 s.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.config.session.ping_timeout = timeout;
        self
    }

    /// Time a WebSocket has to finish an upgrade; default 10 s.
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.config.session.upgrade_timeout = timeout;
        self
    }

    /// The largest POST body or WebSocket message in bytes; default 1,000,000. Larger
    /// ones close their session (a POST gets `413`).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.config.session.max_payload = bytes;
        self
    }

    /// The most packets one POST body may carry; default 16,384.
    pub fn max_packets_per_payload(mut self, packets: usize) -> Self {
        self.config.session.max_packets_per_payload = packets;
        self
    }

    /// The most packets a polling session buffers between two GETs; default 8,192.
    pub fn max_buffered_packets(mut self, packets: usize) -> Self {
        self.config.session.max_buffered_packets = packets;
        self
    }

    /// The most messages waiting in one session's outgoing queue before
    /// [`EngineSocket::send`](super::EngineSocket::send) fails with `Full`; default 1,024.
    pub fn message_queue(mut self, messages: usize) -> Self {
        self.config.message_queue = messages;
        self
    }

    /// How many bytes a WebSocket reads from its connection at a time; default 1,024.
    /// Each WebSocket session holds a buffer of this size, so the default suits many
    /// connections that exchange small messages; raise it when clients send large
    /// binary payloads, which a larger buffer reads in fewer system calls.
    pub fn websocket_read_buffer(mut self, bytes: usize) -> Self {
        self.config.ws_read_buffer = bytes.max(64);
        self
    }

    /// Closes a session whose outgoing queue stays full for this long (sends keep
    /// failing with `Full`), with the reason "transport error" (slow consumer). Off by
    /// default: a full queue only makes sends fail.
    pub fn slow_consumer_timeout(mut self, timeout: Duration) -> Self {
        self.config.slow_consumer_timeout = Some(timeout);
        self
    }

    /// The transports clients may use; default both. A polling session is offered the
    /// upgrade to WebSocket only when WebSocket is enabled.
    pub fn transports(mut self, transports: &[TransportKind]) -> Self {
        self.config.polling = transports.contains(&TransportKind::Polling);
        self.config.websocket = transports.contains(&TransportKind::WebSocket);
        self
    }

    /// A check run on every handshake request; `false` refuses it with `403`.
    pub fn allow_request(
        mut self,
        allow: impl Fn(&http::request::Parts) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config.allow_request = Some(Arc::new(allow));
        self
    }

    /// Checks the configuration and builds the layer and its handle.
    pub fn build<H: EngineHandler>(
        mut self,
        handler: H,
    ) -> Result<(EngineIoLayer, EngineIo), ConfigError> {
        let config = &mut self.config;
        if !config.path.starts_with('/') {
            return Err(ConfigError::Path(config.path.clone()));
        }
        if !config.path.ends_with('/') {
            config.path.push('/');
        }
        if !config.polling && !config.websocket {
            return Err(ConfigError::NoTransport);
        }
        let session = &mut config.session;
        for (name, zero) in [
            ("ping_interval", session.ping_interval.is_zero()),
            ("ping_timeout", session.ping_timeout.is_zero()),
            ("upgrade_timeout", session.upgrade_timeout.is_zero()),
            ("max_payload", session.max_payload == 0),
            (
                "max_packets_per_payload",
                session.max_packets_per_payload == 0,
            ),
            ("max_buffered_packets", session.max_buffered_packets == 0),
            ("message_queue", config.message_queue == 0),
        ] {
            if zero {
                return Err(ConfigError::Zero(name));
            }
        }
        session.allow_upgrade = config.websocket;
        let engine = EngineIo::new(self.config, handler);
        Ok((EngineIoLayer::new(engine.clone()), engine))
    }
}
