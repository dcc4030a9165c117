//! The server handle, its builder and its layer.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, OnceLock, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytestring::ByteString;
use engineio_core::TransportKind;
use serde::Serialize;
use tower_layer::Layer;

use crate::{
    Adapter, EmitError, IntoRooms, LocalAdapter, Namespace, ParserKind, Rejection, Room, Socket,
    adapter::{BroadcastOptions, SocketInfo},
    connection::Connection,
    engine::{
        ConfigError, EngineConnection, EngineIo, EngineIoBuilder, EngineIoLayer, EngineIoService,
    },
    namespace::{Matcher, NamespaceHandle, NamespaceInner},
    operator::{BroadcastOperator, Delivery},
    parser::ServerParser,
};

type ErrorHook = Arc<dyn Fn(&Socket, &str, &Rejection) + Send + Sync>;

/// Connection state recovery settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recovery {
    pub(crate) max_disconnection_duration: Duration,
}

pub(crate) struct IoConfig {
    pub(crate) recovery: Option<Recovery>,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) max_pending_acks: usize,
    pub(crate) max_concurrent_handlers: usize,
    pub(crate) on_error: Option<ErrorHook>,
}

pub(crate) struct IoInner {
    pub(crate) config: IoConfig,
    pub(crate) parser: ServerParser,
    pub(crate) adapter: Arc<dyn Adapter>,
    volatile_drops: AtomicU64,
    namespaces: RwLock<HashMap<ByteString, Arc<NamespaceInner>>>,
    dynamic: RwLock<Vec<(Matcher, Arc<Namespace>)>>,
    engine: OnceLock<EngineIo>,
}

/// The Socket.IO server: mount namespaces, reach their sockets, emit, shut down.
/// Cheap to clone. Made with its [`SocketIoLayer`] by [`SocketIo::builder`] or
/// [`SocketIoLayer::new`].
///
/// ```
/// use socketio_server::{Data, Namespace, Socket, SocketIoLayer};
///
/// let (layer, io) = SocketIoLayer::new();
/// io.ns("/", Namespace::new().on("echo", |socket: Socket, Data(text): Data<String>| async move {
///     let _ = socket.emit("echo", &text);
/// }));
/// let app: axum::Router = axum::Router::new().layer(layer);
/// ```
#[derive(Clone)]
pub struct SocketIo {
    pub(crate) inner: Arc<IoInner>,
}

impl fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<ByteString> = self
            .inner
            .namespaces
            .read()
            .map(|namespaces| namespaces.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("SocketIo")
            .field("namespaces", &names)
            .finish_non_exhaustive()
    }
}

impl IoInner {
    pub(crate) fn count_volatile_drop(&self) {
        self.volatile_drops.fetch_add(1, Ordering::Relaxed);
    }
}

