//! A socket: one namespace, multiplexed on its Manager's connection.

use std::{
    fmt,
    future::Future,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytestring::ByteString;
use serde::Serialize;
use socketio_core::{Args, Packet, Value, is_reserved_event};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    AckError, AckFuture, ConnectError, EmitError, Manager,
    driver::Command,
    events::{EventStream, SocketEvent},
    handler::{BoxFuture, ErasedHandler, EventHandler},
    state::{AckSlot, Effects, QueueCtx, SocketOptions, SocketState},
};

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Where a socket stands, as waiters see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Status {
    /// Not asked to connect.
    Idle,
    /// Asked to connect, not (or no longer) connected: the Manager is on it.
    Connecting,
    Connected,
    /// Given up on: refused, or disconnected for good.
    Failed(ConnectError),
}

pub(crate) type OutgoingListener = Arc<dyn Fn(&str, &Args) + Send + Sync>;
pub(crate) type AuthFn = Arc<dyn Fn() -> BoxFuture<Value> + Send + Sync>;

/// The auth a socket sends with its CONNECT.
#[derive(Clone, Default)]
pub(crate) enum AuthSource {
    #[default]
    None,
    Value(Value),
    Fn(AuthFn),
}

impl fmt::Debug for AuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Value(value) => f.debug_tuple("Value").field(value).finish(),
            Self::Fn(_) => f.write_str("Fn(..)"),
        }
    }
}

#[derive(Default, Clone)]
pub(crate) struct Handlers {
    pub(crate) by_event: Vec<(String, ErasedHandler)>,
    pub(crate) any: Vec<ErasedHandler>,
}

impl Handlers {
    pub(crate) fn for_event<'a>(
        &'a self,
        event: &'a str,
    ) -> impl Iterator<Item = &'a ErasedHandler> {
        self.by_event
            .iter()
            .filter(move |(name, _)| name == event)
            .map(|(_, handler)| handler)
    }
}

/// What the socket's handles and the Manager's task share.
pub(crate) struct SocketCore {
    pub(crate) key: u64,
    pub(crate) nsp: ByteString,
    pub(crate) options: SocketOptions,
    pub(crate) auth: Mutex<AuthSource>,
    pub(crate) handlers: Handlers,
    pub(crate) outgoing: Vec<OutgoingListener>,
    state: Mutex<SocketState>,
    pub(crate) status: watch::Sender<Status>,
    pub(crate) subscribers: Mutex<Vec<mpsc::Sender<SocketEvent>>>,
}

impl fmt::Debug for SocketCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketCore")
            .field("key", &self.key)
            .field("nsp", &self.nsp)
            .finish_non_exhaustive()
    }
}

impl SocketCore {
    /// Locks the state; a poisoned lock (a panic elsewhere) still gives the state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SocketState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn queue_ctx(&self, now: Instant) -> QueueCtx<'_> {
        QueueCtx {
            nsp: &self.nsp,
            now,
            ack_timeout: self.options.ack_timeout,
            retries: self.options.retries,
        }
    }

    pub(crate) fn set_status(&self, status: Status) {
        self.status.send_replace(status);
    }

    /// Hands an event to the streams of [`Socket::events`]; a full stream drops it, with
    /// a warning.
    pub(crate) fn publish(&self, event: &SocketEvent) {
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        subscribers.retain(|tx| match tx.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(nsp = %self.nsp, "an event stream is full: event dropped");
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }
}

/// A Socket.IO socket: one namespace of a [`Manager`]'s connection. Cheap to clone; every
/// clone is the same socket.
///
/// Events arrive at the handlers given to its [`SocketBuilder`] (with extractors, as on
/// the server) or on a [`Socket::events`] stream. Emits made while it is disconnected wait
/// in a bounded offline buffer and go out, in order, once it connects.
///
/// ```no_run
/// use std::time::Duration;
/// use socketio_client::{Data, Manager};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::new("http://localhost:3000")?;
/// let socket = manager
///     .socket("/")
///     .on("news", |Data(text): Data<String>| async move { println!("{text}") })
///     .connect()
///     .await?;
/// socket.emit("hello", &("world", 42))?;
/// let answer = socket.timeout(Duration::from_secs(5)).emit_with_ack("sum", &(1, 2)).await?;
/// let sum: u32 = answer.deserialize()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Socket {
    pub(crate) core: Arc<SocketCore>,
    pub(crate) manager: Manager,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.core.nsp)
            .field("id", &self.id())
            .field("connected", &self.connected())
            .finish()
    }
}

