//! The WebSocket transport: the HTTP upgrade, reading frames with tungstenite, and
//! writing them to the connection directly.

use std::{
    io::{self, IoSlice, Read, Write},
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::{Buf, Bytes};
use bytestring::ByteString;
use engineio_core::{Frame, InlineQueue, TransportError};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tungstenite::{
    Message as WsMessage,
    error::CapacityError,
    handshake::derive_accept_key,
    protocol::{Role, WebSocketConfig, WebSocketContext},
};

use super::EngineConfig;

/// The upgraded HTTP connection under a WebSocket.
pub(super) type WsStream = TokioIo<Upgraded>;

/// At most this many slices go to one vectored write.
const MAX_SLICES: usize = 32;

/// Payloads up to this size are copied next to their headers into the gathering buffer.
const COPY_MAX: usize = 2048;

/// A write gathers frames until this many bytes are gathered.
const GATHER_MAX: usize = 64 * 1024;

thread_local! {
    /// The gathering buffer of the sessions that write on this thread: at most
    /// `GATHER_MAX + COPY_MAX` and a header.
    static GATHER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A session's WebSocket.
///
/// tungstenite's protocol state reads, answers pings and closes, driven on the
/// connection with the driver's own waker (see [`Blocking`]). Data frames are written to
/// the connection directly: a server's frames are not masked, so a frame is its header
/// followed by the payload as it is, and the header and the (shared) payload go out in one
/// write without passing through tungstenite's buffer. Frames go out whole and in order;
/// the two writers meet only at frame boundaries (see [`poll_write`](Self::poll_write)).
pub(super) struct WsConn {
    stream: WsStream,
    protocol: WebSocketContext,
    /// Whether tungstenite has reported the end of the stream.
    ended: bool,
    /// Frames that could not be written at once, oldest first; the first may be partly
    /// written. Boxed, and only while there are some: most writes complete at once, and
    /// the server keeps one of these per connection.
    backlog: Option<Box<InlineQueue<RawFrame>>>,
    /// Whether tungstenite may hold output of its own (a pong it owes, or part of one),
    /// which must go out before the next frame of ours.
    own_output: bool,
}

/// A data frame as it goes out: what is left of its header, then of its payload.
pub(super) struct RawFrame {
    payload: Bytes,
    opcode: u8,
    /// How much of the header is written; `u8::MAX` once all of it is.
    head_written: u8,
}

impl From<Frame> for RawFrame {
    fn from(frame: Frame) -> Self {
        let (opcode, payload) = match frame {
            Frame::Text(text) => (0x1, text.into_bytes()),
            Frame::Binary(data) => (0x2, data),
        };
        Self {
            payload,
            opcode,
            head_written: 0,
        }
    }
}

/// A frame's header: FIN and the opcode, then the length (a server's frames carry no mask).
struct Head {
    bytes: [u8; 10],
    len: u8,
}

impl Head {
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl RawFrame {
    /// What is left of the header to write: nothing once it is out.
    fn unwritten_head(&self) -> Head {
        let mut head = self.full_head();
        // `head_written` is past the header's end once it is out.
        let from = usize::from(self.head_written).min(usize::from(head.len));
        head.bytes.copy_within(from..usize::from(head.len), 0);
        head.len -= from as u8;
        head
    }

    /// The whole header; meaningful while some of it is still to write, when the payload
    /// has its whole length.
    fn full_head(&self) -> Head {
        let first = 0x80 | self.opcode;
        let len = self.payload.len();
        let (bytes, len) = match u16::try_from(len) {
            Ok(short) if short < 126 => ([first, short as u8, 0, 0, 0, 0, 0, 0, 0, 0], 2),
            Ok(medium) => {
                let [a, b] = medium.to_be_bytes();
                ([first, 126, a, b, 0, 0, 0, 0, 0, 0], 4)
            }
            Err(_) => {
                let [a, b, c, d, e, f, g, h] = (len as u64).to_be_bytes();
                ([first, 127, a, b, c, d, e, f, g, h], 10)
            }
        };
        Head { bytes, len }
    }

    /// Counts `written` bytes out; what is left of them past this frame.
    fn advance(&mut self, written: usize) -> usize {
        let head = match self.head_written {
            u8::MAX => 0,
            done => usize::from(self.full_head().len.saturating_sub(done)),
        };
        if written < head {
            // Less than the header's length, which is at most 10.
            self.head_written += written as u8;
            return 0;
        }
        self.head_written = u8::MAX;
        let written = written - head;
        let payload = written.min(self.payload.len());
        self.payload.advance(payload);
        written - payload
    }

    fn is_done(&self) -> bool {
        self.head_written == u8::MAX && self.payload.is_empty()
    }
}

impl WsConn {
    fn new(stream: WsStream, protocol: WebSocketContext) -> Self {
        Self {
            stream,
            protocol,
            ended: false,
            backlog: None,
            own_output: false,
        }
    }

    /// Whether frames wait to be written.
    pub(super) fn has_backlog(&self) -> bool {
        self.backlog.is_some()
    }

    /// Writes what tungstenite owes, what waits from earlier calls, then `frames`; ready
    /// once all are out. `frames` is left empty: what could not be written waits for the
    /// next call.
    pub(super) fn poll_write<const N: usize>(
        &mut self,
        cx: &mut Context<'_>,
        frames: &mut FrameBatch<N>,
    ) -> Poll<Result<(), TransportError>> {
        // Frames go after those that already wait.
        if self.backlog.is_some() {
            self.keep(frames);
        }
        if self.own_output {
            let flushed = self
                .protocol
                .flush(&mut Blocking::new(&mut self.stream, cx));
            match would_block(flushed) {
                Poll::Ready(flushed) => {
                    self.own_output = false;
                    // `ConnectionClosed`: the close it owed went out, and with it the rest.
                    if !matches!(flushed, Ok(()) | Err(tungstenite::Error::ConnectionClosed)) {
                        return Poll::Ready(Err(TransportError::WebSocket));
                    }
                }
                Poll::Pending => {
                    self.keep(frames);
                    return Poll::Pending;
                }
            }
        }
        if let Some(backlog) = self.backlog.as_deref_mut() {
            ready!(poll_write_all(&mut self.stream, cx, backlog))?;
            self.backlog = None;
            return Poll::Ready(Ok(()));
        }
        let written = poll_write_all(&mut self.stream, cx, frames);
        self.keep(frames);
        written
    }

    /// Writes what tungstenite owes and the frames that wait.
    pub(super) fn poll_backlog(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), TransportError>> {
        self.poll_write(cx, &mut FrameBatch::<1>::new())
    }

    /// Keeps what is left of `frames` for the next write.
    fn keep<const N: usize>(&mut self, frames: &mut FrameBatch<N>) {
        if frames.is_empty() {
            return;
        }
        let backlog = self.backlog.get_or_insert_with(Box::default);
        while let Some(frame) = frames.pop_front() {
            backlog.push_back(frame);
        }
    }

    /// The next Engine.IO frame from the client: `None` once it closed the WebSocket.
    pub(super) async fn next_frame(&mut self) -> Option<Result<Frame, TransportError>> {
        std::future::poll_fn(|cx| self.poll_next_frame(cx)).await
    }

    fn poll_next_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame, TransportError>>> {
        while !self.ended {
            let read = self.protocol.read(&mut Blocking::new(&mut self.stream, cx));
            match ready!(would_block(read)) {
                Ok(message) => {
                    // tungstenite answers a ping itself, on its next read or write: from
                    // now on it may have output of its own.
                    self.own_output |= matches!(message, WsMessage::Ping(_));
                    match from_ws_message(message) {
                        Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                        Ok(None) => {}
                        Err(()) => self.ended = true,
                    }
                }
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    self.ended = true;
                }
                Err(err) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(transport_error(&err))));
                }
            }
        }
        Poll::Ready(None)
    }

    /// Writes the frames that wait, then closes the WebSocket.
    pub(super) async fn close(&mut self) -> Result<(), TransportError> {
        std::future::poll_fn(|cx| self.poll_backlog(cx)).await?;
        // The close frame is queued once; what does not go out at once is flushed after.
        let mut queued = false;
        let closed = std::future::poll_fn(|cx| {
            let mut io = Blocking::new(&mut self.stream, cx);
            let step = if queued {
                self.protocol.flush(&mut io)
            } else {
                self.protocol.close(&mut io, None)
            };
            queued = true;
            would_block(step)
        })
        .await;
        match closed {
            Ok(()) | Err(tungstenite::Error::ConnectionClosed) => Ok(()),
            Err(_) => Err(TransportError::WebSocket),
        }
    }
}