impl SocketIo {
    /// Starts configuring a server.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder::default()
    }

    /// Mounts a namespace's handlers at `path`. A path with `{name}` segments, such as
    /// `/room/{id}`, is a dynamic namespace: every name that matches it gets a namespace
    /// of its own with these handlers, and [`NsParams`](crate::NsParams) gives the
    /// captured values. Mounting on a path again replaces the handlers for sockets that
    /// connect from then on.
    pub fn ns(&self, path: &str, namespace: Namespace) {
        let handlers = Arc::new(namespace);
        if path.contains('{') {
            if let Ok(mut dynamic) = self.inner.dynamic.write() {
                dynamic.push((Matcher::pattern(path), handlers));
            }
            return;
        }
        let name = ByteString::from(normalize(path));
        let inner = Arc::new(NamespaceInner::new(name.clone(), handlers, Vec::new()));
        if let Ok(mut namespaces) = self.inner.namespaces.write() {
            namespaces.insert(name.clone(), inner);
        }
        self.inner.adapter.namespace_added(&name);
    }

    /// Mounts a dynamic namespace: every name for which `matches` is true gets a
    /// namespace of its own with these handlers.
    pub fn dyn_ns(
        &self,
        matches: impl Fn(&str) -> bool + Send + Sync + 'static,
        namespace: Namespace,
    ) {
        if let Ok(mut dynamic) = self.inner.dynamic.write() {
            dynamic.push((Matcher::Predicate(Box::new(matches)), Arc::new(namespace)));
        }
    }

    /// The namespace with this name, if it exists (a dynamic one exists once a client
    /// has connected to it).
    pub fn of(&self, name: &str) -> Option<NamespaceHandle> {
        let inner = self.inner.namespaces.read().ok()?.get(name).cloned()?;
        Some(NamespaceHandle {
            inner,
            io: Arc::clone(&self.inner),
        })
    }

    /// Every socket of the main namespace `/`.
    pub fn all(&self) -> BroadcastOperator {
        self.main().all()
    }

    /// The sockets of `/` in these rooms.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.main().to(rooms)
    }

    /// The same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Every socket of `/` but those in these rooms.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.main().except(rooms)
    }

    /// Every socket of `/` on this server process.
    pub fn local(&self) -> BroadcastOperator {
        self.main().local()
    }

    /// Every socket of `/`, with emits that may be dropped for sockets that are not
    /// ready.
    pub fn volatile(&self) -> BroadcastOperator {
        self.main().volatile()
    }

    /// Every socket of `/`, with an acknowledgement timeout of its own.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.main().timeout(timeout)
    }

    /// Emits an event to every socket of the main namespace `/`; see
    /// [`NamespaceHandle::emit`].
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Delivery, EmitError> {
        self.main().emit(event, args)
    }

    /// How many server processes share the adapter, this one included.
    pub async fn server_count(&self) -> Result<usize, crate::adapter::AdapterError> {
        self.inner.adapter.server_count().await
    }

    /// Emits an event to the other server processes (not to clients) of namespace `ns`;
    /// with `ack`, waits that long for each one's answer and returns them.
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        ns: &str,
        event: &str,
        args: &T,
        ack: Option<Duration>,
    ) -> Result<Vec<socketio_core::Args>, crate::adapter::AdapterError> {
        let args = socketio_core::Args::from_serialize(args)
            .map_err(|err| crate::adapter::AdapterError::Transport(err.to_string()))?;
        self.inner
            .adapter
            .server_side_emit(ns, event, &args, ack)
            .await
    }

    /// How many volatile packets were dropped because their socket was not ready.
    pub fn volatile_drops(&self) -> u64 {
        self.inner.volatile_drops.load(Ordering::Relaxed)
    }

    /// Delivers a broadcast to this node's sockets only: what a remote adapter calls
    /// when another node publishes one.
    pub fn deliver_local(
        &self,
        ns: &str,
        event: &str,
        args: socketio_core::Args,
        opts: &BroadcastOptions,
    ) -> Result<Delivery, EmitError> {
        let Some(operator) = self.local_operator(ns, opts) else {
            return Ok(Delivery::default());
        };
        operator.deliver(event, args)
    }

    /// Delivers a broadcast that another node stored in the cluster's log (see
    /// [`Adapter::publish_stored`](crate::adapter::Adapter::publish_stored)) to this
    /// node's sockets only, with the offset the log gave it as its last argument when
    /// connection state recovery is on and the broadcast is not volatile.
    pub fn deliver_local_stored(
        &self,
        ns: &str,
        event: &str,
        args: socketio_core::Args,
        opts: &BroadcastOptions,
        offset: &str,
    ) -> Result<Delivery, EmitError> {
        let Some(operator) = self.local_operator(ns, opts) else {
            return Ok(Delivery::default());
        };
        let offset = (self.inner.config.recovery.is_some() && !opts.volatile).then_some(offset);
        operator.deliver_at(event, args, offset)
    }

    fn local_operator(&self, ns: &str, opts: &BroadcastOptions) -> Option<BroadcastOperator> {
        let ns = self.of(ns)?;
        Some(BroadcastOperator {
            opts: BroadcastOptions {
                local: true,
                ..opts.clone()
            },
            ..ns.all()
        })
    }

    /// How long a disconnected client may come back and recover its session, when
    /// connection state recovery is on: what an adapter that stores sessions keeps them
    /// for.
    pub fn max_disconnection_duration(&self) -> Option<Duration> {
        self.inner
            .config
            .recovery
            .map(|recovery| recovery.max_disconnection_duration)
    }

    /// Describes this node's sockets that `opts` selects: what a remote adapter answers
    /// to another node's fetch.
    pub fn local_sockets_info(&self, ns: &str, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        self.local_selection(ns, opts)
            .iter()
            .map(Socket::info)
            .collect()
    }

    /// Makes this node's sockets that `opts` selects join rooms.
    pub fn local_join(&self, ns: &str, opts: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.local_selection(ns, opts) {
            socket.join(rooms.to_vec());
        }
    }

    /// Makes this node's sockets that `opts` selects leave rooms.
    pub fn local_leave(&self, ns: &str, opts: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.local_selection(ns, opts) {
            socket.leave(rooms.to_vec());
        }
    }

    /// Disconnects this node's sockets that `opts` selects; with `close`, their whole
    /// connections.
    pub fn local_disconnect(&self, ns: &str, opts: &BroadcastOptions, close: bool) {
        for socket in self.local_selection(ns, opts) {
            if close {
                socket.close_connection();
            } else {
                let _ = socket.disconnect();
            }
        }
    }

    fn local_selection(&self, ns: &str, opts: &BroadcastOptions) -> Vec<Socket> {
        self.of(ns)
            .map(|ns| {
                BroadcastOperator {
                    opts: opts.clone(),
                    ..ns.all()
                }
                .sockets()
            })
            .unwrap_or_default()
    }

    fn main(&self) -> NamespaceHandle {
        match self.of("/") {
            Some(ns) => ns,
            // "/" is mounted when the server is built and never removed.
            None => NamespaceHandle {
                inner: Arc::new(NamespaceInner::new(
                    ByteString::from_static("/"),
                    Arc::new(Namespace::new()),
                    Vec::new(),
                )),
                io: Arc::clone(&self.inner),
            },
        }
    }

    /// [`emit`](Self::emit) with arguments as they are.
    pub fn emit_args(&self, event: &str, args: socketio_core::Args) -> Result<Delivery, EmitError> {
        self.main().emit_args(event, args)
    }

    /// The sockets of a namespace.
    pub fn sockets(&self, namespace: &str) -> Vec<Socket> {
        self.of(namespace)
            .map(|ns| ns.sockets())
            .unwrap_or_default()
    }

    /// Closes every connection: sockets see "server shutting down", clients reconnect
    /// (to this server once it serves again, or to another one).
    pub fn close(&self) {
        if let Some(engine) = self.inner.engine.get() {
            engine.close();
        }
    }

    /// The Engine.IO server underneath.
    pub fn engine(&self) -> Option<&EngineIo> {
        self.inner.engine.get()
    }

    /// The namespace a CONNECT for `name` reaches, made on first use when a dynamic
    /// namespace matches.
    pub(crate) fn namespace_for(&self, name: &ByteString) -> Option<Arc<NamespaceInner>> {
        if let Some(ns) = self.inner.namespaces.read().ok()?.get(name) {
            return Some(Arc::clone(ns));
        }
        let (handlers, params) = {
            let dynamic = self.inner.dynamic.read().ok()?;
            dynamic.iter().find_map(|(matcher, handlers)| {
                Some((Arc::clone(handlers), matcher.matches(name)?))
            })?
        };
        let mut namespaces = self.inner.namespaces.write().ok()?;
        let ns = namespaces
            .entry(name.clone())
            .or_insert_with(|| Arc::new(NamespaceInner::new(name.clone(), handlers, params)));
        let ns = Arc::clone(ns);
        drop(namespaces);
        self.inner.adapter.namespace_added(name);
        Some(ns)
    }
}