impl Socket {
    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.core.nsp
    }

    /// The socket id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        self.core.lock().id.clone()
    }

    /// Whether the socket is connected to its namespace.
    pub fn connected(&self) -> bool {
        self.core.lock().connected
    }

    /// Whether the socket wants to be connected: it is connected, or the Manager is
    /// (re)connecting it.
    pub fn active(&self) -> bool {
        self.core.lock().active
    }

    /// Whether the last connection recovered the previous session (connection state
    /// recovery): same id, and the events missed meanwhile were delivered.
    pub fn recovered(&self) -> bool {
        self.core.lock().recovered
    }

    /// How many volatile emits were dropped because the socket was disconnected.
    pub fn volatile_dropped(&self) -> u64 {
        self.core.lock().volatile_dropped
    }

    /// How many packets wait in the offline buffer.
    pub fn buffered(&self) -> usize {
        self.core.lock().send_buffer.len()
    }

    /// The Manager this socket is on.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Emits `event`. The arguments follow the tuple rule: a tuple is several arguments,
    /// `()` none, anything else one; binary (`bytes::Bytes`, [`Value::Binary`]) may be
    /// anywhere in them.
    ///
    /// # Errors
    ///
    /// Arguments that cannot be encoded, a reserved event name, a full offline buffer.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.emitter().emit(event, args)
    }

    /// Emits `event` with arguments as they are.
    ///
    /// # Errors
    ///
    /// As [`Socket::emit`].
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.emitter().emit_args(event, args)
    }

    /// Emits `event` and waits for the server's acknowledgement (with the socket's
    /// `ack_timeout`, if any). See [`Emitter::emit_with_ack`].
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> AckFuture {
        self.emitter().emit_with_ack(event, args)
    }

    /// [`Socket::emit_with_ack`] with arguments as they are.
    pub fn emit_args_with_ack(&self, event: &str, args: Args) -> AckFuture {
        self.emitter().emit_args_with_ack(event, args)
    }

    /// An emitter with a timeout for the acknowledgements of its emits.
    pub fn timeout(&self, timeout: Duration) -> Emitter {
        self.emitter().timeout(timeout)
    }

    /// An emitter whose emits are dropped when the socket is disconnected, instead of
    /// waiting in the offline buffer.
    pub fn volatile(&self) -> Emitter {
        self.emitter().volatile()
    }

    /// An emitter with the `compress` flag set (kept for API parity: WebSocket
    /// compression is not negotiated by this client).
    pub fn compress(&self, compress: bool) -> Emitter {
        self.emitter().compress(compress)
    }

    fn emitter(&self) -> Emitter {
        Emitter {
            socket: self.clone(),
            timeout: None,
            volatile: false,
            compress: true,
        }
    }

    /// A stream of this socket's events from now on, as an alternative (or a complement)
    /// to handlers. Each stream holds up to the socket's `event_capacity` events; past
    /// that, events are dropped for that stream, with a warning.
    pub fn events(&self) -> EventStream {
        let (tx, rx) = mpsc::channel(self.core.options.event_capacity.max(1));
        self.core
            .subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(tx);
        EventStream::new(rx)
    }

    /// Asks to connect (again): the Manager opens its connection if needed, and the
    /// socket joins its namespace, sending its auth. Does nothing when connected. Use
    /// [`Socket::wait_connected`] to know when it is done.
    pub fn connect(&self) {
        {
            let mut state = self.core.lock();
            if state.connected {
                return;
            }
            state.active = true;
        }
        self.core.set_status(Status::Connecting);
        let _ = self.manager.send(Command::Register(Arc::clone(&self.core)));
    }

    /// Replaces the auth data sent with the next CONNECT (after a refusal, for example).
    pub fn set_auth(&self, auth: impl Into<Value>) {
        *self
            .core
            .auth
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = AuthSource::Value(auth.into());
    }

    /// Leaves the namespace: a DISCONNECT goes to the server when connected, the reason
    /// is "io client disconnect", and the socket stays disconnected (no reconnection).
    /// When it was the Manager's last socket, the Manager closes its connection and
    /// stops any reconnection loop.
    pub fn disconnect(&self) {
        let _ = self.manager.send(Command::Disconnect(self.core.key));
    }

    /// Waits until the socket is connected, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Refused`] when the server refused, [`ConnectError::Disconnected`]
    /// when the socket was disconnected for good (or never asked to connect),
    /// [`ConnectError::Timeout`] when the time ran out.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), ConnectError> {
        let mut rx = self.core.status.subscribe();
        let wait = rx.wait_for(|status| !matches!(status, Status::Connecting));
        match tokio::time::timeout(timeout, wait).await {
            Err(_) => Err(ConnectError::Timeout),
            Ok(Err(_)) => Err(ConnectError::Disconnected("manager stopped")),
            Ok(Ok(status)) => match &*status {
                Status::Connected => Ok(()),
                Status::Failed(err) => Err(err.clone()),
                Status::Idle | Status::Connecting => {
                    Err(ConnectError::Disconnected("not connecting"))
                }
            },
        }
    }

    pub(crate) fn send_ack(&self, id: u64, args: Args) -> Result<(), EmitError> {
        self.manager.send(Command::Raw {
            key: self.core.key,
            packet: Packet::ack(self.core.nsp.clone(), id, args),
        })
    }

    fn send_event(
        &self,
        event: &str,
        args: Args,
        flags: &Emitter,
        ack: Option<oneshot::Sender<Result<Args, AckError>>>,
    ) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        let core = &self.core;
        let now = Instant::now();
        let mut fx = Effects::default();
        let result = {
            let mut state = core.lock();
            if core.options.retries > 0 && !flags.volatile {
                if state.queue_len() >= core.options.max_buffered_packets {
                    return Err(EmitError::BufferFull);
                }
                let ctx = core.queue_ctx(now);
                state.enqueue(
                    event.into(),
                    args.clone(),
                    ack,
                    flags.timeout,
                    &ctx,
                    &mut fx,
                );
                for out in fx.send.drain(..) {
                    self.manager.send(Command::Packet {
                        key: core.key,
                        packet: out.packet,
                        volatile: false,
                    })?;
                    if let Some((id, deadline)) = out.timer {
                        self.manager.send(Command::AckTimer {
                            core: Arc::downgrade(core),
                            id,
                            deadline,
                        })?;
                    }
                }
                Ok(true)
            } else {
                let id = ack.map(|tx| state.register_ack(AckSlot::Direct(tx)));
                let packet = Packet::event(core.nsp.clone(), event, args.clone(), id);
                let outcome = if state.connected {
                    self.manager
                        .send(Command::Packet {
                            key: core.key,
                            packet,
                            volatile: flags.volatile,
                        })
                        .map(|()| true)
                } else if flags.volatile {
                    state.volatile_dropped = state.volatile_dropped.saturating_add(1);
                    Ok(false)
                } else if state.send_buffer.len() >= core.options.max_buffered_packets {
                    Err(EmitError::BufferFull)
                } else {
                    state.send_buffer.push_back(packet);
                    Ok(true)
                };
                match (id, &outcome) {
                    (Some(id), Ok(true)) => {
                        if let Some(timeout) = flags.timeout.or(core.options.ack_timeout) {
                            self.manager.send(Command::AckTimer {
                                core: Arc::downgrade(core),
                                id,
                                deadline: now + timeout,
                            })?;
                        }
                    }
                    (Some(id), Ok(false)) => {
                        if let Some(AckSlot::Direct(tx)) = state.forget_ack(id) {
                            fx.resolve.push((tx, Err(AckError::Disconnected)));
                        }
                    }
                    (Some(id), Err(_)) => {
                        state.forget_ack(id);
                    }
                    (None, _) => {}
                }
                outcome
            }
        };
        fx.resolve_all();
        if let Ok(true) = result {
            for listener in &core.outgoing {
                listener(event, &args);
            }
        }
        result.map(|_| ())
    }
}

