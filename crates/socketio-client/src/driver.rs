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

mod engine_io;
mod sockets;

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