fn normalize(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// Builds a Socket.IO server: its settings, then [`build`](Self::build) gives the
/// layer to mount and the [`SocketIo`] handle.
///
/// ```
/// use std::time::Duration;
/// use socketio_server::{Namespace, SocketIo};
///
/// let (layer, io) = SocketIo::builder()
///     .ping_interval(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(5))
///     .build()
///     .unwrap();
/// io.ns("/", Namespace::new());
/// let app: axum::Router = axum::Router::new().layer(layer);
/// ```
#[must_use]
pub struct SocketIoBuilder {
    engine: EngineIoBuilder,
    connect_timeout: Duration,
    ack_timeout: Duration,
    max_pending_acks: usize,
    max_concurrent_handlers: usize,
    max_attachments: usize,
    parser: ParserKind,
    on_error: Option<ErrorHook>,
    recovery: Option<Recovery>,
    adapter: Option<Arc<dyn Adapter>>,
}

impl fmt::Debug for SocketIoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoBuilder")
            .field("engine", &self.engine)
            .field("connect_timeout", &self.connect_timeout)
            .field("ack_timeout", &self.ack_timeout)
            .field("parser", &self.parser)
            .finish_non_exhaustive()
    }
}

impl Default for SocketIoBuilder {
    fn default() -> Self {
        Self {
            engine: EngineIo::builder().path("/socket.io/"),
            connect_timeout: Duration::from_secs(45),
            ack_timeout: Duration::from_secs(10),
            max_pending_acks: 4096,
            max_concurrent_handlers: 1024,
            max_attachments: 10,
            parser: ParserKind::Json,
            on_error: None,
            recovery: None,
            adapter: None,
        }
    }
}

