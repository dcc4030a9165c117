//! The Manager's task: it owns the Engine.IO client session, performs what the session
//! asks on the network, decodes the Socket.IO packets and routes them to the sockets,
//! and runs the reconnection loop. User code never runs here: handlers run on the
//! dispatch task, auth functions on their own.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Weak},
    time::{Instant, SystemTime},
};

use bytes::Bytes;
use bytestring::ByteString;
use engineio_core::{
    ClientCloseReason, ClientEvent, ClientSession, ClientTransmit, ClientTransports,
    Message as EngineMessage, TransportKind,
};
use futures_util::{StreamExt, stream::FuturesUnordered};
use socketio_core::{
    AnyDecoder, AnyParser, Args, Backoff, Decoder, JsonParser, Message, Packet, PacketKind, Parser,
    Value,
};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    AckSender, ConnectError, DisconnectReason, Manager, Socket,
    events::{ManagerEvent, SocketEvent},
    handler::{ErasedHandler, EventContext},
    manager::ManagerShared,
    socket::{AuthSource, SocketCore, Status},
    state::Effects,
    transport::{self, CookieJar, HttpClient, RequestParts, WsOut, WsReport},
};

/// What handles ask of the task.
#[derive(Debug)]
pub(crate) enum Command {
    /// A socket wants to connect.
    Register(Arc<SocketCore>),
    /// A socket leaves its namespace.
    Disconnect(u64),
    /// An event of a connected socket.
    Packet {
        key: u64,
        packet: Packet,
        volatile: bool,
    },
    /// A packet sent whatever the socket's state (an acknowledgement).
    Raw {
        key: u64,
        packet: Packet,
    },
    /// The deadline of an acknowledgement (of a socket that may not be registered: one
    /// never connected still times its buffered emits out).
    AckTimer {
        core: Weak<SocketCore>,
        id: u64,
        deadline: Instant,
    },
    Open,
    Close,
}

/// What the transports and auth functions report.
#[derive(Debug)]
pub(crate) enum Io {
    Poll {
        epoch: u64,
        result: Result<Bytes, String>,
    },
    Post {
        epoch: u64,
        ok: bool,
    },
    Ws {
        epoch: u64,
        id: u64,
        event: WsReport,
    },
    Auth {
        key: u64,
        epoch: u64,
        auth: Value,
    },
}

