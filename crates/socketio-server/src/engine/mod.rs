//! Engine.IO on its own: sessions that exchange raw text and binary messages, with no
//! Socket.IO on top. The Socket.IO server is built on it; use it directly to serve
//! Engine.IO clients (`engine.io-client`).

mod body;
mod builder;
mod driver;
mod layer;
mod outbox;
mod request;
mod request_head;
mod socket;
mod waker;
mod websocket;

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
};

use engineio_core::{CloseReason, Sid};

pub use body::EngineBody;
pub(crate) use builder::EngineConfig;
pub use builder::{AllowRequest, ConfigError, EngineIoBuilder};
pub use layer::{EngineIoLayer, EngineIoService, ResponseFuture};
pub(crate) use outbox::Outgoing;
pub use socket::{EngineConnection, EngineHandler, EngineSocket};
pub(crate) use waker::DriverWaker;

/// A handle on a running Engine.IO server: its sessions, and its shutdown. Cheap to
/// clone. Made by [`EngineIo::builder`].
#[derive(Clone)]
pub struct EngineIo {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    config: EngineConfig,
    handler: Box<dyn EngineHandler>,
    sessions: Mutex<HashMap<Sid, EngineSocket, foldhash::fast::RandomState>>,
}

impl fmt::Debug for EngineIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIo")
            .field("config", &self.shared.config)
            .field("sessions", &self.session_count())
            .finish_non_exhaustive()
    }
}

impl EngineIo {
    /// Starts configuring a server.
    pub fn builder() -> EngineIoBuilder {
        EngineIoBuilder::default()
    }

    pub(crate) fn new(config: EngineConfig, handler: impl EngineHandler) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                handler: Box::new(handler),
                sessions: Mutex::new(HashMap::default()),
            }),
        }
    }

    /// The open session with this id.
    pub fn get(&self, sid: &str) -> Option<EngineSocket> {
        self.shared.get(sid)
    }

    /// Every open session.
    pub fn sockets(&self) -> Vec<EngineSocket> {
        self.shared
            .sessions
            .lock()
            .map(|sessions| sessions.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The number of open sessions.
    pub fn session_count(&self) -> usize {
        self.shared
            .sessions
            .lock()
            .map_or(0, |sessions| sessions.len())
    }

    /// Closes every session with the reason "server shutting down"; queued messages
    /// are delivered first. New handshakes are still accepted: stop routing requests
    /// to the layer (for example with axum's graceful shutdown) to refuse them.
    pub fn close(&self) {
        for socket in self.sockets() {
            socket.close_with(CloseReason::ServerShuttingDown);
        }
    }

    /// The path the server answers on.
    pub fn path(&self) -> &str {
        &self.shared.config.path
    }
}

impl Shared {
    fn get(&self, sid: &str) -> Option<EngineSocket> {
        self.sessions.lock().ok()?.get(sid).cloned()
    }

    fn insert(&self, socket: EngineSocket) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(socket.sid().clone(), socket);
        }
    }

    fn remove(&self, sid: &Sid) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(sid);
        }
    }

    /// Whether a request path belongs to the server: the configured path (which ends
    /// with `/`), anything below it, or the path without its final `/`.
    fn matches(&self, path: &str) -> bool {
        let prefix = self.config.path.as_str();
        path.starts_with(prefix) || prefix.strip_suffix('/') == Some(path)
    }
}
