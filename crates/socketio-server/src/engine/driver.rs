//! One task per session: it owns the `engineio-core` session, feeds it requests,
//! WebSocket frames, application messages and timer expiries, and writes what it emits.

use std::{
    pin::pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use bytes::Bytes;
use engineio_core::{
    CloseReason, DecodeError, Event, Frame, RequestError, ServerSession, Transmit, TransportError,
    TransportKind,
};
use hyper::upgrade::OnUpgrade;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::{
    EngineConfig, EngineConnection, EngineSocket, Shared,
    outbox::Outgoing,
    websocket::{FrameBatch, RawFrame, WsConn, accept_stream},
};

/// What the HTTP side asks of a session's driver.
pub(super) enum Command {
    /// A long-polling GET; answered with the response body once there is something.
    Poll(oneshot::Sender<Result<Bytes, RequestError>>),
    /// A POST started while another one was in flight (the HTTP side tracks them).
    PostOverlap(oneshot::Sender<Result<(), RequestError>>),
    /// A POST's body, or why it could not be read: the session hears of the POST only
    /// now, so that a POST costs one exchange with the driver.
    PostBody(
        Result<Bytes, PostBodyError>,
        oneshot::Sender<Result<(), RequestError>>,
    ),
    /// A WebSocket upgrade request; answered before the `101` is sent, then the
    /// connection arrives through the `OnUpgrade`.
    Upgrade(OnUpgrade, oneshot::Sender<Result<(), RequestError>>),
}

/// Why a POST body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PostBodyError {
    /// It went over `max_payload`.
    TooLarge,
    /// The client went away before its end.
    Aborted,
}

/// Messages taken from the application's queue per turn of the loop, so that a busy
/// session yields to the others and writes in batches.
const MESSAGE_BATCH: usize = 64;

pub(super) struct Driver {
    shared: Arc<Shared>,
    session: ServerSession,
    socket: EngineSocket,
    connection: Option<Box<dyn EngineConnection>>,
    /// Commands taken from the socket's mailbox, handled in order.
    commands: Vec<Command>,
    /// Whether the session asked to close the WebSocket, and that waits for the frames
    /// before it to be written.
    close_pending: bool,
    /// Whether the application's request to close was handed to the session.
    close_taken: bool,
    /// Whether the outgoing queue was found closed and empty.
    queue_closed: bool,
    pending_poll: Option<oneshot::Sender<Result<Bytes, RequestError>>>,
    ws: Option<WsConn>,
    pending_ws: Option<OnUpgrade>,
    /// The connection of a session that starts on a WebSocket, until it has switched
    /// protocols.
    opening: Option<OnUpgrade>,
}