/// An emit with its own modifiers, taken by value: concurrent emits never share flags.
///
/// ```no_run
/// # use std::time::Duration;
/// # async fn run(socket: socketio_client::Socket) -> Result<(), Box<dyn std::error::Error>> {
/// socket.volatile().emit("position", &(10, 20))?;
/// let answer = socket.timeout(Duration::from_secs(2)).emit_with_ack("ping", &()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Emitter {
    socket: Socket,
    timeout: Option<Duration>,
    volatile: bool,
    compress: bool,
}

impl Emitter {
    /// Fails the acknowledgement after `timeout` (the official `socket.timeout(ms)`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Drops the emit when the socket is disconnected, rather than buffering it; counted
    /// in [`Socket::volatile_dropped`].
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// The `compress` flag (for API parity; no effect on this client's transports).
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Emits `event` (see [`Socket::emit`]).
    ///
    /// # Errors
    ///
    /// As [`Socket::emit`].
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let args = Args::from_serialize(args)?;
        self.socket.send_event(event, args, self, None)
    }

    /// Emits `event` with arguments as they are.
    ///
    /// # Errors
    ///
    /// As [`Socket::emit`].
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.socket.send_event(event, args, self, None)
    }

    /// Emits `event` asking for an acknowledgement. The future gives the server's
    /// answer; [`AckError::Timeout`] after the timeout (this emitter's, else the socket's
    /// `ack_timeout`; none waits forever), [`AckError::Disconnected`] when the socket
    /// disconnects first, unless the packet was still in the offline buffer.
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> AckFuture {
        match Args::from_serialize(args) {
            Ok(args) => self.emit_args_with_ack(event, args),
            Err(err) => AckFuture::failed(AckError::Emit(err.into())),
        }
    }

    /// [`Emitter::emit_with_ack`] with arguments as they are.
    pub fn emit_args_with_ack(&self, event: &str, args: Args) -> AckFuture {
        let (tx, rx) = oneshot::channel();
        match self.socket.send_event(event, args, self, Some(tx)) {
            Ok(()) => AckFuture::waiting(rx),
            Err(err) => AckFuture::failed(AckError::Emit(err)),
        }
    }
}

