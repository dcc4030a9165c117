//! Namespaces: the handlers of a namespace, registered once like routes, and the
//! namespaces that exist at run time.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, OnceLock, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use bytestring::ByteString;
use engineio_core::Sid;
use serde::Serialize;
use socketio_core::Args;

use crate::{
    ConnectError, EmitError, IntoRooms, Socket,
    handler::{
        BoxFuture, ConnectContext, ConnectHandler, ConnectMiddleware, DisconnectContext,
        DisconnectHandler, EventContext, EventHandler, Rejection,
    },
    io::IoInner,
    operator::{BroadcastOperator, Delivery},
};

type Erased<C, S, O> = Arc<dyn Fn(&C, &S) -> Result<BoxFuture<O>, Rejection> + Send + Sync>;
type Outgoing = Arc<dyn Fn(&Socket, &str, &Args) + Send + Sync>;

/// The handlers of a namespace: events, connect and disconnect handlers, middlewares,
/// catch-all listeners. Built once, like a router, then mounted with
/// [`SocketIo::ns`](crate::SocketIo::ns).
///
/// `S` is the state its handlers can extract with [`State`](crate::State); give it
/// with [`Namespace::with_state`] before mounting.
///
/// ```
/// use socketio_server::{Namespace, Socket, State};
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
///
/// #[derive(Clone, Default)]
/// struct Counter(Arc<AtomicUsize>);
///
/// let counted = Namespace::<Counter>::default()
///     .on_connect(|socket: Socket, State(count): State<Counter>| async move {
///         let n = count.0.fetch_add(1, Ordering::Relaxed) + 1;
///         let _ = socket.emit("visitors", &n);
///     })
///     .with_state(Counter::default());
/// ```
///
/// ```
/// use socketio_server::{AckSender, Data, Namespace, Socket};
/// use serde_json::Value;
///
/// let chat = Namespace::new()
///     .on_connect(|socket: Socket| async move {
///         let _ = socket.emit("welcome", &());
///     })
///     .on("echo", |socket: Socket, Data(args): Data<Value>| async move {
///         let _ = socket.emit("echo", &args);
///     })
///     .on("ping", |ack: AckSender| async move {
///         let _ = ack.send("pong");
///     });
/// ```
pub struct Namespace<S = ()> {
    /// Looked up with every event a client sends, by a name the client chose: the hash is
    /// a fast one (lookups cannot flood a table whose keys the server set).
    pub(crate) events: HashMap<String, Erased<EventContext, S, ()>, foldhash::fast::RandomState>,
    pub(crate) any: Option<Erased<EventContext, S, ()>>,
    pub(crate) outgoing: Option<Outgoing>,
    pub(crate) connect: Option<Erased<ConnectContext, S, ()>>,
    pub(crate) disconnect: Option<Erased<DisconnectContext, S, ()>>,
    pub(crate) disconnecting: Option<Erased<DisconnectContext, S, ()>>,
    pub(crate) middlewares: Vec<Erased<ConnectContext, S, Result<(), ConnectError>>>,
}

impl<S> fmt::Debug for Namespace<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("events", &self.events.keys().collect::<Vec<_>>())
            .field("middlewares", &self.middlewares.len())
            .finish_non_exhaustive()
    }
}

impl<S> Default for Namespace<S> {
    fn default() -> Self {
        Self {
            events: HashMap::default(),
            any: None,
            outgoing: None,
            connect: None,
            disconnect: None,
            disconnecting: None,
            middlewares: Vec::new(),
        }
    }
}

impl Namespace {
    /// A namespace with no handler and no state. For handlers that extract
    /// [`State`](crate::State), start from `Namespace::<MyState>::default()` and end
    /// with [`with_state`](Self::with_state).
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S: Send + Sync + 'static> Namespace<S> {
    /// Handles the event `event`.
    #[must_use]
    pub fn on<H, T>(mut self, event: impl Into<String>, handler: H) -> Self
    where
        H: EventHandler<T, S>,
    {
        self.events.insert(
            event.into(),
            Arc::new(move |ctx: &EventContext, state: &S| handler.call(ctx, state)),
        );
        self
    }

    /// Handles every incoming event, before its own handler (if any).
    #[must_use]
    pub fn on_any<H, T>(mut self, handler: H) -> Self
    where
        H: EventHandler<T, S>,
    {
        self.any = Some(Arc::new(move |ctx: &EventContext, state: &S| {
            handler.call(ctx, state)
        }));
        self
    }