/// The driver's current time: tokio's clock, so that tests can pause it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    pub(super) fn new(
        shared: Arc<Shared>,
        session: ServerSession,
        socket: EngineSocket,
        opening: Option<OnUpgrade>,
    ) -> Self {
        Self {
            shared,
            session,
            socket,
            connection: None,
            commands: Vec::new(),
            close_pending: false,
            close_taken: false,
            queue_closed: false,
            pending_poll: None,
            ws: None,
            pending_ws: None,
            opening,
        }
    }

    /// Runs the session to its end, then removes it from the server. A session that
    /// starts on a WebSocket is added to the server once that is open.
    pub(super) fn spawn(self) {
        let span = tracing::debug_span!("engineio", sid = %self.socket.sid());
        tokio::spawn(self.run().instrument(span));
    }

    // Not an `async fn`: one would keep the driver twice in its future, as the argument
    // and as the binding of its body, and the future lives as long as the session.
    #[allow(clippy::manual_async_fn)]
    pub(super) fn run(mut self) -> impl std::future::Future<Output = ()> + Send + 'static {
        async move {
            if let Some(on_upgrade) = self.opening.take() {
                // Boxed, as the other rare paths: the future lives as long as the
                // session, and is as large as its largest state.
                let mut pending = Some(on_upgrade);
                let opening = Box::pin(wait_upgrade(&mut pending, &self.shared.config));
                let Some(ws) = opening.await else {
                    return;
                };
                self.ws = Some(ws);
                self.shared.insert(self.socket.clone());
            }
            self.connection = Some(self.shared.handler.on_connect(self.socket.clone()));
            let mut sleep = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
            // The timer is re-armed only when the deadline moves: re-arming takes the timer
            // driver's lock, and most turns of the loop (a message in, a message out) leave
            // the heartbeat deadline where it was.
            let mut armed: Option<Instant> = None;
            loop {
                self.drain_outputs().await;
                if self.session.is_closed() {
                    break;
                }
                let deadline = self.session.poll_timeout();
                if let Some(deadline) = deadline.filter(|deadline| armed != Some(*deadline)) {
                    armed = Some(deadline);
                    sleep.as_mut().reset(deadline.into());
                }
                let accept_messages = !self.session.is_send_buffer_full();
                let read_ws =
                    self.ws.is_some() && !self.connection.as_ref().is_some_and(|c| c.is_busy());
                tokio::select! {
                    biased;
                    // Registers the driver's waker, once for the queue, the commands, the
                    // close request and the connection's events, before they are looked
                    // at below: what comes after this wakes the driver.
                    () = register(&self.socket) => {}
                    // Before the queue: what the handlers queue now is taken below in the
                    // same turn, with no wake (see `DriverWaker::driving`).
                    () = poll_work(&mut self.connection, &self.socket) => {}
                    () = take_commands(&self.socket, &mut self.commands) => {
                        let mut commands = std::mem::take(&mut self.commands);
                        for command in commands.drain(..) {
                            self.handle_command(command);
                        }
                        self.commands = commands;
                    }
                    // A closed queue is ready for good: the branch is off once it has been
                    // seen closed, as the close request's below.
                    open = take_messages(&self.socket, &mut self.session),
                        if accept_messages && !self.queue_closed =>
                    {
                        if !open {
                            self.queue_closed = true;
                            self.session.close(CloseReason::ForcedClose, now());
                        }
                    }
                    frame = next_frame(&mut self.ws), if read_ws => self.handle_ws_input(frame),
                    // Boxed, as the other rare paths: the loop's future lives as long as the
                    // session, and its size is the size of its largest state.
                    // (`select!` builds every branch's future, even a disabled one: the box is
                    // made inside the future, when it is first polled.)
                    upgraded = async { Box::new(Box::pin(wait_upgrade(&mut self.pending_ws, &self.shared.config)).await) },
                        if self.pending_ws.is_some() =>
                    {
                        let upgraded = Box::pin(self.handle_upgraded(*upgraded));
                        upgraded.await;
                    }
                    () = poll_dropped(&mut self.pending_poll), if self.pending_poll.is_some() => {
                        self.pending_poll = None;
                        self.session.handle_poll_dropped(now());
                    }
                    () = &mut sleep, if deadline.is_some() => self.session.handle_timeout(now()),
                    // Once taken, the request stays: the branch is off from then on, or a
                    // session that closes over polling (it waits for the client's next
                    // GET) would find it ready on every turn and never yield.
                    reason = close_asked(&self.socket), if !self.close_taken => {
                        self.close_taken = true;
                        self.session.close(reason, now());
                    }
                    // Nothing is taken from the queue meanwhile (a polling client that does
                    // not poll): it may stay full.
                    () = async { Box::pin(self.socket.slow_consumer()).await }, if !accept_messages => {
                        let reason = CloseReason::TransportError(TransportError::SlowConsumer);
                        self.session.close(reason, now());
                    }
                }
            }
            self.shared.remove(self.socket.sid());
            if let Some(ws) = self.ws.take() {
                let limit = self.session.config().ping_timeout;
                let closing = Box::pin(close_websocket(ws, limit));
                closing.await;
            }
            // Answer what the HTTP side still asks, then let the connection finish its work.
            self.socket.commands().close();
            if let Some(mut connection) = self.connection.take() {
                std::future::poll_fn(|cx| connection.poll_work(cx)).await;
            }
        }
    }

    fn handle_command(&mut self, command: Command) {
        let now = now();
        match command {
            Command::Poll(reply) => match self.session.handle_poll(now) {
                // Answered by the `Transmit::Poll` the session emits, now or later.
                Ok(()) => self.pending_poll = Some(reply),
                Err(err) => {
                    let _ = reply.send(Err(err));
                }
            },
            Command::PostOverlap(reply) => {
                let _ = reply.send(Err(self.session.handle_post_overlap(now)));
            }
            Command::PostBody(body, reply) => {
                if let Err(err) = self.session.handle_post_start(now) {
                    let _ = reply.send(Err(err));
                    return;
                }
                let result = match body {
                    Ok(body) => self.session.handle_post(body, now),
                    Err(PostBodyError::TooLarge) => {
                        self.session.handle_post_too_large(now);
                        let max = self.session.config().max_payload;
                        let too_large = DecodeError::PayloadTooLarge { size: max + 1, max };
                        Err(RequestError::Decode(too_large))
                    }
                    Err(PostBodyError::Aborted) => {
                        self.session.handle_post_aborted(now);
                        Err(RequestError::Closed)
                    }
                };
                let _ = reply.send(result);
            }
            Command::Upgrade(on_upgrade, reply) => {
                let ready = self.session.transport() == TransportKind::Polling
                    && self.ws.is_none()
                    && self.pending_ws.is_none()
                    && !self.session.is_closed();
                if ready {
                    self.pending_ws = Some(on_upgrade);
                    let _ = reply.send(Ok(()));
                } else {
                    let _ = reply.send(Err(RequestError::TransportMismatch));
                }
            }
        }
    }

    /// Applies the end of a write; whether the frame went out.
    fn after_write(&mut self, written: Written) -> bool {
        match written {
            Written::Done => true,
            Written::Failed(err) => {
                self.ws = None;
                self.session.handle_ws_closed(Some(err), now());
                false
            }
            Written::Interrupted => {
                self.ws = None;
                false
            }
        }
    }

    async fn handle_upgraded(&mut self, upgraded: Option<WsConn>) {
        self.pending_ws = None;
        let Some(ws) = upgraded else { return };
        match self.session.handle_ws_open(now()) {
            Ok(()) => self.ws = Some(ws),
            Err(err) => {
                tracing::debug!(%err, "websocket refused");
                let limit = self.session.config().ping_timeout;
                close_websocket(ws, limit).await;
            }
        }
    }

    fn handle_ws_input(&mut self, frame: Option<Result<Frame, TransportError>>) {
        match frame {
            // The clock is read only for a frame that needs it: a message does not.
            Some(Ok(frame)) => self.session.handle_ws_frame_with_clock(frame, now),
            Some(Err(err)) => {
                self.ws = None;
                self.session.handle_ws_closed(Some(err), now());
            }
            None => {
                self.ws = None;
                self.session.handle_ws_closed(None, now());
            }
        }
    }

    /// Writes what the session emitted and hands its events to the application.
    async fn drain_outputs(&mut self) {
        // Most of the time the WebSocket takes every frame at once: that is done without
        // a future per write, and only a write that must wait goes the slow way, in a
        // future of its own (the loop's future lives as long as the session).
        let blocked = std::future::poll_fn(|cx| Poll::Ready(self.write_ready(cx))).await;
        if blocked {
            Box::pin(self.write_waiting()).await;
        }
        self.dispatch_events();
    }

    /// Carries out the session's transmits while none has to wait; `true` when one
    /// has to (a close, or frames still to be written).
    fn write_ready(&mut self, cx: &mut Context<'_>) -> bool {
        FrameBatch::with_spare(|frames| self.write_ready_with(cx, frames))
    }

    fn write_ready_with(&mut self, cx: &mut Context<'_>, frames: &mut FrameBatch) -> bool {
        let mut blocked = self.close_pending;
        while !blocked {
            let Some(transmit) = self.session.poll_transmit() else {
                break;
            };
            match transmit {
                Transmit::Poll(body) => self.answer_poll(body),
                Transmit::WebSocket(frame) if self.ws.is_some() => {
                    if frames.is_full() {
                        blocked = self.write_frames(cx, frames);
                    }
                    // Written or kept, the batch is empty now, unless the WebSocket
                    // just failed: then the frame has nowhere to go.
                    let _ = frames.push(RawFrame::from(frame));
                }
                Transmit::CloseWebSocket => {
                    self.close_pending = true;
                    blocked = true;
                }
                _ => {}
            }
        }
        self.write_frames(cx, frames) || blocked
    }

    /// Writes `frames`, or keeps them for later; `true` when they must wait.
    fn write_frames(&mut self, cx: &mut Context<'_>, frames: &mut FrameBatch) -> bool {
        let Some(ws) = self.ws.as_mut() else {
            return false;
        };
        match ws.poll_write(cx, frames) {
            Poll::Pending => true,
            Poll::Ready(Ok(())) => false,
            Poll::Ready(Err(err)) => {
                self.after_write(Written::Failed(err));
                false
            }
        }
    }

    /// The slow way of [`write_ready`](Self::write_ready): each write may wait, within
    /// the limits of [`guarded`].
    async fn write_waiting(&mut self) {
        let limit = self.session.config().ping_timeout;
        loop {
            if let Some(ws) = self.ws.as_mut()
                && ws.has_backlog()
            {
                let write = std::future::poll_fn(|cx| ws.poll_backlog(cx));
                let written = guarded(&self.socket, limit, write).await;
                self.after_write(written);
            }
            let transmit = if std::mem::take(&mut self.close_pending) {
                Transmit::CloseWebSocket
            } else {
                let Some(transmit) = self.session.poll_transmit() else {
                    break;
                };
                transmit
            };
            match transmit {
                Transmit::Poll(body) => self.answer_poll(body),
                Transmit::WebSocket(frame) => {
                    if let Some(ws) = self.ws.as_mut() {
                        let mut frames = FrameBatch::<1>::new();
                        let _ = frames.push(RawFrame::from(frame));
                        let write = std::future::poll_fn(|cx| ws.poll_write(cx, &mut frames));
                        let written = guarded(&self.socket, limit, write).await;
                        self.after_write(written);
                    }
                }
                Transmit::CloseWebSocket => {
                    if let Some(mut ws) = self.ws.take() {
                        let _ = guarded(&self.socket, limit, ws.close()).await;
                    }
                }
                _ => {}
            }
        }
    }

    /// Answers the long-polling GET that waits.
    fn answer_poll(&mut self, body: Bytes) {
        if let Some(reply) = self.pending_poll.take() {
            let _ = reply.send(Ok(body));
        }
    }

    /// Hands the session's events to the application.
    fn dispatch_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Message(message) => {
                    if let Some(connection) = self.connection.as_mut() {
                        connection.on_message(message);
                    }
                }
                Event::Upgraded => {
                    self.socket.set_transport(TransportKind::WebSocket);
                    if let Some(connection) = self.connection.as_mut() {
                        connection.on_upgrade();
                    }
                }
                Event::Closed(reason) => {
                    tracing::debug!(%reason, "session closed");
                    self.socket.outbox().close();
                    if let Some(connection) = self.connection.as_mut() {
                        connection.on_close(reason);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Hands what is queued, up to a batch, to the session: ready with `false` once the queue
/// is closed and empty, pending when it is empty.
async fn take_messages(socket: &EngineSocket, session: &mut ServerSession) -> bool {
    std::future::poll_fn(|_| {
        let taken = socket.outbox().take(MESSAGE_BATCH, |message| {
            if session.is_send_buffer_full() {
                return Some(message);
            }
            let sent = match message {
                Outgoing::Message(message) => session.send(message),
                Outgoing::FramedText(framed) => session.send_framed_text(framed),
            };
            if let Err(err) = sent {
                tracing::debug!(%err, "message dropped: session no longer accepts sends");
            }
            None
        });
        taken.map_or(Poll::Pending, Poll::Ready)
    })
    .await
}

// The sources below are looked at on every poll of their branch, after `register`: each
// is a flag, and pending when it is down. (A branch's future lives as long as its
// `select!`, through the polls in which the driver waits.)

/// Takes the commands that wait, if any.
async fn take_commands(socket: &EngineSocket, commands: &mut Vec<Command>) {
    std::future::poll_fn(|_| {
        if socket.commands().take(commands) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Why the session was asked to close, once it was.
async fn close_asked(socket: &EngineSocket) -> CloseReason {
    std::future::poll_fn(|_| socket.close_reason().map_or(Poll::Pending, Poll::Ready)).await
}

/// Registers the driver's waker for what wakes it through the socket; never completes.
async fn register(socket: &EngineSocket) {
    std::future::poll_fn(|cx| {
        socket.driver().register(cx.waker());
        Poll::<()>::Pending
    })
    .await;
}

/// Lets the connection make progress on its own futures; never completes.
async fn poll_work(connection: &mut Option<Box<dyn EngineConnection>>, socket: &EngineSocket) {
    std::future::poll_fn(|cx| {
        if let Some(connection) = connection.as_mut() {
            // `Ready` only says there is no work now; more may come with the next input.
            let _ = socket.driver().driving(|| connection.poll_work(cx));
        }
        std::task::Poll::<()>::Pending
    })
    .await;
}

/// How a guarded WebSocket write ended.
enum Written {
    Done,
    Failed(TransportError),
    /// The session was asked to close meanwhile; the main loop closes it.
    Interrupted,
}

/// Runs a WebSocket write, giving up when it takes longer than `limit` (the client does
/// not read: its buffers are full) or when the session is asked to close, so that a
/// client that stops reading can never hold its driver forever.
async fn guarded<E>(
    socket: &EngineSocket,
    limit: std::time::Duration,
    write: impl std::future::Future<Output = Result<(), E>>,
) -> Written {
    let written = |result: Result<(), E>| match result {
        Ok(()) => Written::Done,
        Err(_) => Written::Failed(TransportError::WebSocket),
    };
    let mut write = pin!(write);
    // Most writes complete at once: they need no timer, and the waiting below (timers,
    // its own allocation) is for those that do not.
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(result) = first {
        return written(result);
    }
    Box::pin(async move {
        tokio::select! {
            // A write that can complete now always does, even when a close was asked
            // for: a close delivers what is queued first.
            biased;
            result = tokio::time::timeout(limit, write) => match result {
                Ok(result) => written(result),
                Err(_) => Written::Failed(TransportError::SlowConsumer),
            },
            _ = socket.close_requested() => Written::Interrupted,
            () = socket.slow_consumer() => Written::Failed(TransportError::SlowConsumer),
        }
    })
    .await
}

/// Closes a session's WebSocket, giving up after `limit` on a client that does not read.
async fn close_websocket(mut ws: WsConn, limit: std::time::Duration) {
    let _ = tokio::time::timeout(limit, ws.close()).await;
}

async fn next_frame(ws: &mut Option<WsConn>) -> Option<Result<Frame, TransportError>> {
    ws.as_mut()?.next_frame().await
}

async fn wait_upgrade(pending: &mut Option<OnUpgrade>, config: &EngineConfig) -> Option<WsConn> {
    let on_upgrade = pending.as_mut()?;
    match on_upgrade.await {
        Ok(upgraded) => Some(accept_stream(upgraded, config)),
        Err(err) => {
            tracing::debug!(%err, "websocket upgrade failed");
            None
        }
    }
}

async fn poll_dropped(pending: &mut Option<oneshot::Sender<Result<Bytes, RequestError>>>) {
    match pending.as_mut() {
        Some(reply) => reply.closed().await,
        None => std::future::pending().await,
    }
}