/// Builds a [`Socket`] for one namespace of a [`Manager`]: its handlers, auth, state and
/// delivery options. `S` is the state its handlers extract with `State`.
///
/// ```no_run
/// use socketio_client::{AckSender, Data, Event, Manager, State};
/// use socketio_core::Args;
///
/// #[derive(Clone)]
/// struct App { name: String }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::new("http://localhost:3000")?;
/// let socket = manager
///     .socket("/admin")
///     .auth(serde_json::json!({ "token": "secret" }))
///     .with_state(App { name: "bot".into() })
///     .on("ask", |Data(question): Data<String>, ack: AckSender, State(app): State<App>| async move {
///         let _ = ack.send(&format!("{} does not know {question}", app.name));
///     })
///     .on_any(|Event(name): Event, args: Args| async move {
///         println!("{} with {} arguments", &*name, args.len());
///     })
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct SocketBuilder<S = ()> {
    manager: Manager,
    nsp: String,
    state: S,
    handlers: Handlers,
    outgoing: Vec<OutgoingListener>,
    auth: AuthSource,
    options: SocketOptions,
}

impl<S> fmt::Debug for SocketBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketBuilder")
            .field("nsp", &self.nsp)
            .field("auth", &self.auth)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SocketBuilder<()> {
    pub(crate) fn new(manager: Manager, nsp: &str) -> Self {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        Self {
            manager,
            nsp,
            state: (),
            handlers: Handlers::default(),
            outgoing: Vec::new(),
            auth: AuthSource::None,
            options: SocketOptions::default(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> SocketBuilder<S> {
    /// The state handlers extract with [`State`](crate::State). Handlers added before
    /// keep the state they were added with.
    pub fn with_state<S2: Clone + Send + Sync + 'static>(self, state: S2) -> SocketBuilder<S2> {
        SocketBuilder {
            manager: self.manager,
            nsp: self.nsp,
            state,
            handlers: self.handlers,
            outgoing: self.outgoing,
            auth: self.auth,
            options: self.options,
        }
    }

    /// Handles `event` with an async function of extractors. Several handlers of one
    /// event all run, in the order they were added. The reserved events are handled the
    /// same way: `connect`, `disconnect` (its [`Data<String>`](crate::Data) is the
    /// reason) and `connect_error` (`{message, data}`).
    pub fn on<H, T>(mut self, event: &str, handler: H) -> Self
    where
        H: EventHandler<T, S>,
        T: 'static,
    {
        let state = self.state.clone();
        self.handlers.by_event.push((
            event.to_owned(),
            Arc::new(move |ctx| handler.call(ctx, &state)),
        ));
        self
    }

    /// Handles every incoming event (the reserved ones excepted), before its own
    /// handlers, in arrival order: a catch-all (the official `onAny`).
    pub fn on_any<H, T>(mut self, handler: H) -> Self
    where
        H: EventHandler<T, S>,
        T: 'static,
    {
        let state = self.state.clone();
        self.handlers
            .any
            .push(Arc::new(move |ctx| handler.call(ctx, &state)));
        self
    }

    /// Sees every outgoing event (the official `onAnyOutgoing`), synchronously in the
    /// caller of the emit, once the emit is sent or buffered.
    pub fn on_any_outgoing(
        mut self,
        listener: impl Fn(&str, &Args) + Send + Sync + 'static,
    ) -> Self {
        self.outgoing.push(Arc::new(listener));
        self
    }

    /// The auth data sent with every CONNECT (an object, or `Null` for none).
    pub fn auth(mut self, auth: impl Into<Value>) -> Self {
        self.auth = AuthSource::Value(auth.into());
        self
    }

    /// An async function that gives the auth data, run again before every (re)connection.
    pub fn auth_fn<F, Fut>(mut self, auth: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Value> + Send + 'static,
    {
        self.auth = AuthSource::Fn(Arc::new(move || Box::pin(auth())));
        self
    }

    /// The default timeout of acknowledgements (the official `ackTimeout`). Default none.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.options.ack_timeout = Some(timeout);
        self
    }

    /// Makes every (non-volatile) emit go through a queue: one packet in flight at a
    /// time, in order, each retried until acknowledged, `retries` times at most
    /// (`retries + 1` sends), with `ack_timeout` between tries. Default 0: no queue.
    pub fn retries(mut self, retries: u32) -> Self {
        self.options.retries = retries;
        self
    }

    /// The most packets the offline buffer holds while disconnected (and the retry
    /// queue, with `retries`); past it an emit fails with [`EmitError::BufferFull`].
    /// Default 1,024.
    pub fn max_buffered_packets(mut self, max: usize) -> Self {
        self.options.max_buffered_packets = max;
        self
    }

    /// How long [`SocketBuilder::connect`] waits for the namespace CONNECT. Default 20 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = timeout;
        self
    }

    /// How many events each [`Socket::events`] stream holds. Default 1,024.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.options.event_capacity = capacity;
        self
    }

    /// The socket, not connected yet: call [`Socket::connect`].
    pub fn build(self) -> Socket {
        let (status, _) = watch::channel(Status::Idle);
        let core = SocketCore {
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            nsp: ByteString::from(self.nsp),
            options: self.options,
            auth: Mutex::new(self.auth),
            handlers: self.handlers,
            outgoing: self.outgoing,
            state: Mutex::new(SocketState::default()),
            status,
            subscribers: Mutex::new(Vec::new()),
        };
        Socket {
            core: Arc::new(core),
            manager: self.manager,
        }
    }

    /// Builds the socket, connects it, and waits for the namespace CONNECT, for at most
    /// the `connect_timeout`. On failure the socket is disconnected (no retry).
    ///
    /// # Errors
    ///
    /// See [`Socket::wait_connected`].
    pub async fn connect(self) -> Result<Socket, ConnectError> {
        let timeout = self.options.connect_timeout;
        let socket = self.build();
        socket.connect();
        match socket.wait_connected(timeout).await {
            Ok(()) => Ok(socket),
            Err(err) => {
                socket.disconnect();
                Err(err)
            }
        }
    }
}
