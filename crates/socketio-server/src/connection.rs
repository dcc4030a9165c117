//! One Engine.IO connection seen by Socket.IO: it decodes packets, connects sockets to
//! namespaces, dispatches events to handlers in arrival order, and runs the handlers'
//! futures on the connection's own task.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytestring::ByteString;
use engineio_core::{CloseReason, InlineQueue, Message};
use futures_util::{StreamExt, stream::FuturesUnordered};
use socketio_core::{Args, Decoder, Packet, PacketKind, Value};
use tokio::time::Sleep;

use crate::{
    ConnectError, DisconnectReason, Handshake, Room, Socket, SocketIo,
    adapter::{MissedPacket, Restored, Session},
    engine::{EngineConnection, EngineSocket},
    handler::{BoxFuture, ConnectContext, DisconnectContext, EventContext, Rejection},
    namespace::NamespaceInner,
    parser::to_socketio,
    socket::{ConnEvent, ConnShared},
};

/// What a finished piece of work asks the connection to do.
enum Done {
    Nothing,
    /// The middlewares let the socket in, or refused it.
    Admission(Socket, Result<(), ConnectError>),
    /// The adapter looked for the session a reconnecting client wants back.
    Recovery {
        ns: Arc<NamespaceInner>,
        auth: Option<Value>,
        restored: Option<Restored>,
    },
}

pub(crate) struct Connection {
    shared: Arc<ConnShared>,
    decoder: Box<dyn Decoder>,
    sockets: Joined,
    /// Namespaces whose admission (recovery lookup, middlewares) is under way.
    admitting: crate::small_set::SmallSet<ByteString>,
    /// Work started since the driver last polled: polled once there, and only moved
    /// into `work` when it has to wait (most handlers finish in their first poll).
    fresh: InlineQueue<Work>,
    /// Work that waits; made when some does, dropped when none is left.
    work: Option<FuturesUnordered<Work>>,
    connect_timeout: Option<Pin<Box<Sleep>>>,
    closed: bool,
}

impl Connection {
    pub(crate) fn new(io: SocketIo, engine: EngineSocket) -> Self {
        let decoder = io.inner.parser.decoder();
        let timeout = io.inner.config.connect_timeout;
        Self {
            shared: Arc::new(ConnShared {
                engine,
                io,
                events: crate::mailbox::Mailbox::new(usize::MAX),
            }),
            decoder,
            sockets: Joined::default(),
            admitting: crate::small_set::SmallSet::default(),
            fresh: InlineQueue::new(),
            work: None,
            connect_timeout: Some(Box::pin(tokio::time::sleep(timeout))),
            closed: false,
        }
    }

    fn io(&self) -> &SocketIo {
        &self.shared.io
    }

