//! The bodies of the fuzz targets.
//!
//! Each target in `fuzz_targets/` calls one function here. The same functions are run on
//! random inputs by `crates/engineio-core/tests/fuzz_bodies.rs` (which includes this file
//! as a module), so CI exercises them on stable without libFuzzer.
//!
//! Every function takes arbitrary bytes, must never panic except on a broken invariant,
//! and asserts what must hold for any input.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_core::{
    CloseReason, Event, Frame, Message, Packet, PayloadEncoder, PayloadLimits, ServerSession,
    SessionConfig, Sid, Transmit, TransportError, TransportKind, decode_payload,
};

const NO_LIMITS: PayloadLimits = PayloadLimits {
    max_bytes: usize::MAX,
    max_packets: usize::MAX,
};

// -------------------------------------------------------------------------------------
// engineio_packet
// -------------------------------------------------------------------------------------

/// Decodes the input as a packet's text form (made UTF-8 first) and as WebSocket frames.
/// A packet that decodes must encode back to text that decodes to the same packet, and
/// survive the trip through a frame.
pub fn packet(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(packet) = Packet::decode_text(ByteString::from(text.as_ref())) {
        let mut out = BytesMut::new();
        packet.encode_text(&mut out);
        assert_eq!(out.len(), packet.encoded_text_len());
        // A packet decoded from text is never a binary message, so its text form is text.
        let encoded = ByteString::try_from(out.freeze());
        assert!(encoded.is_ok(), "{packet:?} encoded to invalid UTF-8");
        if let Ok(encoded) = encoded {
            assert_eq!(Packet::decode_text(encoded).as_ref(), Ok(&packet));
        }
        assert_eq!(
            Packet::decode_frame(packet.to_frame()).as_ref(),
            Ok(&packet)
        );
    }
    let _ = Packet::decode_frame(Frame::Text(ByteString::from(text.as_ref())));
    let binary = Bytes::copy_from_slice(data);
    assert_eq!(
        Packet::decode_frame(Frame::Binary(binary.clone())),
        Ok(Packet::Message(Message::Binary(binary)))
    );
}

// -------------------------------------------------------------------------------------
// engineio_payload
// -------------------------------------------------------------------------------------

/// The first two bytes set small limits (`max_bytes` = 8 × the first, `max_packets` = the
/// second mod 16); the rest is a POST body. Decoding stops at the first error, never
/// yields more packets than allowed, and what decodes re-encodes to a payload that
/// decodes the same.
pub fn payload(data: &[u8]) {
    let (head, body) = data.split_at(data.len().min(2));
    let limits = PayloadLimits {
        max_bytes: head.first().map_or(0, |byte| usize::from(*byte) * 8),
        max_packets: head.get(1).map_or(0, |byte| usize::from(byte % 16)),
    };
    let Ok(packets) = decode_payload(Bytes::copy_from_slice(body), limits) else {
        return;
    };
    assert!(!body.is_empty() && body.len() <= limits.max_bytes);
    let mut decoded = Vec::new();
    let mut failed = false;
    for item in packets {
        assert!(!failed, "the decoder went on after an error");
        match item {
            Ok(packet) => decoded.push(packet),
            Err(_) => failed = true,
        }
    }
    assert!(decoded.len() <= limits.max_packets);
    if decoded.is_empty() {
        return;
    }
    let mut encoder = PayloadEncoder::new(usize::MAX);
    for packet in &decoded {
        assert!(encoder.try_push(packet));
    }
    let again =
        decode_payload(encoder.finish(), NO_LIMITS).map(Iterator::collect::<Result<Vec<_>, _>>);
    assert_eq!(again, Ok(Ok(decoded)));
}

// -------------------------------------------------------------------------------------
// engineio_session
// -------------------------------------------------------------------------------------

/// WebSocket text frames a client plausibly sends, so that short inputs reach the upgrade.
const WS_TEXTS: [&str; 12] = [
    "2probe", "5", "3", "4hello", "1", "3probe", "2", "6", "", "abc", "0{}", "4",
];

/// POST bodies a client plausibly sends.
const POST_BODIES: [&[u8]; 12] = [
    b"3",
    b"4a",
    b"4a\x1e4b\x1e4c",
    b"1",
    b"4x\x1e1\x1e4y",
    b"bAQIDBA==",
    b"3\x1e4z",
    b"",
    b"9",
    b"4\xff",
    b"4a\x1e",
    b"b%%",
];