    /// Sees every event the server emits to a single socket of this namespace, with its
    /// arguments, before it is sent.
    #[must_use]
    pub fn on_any_outgoing(
        mut self,
        listener: impl Fn(&Socket, &str, &Args) + Send + Sync + 'static,
    ) -> Self {
        self.outgoing = Some(Arc::new(listener));
        self
    }

    /// Runs when a socket has joined the namespace (after the middlewares let it in, and
    /// after the client was told).
    #[must_use]
    pub fn on_connect<H, T>(mut self, handler: H) -> Self
    where
        H: ConnectHandler<T, S>,
    {
        self.connect = Some(Arc::new(move |ctx: &ConnectContext, state: &S| {
            handler.call(ctx, state)
        }));
        self
    }

    /// Runs when a socket has left the namespace, with the reason.
    #[must_use]
    pub fn on_disconnect<H, T>(mut self, handler: H) -> Self
    where
        H: DisconnectHandler<T, S>,
    {
        self.disconnect = Some(Arc::new(move |ctx: &DisconnectContext, state: &S| {
            handler.call(ctx, state)
        }));
        self
    }

    /// Runs when a socket is about to leave the namespace, while it is still in its
    /// rooms: the [`Rooms`](crate::Rooms) extractor gives them.
    #[must_use]
    pub fn on_disconnecting<H, T>(mut self, handler: H) -> Self
    where
        H: DisconnectHandler<T, S>,
    {
        self.disconnecting = Some(Arc::new(move |ctx: &DisconnectContext, state: &S| {
            handler.call(ctx, state)
        }));
        self
    }

    /// Adds a middleware that decides whether a socket may join; middlewares run in the
    /// order they were added, and the first error refuses the socket.
    #[must_use]
    pub fn middleware<H, T>(mut self, middleware: H) -> Self
    where
        H: ConnectMiddleware<T, S>,
    {
        self.middlewares
            .push(Arc::new(move |ctx: &ConnectContext, state: &S| {
                middleware.call(ctx, state)
            }));
        self
    }

    /// Gives the handlers their state.
    pub fn with_state(self, state: S) -> Namespace<()> {
        let state = Arc::new(state);
        Namespace {
            events: self
                .events
                .into_iter()
                .map(|(event, handler)| (event, bind(handler, &state)))
                .collect(),
            any: self.any.map(|handler| bind(handler, &state)),
            outgoing: self.outgoing,
            connect: self.connect.map(|handler| bind(handler, &state)),
            disconnect: self.disconnect.map(|handler| bind(handler, &state)),
            disconnecting: self.disconnecting.map(|handler| bind(handler, &state)),
            middlewares: self
                .middlewares
                .into_iter()
                .map(|handler| bind(handler, &state))
                .collect(),
        }
    }
}

fn bind<C: 'static, S: Send + Sync + 'static, O: 'static>(
    handler: Erased<C, S, O>,
    state: &Arc<S>,
) -> Erased<C, (), O> {
    let state = Arc::clone(state);
    Arc::new(move |ctx: &C, _: &()| handler(ctx, &state))
}

/// Which namespace names a dynamic namespace serves.
pub(crate) enum Matcher {
    /// Segments of a pattern such as `/room/{id}`: literal ones, and named parameters.
    Pattern(Vec<Segment>),
    Predicate(Box<dyn Fn(&str) -> bool + Send + Sync>),
}

pub(crate) enum Segment {
    Literal(String),
    Param(String),
}

impl Matcher {
    pub(crate) fn pattern(pattern: &str) -> Self {
        Self::Pattern(
            pattern
                .split('/')
                .skip(1)
                .map(|segment| {
                    match segment
                        .strip_prefix('{')
                        .and_then(|rest| rest.strip_suffix('}'))
                    {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(segment.to_owned()),
                    }
                })
                .collect(),
        )
    }

    /// The captured parameters when `name` matches.
    pub(crate) fn matches(&self, name: &str) -> Option<Vec<(String, String)>> {
        match self {
            Self::Predicate(predicate) => predicate(name).then(Vec::new),
            Self::Pattern(segments) => {
                let parts: Vec<&str> = name.split('/').skip(1).collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut params = Vec::new();
                for (segment, part) in segments.iter().zip(parts) {
                    match segment {
                        Segment::Literal(literal) if literal == part => {}
                        Segment::Param(param) if !part.is_empty() => {
                            params.push((param.clone(), part.to_owned()));
                        }
                        _ => return None,
                    }
                }
                Some(params)
            }
        }
    }
}