macro_rules! engine_setting {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.engine = self.engine.$name(value);
            self
        }
    };
}

impl SocketIoBuilder {
    engine_setting!(
        /// The URL path; default `/socket.io/`.
        path: &str
    );
    engine_setting!(
        /// Time between two pings; default 25 s.
        ping_interval: Duration
    );
    engine_setting!(
        /// Time to wait for a pong; default 20 s.
        ping_timeout: Duration
    );
    engine_setting!(
        /// Time a WebSocket has to finish an upgrade; default 10 s.
        upgrade_timeout: Duration
    );
    engine_setting!(
        /// The largest POST body or WebSocket message in bytes; default 1,000,000.
        max_payload: usize
    );
    engine_setting!(
        /// The most messages waiting in one connection's outgoing queue; default 1,024.
        message_queue: usize
    );
    engine_setting!(
        /// How many bytes a WebSocket reads at a time, the size of each WebSocket
        /// connection's read buffer; default 1,024. Raise it for large binary payloads.
        websocket_read_buffer: usize
    );
    engine_setting!(
        /// The transports clients may use; default both.
        transports: &[TransportKind]
    );
    engine_setting!(
        /// Closes a connection whose outgoing queue stays full this long, with the
        /// reason "transport error"; off by default (a full queue only fails emits).
        slow_consumer_timeout: Duration
    );

    /// A check run on every handshake request; `false` refuses it with `403`.
    pub fn allow_request(
        mut self,
        allow: impl Fn(&http::request::Parts) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.engine = self.engine.allow_request(allow);
        self
    }

    /// Time a new connection has to join a namespace before it is closed; default 45 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time [`Socket::emit_with_ack`] waits for an answer; default 10 s.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// The most acknowledgements one socket may wait for; default 4,096.
    pub fn max_pending_acks(mut self, max: usize) -> Self {
        self.max_pending_acks = max;
        self
    }

    /// The most handler futures one connection may have running; past it the server
    /// stops reading that client's WebSocket until some finish. Default 1,024.
    pub fn max_concurrent_handlers(mut self, max: usize) -> Self {
        self.max_concurrent_handlers = max;
        self
    }

    /// The most binary attachments one packet may announce; default 10.
    pub fn max_attachments(mut self, max: usize) -> Self {
        self.max_attachments = max;
        self
    }

    /// The parser; default JSON.
    pub fn parser(mut self, parser: ParserKind) -> Self {
        self.parser = parser;
        self
    }