/// The operations of the session script. Each is one byte (its index mod the count),
/// some followed by argument bytes.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// A GET arrives.
    Get,
    /// The pending GET's client goes away.
    GetDropped,
    /// A POST starts (its body comes with `PostBody`).
    PostStart,
    /// A POST body from `POST_BODIES`: one argument byte.
    PostBody,
    /// A POST body of raw bytes: a length byte (mod 48), then the bytes.
    PostRaw,
    /// A whole POST (start and body) from `POST_BODIES`: one argument byte.
    Post,
    /// The POST body goes over `max_payload` while being read.
    PostTooLarge,
    /// The POST's client goes away before the body's end.
    PostAborted,
    /// A WebSocket for the session is accepted.
    WsOpen,
    /// A WebSocket text frame from `WS_TEXTS`: one argument byte.
    WsText,
    /// A WebSocket text frame of raw bytes made UTF-8: a length byte (mod 48), then bytes.
    WsRaw,
    /// A WebSocket binary frame: a length byte (mod 16), then the bytes.
    WsBinary,
    /// The WebSocket closes: one argument byte (odd: with an error).
    WsClosed,
    /// Time moves on by 2 ms × the argument byte, and the timers fire.
    Advance,
    /// Time moves to the session's next deadline, and the timers fire.
    Deadline,
    /// The application sends a message: one argument byte (odd: binary).
    Send,
    /// The application closes the session: one argument byte (odd: shutting down).
    Close,
}

const OPS: [Op; 17] = [
    Op::Get,
    Op::GetDropped,
    Op::PostStart,
    Op::PostBody,
    Op::PostRaw,
    Op::Post,
    Op::PostTooLarge,
    Op::PostAborted,
    Op::WsOpen,
    Op::WsText,
    Op::WsRaw,
    Op::WsBinary,
    Op::WsClosed,
    Op::Advance,
    Op::Deadline,
    Op::Send,
    Op::Close,
];

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn arg(&mut self) -> u8 {
        self.byte().unwrap_or(0)
    }

    fn bytes(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        taken
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> Option<T> {
        let at = usize::from(self.arg()) % from.len().max(1);
        from.get(at).copied()
    }
}

/// What the session must uphold whatever its input, checked after every step.
#[derive(Default)]
struct Checker {
    /// Whether a GET is waiting for its answer, as the driver sees it.
    get_pending: bool,
    /// The sequence number of the next message the application sends.
    next_sent: u32,
    /// The sequence number of the next message the client must receive.
    next_delivered: u32,
    closed_event: bool,
    finished: bool,
}

impl Checker {
    fn message(seq: u32, binary: bool) -> Message {
        if binary {
            Message::from(seq.to_be_bytes().to_vec())
        } else {
            Message::from(format!("m{seq}"))
        }
    }

    fn sequence(message: &Message) -> Option<u32> {
        match message {
            Message::Text(text) => text.strip_prefix('m')?.parse().ok(),
            Message::Binary(data) => Some(u32::from_be_bytes(data.as_ref().try_into().ok()?)),
        }
    }

    /// A message reached the client: sent messages arrive in order, none twice and none
    /// skipped (only the tail may be lost, when the session closes).
    fn delivered(&mut self, message: &Message) {
        let seq = Self::sequence(message);
        assert_eq!(seq, Some(self.next_delivered), "out of order: {message:?}");
        self.next_delivered += 1;
    }