/// A namespace that exists at run time, with its connected sockets.
pub(crate) struct NamespaceInner {
    pub(crate) name: ByteString,
    pub(crate) handlers: Arc<Namespace>,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) sockets: RwLock<HashMap<Sid, Socket, foldhash::fast::RandomState>>,
    /// Acknowledgement ids, shared by the namespace's sockets so that a broadcast
    /// carries one id for all its receivers.
    next_ack: AtomicU64,
    /// Broadcasts waiting for their offset from the adapter's log, run one after the
    /// other by a task of their own (started on first use).
    in_order: OnceLock<tokio::sync::mpsc::UnboundedSender<BoxFuture<()>>>,
}

impl NamespaceInner {
    pub(crate) fn new(
        name: ByteString,
        handlers: Arc<Namespace>,
        params: Vec<(String, String)>,
    ) -> Self {
        Self {
            name,
            handlers,
            params,
            sockets: RwLock::new(HashMap::default()),
            next_ack: AtomicU64::new(0),
            in_order: OnceLock::new(),
        }
    }

    /// Runs `delivery` after those handed here before it.
    pub(crate) fn deliver_in_order(&self, delivery: BoxFuture<()>) {
        let queue = self.in_order.get_or_init(|| {
            let (queue, mut deliveries) = tokio::sync::mpsc::unbounded_channel::<BoxFuture<()>>();
            tokio::spawn(async move {
                while let Some(delivery) = deliveries.recv().await {
                    delivery.await;
                }
            });
            queue
        });
        let _ = queue.send(delivery);
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn add(&self, socket: Socket) {
        if let Ok(mut sockets) = self.sockets.write() {
            sockets.insert(socket.sid().clone(), socket);
        }
    }

    pub(crate) fn remove(&self, sid: &Sid) {
        if let Ok(mut sockets) = self.sockets.write() {
            sockets.remove(sid);
        }
    }

    /// Calls `each` with every local socket a broadcast with `opts` selects, under one
    /// read lock of the socket table.
    pub(crate) fn each_target(
        &self,
        adapter: &dyn crate::adapter::Adapter,
        opts: &crate::adapter::BroadcastOptions,
        each: impl FnMut(&Socket),
    ) {
        // The whole namespace, the most common broadcast, needs no room lookup.
        let everyone = opts.rooms.is_empty() && opts.except.is_empty();
        let targets = (!everyone).then(|| adapter.local_targets(&self.name, opts));
        let Ok(sockets) = self.sockets.read() else {
            return;
        };
        match targets {
            None => sockets.values().for_each(each),
            Some(targets) => targets
                .iter()
                .filter_map(|sid| sockets.get(sid))
                .for_each(each),
        }
    }

    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.sockets
            .read()
            .map(|sockets| sockets.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// A namespace that exists on the server, to emit to all its sockets.
#[derive(Clone)]
pub struct NamespaceHandle {
    pub(crate) inner: Arc<NamespaceInner>,
    pub(crate) io: Arc<IoInner>,
}

impl fmt::Debug for NamespaceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceHandle")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl NamespaceHandle {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The sockets connected to it on this server.
    pub fn sockets(&self) -> Vec<Socket> {
        self.inner.sockets()
    }

    /// Every socket of the namespace.
    pub fn all(&self) -> BroadcastOperator {
        BroadcastOperator::new(Arc::clone(&self.inner), Arc::clone(&self.io))
    }

    /// The sockets in these rooms.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.all().to(rooms)
    }

    /// The same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Every socket but those in these rooms.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.all().except(rooms)
    }

    /// Every socket on this server process.
    pub fn local(&self) -> BroadcastOperator {
        self.all().local()
    }

    /// Every socket, with emits that may be dropped for sockets that are not ready.
    pub fn volatile(&self) -> BroadcastOperator {
        self.all().volatile()
    }

    /// Every socket, with an acknowledgement timeout of its own.
    pub fn timeout(&self, timeout: std::time::Duration) -> BroadcastOperator {
        self.all().timeout(timeout)
    }

    /// Emits an event to every socket of the namespace. The packet is encoded once and
    /// its bytes are shared by every receiver.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Delivery, EmitError> {
        self.all().emit(event, args)
    }

    /// Emits an event with arguments as they are to every socket of the namespace.
    pub fn emit_args(&self, event: &str, args: Args) -> Result<Delivery, EmitError> {
        self.all().emit_args(event, args)
    }
}