    /// Called when a handler does not run because an extractor failed (the failure is
    /// also logged), with the socket, the event name and the rejection.
    pub fn on_error(
        mut self,
        hook: impl Fn(&Socket, &str, &Rejection) + Send + Sync + 'static,
    ) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Turns on connection state recovery: a client that reconnects within
    /// `max_disconnection_duration` gets its socket id, rooms and data back, and the
    /// packets broadcast to its rooms meanwhile (see [`Socket::recovered`]). Off by
    /// default, as in the reference server. Middlewares do not run again for a
    /// recovered socket.
    pub fn connection_state_recovery(mut self, max_disconnection_duration: Duration) -> Self {
        self.recovery = Some(Recovery {
            max_disconnection_duration,
        });
        self
    }

    /// The adapter; default a [`LocalAdapter`] (one process).
    pub fn adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// Checks the settings and builds the layer and its handle. The namespace `/`
    /// exists from the start, with no handler until [`SocketIo::ns`] mounts some.
    pub fn build(self) -> Result<(SocketIoLayer, SocketIo), ConfigError> {
        for (name, zero) in [
            ("connect_timeout", self.connect_timeout.is_zero()),
            ("ack_timeout", self.ack_timeout.is_zero()),
            ("max_pending_acks", self.max_pending_acks == 0),
            ("max_concurrent_handlers", self.max_concurrent_handlers == 0),
        ] {
            if zero {
                return Err(ConfigError::Zero(name));
            }
        }
        let adapter = self.adapter.unwrap_or_else(|| {
            let window = self.recovery.map_or(Duration::from_secs(120), |recovery| {
                recovery.max_disconnection_duration
            });
            Arc::new(LocalAdapter::new(window))
        });
        let io = SocketIo {
            inner: Arc::new(IoInner {
                adapter,
                volatile_drops: AtomicU64::new(0),
                config: IoConfig {
                    recovery: self.recovery,
                    connect_timeout: self.connect_timeout,
                    ack_timeout: self.ack_timeout,
                    max_pending_acks: self.max_pending_acks,
                    max_concurrent_handlers: self.max_concurrent_handlers,
                    on_error: self.on_error,
                },
                parser: ServerParser::new(self.parser, self.max_attachments),
                namespaces: RwLock::new(HashMap::new()),
                dynamic: RwLock::new(Vec::new()),
                engine: OnceLock::new(),
            }),
        };
        io.inner
            .adapter
            .init(crate::adapter::ServerHandle::new(&io.inner));
        io.ns("/", Namespace::new());
        let weak = Arc::downgrade(&io.inner);
        let (engine_layer, engine) = self.engine.build(move |socket| {
            let connection: Box<dyn EngineConnection> = match weak.upgrade() {
                Some(inner) => Box::new(Connection::new(SocketIo { inner }, socket)),
                None => Box::new(Closed(socket)),
            };
            connection
        })?;
        let _ = io.inner.engine.set(engine);
        // The layer keeps the server alive: an application that drops its handle still
        // serves (the engine's handler only holds it weakly, as the server holds the
        // engine).
        let server: Arc<dyn std::any::Any + Send + Sync> = Arc::clone(&io.inner) as _;
        Ok((
            SocketIoLayer {
                engine: engine_layer.keeping(server),
            },
            io,
        ))
    }
}

/// A connection to a server whose handle is gone: it closes at once.
struct Closed(crate::engine::EngineSocket);

impl EngineConnection for Closed {
    fn on_message(&mut self, _message: engineio_core::Message) {
        self.0.close();
    }

    fn on_close(&mut self, _reason: engineio_core::CloseReason) {}
}

/// The layer that serves Socket.IO on its path (default `/socket.io/`) and passes every
/// other request to the service it wraps.
#[derive(Debug, Clone)]
pub struct SocketIoLayer {
    engine: EngineIoLayer,
}

impl SocketIoLayer {
    /// A server with the default settings, and its handle.
    pub fn new() -> (Self, SocketIo) {
        match SocketIo::builder().build() {
            Ok(built) => built,
            // The defaults are valid; this arm is never taken.
            Err(err) => unreachable!("default settings are valid: {err}"),
        }
    }
}

impl<S> Layer<S> for SocketIoLayer {
    type Service = EngineIoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.engine.layer(inner)
    }
}