/// The connection as the blocking reader and writer that tungstenite drives: what is
/// not ready is `WouldBlock`, with the driver's waker registered for it. Made for each
/// call, with the caller's context, so that no waker of tungstenite's own stands between
/// the connection and the driver.
struct Blocking<'a, 'b> {
    io: &'a mut WsStream,
    cx: &'a mut Context<'b>,
}

impl<'a, 'b> Blocking<'a, 'b> {
    fn new(io: &'a mut WsStream, cx: &'a mut Context<'b>) -> Self {
        Self { io, cx }
    }
}

fn pending_is_would_block<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl Read for Blocking<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        pending_is_would_block(Pin::new(&mut *self.io).poll_read(self.cx, &mut buf))?;
        Ok(buf.filled().len())
    }
}

impl Write for Blocking<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        pending_is_would_block(Pin::new(&mut *self.io).poll_write(self.cx, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        pending_is_would_block(Pin::new(&mut *self.io).poll_flush(self.cx))
    }
}

/// A tungstenite step that hit `WouldBlock` is pending: the waker is registered.
fn would_block<T>(step: Result<T, tungstenite::Error>) -> Poll<Result<T, tungstenite::Error>> {
    match step {
        Err(tungstenite::Error::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => {
            Poll::Pending
        }
        step => Poll::Ready(step),
    }
}

/// Writes `frames` until all are out or the connection is not ready for more.
fn poll_write_all(
    stream: &mut WsStream,
    cx: &mut Context<'_>,
    frames: &mut impl FrameQueue,
) -> Poll<Result<(), TransportError>> {
    while !frames.is_empty() {
        let mut written = ready!(poll_write_some(stream, cx, frames))?;
        if written == 0 {
            return Poll::Ready(Err(TransportError::WebSocket));
        }
        while written > 0 {
            let Some(frame) = frames.front_mut() else {
                break;
            };
            written = frame.advance(written);
            if frame.is_done() {
                frames.pop_front();
            }
        }
    }
    Poll::Ready(Ok(()))
}

/// Frames in the order they go out.
trait FrameQueue {
    fn frames(&self) -> impl Iterator<Item = &RawFrame>;
    fn front_mut(&mut self) -> Option<&mut RawFrame>;
    fn pop_front(&mut self) -> Option<RawFrame>;
    fn is_empty(&self) -> bool;
}

impl FrameQueue for InlineQueue<RawFrame> {
    fn frames(&self) -> impl Iterator<Item = &RawFrame> {
        self.iter()
    }
    fn front_mut(&mut self) -> Option<&mut RawFrame> {
        InlineQueue::front_mut(self)
    }
    fn pop_front(&mut self) -> Option<RawFrame> {
        InlineQueue::pop_front(self)
    }
    fn is_empty(&self) -> bool {
        InlineQueue::is_empty(self)
    }
}

/// How many frames a [`FrameBatch`] holds: as many as the driver takes from its queue in
/// a turn, so that a burst (broadcasts that came in together) goes out in one write. A
/// write per 16 frames made broadcasts to many sessions cost twice the system calls.
const BATCH: usize = 64;

/// Up to `N` frames on their way out, held in place: a write of a few frames allocates
/// nothing. The driver's batches hold [`BATCH`]; a write of one frame that has to wait
/// (the future that waits keeps it) holds one.
pub(super) struct FrameBatch<const N: usize = BATCH> {
    slots: [Option<RawFrame>; N],
    /// Where the first frame is.
    head: usize,
    len: usize,
}

thread_local! {
    /// The batch of the sessions that write on this thread: one that is already made
    /// (making one, and dropping it, touches all its slots).
    static SPARE_BATCH: std::cell::RefCell<FrameBatch> =
        const { std::cell::RefCell::new(FrameBatch::new()) };
}

impl FrameBatch {
    /// Runs `f` with an empty batch, which it leaves empty: written, or kept by
    /// [`WsConn::poll_write`].
    pub(super) fn with_spare<R>(f: impl FnOnce(&mut Self) -> R) -> R {
        SPARE_BATCH.with(|spare| match spare.try_borrow_mut() {
            Ok(mut batch) => {
                let result = f(&mut batch);
                // Frames left behind (their WebSocket failed) have nowhere to go.
                while batch.pop_front().is_some() {}
                result
            }
            Err(_) => f(&mut Self::new()),
        })
    }
}

impl<const N: usize> FrameBatch<N> {
    pub(super) const fn new() -> Self {
        Self {
            slots: [const { None }; N],
            head: 0,
            len: 0,
        }
    }

    pub(super) fn is_full(&self) -> bool {
        self.len == N
    }

    /// Adds a frame at the back; gives it back when the batch is full.
    pub(super) fn push(&mut self, frame: RawFrame) -> Result<(), RawFrame> {
        if self.is_full() {
            return Err(frame);
        }
        match self.slots.get_mut((self.head + self.len) % N) {
            Some(slot) => {
                *slot = Some(frame);
                self.len += 1;
                Ok(())
            }
            None => Err(frame),
        }
    }
}

impl<const N: usize> FrameQueue for FrameBatch<N> {
    fn frames(&self) -> impl Iterator<Item = &RawFrame> {
        (0..self.len).filter_map(|i| self.slots.get((self.head + i) % N)?.as_ref())
    }
    fn front_mut(&mut self) -> Option<&mut RawFrame> {
        if self.len == 0 {
            return None;
        }
        self.slots.get_mut(self.head)?.as_mut()
    }
    fn pop_front(&mut self) -> Option<RawFrame> {
        if self.len == 0 {
            return None;
        }
        let frame = self.slots.get_mut(self.head)?.take();
        self.head = (self.head + 1) % N;
        self.len -= 1;
        frame
    }
    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One vectored write of the frames at the front of `frames`: small ones are
/// gathered in a buffer of the thread's (a write of many tiny slices costs the kernel
/// more than copying them), large payloads go as slices of their own.
fn poll_write_some(
    stream: &mut WsStream,
    cx: &mut Context<'_>,
    frames: &impl FrameQueue,
) -> Poll<Result<usize, TransportError>> {
    GATHER.with_borrow_mut(|gather| {
        gather.clear();
        let io = Pin::new(stream);
        // Small frames only, the usual case: one buffer, one plain write (the kernel's
        // path for it is shorter than a vectored one's).
        let written = match gather_small(gather, frames) {
            None => io.poll_write(cx, gather),
            Some(gathered) => poll_write_gathered(io, cx, gather, frames, gathered),
        };
        written.map_err(|_| TransportError::WebSocket)
    })
}

/// Copies the frames, headers and payloads, into `gather` while their payloads are small,
/// up to `GATHER_MAX`: `None` when that is all there is to write now, or how many frames
/// it copied before one with a large payload.
fn gather_small(gather: &mut Vec<u8>, frames: &impl FrameQueue) -> Option<usize> {
    for (index, frame) in frames.frames().enumerate() {
        if gather.len() >= GATHER_MAX {
            break;
        }
        if frame.payload.len() > COPY_MAX {
            return Some(index);
        }
        let head = frame.unwritten_head();
        gather.extend_from_slice(head.as_bytes());
        gather.extend_from_slice(&frame.payload);
    }
    None
}

/// Writes `frames` with small payloads copied next to their headers in `gather` and large
/// ones as slices of their own, in one vectored write. The first `gathered` frames are in
/// `gather` already.
fn poll_write_gathered(
    io: Pin<&mut WsStream>,
    cx: &mut Context<'_>,
    gather: &mut Vec<u8>,
    frames: &impl FrameQueue,
    gathered: usize,
) -> Poll<std::io::Result<usize>> {
    /// A run of the gathering buffer, or a payload written from where it is.
    enum Part<'a> {
        Gathered(usize, usize),
        Payload(&'a [u8]),
    }
    let mut parts: [Part<'_>; MAX_SLICES] = [const { Part::Gathered(0, 0) }; MAX_SLICES];
    let mut count = 0;
    let mut push = |count: &mut usize, part| {
        if let Some(slot) = parts.get_mut(*count) {
            *slot = part;
            *count += 1;
        }
    };
    let mut run = 0;
    for frame in frames.frames().skip(gathered) {
        // A frame adds at most two parts, and one more may close the run.
        if count + 3 > MAX_SLICES || gather.len() >= GATHER_MAX {
            break;
        }
        let head = frame.unwritten_head();
        gather.extend_from_slice(head.as_bytes());
        if frame.payload.len() <= COPY_MAX {
            gather.extend_from_slice(&frame.payload);
            continue;
        }
        if run < gather.len() {
            push(&mut count, Part::Gathered(run, gather.len()));
        }
        push(&mut count, Part::Payload(&frame.payload));
        run = gather.len();
    }
    if run < gather.len() {
        push(&mut count, Part::Gathered(run, gather.len()));
    }
    let mut slices = [IoSlice::new(&[]); MAX_SLICES];
    for (slice, part) in slices.iter_mut().zip(parts.iter().take(count)) {
        *slice = IoSlice::new(match *part {
            Part::Gathered(start, end) => gather.get(start..end).unwrap_or_default(),
            Part::Payload(payload) => payload,
        });
    }
    match slices.get(..count).unwrap_or_default() {
        [one] => io.poll_write(cx, one),
        slices => io.poll_write_vectored(cx, slices),
    }
}

/// Checks a WebSocket upgrade request and builds its `101 Switching Protocols`
/// response, or says why the request is not a valid upgrade.
pub(super) fn switching_protocols(
    headers: &http::HeaderMap,
) -> Result<http::response::Builder, &'static str> {
    let has_token = |name: http::header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if !has_token(http::header::UPGRADE, "websocket") {
        return Err("missing Upgrade: websocket");
    }
    if !has_token(http::header::CONNECTION, "upgrade") {
        return Err("missing Connection: upgrade");
    }
    if headers
        .get(http::header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err("unsupported Sec-WebSocket-Version");
    }
    let key = headers
        .get(http::header::SEC_WEBSOCKET_KEY)
        .ok_or("missing Sec-WebSocket-Key")?;
    Ok(http::Response::builder()
        .status(http::StatusCode::SWITCHING_PROTOCOLS)
        .header(
            http::header::CONNECTION,
            http::HeaderValue::from_static("Upgrade"),
        )
        .header(
            http::header::UPGRADE,
            http::HeaderValue::from_static("websocket"),
        )
        .header(
            http::header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        ))
}

/// Wraps an upgraded connection in a WebSocket with the server's limits.
pub(super) fn accept_stream(upgraded: Upgraded, config: &EngineConfig) -> WsConn {
    let max = Some(config.session.max_payload);
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(config.ws_read_buffer)
        .max_message_size(max)
        .max_frame_size(max);
    WsConn::new(
        TokioIo::new(upgraded),
        WebSocketContext::new(Role::Server, Some(ws_config)),
    )
}

/// The Engine.IO frame in a WebSocket message: `Ok(None)` for control frames,
/// `Err(())` for the close frame.
fn from_ws_message(message: WsMessage) -> Result<Option<Frame>, ()> {
    Ok(match message {
        WsMessage::Text(text) => {
            // tungstenite has validated the text already; this checks it once more
            // because the two crates' string types do not convert for free.
            let bytes = Bytes::from(text);
            Some(Frame::Text(ByteString::try_from(bytes).unwrap_or_default()))
        }
        WsMessage::Binary(data) => Some(Frame::Binary(data)),
        WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => None,
        WsMessage::Close(_) => return Err(()),
    })
}

/// How a WebSocket read error ends the session.
fn transport_error(err: &tungstenite::Error) -> TransportError {
    match err {
        tungstenite::Error::Capacity(
            CapacityError::MessageTooLong { .. } | CapacityError::TooManyHeaders,
        ) => TransportError::PayloadTooLarge,
        _ => TransportError::WebSocket,
    }
}