    fn handle_packet(&mut self, packet: Packet) {
        let nsp = packet.nsp;
        match packet.kind {
            PacketKind::Connect(auth) => self.connect(nsp, auth),
            PacketKind::Disconnect => {
                if let Some(socket) = self.sockets.remove(&nsp) {
                    self.disconnected(&socket, DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            PacketKind::Event { event, args, ack } => match self.sockets.get(&nsp) {
                Some(socket) => {
                    let socket = socket.clone();
                    self.dispatch(socket, event, args, ack);
                }
                None => self.protocol_error("an event for a namespace not joined"),
            },
            PacketKind::Ack { ack, args } => match self.sockets.get(&nsp) {
                Some(socket) => socket.resolve_ack(ack, args),
                None => self.protocol_error("an ack for a namespace not joined"),
            },
            _ => self.protocol_error("a packet type clients do not send"),
        }
    }

    fn connect(&mut self, nsp: ByteString, auth: Option<Value>) {
        if self.sockets.contains_key(&nsp) || self.admitting.contains(&nsp) {
            tracing::debug!(%nsp, "duplicate namespace CONNECT ignored");
            return;
        }
        let Some(ns) = self.io().namespace_for(&nsp) else {
            self.refuse(&nsp, &ConnectError::new("Invalid namespace"));
            return;
        };
        self.admitting.insert(nsp);
        let wanted =
            recovery_request(auth.as_ref()).filter(|_| self.io().inner.config.recovery.is_some());
        match wanted {
            Some((pid, offset)) => {
                let lookup = self
                    .io()
                    .inner
                    .adapter
                    .restore_session(&ns.name, &pid, &offset);
                self.fresh.push_back(Work::Step(Box::pin(async move {
                    let restored = lookup.await.unwrap_or_else(|err| {
                        tracing::warn!(%err, "session not restored");
                        None
                    });
                    Done::Recovery { ns, auth, restored }
                })));
            }
            None => self.admit_or_check(ns, auth, None),
        }
    }

    /// Makes the socket (the recovered one when there is a session) and lets it in,
    /// after the middlewares for a new one.
    fn admit_or_check(
        &mut self,
        ns: Arc<NamespaceInner>,
        auth: Option<Value>,
        restored: Option<Restored>,
    ) {
        let handshake = Handshake::new(auth, self.shared.engine.clone());
        let session = restored.as_ref().map(|restored| &restored.session);
        let socket = Socket::new(ns, Arc::clone(&self.shared), handshake, session);
        let middlewares = socket.namespace().handlers.middlewares.clone();
        if let Some(restored) = restored {
            self.admit(socket, &restored.session.rooms, restored.missed);
            return;
        }
        if middlewares.is_empty() {
            self.admit(socket, &[], Vec::new());
            return;
        }
        self.fresh.push_back(Work::Step(Box::pin(async move {
            let ctx = ConnectContext {
                socket: socket.clone(),
            };
            for middleware in middlewares {
                let verdict = match middleware(&ctx, &()) {
                    Ok(future) => future.await,
                    Err(rejection) => Err(ConnectError::new(rejection.to_string())),
                };
                if verdict.is_err() {
                    return Done::Admission(socket, verdict);
                }
            }
            Done::Admission(socket, Ok(()))
        })));
    }

    /// The socket is in: the client is told its id (and its private id when recovery is
    /// on), gets what it missed, then the connect handler runs.
    fn admit(&mut self, socket: Socket, rooms: &[Room], missed: Vec<MissedPacket>) {
        let nsp: ByteString = socket.namespace().name.clone();
        self.admitting.remove(&nsp);
        let mut reply = std::collections::BTreeMap::new();
        reply.insert("sid".to_owned(), Value::from(socket.id()));
        if let Some(pid) = socket.pid() {
            reply.insert("pid".to_owned(), Value::from(&**pid));
        }
        let packet = Packet::connect(nsp.clone(), Some(Value::Object(reply)));
        match self.io().inner.parser.encode(&packet) {
            Ok(encoded) => {
                if let Err(err) = self.shared.engine.send_outgoing(encoded.messages()) {
                    tracing::debug!(%nsp, %err, "CONNECT reply not queued");
                    return;
                }
            }
            Err(err) => {
                tracing::error!(%nsp, %err, "CONNECT reply not encoded");
                return;
            }
        }
        socket.mark_connected(rooms);
        self.sockets.insert(nsp, socket.clone());
        self.connect_timeout = None;
        for packet in missed {
            if let Err(err) = socket.send_packet(&packet.event, packet.args) {
                tracing::debug!(%err, "missed packet not replayed");
            }
        }
        if let Some(handler) = socket.namespace().handlers.connect.clone() {
            let ctx = ConnectContext {
                socket: socket.clone(),
            };
            match handler(&ctx, &()) {
                Ok(future) => self.spawn(future),
                Err(rejection) => self.report(&socket, "connect", &rejection),
            }
        }
    }

    fn refuse(&self, nsp: &ByteString, error: &ConnectError) {
        let packet = Packet::connect_error(nsp.clone(), error.to_value());
        match self.io().inner.parser.encode(&packet) {
            Ok(encoded) => {
                let _ = self.shared.engine.send_outgoing(encoded.messages());
            }
            Err(err) => tracing::error!(%nsp, %err, "CONNECT_ERROR not encoded"),
        }
    }

    fn dispatch(&mut self, socket: Socket, event: ByteString, args: Args, ack: Option<u64>) {
        let handlers = Arc::clone(&socket.namespace().handlers);
        let ctx = EventContext {
            socket,
            event,
            args,
            ack,
        };
        if let Some(any) = &handlers.any {
            match any(&ctx, &()) {
                Ok(future) => self.spawn(future),
                Err(rejection) => self.report(&ctx.socket, &ctx.event, &rejection),
            }
        }
        match handlers.events.get(&*ctx.event) {
            Some(handler) => match handler(&ctx, &()) {
                Ok(future) => self.spawn(future),
                Err(rejection) => self.report(&ctx.socket, &ctx.event, &rejection),
            },
            None => tracing::trace!(event = %ctx.event, "no handler"),
        }
    }

    fn disconnected(&mut self, socket: &Socket, reason: DisconnectReason) {
        if !socket.connected() {
            return;
        }
        tracing::debug!(socket = %socket.id(), ns = %socket.ns(), %reason, "disconnect");
        let handlers = Arc::clone(&socket.namespace().handlers);
        let ctx = DisconnectContext {
            socket: socket.clone(),
            reason,
            rooms: socket.rooms(),
        };
        if let Some(handler) = &handlers.disconnecting {
            match handler(&ctx, &()) {
                Ok(future) => self.spawn(future),
                Err(rejection) => self.report(socket, "disconnecting", &rejection),
            }
        }
        if !socket.mark_disconnected() {
            return;
        }
        if let (Some(pid), true) = (socket.pid(), reason.is_recoverable()) {
            if self.io().inner.config.recovery.is_some() {
                self.io().inner.adapter.persist_session(Session {
                    sid: ByteString::from(socket.id()),
                    pid: pid.clone(),
                    ns: socket.namespace().name.clone(),
                    rooms: ctx.rooms.clone(),
                    data: socket.data(),
                });
            }
        }
        if let Some(handler) = &handlers.disconnect {
            match handler(&ctx, &()) {
                Ok(future) => self.spawn(future),
                Err(rejection) => self.report(socket, "disconnect", &rejection),
            }
        }
    }

    fn spawn(&mut self, future: BoxFuture<()>) {
        self.fresh.push_back(Work::Handler(future));
    }

    /// Polls the work started since the last time, then the work that waits, until
    /// nothing is ready (finishing some work may start more).
    fn run_work(&mut self, cx: &mut Context<'_>) {
        // Called on every turn of the driver's loop; most turns have nothing to run.
        if self.fresh.is_empty() && self.work.is_none() {
            return;
        }
        loop {
            let mut fresh = std::mem::take(&mut self.fresh);
            while let Some(mut work) = fresh.pop_front() {
                match Pin::new(&mut work).poll(cx) {
                    Poll::Ready(done) => self.finish(done),
                    Poll::Pending => self
                        .work
                        .get_or_insert_with(FuturesUnordered::new)
                        .push(work),
                }
            }
            while let Some(Poll::Ready(Some(done))) =
                self.work.as_mut().map(|work| work.poll_next_unpin(cx))
            {
                self.finish(done);
            }
            if self.work.as_ref().is_some_and(FuturesUnordered::is_empty) {
                self.work = None;
            }
            if self.fresh.is_empty() {
                return;
            }
        }
    }

    fn report(&self, socket: &Socket, event: &str, rejection: &Rejection) {
        tracing::warn!(socket = %socket.id(), ns = %socket.ns(), event, %rejection, "handler not run");
        if let Some(hook) = &self.io().inner.config.on_error {
            hook(socket, event, rejection);
        }
    }

    /// The client broke the protocol: the whole connection closes with "parse error".
    fn protocol_error(&mut self, what: &str) {
        tracing::debug!(what, "protocol error");
        self.close_all(DisconnectReason::ParseError);
        self.shared.engine.close_with(CloseReason::ParseError);
    }

    fn close_all(&mut self, reason: DisconnectReason) {
        self.admitting.clear();
        let sockets = self.sockets.take_all();
        for socket in sockets {
            self.disconnected(&socket, reason);
        }
    }

    fn finish(&mut self, done: Done) {
        if self.closed {
            return;
        }
        match done {
            Done::Nothing => {}
            Done::Recovery { ns, auth, restored } => {
                if self.admitting.contains(&ns.name) {
                    self.admit_or_check(ns, auth, restored);
                }
            }
            Done::Admission(socket, verdict) => {
                let nsp = socket.namespace().name.clone();
                if !self.admitting.contains(&nsp) {
                    return;
                }
                match verdict {
                    Ok(()) => self.admit(socket, &[], Vec::new()),
                    Err(error) => {
                        self.admitting.remove(&nsp);
                        self.refuse(&nsp, &error);
                    }
                }
            }
        }
    }
}

/// The sockets of a connection by namespace: the first inline (most connections join
/// one namespace), the others in a map.
#[derive(Default)]
struct Joined {
    first: Option<(ByteString, Socket)>,
    // Boxed: a connection seldom joins a second namespace, and an empty map inline
    // would cost its 48 bytes on every connection.
    #[allow(clippy::box_collection)]
    others: Option<Box<HashMap<ByteString, Socket>>>,
}

impl Joined {
    fn get(&self, nsp: &ByteString) -> Option<&Socket> {
        match &self.first {
            Some((name, socket)) if name == nsp => Some(socket),
            _ => self.others.as_ref()?.get(nsp),
        }
    }

    fn contains_key(&self, nsp: &ByteString) -> bool {
        self.get(nsp).is_some()
    }

    fn insert(&mut self, nsp: ByteString, socket: Socket) {
        match &mut self.first {
            Some((name, first)) if *name == nsp => *first = socket,
            None if !self
                .others
                .as_ref()
                .is_some_and(|others| others.contains_key(&nsp)) =>
            {
                self.first = Some((nsp, socket));
            }
            _ => {
                self.others.get_or_insert_default().insert(nsp, socket);
            }
        }
    }

    fn remove(&mut self, nsp: &ByteString) -> Option<Socket> {
        match &self.first {
            Some((name, _)) if name == nsp => self.first.take().map(|(_, socket)| socket),
            _ => self.others.as_mut()?.remove(nsp),
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none() && self.others.as_ref().is_none_or(|others| others.is_empty())
    }

    fn take_all(&mut self) -> Vec<Socket> {
        let first = self.first.take().map(|(_, socket)| socket);
        let others = self.others.take().map(|others| others.into_values());
        first
            .into_iter()
            .chain(others.into_iter().flatten())
            .collect()
    }
}

/// A future of the connection's: an application handler, or a step of its own (a
/// namespace's admission) whose end it acts on.
enum Work {
    Handler(BoxFuture<()>),
    Step(BoxFuture<Done>),
}

impl Future for Work {
    type Output = Done;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Done> {
        match self.get_mut() {
            Self::Handler(handler) => handler.as_mut().poll(cx).map(|()| Done::Nothing),
            Self::Step(step) => step.as_mut().poll(cx),
        }
    }
}

/// The private id and offset a reconnecting client sends in its CONNECT auth.
fn recovery_request(auth: Option<&Value>) -> Option<(String, String)> {
    let auth = auth?.as_object()?;
    let pid = auth.get("pid")?.as_str()?;
    let offset = auth.get("offset")?.as_str()?;
    Some((pid.to_owned(), offset.to_owned()))
}

impl EngineConnection for Connection {
    fn on_message(&mut self, message: Message) {
        match self.decoder.decode(to_socketio(message)) {
            Ok(Some(packet)) => self.handle_packet(packet),
            Ok(None) => {}
            Err(err) => {
                tracing::debug!(%err, "undecodable packet");
                self.protocol_error("an undecodable packet");
            }
        }
    }

    fn on_close(&mut self, reason: CloseReason) {
        self.closed = true;
        self.connect_timeout = None;
        self.close_all(reason.into());
    }

    fn poll_work(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(timeout) = self.connect_timeout.as_mut() {
            if timeout.as_mut().poll(cx).is_ready() {
                self.connect_timeout = None;
                if self.sockets.is_empty() {
                    tracing::debug!("no namespace joined in time");
                    self.shared.engine.close();
                }
            }
        }
        // The driver registered its waker before this: an event pushed from now on wakes
        // it (see `Socket::disconnect`).
        for event in self.shared.events.take_all() {
            let ConnEvent::Disconnect(nsp, sid) = event;
            if self
                .sockets
                .get(&nsp)
                .is_some_and(|socket| socket.sid() == &sid)
            {
                if let Some(socket) = self.sockets.remove(&nsp) {
                    self.disconnected(&socket, DisconnectReason::ServerNamespaceDisconnect);
                }
            }
        }
        self.run_work(cx);
        if self.work.is_none() && self.fresh.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn is_busy(&self) -> bool {
        let waiting = self.work.as_ref().map_or(0, FuturesUnordered::len);
        waiting + self.fresh.len() >= self.io().inner.config.max_concurrent_handlers
    }
}
