//! The Manager: one Engine.IO connection, shared by the sockets of its namespaces.

use std::{fmt, sync::Arc};

use tokio::sync::{broadcast, mpsc};

use crate::{
    BuildError, EmitError, ManagerBuilder, SocketBuilder,
    config::Config,
    driver::{Command, Driver},
    events::{ManagerEvent, ManagerEvents},
};

pub(crate) struct ManagerShared {
    pub(crate) config: Config,
    pub(crate) events: broadcast::Sender<ManagerEvent>,
}

/// One connection to a Socket.IO server (an Engine.IO session, re-made on every
/// reconnection), shared by the sockets of any number of namespaces.
///
/// A Manager is a handle to a task that owns the connection: cheap to clone, and every
/// clone is the same Manager. The task reconnects as the official client does (1 s
/// doubling to 5 s, spread by half, unlimited attempts by default) and stops once the
/// Manager and all its sockets are dropped. For two separate connections to one server
/// (the official `forceNew`), build two Managers.
///
/// ```no_run
/// use socketio_client::{Manager, ManagerEvent};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::new("http://localhost:3000")?;
/// let mut events = manager.events();
/// let main = manager.socket("/").connect().await?;
/// let admin = manager.socket("/admin").connect().await?; // same connection
/// while let Some(event) = events.recv().await {
///     if let ManagerEvent::ReconnectAttempt(n) = event {
///         println!("reconnecting, attempt {n}");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Manager {
    pub(crate) shared: Arc<ManagerShared>,
    cmd: mpsc::UnboundedSender<Command>,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("authority", &self.shared.config.authority)
            .field("path", &self.shared.config.path)
            .finish_non_exhaustive()
    }
}

impl Manager {
    /// A Manager for `url` with the default options (see [`Manager::builder`]).
    ///
    /// # Errors
    ///
    /// See [`ManagerBuilder::build`].
    pub fn new(url: impl Into<String>) -> Result<Self, BuildError> {
        Self::builder(url).build()
    }

    /// A builder for a Manager of the server at `url` (`http://host:port`; the path is
    /// set with [`ManagerBuilder::path`], the namespace per socket).
    pub fn builder(url: impl Into<String>) -> ManagerBuilder {
        ManagerBuilder::new(url)
    }

    pub(crate) fn start(config: Config) -> Result<Self, BuildError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        let (events, _) = broadcast::channel(1024);
        let shared = Arc::new(ManagerShared { config, events });
        let (cmd, rx) = mpsc::unbounded_channel();
        let driver = Driver::new(Arc::clone(&shared), rx, cmd.downgrade());
        let span = tracing::debug_span!(
            "socketio_client",
            server = %shared.config.authority,
            path = %shared.config.path
        );
        runtime.spawn(tracing::Instrument::instrument(driver.run(), span));
        Ok(Self { shared, cmd })
    }

    pub(crate) fn from_parts(
        shared: Arc<ManagerShared>,
        cmd: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Self { shared, cmd }
    }

    /// A builder for the socket of namespace `nsp` on this Manager's connection. A
    /// Manager has one socket per namespace: connecting a second socket of a namespace
    /// whose socket is active fails with
    /// [`ConnectError::NamespaceTaken`](crate::ConnectError::NamespaceTaken) (clone the
    /// first one instead, or use a second Manager).
    pub fn socket(&self, nsp: &str) -> SocketBuilder {
        SocketBuilder::new(self.clone(), nsp)
    }

    /// A stream of this Manager's events from now on.
    pub fn events(&self) -> ManagerEvents {
        ManagerEvents::new(self.shared.events.subscribe())
    }

    /// Opens the connection if it is closed and no reconnection is under way (the
    /// official `manager.open()`); the active sockets join their namespaces on it.
    pub fn open(&self) {
        let _ = self.send(Command::Open);
    }

    /// Closes the connection and stops reconnecting: the connected sockets disconnect
    /// with "forced close". [`Manager::open`] (or [`Socket::connect`](crate::Socket::connect))
    /// starts again.
    pub fn close(&self) {
        let _ = self.send(Command::Close);
    }

    pub(crate) fn send(&self, command: Command) -> Result<(), EmitError> {
        self.cmd
            .send(command)
            .map_err(|_| EmitError::ManagerStopped)
    }
}