/// One Engine.IO session and the IO it has under way.
struct Engine {
    epoch: u64,
    session: ClientSession,
    ws: Option<(u64, mpsc::UnboundedSender<WsOut>)>,
    get: Option<JoinHandle<()>>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(get) = self.get.take() {
            get.abort();
        }
        if let Some((_, ws)) = self.ws.take() {
            let _ = ws.send(WsOut::Close);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ready {
    Closed,
    Opening,
    Open,
}

/// Work for the dispatch task.
struct Dispatch {
    handlers: Vec<ErasedHandler>,
    ctx: EventContext,
}

pub(crate) struct Driver {
    shared: Arc<ManagerShared>,
    commands: mpsc::UnboundedReceiver<Command>,
    weak: mpsc::WeakUnboundedSender<Command>,
    io_tx: mpsc::Sender<Io>,
    io_rx: mpsc::Receiver<Io>,
    /// Handler invocations dispatched and not finished, and the signal that the
    /// backlog went down.
    backlog: Arc<Backlog>,
    dispatch: mpsc::UnboundedSender<Dispatch>,
    http: HttpClient,
    parts: RequestParts,
    codec: AnyParser,
    decoder: AnyDecoder,
    sockets: HashMap<u64, Arc<SocketCore>>,
    engine: Option<Engine>,
    /// Sessions the application closed, finishing their last writes.
    closing: Vec<Engine>,
    epoch: u64,
    ws_ids: u64,
    ready: Ready,
    open_deadline: Option<Instant>,
    backoff: Backoff,
    reconnecting: bool,
    /// The open under way was started by a reconnection attempt.
    attempt_open: bool,
    reconnect_at: Option<Instant>,
    skip_reconnect: bool,
    prior_websocket: bool,
    /// The transport a `try_all_transports` second try opens with.
    fallback: Option<TransportKind>,
    /// Acknowledgement deadlines: (when, socket key, ack id) → the socket.
    timers: BTreeMap<(Instant, u64, u64), Weak<SocketCore>>,
}

impl Driver {
    pub(crate) fn new(
        shared: Arc<ManagerShared>,
        commands: mpsc::UnboundedReceiver<Command>,
        weak: mpsc::WeakUnboundedSender<Command>,
    ) -> Self {
        let config = &shared.config;
        let (io_tx, io_rx) = mpsc::channel(IO_CAPACITY);
        let (dispatch, dispatch_rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        tokio::spawn(run_dispatch(dispatch_rx, Arc::clone(&backlog)));
        let codec = AnyParser::new(config.parser, JsonParser::DEFAULT_MAX_ATTACHMENTS);
        #[cfg(feature = "rustls")]
        let tls = config.tls.clone();
        #[cfg(not(feature = "rustls"))]
        let tls = None;
        let parts = RequestParts {
            tls,
            headers: config.headers.clone(),
            cookies: config
                .with_credentials
                .then(|| Arc::new(CookieJar::default())),
            max_payload: config.engine.max_payload,
        };
        let http = transport::http_client(&parts.tls);
        let backoff = Backoff::new(
            config.reconnection_delay,
            config.reconnection_delay_max,
            config.randomization_factor,
        );
        Self {
            decoder: codec.decoder(),
            codec,
            parts,
            http,
            shared,
            commands,
            weak,
            io_tx,
            io_rx,
            backlog,
            dispatch,
            sockets: HashMap::new(),
            engine: None,
            closing: Vec::new(),
            epoch: 0,
            ws_ids: 0,
            ready: Ready::Closed,
            open_deadline: None,
            backoff,
            reconnecting: false,
            attempt_open: false,
            reconnect_at: None,
            skip_reconnect: false,
            prior_websocket: false,
            fallback: None,
            timers: BTreeMap::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let deadline = self.next_deadline();
            let sleep = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    // Every handle is gone.
                    None => break,
                },
                // While the handlers are far behind, nothing more is read from the
                // server: the transports wait, and TCP pushes back.
                Some(io) = self.io_rx.recv(), if !self.backlog.is_full() => self.on_io(io),
                () = self.backlog.drained.notified(), if self.backlog.is_full() => {}
                () = sleep => self.on_timer(),
            }
            self.pump();
        }
        self.skip_reconnect = true;
        if let Some(mut engine) = self.engine.take() {
            engine.session.close(Instant::now());
            self.drain_transmits(&mut engine);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let engine = self
            .engine
            .as_ref()
            .and_then(|engine| engine.session.poll_timeout());
        let closing = self
            .closing
            .iter()
            .filter_map(|engine| engine.session.poll_timeout())
            .min();
        let timer = self.timers.first_key_value().map(|((at, _, _), _)| *at);
        [
            engine,
            closing,
            self.open_deadline,
            self.reconnect_at,
            timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn emit(&self, event: ManagerEvent) {
        let _ = self.shared.events.send(event);
    }

    fn handle(&self) -> Option<Manager> {
        let cmd = self.weak.upgrade()?;
        Some(Manager::from_parts(Arc::clone(&self.shared), cmd))
    }

    fn socket_handle(&self, core: &Arc<SocketCore>) -> Option<Socket> {
        Some(Socket {
            core: Arc::clone(core),
            manager: self.handle()?,
        })
    }

    // ---- commands ----

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Register(core) => self.register(core),
            Command::Disconnect(key) => self.disconnect_socket(key),
            Command::Packet {
                key,
                packet,
                volatile,
            } => {
                let Some(core) = self.sockets.get(&key).cloned() else {
                    return;
                };
                let connected = core.lock().connected;
                if connected && self.ready == Ready::Open {
                    self.send_packet(&packet);
                } else if !volatile {
                    // The socket disconnected after the emit: keep the packet for the
                    // next connection rather than lose it.
                    let mut state = core.lock();
                    if state.send_buffer.len() < core.options.max_buffered_packets {
                        state.send_buffer.push_back(packet);
                    }
                }
            }
            Command::Raw { key, packet } => {
                if self.sockets.contains_key(&key) && self.ready == Ready::Open {
                    self.send_packet(&packet);
                }
            }
            Command::AckTimer { core, id, deadline } => {
                let key = core.upgrade().map(|core| core.key).unwrap_or_default();
                self.timers.insert((deadline, key, id), core);
            }
            Command::Open => {
                self.skip_reconnect = false;
                if !self.reconnecting {
                    self.open();
                }
            }
            Command::Close => self.close(),
        }
    }

    fn register(&mut self, core: Arc<SocketCore>) {
        let taken = self
            .sockets
            .values()
            .any(|other| other.nsp == core.nsp && other.key != core.key);
        if taken {
            core.lock().active = false;
            core.set_status(Status::Failed(ConnectError::NamespaceTaken));
            return;
        }
        self.sockets.insert(core.key, Arc::clone(&core));
        if !self.reconnecting {
            self.open();
        }
        if self.ready == Ready::Open {
            self.send_connect(&core);
        }
    }

    fn disconnect_socket(&mut self, key: u64) {
        let Some(core) = self.sockets.remove(&key) else {
            return;
        };
        let connected = {
            let mut state = core.lock();
            state.active = false;
            state.connected
        };
        if connected && self.ready == Ready::Open {
            self.send_packet(&Packet::disconnect(core.nsp.clone()));
        }
        if connected {
            self.socket_closed(&core, DisconnectReason::IoClientDisconnect);
        }
        core.set_status(Status::Failed(ConnectError::Disconnected(
            DisconnectReason::IoClientDisconnect.as_str(),
        )));
        self.maybe_close();
    }

    /// The official `_destroy`: without an active socket the connection closes.
    fn maybe_close(&mut self) {
        if self.sockets.is_empty() {
            self.close();
        }
    }

    /// The official `_close`: no more reconnection, the sockets see "forced close".
    fn close(&mut self) {
        self.skip_reconnect = true;
        self.reconnecting = false;
        self.attempt_open = false;
        self.reconnect_at = None;
        self.open_deadline = None;
        if self.ready == Ready::Open {
            self.on_close(DisconnectReason::ForcedClose);
        }
        self.ready = Ready::Closed;
        if let Some(mut engine) = self.engine.take() {
            engine.session.close(Instant::now());
            self.drain_transmits(&mut engine);
            if !engine.session.is_closed() {
                self.closing.push(engine);
            }
        }
    }

    // ---- opening and reconnection ----

    fn open(&mut self) {
        if self.engine.is_some() {
            return;
        }
        self.fallback = None;
        self.start_session();
    }

    /// Starts an Engine.IO session: with the configured transports, or with the
    /// fallback `try_all_transports` asked for.
    fn start_session(&mut self) {
        self.skip_reconnect = false;
        let now = Instant::now();
        let config = &self.shared.config;
        let mut engine_config = config.engine.clone();
        engine_config.prior_websocket_success = self.prior_websocket;
        match self.fallback {
            Some(TransportKind::WebSocket) => {
                engine_config.remember_upgrade = true;
                engine_config.prior_websocket_success = true;
            }
            Some(TransportKind::Polling) => engine_config.remember_upgrade = false,
            None => {}
        }
        self.epoch = self.epoch.wrapping_add(1);
        self.decoder = self.codec.decoder();
        self.ready = Ready::Opening;
        self.open_deadline = config.timeout.map(|timeout| now + timeout);
        self.engine = Some(Engine {
            epoch: self.epoch,
            session: ClientSession::new(engine_config, now),
            ws: None,
            get: None,
        });
    }

    fn open_failed(&mut self, error: &str) {
        self.ready = Ready::Closed;
        self.open_deadline = None;
        self.engine = None;
        self.emit(ManagerEvent::Error(error.to_owned()));
        let err = ConnectError::Connection(error.to_owned());
        for core in self.sockets.values() {
            if !core.lock().connected {
                self.dispatch_reserved(
                    core,
                    "connect_error",
                    connect_error_value(error, Value::Null),
                );
                core.publish(&SocketEvent::ConnectError(err.clone()));
            }
        }
        if self.attempt_open {
            self.attempt_open = false;
            self.reconnecting = false;
            self.reconnect();
            self.emit(ManagerEvent::ReconnectError(error.to_owned()));
        } else if !self.reconnecting
            && self.shared.config.reconnection
            && self.backoff.attempts() == 0
        {
            self.reconnect();
        }
        if !self.reconnecting {
            // No attempt follows: whoever waits for these sockets learns it now.
            for core in self.sockets.values() {
                if !core.lock().connected && *core.status.borrow() == Status::Connecting {
                    core.set_status(Status::Failed(ConnectError::Connection(error.to_owned())));
                }
            }
        }
    }

    fn reconnect(&mut self) {
        if self.reconnecting || self.skip_reconnect {
            return;
        }
        let max = self.shared.config.reconnection_attempts.unwrap_or(u32::MAX);
        if self.backoff.attempts() >= max {
            self.backoff.reset();
            self.reconnecting = false;
            self.emit(ManagerEvent::ReconnectFailed);
            for core in self.sockets.values() {
                if !core.lock().connected {
                    core.set_status(Status::Failed(ConnectError::Disconnected(
                        "reconnect failed",
                    )));
                }
            }
            return;
        }
        let delay = self.backoff.next_delay(rand::random::<f64>());
        tracing::debug!(?delay, attempt = self.backoff.attempts(), "reconnecting");
        self.reconnecting = true;
        self.reconnect_at = Some(Instant::now() + delay);
    }

    fn attempt(&mut self) {
        self.reconnect_at = None;
        if self.skip_reconnect {
            return;
        }
        self.emit(ManagerEvent::ReconnectAttempt(self.backoff.attempts()));
        if self.skip_reconnect {
            return;
        }
        self.attempt_open = true;
        self.open();
    }

    fn on_open(&mut self) {
        self.ready = Ready::Open;
        self.open_deadline = None;
        self.emit(ManagerEvent::Open);
        let sockets: Vec<_> = self.sockets.values().cloned().collect();
        for core in &sockets {
            self.send_connect(core);
        }
        if self.attempt_open {
            self.attempt_open = false;
            let attempts = self.backoff.attempts();
            self.reconnecting = false;
            self.backoff.reset();
            self.emit(ManagerEvent::Reconnect(attempts));
        }
    }

    /// The connection, once open, is lost.
    fn on_close(&mut self, reason: DisconnectReason) {
        self.ready = Ready::Closed;
        self.backoff.reset();
        self.emit(ManagerEvent::Close(reason));
        let sockets: Vec<_> = self.sockets.values().cloned().collect();
        for core in &sockets {
            self.socket_closed(core, reason);
        }
        if self.shared.config.reconnection && !self.skip_reconnect {
            self.reconnect();
        }
    }

    // ---- sockets ----

    fn send_connect(&mut self, core: &Arc<SocketCore>) {
        let auth = core
            .auth
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        match auth {
            AuthSource::None => self.send_connect_with(core, Value::Null),
            AuthSource::Value(value) => self.send_connect_with(core, value),
            AuthSource::Fn(auth) => {
                let io = self.io_tx.clone();
                let (key, epoch) = (core.key, self.epoch);
                tokio::spawn(async move {
                    let auth = auth().await;
                    let _ = io.send(Io::Auth { key, epoch, auth }).await;
                });
            }
        }
    }

    fn send_connect_with(&mut self, core: &Arc<SocketCore>, auth: Value) {
        let (pid, offset) = {
            let state = core.lock();
            (state.pid.clone(), state.offset.clone())
        };
        let data = connect_data(auth, pid, offset);
        self.send_packet(&Packet::connect(core.nsp.clone(), data));
    }

    fn send_packet(&mut self, packet: &Packet) {
        let Some(engine) = &mut self.engine else {
            return;
        };
        // As the official client before a write: a process that was suspended learns
        // here that its connection is gone, rather than writing into it.
        engine
            .session
            .check_wall_clock(Instant::now(), SystemTime::now());
        let messages = match self.codec.encode_messages(packet) {
            Ok(messages) => messages,
            Err(err) => {
                tracing::warn!(%err, "a packet could not be encoded");
                return;
            }
        };
        for message in messages {
            let message = match message {
                Message::Text(text) => EngineMessage::Text(text),
                Message::Binary(data) => EngineMessage::Binary(data),
                _ => continue,
            };
            if let Err(err) = engine.session.send(message) {
                tracing::warn!(%err, "a packet was dropped");
            }
        }
    }

    /// A socket loses its connection; `reason` says whether for good.
    fn socket_closed(&mut self, core: &Arc<SocketCore>, reason: DisconnectReason) {
        let mut fx = Effects::default();
        let was_connected = {
            let mut state = core.lock();
            let was = state.connected;
            state.connected = false;
            state.id = None;
            state.clear_acks(&core.queue_ctx(Instant::now()), &mut fx);
            was
        };
        fx.resolve_all();
        if reason.is_final() || !self.shared.config.reconnection {
            core.set_status(Status::Failed(ConnectError::Disconnected(reason.as_str())));
        } else {
            core.set_status(Status::Connecting);
        }
        if was_connected {
            self.dispatch_reserved(core, "disconnect", Value::from(reason.as_str()));
            core.publish(&SocketEvent::Disconnect(reason));
        }
    }

    fn on_packet(&mut self, packet: Packet) {
        let Some(core) = self
            .sockets
            .values()
            .find(|core| core.nsp == packet.nsp)
            .cloned()
        else {
            tracing::debug!(nsp = %packet.nsp, "a packet for no socket");
            return;
        };
        match packet.kind {
            PacketKind::Connect(data) => self.on_connect(&core, data),
            PacketKind::Event { event, args, ack } => self.on_event(&core, event, args, ack),
            PacketKind::Ack { ack, args } => {
                let mut fx = Effects::default();
                core.lock()
                    .settle(ack, Ok(args), &core.queue_ctx(Instant::now()), &mut fx);
                self.apply(&core, fx);
            }
            PacketKind::Disconnect => {
                self.sockets.remove(&core.key);
                core.lock().active = false;
                self.socket_closed(&core, DisconnectReason::IoServerDisconnect);
                self.maybe_close();
            }
            PacketKind::ConnectError(data) => {
                self.sockets.remove(&core.key);
                core.lock().active = false;
                let (message, data) = match data {
                    Value::String(message) => (message, Value::Null),
                    Value::Object(mut map) => (
                        map.remove("message")
                            .and_then(|message| message.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        map.remove("data").unwrap_or_default(),
                    ),
                    other => (String::new(), other),
                };
                let err = ConnectError::Refused {
                    message: message.clone(),
                    data: data.clone(),
                };
                core.set_status(Status::Failed(err.clone()));
                self.dispatch_reserved(&core, "connect_error", connect_error_value(&message, data));
                core.publish(&SocketEvent::ConnectError(err));
                self.maybe_close();
            }
            _ => {}
        }
    }

    fn on_connect(&mut self, core: &Arc<SocketCore>, data: Option<Value>) {
        let field = |name: &str| {
            data.as_ref()
                .and_then(Value::as_object)
                .and_then(|map| map.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let Some(sid) = field("sid") else {
            // The official client's words for a Socket.IO v2 server.
            let err = ConnectError::Refused {
                message: "It seems you are trying to reach a Socket.IO server in v2.x with a \
                          v3.x client, but they are not compatible \
                          (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)"
                    .to_owned(),
                data: Value::Null,
            };
            tracing::warn!(nsp = %core.nsp, "a CONNECT without sid");
            if let ConnectError::Refused { message, .. } = &err {
                self.dispatch_reserved(
                    core,
                    "connect_error",
                    connect_error_value(message, Value::Null),
                );
            }
            core.set_status(Status::Failed(err.clone()));
            core.publish(&SocketEvent::ConnectError(err));
            return;
        };
        let pid = field("pid");
        let now = Instant::now();
        let mut fx = Effects::default();
        let (received, buffered): (Vec<_>, Vec<Packet>) = {
            let mut state = core.lock();
            state.recovered = pid.is_some() && state.pid == pid;
            state.pid = pid;
            state.id = Some(sid);
            state.connected = true;
            (
                state.receive_buffer.drain(..).collect(),
                state.send_buffer.drain(..).collect(),
            )
        };
        for (event, args, ack) in received {
            self.deliver(core, event, args, ack);
        }
        for packet in &buffered {
            self.send_packet(packet);
        }
        core.set_status(Status::Connected);
        self.dispatch_reserved(core, "connect", Value::Null);
        core.publish(&SocketEvent::Connect);
        core.lock().drain_queue(true, &core.queue_ctx(now), &mut fx);
        self.apply(core, fx);
    }

    fn on_event(
        &mut self,
        core: &Arc<SocketCore>,
        event: ByteString,
        args: Args,
        ack: Option<u64>,
    ) {
        {
            let mut state = core.lock();
            if state.pid.is_some() {
                // Connection state recovery: the server appends the offset.
                if let Some(Value::String(offset)) =
                    args.to_values().ok().and_then(|mut values| values.pop())
                {
                    state.offset = Some(offset);
                }
            }
            if !state.connected {
                // A recovering server sends the missed events before its CONNECT: they
                // are delivered once it comes, as the official client does.
                if state.receive_buffer.len() < core.options.max_buffered_packets {
                    state.receive_buffer.push_back((event, args, ack));
                } else {
                    tracing::warn!(nsp = %core.nsp, %event, "an event before CONNECT dropped: the buffer is full");
                }
                return;
            }
        }
        self.deliver(core, event, args, ack);
    }

    fn deliver(&mut self, core: &Arc<SocketCore>, event: ByteString, args: Args, ack: Option<u64>) {
        let Some(socket) = self.socket_handle(core) else {
            return;
        };
        core.publish(&SocketEvent::Event {
            event: event.clone(),
            args: args.clone(),
            ack: ack.map(|id| AckSender::new(socket.clone(), id)),
        });
        let handlers: Vec<ErasedHandler> = core
            .handlers
            .any
            .iter()
            .chain(core.handlers.for_event(&event))
            .cloned()
            .collect();
        if !handlers.is_empty() {
            self.backlog.add(handlers.len());
            let _ = self.dispatch.send(Dispatch {
                handlers,
                ctx: EventContext {
                    socket,
                    event,
                    args,
                    ack,
                },
            });
        }
    }

    fn dispatch_reserved(&self, core: &Arc<SocketCore>, event: &'static str, arg: Value) {
        let handlers: Vec<ErasedHandler> = core.handlers.for_event(event).cloned().collect();
        if handlers.is_empty() {
            return;
        }
        let Some(socket) = self.socket_handle(core) else {
            return;
        };
        let args = if arg.is_null() {
            Args::new()
        } else {
            Args::from_values(vec![arg])
        };
        self.backlog.add(handlers.len());
        let _ = self.dispatch.send(Dispatch {
            handlers,
            ctx: EventContext {
                socket,
                event: ByteString::from_static(event),
                args,
                ack: None,
            },
        });
    }

    /// Carries out the effects of a bookkeeping step.
    fn apply(&mut self, core: &Arc<SocketCore>, mut fx: Effects) {
        fx.resolve_all();
        for out in fx.send {
            if let Some((id, deadline)) = out.timer {
                self.timers
                    .insert((deadline, core.key, id), Arc::downgrade(core));
            }
            self.send_packet(&out.packet);
        }
    }

    // ---- timers ----

    fn on_timer(&mut self) {
        let now = Instant::now();
        let wall = SystemTime::now();
        if let Some(engine) = &mut self.engine {
            engine.session.handle_timeout(now);
            engine.session.check_wall_clock(now, wall);
        }
        for engine in &mut self.closing {
            engine.session.handle_timeout(now);
        }
        if self.open_deadline.is_some_and(|deadline| deadline <= now) {
            self.open_deadline = None;
            if self.ready == Ready::Opening {
                self.open_failed("timeout");
            }
        }
        if self.reconnect_at.is_some_and(|at| at <= now) {
            self.attempt();
        }
        while let Some((&(at, _, id), _)) = self.timers.first_key_value() {
            if at > now {
                break;
            }
            let Some((_, core)) = self.timers.pop_first() else {
                break;
            };
            let Some(core) = core.upgrade() else {
                continue;
            };
            let mut fx = Effects::default();
            core.lock().time_out(id, &core.queue_ctx(now), &mut fx);
            self.apply(&core, fx);
        }
    }

    // ---- IO ----

    fn on_io(&mut self, io: Io) {
        let now = Instant::now();
        let (epoch, input): (u64, SessionInput) = match io {
            Io::Poll { epoch, result } => (
                epoch,
                Box::new(move |session| match result {
                    Ok(body) => session.handle_poll_response(body, now),
                    Err(err) => {
                        tracing::debug!(%err, "polling GET failed");
                        session.handle_poll_error(now);
                    }
                }),
            ),
            Io::Post { epoch, ok } => (
                epoch,
                Box::new(move |session| {
                    if ok {
                        session.handle_post_done(now);
                    } else {
                        session.handle_post_error(now);
                    }
                }),
            ),
            Io::Ws { epoch, id, event } => {
                let current = |engine: &Engine| engine.ws.as_ref().is_some_and(|(ws, _)| *ws == id);
                let live = self
                    .engine
                    .as_ref()
                    .filter(|engine| engine.epoch == epoch)
                    .is_some_and(current)
                    || self
                        .closing
                        .iter()
                        .any(|engine| engine.epoch == epoch && current(engine));
                if !live {
                    return;
                }
                let ended = matches!(event, WsReport::Error | WsReport::Closed);
                if ended {
                    for engine in self.engine.iter_mut().chain(self.closing.iter_mut()) {
                        if engine.epoch == epoch {
                            engine.ws = None;
                        }
                    }
                }
                (
                    epoch,
                    Box::new(move |session| match event {
                        WsReport::Opened => session.handle_ws_opened(now),
                        WsReport::Frame(frame) => session.handle_ws_frame(frame, now),
                        WsReport::Error => session.handle_ws_error(now),
                        WsReport::Closed => session.handle_ws_closed(now),
                    }),
                )
            }
            Io::Auth { key, epoch, auth } => {
                if epoch == self.epoch && self.ready == Ready::Open {
                    if let Some(core) = self.sockets.get(&key).cloned() {
                        self.send_connect_with(&core, auth);
                    }
                }
                return;
            }
        };
        if let Some(engine) = self.engine.as_mut().filter(|engine| engine.epoch == epoch) {
            input(&mut engine.session);
            engine.session.check_wall_clock(now, SystemTime::now());
        } else if let Some(engine) = self.closing.iter_mut().find(|engine| engine.epoch == epoch) {
            input(&mut engine.session);
        }
    }

    /// Drains the sessions after an input: their transmits, then their events.
    fn pump(&mut self) {
        let mut closing = std::mem::take(&mut self.closing);
        for engine in &mut closing {
            self.drain_transmits(engine);
            while engine.session.poll_event().is_some() {}
        }
        closing.retain(|engine| !engine.session.is_closed());
        self.closing.append(&mut closing);
        loop {
            let Some(mut engine) = self.engine.take() else {
                return;
            };
            self.drain_transmits(&mut engine);
            let Some(event) = engine.session.poll_event() else {
                self.engine = Some(engine);
                return;
            };
            match event {
                ClientEvent::Closed(reason) => {
                    self.drain_transmits(&mut engine);
                    self.prior_websocket = engine.session.websocket_succeeded();
                    let transport = engine.session.transport();
                    drop(engine);
                    self.on_engine_closed(&reason, transport);
                }
                other => {
                    self.engine = Some(engine);
                    self.on_engine_event(other);
                }
            }
        }
    }

    fn on_engine_event(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::Open(_) => self.on_open(),
            ClientEvent::Message(message) => {
                let message = match message {
                    EngineMessage::Text(text) => Message::Text(text),
                    EngineMessage::Binary(data) => Message::Binary(data),
                };
                match self.decoder.decode(message) {
                    Ok(Some(packet)) => self.on_packet(packet),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(%err, "a packet from the server does not decode");
                        if let Some(mut engine) = self.engine.take() {
                            engine.session.close(Instant::now());
                            self.drain_transmits(&mut engine);
                            if !engine.session.is_closed() {
                                self.closing.push(engine);
                            }
                        }
                        self.on_close(DisconnectReason::ParseError);
                    }
                }
            }
            ClientEvent::Ping => self.emit(ManagerEvent::Ping),
            ClientEvent::Upgraded => self.emit(ManagerEvent::Upgrade),
            ClientEvent::UpgradeFailed => tracing::debug!("the upgrade to WebSocket failed"),
            ClientEvent::Closed(_) | _ => {}
        }
    }

    fn on_engine_closed(&mut self, reason: &ClientCloseReason, transport: TransportKind) {
        tracing::debug!(%reason, "the Engine.IO session closed");
        match self.ready {
            Ready::Opening
                if self.shared.config.try_all_transports
                    && self.shared.config.engine.transports == ClientTransports::Both
                    && self.fallback.is_none() =>
            {
                // `tryAllTransports`: the same attempt tries the other transport.
                self.fallback = Some(match transport {
                    TransportKind::Polling => TransportKind::WebSocket,
                    TransportKind::WebSocket => TransportKind::Polling,
                });
                self.start_session();
            }
            Ready::Opening => self.open_failed(&reason.to_string()),
            Ready::Open => self.on_close(DisconnectReason::from_engine(reason)),
            Ready::Closed => {}
        }
    }

    /// Carries out what the session asks.
    fn drain_transmits(&mut self, engine: &mut Engine) {
        let config = &self.shared.config;
        while let Some(transmit) = engine.session.poll_transmit() {
            let epoch = engine.epoch;
            match transmit {
                ClientTransmit::Get { sid } => {
                    let url = config.url(false, sid.as_ref().map(|sid| sid.as_str()));
                    let (http, parts, io) =
                        (self.http.clone(), self.parts.clone(), self.io_tx.clone());
                    engine.get = Some(tokio::spawn(async move {
                        let result = transport::request(&http, &parts, &url, None).await;
                        let _ = io.send(Io::Poll { epoch, result }).await;
                    }));
                }
                ClientTransmit::Post { sid, body } => {
                    let url = config.url(false, Some(sid.as_str()));
                    let (http, parts, io) =
                        (self.http.clone(), self.parts.clone(), self.io_tx.clone());
                    tokio::spawn(async move {
                        let ok = transport::request(&http, &parts, &url, Some(body))
                            .await
                            .is_ok();
                        let _ = io.send(Io::Post { epoch, ok }).await;
                    });
                }
                ClientTransmit::OpenWebSocket { sid } => {
                    let url = config.url(true, sid.as_ref().map(|sid| sid.as_str()));
                    self.ws_ids = self.ws_ids.wrapping_add(1);
                    let id = self.ws_ids;
                    let (tx, rx) = mpsc::unbounded_channel();
                    if let Some((_, old)) = engine.ws.replace((id, tx)) {
                        let _ = old.send(WsOut::Close);
                    }
                    tokio::spawn(transport::websocket(
                        url,
                        self.parts.clone(),
                        rx,
                        self.io_tx.clone(),
                        epoch,
                        id,
                    ));
                }
                ClientTransmit::WebSocket(frame) => {
                    if let Some((_, ws)) = &engine.ws {
                        let _ = ws.send(WsOut::Frame(frame));
                    }
                }
                ClientTransmit::CloseWebSocket => {
                    if let Some((_, ws)) = engine.ws.take() {
                        let _ = ws.send(WsOut::Close);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The data of a CONNECT: the auth, with the recovery's `pid` and `offset` added when
/// the socket had a session to recover (as the official client, the auth's own keys
/// win).
fn connect_data(auth: Value, pid: Option<String>, offset: Option<String>) -> Option<Value> {
    match (pid, auth) {
        (Some(pid), auth) => {
            let mut map = match auth {
                Value::Object(map) => map,
                _ => Default::default(),
            };
            map.entry("pid".to_owned()).or_insert(Value::from(pid));
            if let Some(offset) = offset {
                map.entry("offset".to_owned())
                    .or_insert(Value::from(offset));
            }
            Some(Value::Object(map))
        }
        (None, Value::Null) => None,
        (None, auth) => Some(auth),
    }
}

/// An input for the session an IO report is about.
type SessionInput = Box<dyn FnOnce(&mut ClientSession)>;

fn connect_error_value(message: &str, data: Value) -> Value {
    let mut map = std::collections::BTreeMap::new();
    map.insert("message".to_owned(), Value::from(message));
    map.insert("data".to_owned(), data);
    Value::Object(map)
}

/// How many reports from the transports may wait for the Manager's task.
const IO_CAPACITY: usize = 64;

/// How many handler invocations may be pending before the Manager's task stops reading
/// from the server.
const MAX_BACKLOG: usize = 4096;

/// The handler invocations dispatched and not finished.
#[derive(Debug, Default)]
struct Backlog {
    pending: std::sync::atomic::AtomicUsize,
    drained: tokio::sync::Notify,
}

impl Backlog {
    fn add(&self, n: usize) {
        self.pending
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    fn done(&self) {
        let before = self
            .pending
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if before == MAX_BACKLOG {
            self.drained.notify_one();
        }
    }

    fn is_full(&self) -> bool {
        self.pending.load(std::sync::atomic::Ordering::Relaxed) >= MAX_BACKLOG
    }
}

/// Runs the handlers: extraction and futures, in arrival order, beside each other, on
/// one task for the Manager.
async fn run_dispatch(mut rx: mpsc::UnboundedReceiver<Dispatch>, backlog: Arc<Backlog>) {
    let mut running = FuturesUnordered::new();
    loop {
        tokio::select! {
            next = rx.recv() => match next {
                Some(Dispatch { handlers, ctx }) => {
                    for handler in handlers {
                        match handler(&ctx) {
                            Ok(future) => running.push(future),
                            Err(rejection) => {
                                backlog.done();
                                tracing::warn!(
                                    nsp = %ctx.socket.nsp(),
                                    event = %ctx.event(),
                                    %rejection,
                                    "a handler's extractor failed; the handler did not run"
                                );
                            }
                        }
                    }
                }
                None => break,
            },
            Some(()) = running.next(), if !running.is_empty() => backlog.done(),
        }
    }
    while running.next().await.is_some() {
        backlog.done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_data_carries_the_recovery_fields_beside_the_auth() {
        let auth = Value::from(serde_json::json!({ "token": "t" }));
        assert_eq!(connect_data(auth.clone(), None, None), Some(auth.clone()));
        assert_eq!(connect_data(Value::Null, None, None), None);
        let data = connect_data(auth, Some("p".to_owned()), Some("o".to_owned()));
        assert_eq!(
            data,
            Some(Value::from(
                serde_json::json!({ "token": "t", "pid": "p", "offset": "o" })
            ))
        );
        let data = connect_data(Value::Null, Some("p".to_owned()), None);
        assert_eq!(data, Some(Value::from(serde_json::json!({ "pid": "p" }))));
    }
}
