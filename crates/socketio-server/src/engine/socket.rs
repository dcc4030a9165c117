//! The application's view of one session.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use std::time::{Duration, Instant};

use engineio_core::{CloseReason, Message, SendError, Sid, TransportError, TransportKind};

use super::{
    EngineConfig,
    driver::Command,
    outbox::{Outbox, Outgoing},
    request_head::RequestHead,
    waker::DriverWaker,
};
use crate::mailbox::Mailbox;

/// What the application does with sessions: for each new session it makes the
/// [`EngineConnection`] that receives that session's events.
pub trait EngineHandler: Send + Sync + 'static {
    /// A session opened.
    fn on_connect(&self, socket: EngineSocket) -> Box<dyn EngineConnection>;
}

impl<F> EngineHandler for F
where
    F: Fn(EngineSocket) -> Box<dyn EngineConnection> + Send + Sync + 'static,
{
    fn on_connect(&self, socket: EngineSocket) -> Box<dyn EngineConnection> {
        self(socket)
    }
}

/// The application's side of one session. Its methods run on the session's driver task,
/// in order, one at a time: keep them short. Asynchronous work belongs in
/// [`poll_work`](Self::poll_work), which the same task drives.
pub trait EngineConnection: Send + 'static {
    /// A message arrived.
    fn on_message(&mut self, message: Message);

    /// The session moved from polling to WebSocket.
    fn on_upgrade(&mut self) {}

    /// The session closed. Nothing more is received, and sends fail.
    fn on_close(&mut self, reason: CloseReason);

    /// Makes progress on the connection's own futures, registering `cx`'s waker for
    /// what is not ready; `Ready` when none is left. Called whenever the driver task
    /// wakes; after the session closed, the driver keeps calling it until `Ready`, so
    /// that work started before the close (a disconnect handler) finishes.
    fn poll_work(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let _ = cx;
        std::task::Poll::Ready(())
    }

    /// Whether the connection wants no more input for now. While it does, the driver
    /// stops reading from the WebSocket, so a client cannot queue unbounded work.
    fn is_busy(&self) -> bool {
        false
    }
}

/// A handle on one Engine.IO session: cheap to clone, usable from any task.
#[derive(Clone)]
pub struct EngineSocket {
    shared: Arc<Shared>,
}

struct Shared {
    sid: Sid,
    request: RequestHead,
    /// The driver, woken by what gives it work: the three fields below, and the
    /// connection's events.
    driver: DriverWaker,
    outbox: Outbox,
    commands: Mailbox<Command>,
    close: Mutex<Option<CloseReason>>,
    /// Whether `close` holds a reason: read on every turn of the driver's loop, so it
    /// is checked without the lock.
    close_asked: AtomicBool,
    transport: Mutex<TransportKind>,
    slow_consumer_timeout: Option<Duration>,
    /// Since when sends have found the queue full, without one getting through.
    full_since: Mutex<Option<Instant>>,
    /// Whether `full_since` is set: read on every send, so checked without the lock.
    full: AtomicBool,
    /// Whether a POST is being read.
    post_in_flight: AtomicBool,
}

impl fmt::Debug for EngineSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineSocket")
            .field("sid", &self.shared.sid)
            .field("transport", &self.transport())
            .finish_non_exhaustive()
    }
}

impl EngineSocket {
    pub(super) fn new(
        sid: Sid,
        transport: TransportKind,
        request: http::request::Parts,
        config: &EngineConfig,
    ) -> Self {
        let shared = Arc::new(Shared {
            sid,
            request: RequestHead::new(request),
            driver: DriverWaker::new(),
            outbox: Outbox::new(config.message_queue),
            // The HTTP side of a session makes a request or two at a time; a client
            // that makes many at once is refused.
            commands: Mailbox::new(8),
            close: Mutex::new(None),
            close_asked: AtomicBool::new(false),
            transport: Mutex::new(transport),
            slow_consumer_timeout: config.slow_consumer_timeout,
            full_since: Mutex::new(None),
            full: AtomicBool::new(false),
            post_in_flight: AtomicBool::new(false),
        });
        Self { shared }
    }

