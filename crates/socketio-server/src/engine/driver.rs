//! One task per session: it owns the `engineio-core` session, feeds it requests,
//! WebSocket frames, application messages and timer expiries, and writes what it emits.

use std::{pin::pin, sync::Arc, time::Instant};

use bytes::Bytes;
use engineio_core::{
    CloseReason, DecodeError, Event, Frame, RequestError, ServerSession, Transmit, TransportError,
    TransportKind,
};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::{
    EngineConfig, EngineConnection, EngineSocket, Shared,
    websocket::{WsStream, accept_stream, from_ws_message, to_ws_message},
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
    pending_poll: Option<oneshot::Sender<Result<Bytes, RequestError>>>,
    ws: Option<WsStream>,
    pending_ws: Option<OnUpgrade>,
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
        ws: Option<WsStream>,
    ) -> Self {
        Self {
            shared,
            session,
            socket,
            connection: None,
            commands: Vec::new(),
            pending_poll: None,
            ws,
            pending_ws: None,
        }
    }

    /// Runs the session to its end, then removes it from the server.
    pub(super) fn spawn(self) {
        let span = tracing::debug_span!("engineio", sid = %self.socket.sid());
        tokio::spawn(self.run().instrument(span));
    }

    pub(super) async fn run(mut self) {
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
                () = poll_work(&mut self.connection) => {}
                () = std::future::poll_fn(|cx| self.socket.commands().poll_take(cx, &mut self.commands)) => {
                    let mut commands = std::mem::take(&mut self.commands);
                    for command in commands.drain(..) {
                        self.handle_command(command);
                    }
                    self.commands = commands;
                }
                open = std::future::poll_fn(|cx| self.socket.outbox().poll_ready(cx)),
                    if accept_messages =>
                {
                    if open {
                        self.take_messages();
                    } else {
                        self.session.close(CloseReason::ForcedClose, now());
                    }
                }
                frame = next_frame(&mut self.ws), if read_ws => self.handle_ws_input(frame),
                // Boxed, as the other rare paths: the loop's future lives as long as the
                // session, and its size is the size of its largest state.
                upgraded = Box::pin(wait_upgrade(&mut self.pending_ws, &self.shared.config)),
                    if self.pending_ws.is_some() =>
                {
                    Box::pin(self.handle_upgraded(upgraded)).await;
                }
                () = poll_dropped(&mut self.pending_poll), if self.pending_poll.is_some() => {
                    self.pending_poll = None;
                    self.session.handle_poll_dropped(now());
                }
                () = &mut sleep, if deadline.is_some() => self.session.handle_timeout(now()),
                reason = self.socket.close_requested() => self.session.close(reason, now()),
                // Nothing is taken from the queue meanwhile (a polling client that does
                // not poll): it may stay full.
                () = self.socket.slow_consumer(), if !accept_messages => {
                    let reason = CloseReason::TransportError(TransportError::SlowConsumer);
                    self.session.close(reason, now());
                }
            }
        }
        self.shared.remove(self.socket.sid());
        if let Some(mut ws) = self.ws.take() {
            let _ = Box::pin(ws.close(None)).await;
        }
        // Answer what the HTTP side still asks, then let the connection finish its work.
        self.socket.commands().close();
        if let Some(mut connection) = self.connection.take() {
            std::future::poll_fn(|cx| connection.poll_work(cx)).await;
        }
    }

    /// Hands what is queued, up to a batch, to the session.
    fn take_messages(&mut self) {
        let session = &mut self.session;
        self.socket.outbox().take(MESSAGE_BATCH, |message| {
            if session.is_send_buffer_full() {
                return Some(message);
            }
            if let Err(err) = session.send(message) {
                tracing::debug!(%err, "message dropped: session no longer accepts sends");
            }
            None
        });
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

    async fn handle_upgraded(&mut self, upgraded: Option<WsStream>) {
        self.pending_ws = None;
        let Some(mut ws) = upgraded else { return };
        match self.session.handle_ws_open(now()) {
            Ok(()) => self.ws = Some(ws),
            Err(err) => {
                tracing::debug!(%err, "websocket refused");
                let _ = ws.close(None).await;
            }
        }
    }

    fn handle_ws_input(&mut self, frame: Option<Result<Frame, TransportError>>) {
        let now = now();
        match frame {
            Some(Ok(frame)) => self.session.handle_ws_frame(frame, now),
            Some(Err(err)) => {
                self.ws = None;
                self.session.handle_ws_closed(Some(err), now);
            }
            None => {
                self.ws = None;
                self.session.handle_ws_closed(None, now);
            }
        }
    }

    /// Writes what the session emitted and hands its events to the application.
    async fn drain_outputs(&mut self) {
        let mut ws_written = false;
        while let Some(transmit) = self.session.poll_transmit() {
            match transmit {
                Transmit::Poll(body) => {
                    if let Some(reply) = self.pending_poll.take() {
                        let _ = reply.send(Ok(body));
                    }
                }
                Transmit::WebSocket(frame) => {
                    let limit = self.session.config().ping_timeout;
                    if let Some(ws) = self.ws.as_mut() {
                        let written =
                            guarded(&self.socket, limit, ws.feed(to_ws_message(frame))).await;
                        ws_written = self.after_write(written) || ws_written;
                    }
                }
                Transmit::CloseWebSocket => {
                    let limit = self.session.config().ping_timeout;
                    if let Some(mut ws) = self.ws.take() {
                        let _ = Box::pin(guarded(&self.socket, limit, ws.close(None))).await;
                    }
                    ws_written = false;
                }
                _ => {}
            }
        }
        if ws_written {
            let limit = self.session.config().ping_timeout;
            if let Some(ws) = self.ws.as_mut() {
                let flushed = guarded(&self.socket, limit, ws.flush()).await;
                self.after_write(flushed);
            }
        }
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

/// Lets the connection make progress on its own futures; never completes.
async fn poll_work(connection: &mut Option<Box<dyn EngineConnection>>) {
    std::future::poll_fn(|cx| {
        if let Some(connection) = connection.as_mut() {
            // `Ready` only says there is no work now; more may come with the next input.
            let _ = connection.poll_work(cx);
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
    tokio::select! {
        // A write that can complete now always does, even when a close was asked for:
        // a close delivers what is queued first.
        biased;
        result = tokio::time::timeout(limit, write) => match result {
            Ok(Ok(())) => Written::Done,
            Ok(Err(_)) => Written::Failed(TransportError::WebSocket),
            Err(_) => Written::Failed(TransportError::SlowConsumer),
        },
        _ = socket.close_requested() => Written::Interrupted,
        () = socket.slow_consumer() => Written::Failed(TransportError::SlowConsumer),
    }
}

async fn next_frame(ws: &mut Option<WsStream>) -> Option<Result<Frame, TransportError>> {
    let ws = ws.as_mut()?;
    loop {
        match ws.next().await? {
            Ok(message) => match from_ws_message(message) {
                Ok(Some(frame)) => return Some(Ok(frame)),
                // WebSocket-level ping / pong: tungstenite answers pings itself.
                Ok(None) => {}
                Err(()) => return None,
            },
            Err(err) => return Some(Err(super::websocket::transport_error(&err))),
        }
    }
}

async fn wait_upgrade(pending: &mut Option<OnUpgrade>, config: &EngineConfig) -> Option<WsStream> {
    let on_upgrade = pending.as_mut()?;
    match on_upgrade.await {
        Ok(upgraded) => Some(accept_stream(upgraded, config).await),
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