    fn drain(&mut self, session: &mut ServerSession) {
        let was_finished = self.finished;
        while let Some(transmit) = session.poll_transmit() {
            assert!(
                !was_finished,
                "transmit after the session finished: {transmit:?}"
            );
            match transmit {
                Transmit::Poll(body) => {
                    assert!(self.get_pending, "answer without a pending GET");
                    self.get_pending = false;
                    let packets =
                        decode_payload(body, NO_LIMITS).map(Iterator::collect::<Result<Vec<_>, _>>);
                    let Ok(Ok(packets)) = packets else {
                        unreachable!("the server wrote an invalid payload: {packets:?}");
                    };
                    assert!(!packets.is_empty());
                    for (at, packet) in packets.iter().enumerate() {
                        if *packet == Packet::Close {
                            assert_eq!(at + 1, packets.len(), "close is the last packet");
                        }
                        if let Packet::Message(message) = packet {
                            self.delivered(message);
                        }
                    }
                }
                Transmit::WebSocket(frame) => {
                    let packet = Packet::decode_frame(frame);
                    assert!(
                        packet.is_ok(),
                        "the server wrote an invalid frame: {packet:?}"
                    );
                    if let Ok(Packet::Message(message)) = &packet {
                        self.delivered(message);
                    }
                }
                _ => {}
            }
        }
        while let Some(event) = session.poll_event() {
            assert!(!self.closed_event, "event after Closed: {event:?}");
            if let Event::Closed(_) = event {
                self.closed_event = true;
            }
        }
        assert_eq!(session.is_poll_pending(), self.get_pending);
        if session.is_closed() {
            assert!(self.closed_event, "finished without a Closed event");
            assert_eq!(session.poll_timeout(), None);
            self.finished = true;
        }
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Drives a `ServerSession` with a script read from the input: a flags byte and a
/// `max_payload` byte make the configuration, then each byte is an [`Op`].
pub fn session(data: &[u8]) {
    let mut input = Input(data);
    let flags = input.arg();
    let transport = if flags & 1 == 0 {
        TransportKind::Polling
    } else {
        TransportKind::WebSocket
    };
    let mut config = SessionConfig::default();
    config.ping_interval = ms(100);
    config.ping_timeout = ms(60);
    config.upgrade_timeout = ms(40);
    config.max_packets_per_payload = 1 + usize::from((flags >> 1) & 7);
    config.max_buffered_packets = 1 + usize::from((flags >> 4) & 7);
    config.allow_upgrade = flags & 0x80 == 0;
    config.max_payload = 8 + usize::from(input.arg());

    let start = Instant::now();
    let mut now = start;
    let mut session = ServerSession::new(Sid::from_random([0; 15]), transport, config, now);
    let mut checker = Checker::default();
    checker.drain(&mut session);

    while let Some(op) = input.byte() {
        let Some(op) = OPS.get(usize::from(op) % OPS.len()) else {
            continue;
        };
        match op {
            Op::Get => {
                if session.handle_poll(now).is_ok() {
                    checker.get_pending = true;
                }
            }
            Op::GetDropped => {
                session.handle_poll_dropped(now);
                checker.get_pending = false;
            }
            Op::PostStart => {
                let _ = session.handle_post_start(now);
            }
            Op::PostBody => {
                if let Some(body) = input.pick(&POST_BODIES) {
                    let _ = session.handle_post(Bytes::from_static(body), now);
                }
            }
            Op::PostRaw => {
                let len = usize::from(input.arg() % 48);
                let body = Bytes::copy_from_slice(input.bytes(len));
                let _ = session.handle_post(body, now);
            }
            Op::Post => {
                let body = input.pick(&POST_BODIES);
                if let (Some(body), Ok(())) = (body, session.handle_post_start(now)) {
                    let _ = session.handle_post(Bytes::from_static(body), now);
                }
            }
            Op::PostTooLarge => session.handle_post_too_large(now),
            Op::PostAborted => session.handle_post_aborted(now),
            Op::WsOpen => {
                let _ = session.handle_ws_open(now);
            }
            Op::WsText => {
                if let Some(text) = input.pick(&WS_TEXTS) {
                    session.handle_ws_frame(Frame::Text(ByteString::from_static(text)), now);
                }
            }
            Op::WsRaw => {
                let len = usize::from(input.arg() % 48);
                let text = String::from_utf8_lossy(input.bytes(len)).into_owned();
                session.handle_ws_frame(Frame::Text(ByteString::from(text)), now);
            }
            Op::WsBinary => {
                let len = usize::from(input.arg() % 16);
                let data = Bytes::copy_from_slice(input.bytes(len));
                session.handle_ws_frame(Frame::Binary(data), now);
            }
            Op::WsClosed => {
                let error = (input.arg() & 1 == 1).then_some(TransportError::WebSocket);
                session.handle_ws_closed(error, now);
            }
            Op::Advance => {
                now += ms(2 * u64::from(input.arg()));
                session.handle_timeout(now);
                assert!(session.poll_timeout().is_none_or(|at| at > now));
            }
            Op::Deadline => {
                if let Some(at) = session.poll_timeout() {
                    now = now.max(at);
                }
                session.handle_timeout(now);
                assert!(session.poll_timeout().is_none_or(|at| at > now));
            }
            Op::Send => {
                let binary = input.arg() & 1 == 1;
                let message = Checker::message(checker.next_sent, binary);
                if session.send(message).is_ok() {
                    checker.next_sent += 1;
                }
            }
            Op::Close => {
                let reason = if input.arg() & 1 == 1 {
                    CloseReason::ServerShuttingDown
                } else {
                    CloseReason::ForcedClose
                };
                session.close(reason, now);
            }
        }
        checker.drain(&mut session);
        assert!(checker.next_delivered <= checker.next_sent);
    }
}
