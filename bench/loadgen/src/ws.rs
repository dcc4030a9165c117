//! Socket.IO over a raw WebSocket: the handshake, and the per-client loops of the
//! WebSocket scenarios.
//!
//! Frames are written with `send` (one write system call) when a client has one message
//! to send, or with `feed` + one `flush` when it has several. The read buffer is 4 KiB
//! (tungstenite's default of 128 KiB is zero-filled on every read).

use std::{
    fmt::Write as _,
    net::Ipv4Addr,
    rc::Rc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    WebSocketStream, client_async_with_config,
    tungstenite::{Message, Utf8Bytes, protocol::WebSocketConfig},
};

use crate::{Broadcast, Shared};

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// The echo emitted by every client: two arguments, 31 bytes of Socket.IO packet.
pub(crate) const ECHO: &str = r#"42["echo","0123456789abcdef",42]"#;
const ECHO_REPLY: &str = r#"42["echo""#;
const BROADCAST_PREFIX: &str = r#"42["broadcast","#;
const PONG: Utf8Bytes = Utf8Bytes::from_static("3");

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(16 * 1024)
}

/// Opens a WebSocket to `/socket.io/`, reads the Engine.IO open packet, joins `/` and
/// waits for the `40` that confirms it.
pub(crate) async fn connect(port: u16, timeout: Duration) -> Result<Ws, String> {
    let handshake = async {
        let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|err| format!("tcp connect: {err}"))?;
        tcp.set_nodelay(true).ok();
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = client_async_with_config(url, tcp, Some(config()))
            .await
            .map_err(|err| format!("websocket upgrade: {err}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) if text.starts_with('0') => break,
                Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => {}
                other => return Err(format!("no Engine.IO open packet: {other:?}")),
            }
        }
        ws.send(Message::Text(Utf8Bytes::from_static("40")))
            .await
            .map_err(|err| format!("send 40: {err}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) if text.starts_with("40") => return Ok(ws),
                Some(Ok(Message::Text(text))) if text.starts_with("44") => {
                    return Err(format!("connect_error: {text}"));
                }
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    ws.send(Message::Text(PONG))
                        .await
                        .map_err(|err| err.to_string())?;
                }
                Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => {}
                other => return Err(format!("no Socket.IO connect packet: {other:?}")),
            }
        }
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| format!("handshake not done in {timeout:?}"))?
}

enum Wait {
    Timeout,
    Closed(String),
}

/// Reads until a text message that starts with `prefix`, answering pings.
async fn wait_for(ws: &mut Ws, prefix: &str, deadline: Instant) -> Result<(), Wait> {
    loop {
        match tokio::time::timeout_at(deadline.into(), ws.next()).await {
            Err(_) => return Err(Wait::Timeout),
            Ok(Some(Ok(Message::Text(text)))) => {
                if text.starts_with(prefix) {
                    return Ok(());
                }
                if text.as_str() == "2" {
                    ws.send(Message::Text(PONG))
                        .await
                        .map_err(|err| Wait::Closed(format!("send pong: {err}")))?;
                } else if text.starts_with('1') || text.starts_with("41") {
                    return Err(Wait::Closed(format!("server closed: {text}")));
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Err(Wait::Closed(format!("close frame: {frame:?}")));
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(err))) => return Err(Wait::Closed(err.to_string())),
            Ok(None) => return Err(Wait::Closed("end of stream".into())),
        }
    }
}

/// What a round-trip client sends and waits for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RoundTrip {
    /// `42["echo",...]` → `42["echo",...]`.
    Echo,
    /// `42<id>["ack",...]` → `43<id>[...]`.
    Ack,
}