    /// The session id.
    pub fn sid(&self) -> &Sid {
        &self.shared.sid
    }

    /// The transport the session uses now.
    pub fn transport(&self) -> TransportKind {
        self.shared
            .transport
            .lock()
            .map_or(TransportKind::Polling, |transport| *transport)
    }

    /// The handshake request's method, URI (with its query), headers and extensions.
    ///
    /// The header values and the URI are copies, made once at the handshake, so that a
    /// session does not keep its connection's read buffer (8 KiB or more) alive: an
    /// extension added by a middleware should hold owned data for the same reason. The
    /// headers are kept compactly and this value is built the first time it is asked for.
    pub fn request(&self) -> &http::request::Parts {
        self.shared.request.parts()
    }

    /// Queues a message for the client. Fails at once, without waiting, when the
    /// session's outgoing queue is full or the session is closed.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_outgoing(std::iter::once(Outgoing::Message(message.into())))
    }

    /// Applies the slow-consumer policy: a queue that stays full past the configured
    /// time closes the session with "transport error" (slow consumer). The driver also
    /// watches the time while it cannot drain the queue ([`EngineSocket::slow_consumer`]),
    /// so the policy holds when the application stops sending.
    fn track_fullness(&self, failure: Option<&SendError>) {
        let Some(limit) = self.shared.slow_consumer_timeout else {
            return;
        };
        match failure {
            Some(SendError::Full) => {
                let Ok(mut full_since) = self.shared.full_since.lock() else {
                    return;
                };
                let now = Instant::now();
                let since = *full_since.get_or_insert(now);
                self.shared.full.store(true, Ordering::Release);
                if now.saturating_duration_since(since) >= limit {
                    drop(full_since);
                    tracing::debug!(sid = %self.sid(), "slow consumer: closing");
                    self.close_with(CloseReason::TransportError(TransportError::SlowConsumer));
                }
            }
            // The common case, a send that got through with no full queue before it,
            // takes no lock.
            None if self.shared.full.load(Ordering::Acquire) => {
                if let Ok(mut full_since) = self.shared.full_since.lock() {
                    *full_since = None;
                    self.shared.full.store(false, Ordering::Release);
                }
            }
            None | Some(_) => {}
        }
    }

    /// Resolves once the queue has stayed full for the slow-consumer timeout (never
    /// without one). The driver waits on it while it cannot take from the queue.
    pub(super) async fn slow_consumer(&self) {
        let Some(limit) = self.shared.slow_consumer_timeout else {
            return std::future::pending().await;
        };
        let step = (limit / 4).max(Duration::from_millis(5));
        loop {
            tokio::time::sleep(step).await;
            let full_for = self
                .shared
                .full_since
                .lock()
                .ok()
                .and_then(|since| since.map(|since| since.elapsed()));
            if full_for.is_some_and(|full_for| full_for >= limit) {
                tracing::debug!(sid = %self.sid(), "slow consumer: closing");
                return;
            }
        }
    }

    /// Queues several messages that belong together (a Socket.IO packet and its binary
    /// attachments): all of them, in order, or none when the queue has no room for all.
    pub fn send_all(
        &self,
        messages: impl ExactSizeIterator<Item = Message>,
    ) -> Result<(), SendError> {
        self.send_outgoing(messages.map(Outgoing::Message))
    }

    /// [`send_all`](Self::send_all) of what the server queues (framed text included).
    pub(crate) fn send_outgoing(
        &self,
        messages: impl ExactSizeIterator<Item = Outgoing>,
    ) -> Result<(), SendError> {
        let count = messages.len();
        if count == 0 {
            return Ok(());
        }
        let sent = self
            .shared
            .outbox
            .push_all(&self.shared.driver, count, messages);
        self.track_fullness(sent.as_ref().err());
        sent
    }

    /// [`send_all`](Self::send_all), waiting while the queue has no room for all the
    /// messages: a producer that uses it goes at the client's pace.
    pub async fn send_all_wait(
        &self,
        messages: impl ExactSizeIterator<Item = Message>,
    ) -> Result<(), SendError> {
        self.send_outgoing_wait(messages.map(Outgoing::Message))
            .await
    }

    /// [`send_all_wait`](Self::send_all_wait) of what the server queues.
    pub(crate) async fn send_outgoing_wait(
        &self,
        messages: impl ExactSizeIterator<Item = Outgoing>,
    ) -> Result<(), SendError> {
        let count = messages.len();
        if count == 0 {
            return Ok(());
        }
        self.shared
            .outbox
            .push_all_wait(&self.shared.driver, count, messages)
            .await
    }

    /// Queues a message, waiting while the outgoing queue is full.
    pub async fn send_wait(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_outgoing_wait(std::iter::once(Outgoing::Message(message.into())))
            .await
    }

    /// Closes the session; queued messages are delivered first.
    pub fn close(&self) {
        self.close_with(CloseReason::ForcedClose);
    }

    /// How many messages wait in the outgoing queue.
    pub fn queued(&self) -> usize {
        self.shared.outbox.len()
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.outbox.is_closed()
    }

    pub(crate) fn close_with(&self, reason: CloseReason) {
        if let Ok(mut close) = self.shared.close.lock() {
            close.get_or_insert(reason);
        }
        self.shared.close_asked.store(true, Ordering::Release);
        self.shared.driver.wake();
    }

    /// Marks a POST in flight until the guard is dropped; `None` when one already is.
    pub(super) fn begin_post(&self) -> Option<PostGuard<'_>> {
        let busy = self.shared.post_in_flight.swap(true, Ordering::AcqRel);
        (!busy).then_some(PostGuard(self))
    }

    pub(super) fn outbox(&self) -> &Outbox {
        &self.shared.outbox
    }

    pub(super) fn commands(&self) -> &Mailbox<Command> {
        &self.shared.commands
    }

    /// Sends a command to the driver; gives it back when the driver takes no more.
    pub(super) fn command(&self, command: Command) -> Result<(), Command> {
        self.shared.commands.push(command, &self.shared.driver)
    }

    /// The driver's waker, which the connection wakes when it has events of its own.
    pub(crate) fn driver(&self) -> &DriverWaker {
        &self.shared.driver
    }

    pub(super) fn set_transport(&self, transport: TransportKind) {
        if let Ok(mut current) = self.shared.transport.lock() {
            *current = transport;
        }
    }

    /// Waits until [`EngineSocket::close`] was called, and says why.
    pub(super) async fn close_requested(&self) -> CloseReason {
        std::future::poll_fn(|cx| self.poll_close_requested(cx)).await
    }

    /// Whether [`EngineSocket::close`] was called, and why; registers the driver's
    /// waker when it was not.
    fn poll_close_requested(&self, cx: &mut Context<'_>) -> Poll<CloseReason> {
        if !self.shared.close_asked.load(Ordering::Acquire) {
            self.shared.driver.register(cx.waker());
        }
        self.close_reason().map_or(Poll::Pending, Poll::Ready)
    }

    /// Why [`EngineSocket::close`] was called, if it was: checked on every turn of the
    /// driver's loop, after it registered its waker (a flag, no lock).
    pub(super) fn close_reason(&self) -> Option<CloseReason> {
        if !self.shared.close_asked.load(Ordering::Acquire) {
            return None;
        }
        self.shared.close.lock().ok().and_then(|close| *close)
    }
}

/// A POST in flight; see [`EngineSocket::begin_post`].
pub(super) struct PostGuard<'a>(&'a EngineSocket);

impl Drop for PostGuard<'_> {
    fn drop(&mut self) {
        self.0.shared.post_in_flight.store(false, Ordering::Release);
    }
}