/// One client of the echo and ack scenarios: send, wait for the answer, repeat.
pub(crate) async fn round_trip_loop(
    shared: Rc<Shared>,
    client: usize,
    mut ws: Ws,
    kind: RoundTrip,
) {
    let mut id: u64 = 0;
    let mut expect = String::with_capacity(32);
    while shared.running() {
        let message = match kind {
            RoundTrip::Echo => Utf8Bytes::from_static(ECHO),
            RoundTrip::Ack => {
                id += 1;
                expect.clear();
                let _ = write!(expect, "43{id}[");
                Utf8Bytes::from(format!(r#"42{id}["ack","0123456789abcdef",42]"#))
            }
        };
        let prefix = match kind {
            RoundTrip::Echo => ECHO_REPLY,
            RoundTrip::Ack => expect.as_str(),
        };
        let start = Instant::now();
        if let Err(err) = ws.send(Message::Text(message)).await {
            shared.closed(format!("send: {err}"));
            return;
        }
        match wait_for(&mut ws, prefix, start + shared.op_timeout).await {
            Ok(()) => shared.record(client, start.elapsed()),
            Err(Wait::Timeout) => shared.timed_out(),
            Err(Wait::Closed(reason)) => {
                shared.closed(reason);
                return;
            }
        }
    }
}

/// Parses `42["broadcast",<k>,<sent at, ns>]`.
fn parse_broadcast(text: &str) -> Option<(u64, u64)> {
    let rest = text.strip_prefix(BROADCAST_PREFIX)?;
    let (seq, rest) = rest.split_once(',')?;
    let sent = rest.strip_suffix(']')?;
    Some((seq.parse().ok()?, sent.parse().ok()?))
}

/// Handles one message of a broadcast receiver; returns whether it was a ping.
fn on_broadcast_text(shared: &Shared, broadcast: &Broadcast, client: usize, text: &str) -> bool {
    if let Some((seq, sent)) = parse_broadcast(text) {
        let now = shared.base.elapsed().as_nanos() as u64;
        shared.record(client, Duration::from_nanos(now.saturating_sub(sent)));
        broadcast.delivered(shared, seq);
        false
    } else {
        text == "2"
    }
}

/// The reading side of a broadcast socket; `on_ping` answers a ping (given the socket,
/// which a receiver also writes on). The run's deadline is one timer for the whole loop,
/// not one per message.
async fn receive_loop<S>(
    shared: &Shared,
    broadcast: &Broadcast,
    client: usize,
    socket: &mut S,
    mut on_ping: impl AsyncFnMut(&mut S) -> bool,
) where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::sleep_until(shared.deadline.into());
    let mut deadline = std::pin::pin!(deadline);
    while shared.running() {
        let next = tokio::select! {
            biased;
            next = socket.next() => next,
            () = &mut deadline => return,
        };
        match next {
            Some(Ok(Message::Text(text))) => {
                if on_broadcast_text(shared, broadcast, client, &text) && !on_ping(socket).await {
                    shared.closed("send pong".into());
                    return;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                shared.closed(format!("close frame: {frame:?}"));
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                shared.closed(err.to_string());
                return;
            }
            None => {
                shared.closed("end of stream".into());
                return;
            }
        }
    }
}

/// A receiver of the broadcast scenario: reads and answers pings on the one socket.
pub(crate) async fn receiver(
    shared: Rc<Shared>,
    broadcast: Rc<Broadcast>,
    client: usize,
    mut ws: Ws,
) {
    receive_loop(&shared, &broadcast, client, &mut ws, async |ws: &mut Ws| {
        ws.send(Message::Text(PONG)).await.is_ok()
    })
    .await;
}

/// The sender of the broadcast scenario: keeps at most `window` broadcasts in flight (a
/// broadcast leaves the window when every receiver got it), writes them in one flush.
pub(crate) async fn sender(shared: Rc<Shared>, broadcast: Rc<Broadcast>, ws: Ws) {
    let (mut sink, mut stream) = ws.split();
    // The sender's socket receives the broadcasts too; its pings are answered by the
    // writer below, which owns the sink.
    let reader = receive_loop(&shared, &broadcast, 0, &mut stream, async |_: &mut _| {
        broadcast.pong_wanted.set(broadcast.pong_wanted.get() + 1);
        broadcast.wake.notify_one();
        true
    });
    let writer = async {
        let mut text = String::with_capacity(64);
        while shared.running() {
            let mut wrote = false;
            while broadcast.sent.get() < broadcast.lowest.get() + broadcast.window {
                let seq = broadcast.sent.get();
                text.clear();
                let now = shared.base.elapsed().as_nanos() as u64;
                let _ = write!(text, r#"42["broadcast",{seq},{now}]"#);
                if sink
                    .feed(Message::Text(Utf8Bytes::from(text.as_str())))
                    .await
                    .is_err()
                {
                    shared.closed("sender: feed".into());
                    return;
                }
                broadcast.sent.set(seq + 1);
                wrote = true;
            }
            while broadcast.pong_wanted.get() > 0 {
                broadcast.pong_wanted.set(broadcast.pong_wanted.get() - 1);
                if sink.feed(Message::Text(PONG)).await.is_err() {
                    return;
                }
                wrote = true;
            }
            if wrote && sink.flush().await.is_err() {
                shared.closed("sender: flush".into());
                return;
            }
            let deadline = Instant::now() + shared.op_timeout;
            if tokio::time::timeout_at(deadline.into(), broadcast.wake.notified())
                .await
                .is_err()
            {
                // No broadcast completed in a whole op timeout: a delivery is missing.
                shared.timed_out();
                broadcast.stalls.set(broadcast.stalls.get() + 1);
            }
        }
    };
    tokio::select! {
        () = reader => {}
        () = writer => {}
    }
}

/// An idle connection: answers pings until the end of the run.
pub(crate) async fn hold(shared: Rc<Shared>, mut ws: Ws) {
    shared.alive.set(shared.alive.get() + 1);
    let reason = match wait_for(&mut ws, "\u{0}never", shared.deadline).await {
        Err(Wait::Timeout) | Ok(()) => None,
        Err(Wait::Closed(reason)) => Some(reason),
    };
    shared.alive.set(shared.alive.get() - 1);
    if let Some(reason) = reason {
        shared.closed(reason);
    }
}
