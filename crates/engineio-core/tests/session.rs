//! `ServerSession` driven by a scripted peer on a virtual clock.
//!
//! Every test takes one `Instant` at the start and moves a virtual `now` forward from it;
//! nothing sleeps. The peer renders what the session transmits as short strings, so a
//! test reads like the wire: `poll:0{…}` is the body of a long-polling response,
//! `ws:3probe` a WebSocket text frame, `ws-bin:010203` a binary frame, `ws-close` the
//! order to close the WebSocket.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_core::{
    CloseReason, DecodeError, Event, Frame, Message, RequestError, SendError, ServerSession,
    SessionConfig, Sid, Transmit, TransportError, TransportKind,
};

// ---------------------------------------------------------------------------------------
// The scripted peer
// ---------------------------------------------------------------------------------------

const PING_INTERVAL: u64 = 300;
const PING_TIMEOUT: u64 = 200;
const UPGRADE_TIMEOUT: u64 = 100;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The official v4 test suite's timings, and a short upgrade timeout.
fn config() -> SessionConfig {
    let mut config = SessionConfig::default();
    config.ping_interval = ms(PING_INTERVAL);
    config.ping_timeout = ms(PING_TIMEOUT);
    config.upgrade_timeout = ms(UPGRADE_TIMEOUT);
    config
}

fn msg(text: &str) -> Event {
    Event::Message(Message::from(text))
}

fn closed(reason: CloseReason) -> Event {
    Event::Closed(reason)
}

fn render(transmit: Transmit) -> String {
    match transmit {
        Transmit::Poll(body) => format!("poll:{}", String::from_utf8(body.to_vec()).unwrap()),
        Transmit::WebSocket(Frame::Text(text)) => format!("ws:{text}"),
        Transmit::WebSocket(Frame::Binary(data)) => {
            let hex: String = data.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("ws-bin:{hex}")
        }
        Transmit::CloseWebSocket => "ws-close".to_owned(),
        other => format!("{other:?}"),
    }
}

/// A client talking to one session, with a virtual clock.
struct Peer {
    session: ServerSession,
    start: Instant,
    now: Instant,
}

impl Peer {
    fn new(transport: TransportKind, config: SessionConfig) -> Self {
        let start = Instant::now();
        let session = ServerSession::new(Sid::from_random([7; 15]), transport, config, start);
        Self {
            session,
            start,
            now: start,
        }
    }

    /// A polling session whose handshake GET has been answered and drained.
    fn polling_with(config: SessionConfig) -> Self {
        let mut peer = Self::new(TransportKind::Polling, config);
        peer.get().unwrap();
        let out = peer.out();
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("poll:0{\"sid\":"), "{out:?}");
        peer
    }

    fn polling() -> Self {
        Self::polling_with(config())
    }

    /// A WebSocket-only session whose handshake frame has been drained.
    fn websocket() -> Self {
        let mut peer = Self::new(TransportKind::WebSocket, config());
        let out = peer.out();
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("ws:0{\"sid\":"), "{out:?}");
        peer
    }

    /// A polling session upgraded to WebSocket, everything drained.
    fn upgraded() -> Self {
        let mut peer = Self::polling();
        peer.ws_open().unwrap();
        peer.ws("2probe");
        assert_eq!(peer.out(), ["ws:3probe"]);
        peer.ws("5");
        assert_eq!(peer.events(), [Event::Upgraded]);
        assert_eq!(peer.session.transport(), TransportKind::WebSocket);
        peer
    }

    /// Moves the virtual clock to `millis` after the start.
    fn at(&mut self, millis: u64) -> &mut Self {
        let now = self.start + ms(millis);
        assert!(now >= self.now, "the virtual clock never goes back");
        self.now = now;
        self
    }

    /// Moves the clock to `millis` and fires the timers due by then.
    fn tick(&mut self, millis: u64) {
        self.at(millis);
        self.session.handle_timeout(self.now);
    }

    fn deadline(&self) -> Option<u64> {
        self.session
            .poll_timeout()
            .map(|at| u64::try_from(at.duration_since(self.start).as_millis()).unwrap())
    }

    fn get(&mut self) -> Result<(), RequestError> {
        self.session.handle_poll(self.now)
    }

    fn drop_get(&mut self) {
        self.session.handle_poll_dropped(self.now);
    }

    /// A whole POST: its start, then its body.
    fn post(&mut self, body: impl Into<Bytes>) -> Result<(), RequestError> {
        self.session.handle_post_start(self.now)?;
        self.session.handle_post(body.into(), self.now)
    }

    fn ws_open(&mut self) -> Result<(), RequestError> {
        self.session.handle_ws_open(self.now)
    }

    fn ws(&mut self, text: &str) {
        self.session
            .handle_ws_frame(Frame::Text(text.into()), self.now);
    }

    fn ws_bin(&mut self, data: &'static [u8]) {
        self.session
            .handle_ws_frame(Frame::Binary(Bytes::from_static(data)), self.now);
    }

    fn ws_closed(&mut self, error: Option<TransportError>) {
        self.session.handle_ws_closed(error, self.now);
    }

    fn send(&mut self, text: &str) -> Result<(), SendError> {
        self.session.send(Message::from(text))
    }

    fn close(&mut self, reason: CloseReason) {
        self.session.close(reason, self.now);
    }

    /// Everything transmitted since the last call.
    fn out(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.session.poll_transmit())
            .map(render)
            .collect()
    }

    /// Every event since the last call.
    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    fn is_closed(&self) -> bool {
        self.session.is_closed()
    }
}

/// The handshake object of a rendered `open` packet.
fn handshake_json(rendered: &str) -> serde_json::Map<String, serde_json::Value> {
    let json = rendered
        .strip_prefix("poll:0")
        .or_else(|| rendered.strip_prefix("ws:0"))
        .unwrap_or_else(|| panic!("not an open packet: {rendered}"));
    match serde_json::from_str(json).unwrap() {
        serde_json::Value::Object(map) => map,
        other => panic!("handshake is not an object: {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------

#[test]
fn polling_handshake_advertises_the_websocket_upgrade() {
    let mut peer = Peer::new(TransportKind::Polling, SessionConfig::default());
    // The open packet waits for the first GET.
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.get().unwrap();
    let out = peer.out();
    assert_eq!(out.len(), 1);
    let handshake = handshake_json(&out[0]);
    let mut keys: Vec<_> = handshake.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(handshake["sid"], peer.session.sid().as_str());
    assert_eq!(handshake["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(handshake["pingInterval"], 25_000);
    assert_eq!(handshake["pingTimeout"], 20_000);
    assert_eq!(handshake["maxPayload"], 1_000_000);
    assert!(!peer.session.is_poll_pending());
}

#[test]
fn websocket_handshake_has_no_upgrades() {
    let mut peer = Peer::new(TransportKind::WebSocket, config());
    let out = peer.out();
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with("ws:0"), "{out:?}");
    let handshake = handshake_json(&out[0]);
    assert_eq!(handshake["sid"], peer.session.sid().as_str());
    assert_eq!(handshake["upgrades"], serde_json::json!([]));
    assert_eq!(handshake["pingInterval"], PING_INTERVAL);
    assert_eq!(handshake["pingTimeout"], PING_TIMEOUT);
    assert_eq!(handshake["maxPayload"], 1_000_000);
}

#[test]
fn handshake_without_upgrades_when_they_are_off() {
    let mut config = config();
    config.allow_upgrade = false;
    config.max_payload = 4096;
    let mut peer = Peer::new(TransportKind::Polling, config);
    peer.get().unwrap();
    let handshake = handshake_json(&peer.out()[0]);
    assert_eq!(handshake["upgrades"], serde_json::json!([]));
    assert_eq!(handshake["maxPayload"], 4096);
    assert_eq!(peer.ws_open(), Err(RequestError::TransportMismatch));
}

// ---------------------------------------------------------------------------------------
// Heartbeat
// ---------------------------------------------------------------------------------------

#[test]
fn ping_after_ping_interval_goes_to_the_pending_get() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    peer.tick(PING_INTERVAL - 1);
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["poll:2"]);
    // Now the pong is due.
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
}

#[test]
fn ping_waits_for_the_next_get() {
    let mut peer = Peer::polling();
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.at(PING_INTERVAL + 10).get().unwrap();
    assert_eq!(peer.out(), ["poll:2"]);
}

#[test]
fn pong_resets_the_heartbeat() {
    let mut peer = Peer::polling();
    // The official test suite's loop: GET receives `2`, POST answers `3`, three times.
    let mut at = 0;
    for _ in 0..3 {
        peer.get().unwrap();
        at += PING_INTERVAL;
        peer.tick(at);
        assert_eq!(peer.out(), ["poll:2"]);
        at += 50;
        peer.at(at).post("3").unwrap();
        assert_eq!(peer.events(), []);
        // The next ping is one interval after the pong; no pong deadline is left.
        assert_eq!(peer.deadline(), Some(at + PING_INTERVAL));
    }
    // Past the old pong deadline nothing happens.
    peer.tick(at + PING_TIMEOUT);
    assert!(!peer.is_closed());
    assert_eq!(peer.events(), []);
}

#[test]
fn unsolicited_pong_does_not_move_the_next_ping() {
    let mut peer = Peer::polling();
    peer.at(100).post("3").unwrap();
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    assert_eq!(peer.events(), []);
}

#[test]
fn no_pong_within_ping_timeout_closes_and_the_pending_get_receives_close() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["poll:2"]);
    peer.get().unwrap();
    peer.tick(PING_INTERVAL + PING_TIMEOUT - 1);
    assert_eq!(peer.events(), []);
    peer.tick(PING_INTERVAL + PING_TIMEOUT);
    assert_eq!(peer.out(), ["poll:1"]);
    assert_eq!(peer.events(), [closed(CloseReason::PingTimeout)]);
    assert!(peer.is_closed());
    assert_eq!(peer.deadline(), None);
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn ping_timeout_without_a_pending_get_closes_at_once() {
    // The official suite: after pingInterval + pingTimeout the next GET is refused.
    let mut peer = Peer::polling();
    peer.tick(PING_INTERVAL);
    peer.tick(PING_INTERVAL + PING_TIMEOUT);
    assert_eq!(peer.events(), [closed(CloseReason::PingTimeout)]);
    assert!(peer.is_closed());
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn heartbeat_over_websocket() {
    let mut peer = Peer::websocket();
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["ws:2"]);
    peer.at(PING_INTERVAL + 20).ws("3");
    assert_eq!(peer.deadline(), Some(2 * PING_INTERVAL + 20));
    peer.tick(2 * PING_INTERVAL + 20);
    assert_eq!(peer.out(), ["ws:2"]);
    peer.tick(2 * PING_INTERVAL + 20 + PING_TIMEOUT);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), [closed(CloseReason::PingTimeout)]);
    assert!(peer.is_closed());
}

// ---------------------------------------------------------------------------------------
// Long-polling buffer
// ---------------------------------------------------------------------------------------

#[test]
fn messages_wait_for_a_get() {
    let mut peer = Peer::polling();
    peer.send("a").unwrap();
    peer.send("b").unwrap();
    peer.session.send(Message::from(vec![1, 2, 3, 4])).unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4a\x1e4b\x1ebAQIDBA=="]);
    // A GET with nothing to say waits.
    peer.get().unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    assert!(peer.session.is_poll_pending());
    peer.send("c").unwrap();
    assert_eq!(peer.out(), ["poll:4c"]);
    assert!(!peer.session.is_poll_pending());
}

#[test]
fn a_get_takes_up_to_max_payload_and_the_rest_waits() {
    let mut config = config();
    config.max_payload = 20;
    let mut peer = Peer::polling_with(config);
    // Each packet is 9 bytes: two and a separator make 19, a third would make 29.
    for text in ["abcdefgh", "ijklmnop", "qrstuvwx"] {
        peer.send(text).unwrap();
    }
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4abcdefgh\x1e4ijklmnop"]);
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4qrstuvwx"]);
}

#[test]
fn the_first_packet_is_taken_even_if_larger_than_max_payload() {
    let mut config = config();
    config.max_payload = 20;
    // The 100-byte handshake itself is already larger than the budget.
    let mut peer = Peer::polling_with(config);
    let big = "x".repeat(50);
    peer.send(&big).unwrap();
    peer.send("small").unwrap();
    peer.get().unwrap();
    assert_eq!(peer.out(), [format!("poll:4{big}")]);
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4small"]);
}

#[test]
fn a_full_buffer_refuses_sends() {
    let mut config = config();
    config.max_buffered_packets = 2;
    let mut peer = Peer::polling_with(config);
    peer.send("a").unwrap();
    peer.send("b").unwrap();
    assert_eq!(peer.send("c"), Err(SendError::Full));
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4a\x1e4b"]);
    peer.send("c").unwrap();
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4c"]);
    assert!(!peer.is_closed());
}

// ---------------------------------------------------------------------------------------
// Polling requests from the client
// ---------------------------------------------------------------------------------------

#[test]
fn a_second_get_overlaps_and_closes_the_session() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    let overlap = peer.get();
    assert_eq!(overlap, Err(RequestError::Overlap));
    assert!(overlap.unwrap_err().closes_session());
    // The first GET receives the close packet.
    assert_eq!(peer.out(), ["poll:1"]);
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::RequestOverlap
        ))]
    );
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn a_second_post_start_overlaps_and_closes_the_session() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.session.handle_post_start(peer.now).unwrap();
    assert_eq!(
        peer.session.handle_post_start(peer.now),
        Err(RequestError::Overlap)
    );
    assert_eq!(peer.out(), ["poll:1"]);
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::RequestOverlap
        ))]
    );
    // The first POST's body comes too late.
    assert_eq!(
        peer.session.handle_post("4late".into(), peer.now),
        Err(RequestError::Closed)
    );
    assert_eq!(peer.events(), []);
}

#[test]
fn consecutive_posts_are_fine() {
    let mut peer = Peer::polling();
    peer.post("4a").unwrap();
    peer.post("4b").unwrap();
    assert_eq!(peer.events(), [msg("a"), msg("b")]);
}

#[test]
fn a_post_with_several_packets_is_handled_in_order() {
    let mut peer = Peer::polling();
    peer.post("4test1\x1e4test2\x1ebAQIDBA==\x1e4\x1e4é€😀")
        .unwrap();
    assert_eq!(
        peer.events(),
        [
            msg("test1"),
            msg("test2"),
            Event::Message(Message::from(vec![1, 2, 3, 4])),
            msg(""),
            msg("é€😀"),
        ]
    );
    // Echoed back, they make the same payload (the official suite's echo tests).
    for text in ["test1", "test2"] {
        peer.send(text).unwrap();
    }
    peer.session.send(Message::from(vec![1, 2, 3, 4])).unwrap();
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4test1\x1e4test2\x1ebAQIDBA=="]);
}

#[test]
fn malformed_post_bodies_close_with_parse_error() {
    let cases: [(&[u8], DecodeError); 7] = [
        (b"9", DecodeError::UnknownType(b'9')),
        // The official suite's "invalid packet format".
        (b"abc", DecodeError::UnknownType(b'a')),
        (b"b%%%", DecodeError::Base64),
        (b"bAQIDBA", DecodeError::Base64),
        (b"4\xff", DecodeError::Utf8),
        (b"", DecodeError::Empty),
        (b"\x1e4a", DecodeError::Empty),
    ];
    for (body, error) in cases {
        let mut peer = Peer::polling();
        peer.get().unwrap();
        assert_eq!(
            peer.post(Bytes::from_static(body)),
            Err(RequestError::Decode(error)),
            "{body:?}"
        );
        assert_eq!(peer.events(), [closed(CloseReason::ParseError)], "{body:?}");
        assert_eq!(peer.out(), ["poll:1"], "{body:?}");
        assert!(peer.is_closed());
        assert_eq!(peer.get(), Err(RequestError::Closed));
    }
}

#[test]
fn packets_before_a_bad_one_are_delivered() {
    let mut peer = Peer::polling();
    assert_eq!(
        peer.post("4a\x1e4b\x1e"),
        Err(RequestError::Decode(DecodeError::Empty))
    );
    assert_eq!(
        peer.events(),
        [msg("a"), msg("b"), closed(CloseReason::ParseError)]
    );
}

#[test]
fn too_many_packets_in_a_post_close_the_session() {
    let mut config = config();
    config.max_packets_per_payload = 2;
    let mut peer = Peer::polling_with(config);
    assert_eq!(
        peer.post("4a\x1e4b\x1e4c"),
        Err(RequestError::Decode(DecodeError::TooManyPackets { max: 2 }))
    );
    assert_eq!(
        peer.events(),
        [msg("a"), msg("b"), closed(CloseReason::ParseError)]
    );
    assert!(peer.is_closed());
}

#[test]
fn a_post_over_max_payload_is_a_transport_error() {
    let mut config = config();
    config.max_payload = 10;
    let mut peer = Peer::polling_with(config.clone());
    // Exactly at the limit is fine.
    peer.post("4123456789").unwrap();
    assert_eq!(peer.events(), [msg("123456789")]);
    assert_eq!(
        peer.post("41234567890"),
        Err(RequestError::Decode(DecodeError::PayloadTooLarge {
            size: 11,
            max: 10
        }))
    );
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::PayloadTooLarge
        ))]
    );
    assert!(peer.is_closed());

    // The driver can also stop reading a body as soon as it passes the limit.
    let mut peer = Peer::polling_with(config);
    peer.get().unwrap();
    peer.session.handle_post_start(peer.now).unwrap();
    peer.session.handle_post_too_large(peer.now);
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::PayloadTooLarge
        ))]
    );
    assert_eq!(peer.out(), ["poll:1"]);
}

#[test]
fn an_aborted_post_closes_the_session() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.session.handle_post_start(peer.now).unwrap();
    peer.session.handle_post_aborted(peer.now);
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::PostClosedPrematurely
        ))]
    );
    assert_eq!(peer.out(), ["poll:1"]);
    assert!(peer.is_closed());
}

#[test]
fn a_dropped_get_closes_the_session() {
    let mut peer = Peer::polling();
    // Without a pending GET there is nothing to drop.
    peer.drop_get();
    assert_eq!(peer.events(), []);
    peer.get().unwrap();
    peer.drop_get();
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::PollClosedPrematurely
        ))]
    );
    assert_eq!(peer.out(), Vec::<String>::new());
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn a_client_close_packet_over_polling_closes_the_session() {
    let mut peer = Peer::polling();
    peer.post("1").unwrap();
    assert_eq!(peer.events(), [closed(CloseReason::TransportClose)]);
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn a_client_close_releases_the_pending_get_with_noop() {
    // The official suite's "forcefully closes the session": a GET is pending when the
    // POST `1` comes; the GET receives `6` and the next GET is refused.
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.post("1").unwrap();
    assert_eq!(peer.out(), ["poll:6"]);
    assert_eq!(peer.events(), [closed(CloseReason::TransportClose)]);
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn no_message_is_delivered_after_the_close_packet() {
    let mut peer = Peer::polling();
    peer.post("4a\x1e1\x1e4b").unwrap();
    assert_eq!(
        peer.events(),
        [msg("a"), closed(CloseReason::TransportClose)]
    );
}

#[test]
fn requests_after_close_are_refused() {
    let mut peer = Peer::polling();
    peer.close(CloseReason::ForcedClose);
    // A close over polling waits for the client's next GET, which gets the close packet.
    assert!(!peer.is_closed());
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:1"]);
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
    assert_eq!(
        peer.session.handle_post_start(peer.now),
        Err(RequestError::Closed)
    );
    assert_eq!(
        peer.session.handle_post("4a".into(), peer.now),
        Err(RequestError::Closed)
    );
    assert_eq!(peer.ws_open(), Err(RequestError::Closed));
    peer.ws("4a");
    peer.ws_closed(None);
    peer.drop_get();
    peer.tick(10 * PING_INTERVAL);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
    assert_eq!(peer.out(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// Upgrade
// ---------------------------------------------------------------------------------------

#[test]
fn upgrade_happy_path() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.at(10).ws_open().unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.at(20).ws("2probe");
    // The probe is answered and the pending GET released with a noop.
    assert_eq!(peer.out(), ["ws:3probe", "poll:6"]);
    assert_eq!(peer.session.transport(), TransportKind::Polling);
    // The client has paused polling: these wait in the buffer.
    peer.send("a").unwrap();
    peer.session.send(Message::from(vec![1, 2, 3])).unwrap();
    peer.send("b").unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.at(30).ws("5");
    assert_eq!(peer.events(), [Event::Upgraded]);
    assert_eq!(peer.session.transport(), TransportKind::WebSocket);
    assert_eq!(peer.out(), ["ws:4a", "ws-bin:010203", "ws:4b"]);
    // From now on everything goes over the WebSocket.
    peer.send("c").unwrap();
    assert_eq!(peer.out(), ["ws:4c"]);
    peer.ws("4hello");
    peer.ws_bin(&[9, 8]);
    assert_eq!(
        peer.events(),
        [msg("hello"), Event::Message(Message::from(vec![9, 8]))]
    );
    // The upgrade deadline is gone; only the heartbeat is left.
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
}

#[test]
fn a_get_that_arrives_after_the_probe_gets_noop_at_once() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.ws("2probe");
    assert_eq!(peer.out(), ["ws:3probe"]);
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:6"]);
    peer.ws("5");
    assert_eq!(peer.events(), [Event::Upgraded]);
    assert_eq!(peer.out(), Vec::<String>::new());
}

#[test]
fn messages_queued_before_the_probe_go_through_polling() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.send("a").unwrap();
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4a"]);
    // A GET already pending takes them at once.
    peer.get().unwrap();
    peer.send("b").unwrap();
    assert_eq!(peer.out(), ["poll:4b"]);
    // POSTs still work while probing.
    peer.post("4c").unwrap();
    assert_eq!(peer.events(), [msg("c")]);
    peer.ws("2probe");
    peer.ws("5");
    assert_eq!(peer.out(), ["ws:3probe"]);
    assert_eq!(peer.events(), [Event::Upgraded]);
}

#[test]
fn the_heartbeat_carries_on_across_the_upgrade() {
    let mut peer = Peer::polling();
    peer.at(250).ws_open().unwrap();
    peer.ws("2probe");
    assert_eq!(peer.out(), ["ws:3probe"]);
    // The ping falls during the upgrade: it waits in the buffer...
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), Vec::<String>::new());
    // ...and moves to the WebSocket.
    peer.at(PING_INTERVAL + 10).ws("5");
    assert_eq!(peer.out(), ["ws:2"]);
    peer.at(PING_INTERVAL + 20).ws("3");
    assert_eq!(peer.deadline(), Some(2 * PING_INTERVAL + 20));
    assert_eq!(peer.events(), [Event::Upgraded]);
}

#[test]
fn upgrade_timeout_closes_only_the_probing_websocket() {
    let mut peer = Peer::polling();
    peer.at(10).ws_open().unwrap();
    assert_eq!(peer.deadline(), Some(10 + UPGRADE_TIMEOUT));
    peer.ws("2probe");
    assert_eq!(peer.out(), ["ws:3probe"]);
    peer.tick(10 + UPGRADE_TIMEOUT);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), []);
    assert!(!peer.is_closed());
    assert_eq!(peer.session.transport(), TransportKind::Polling);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    // A late `5` on the dead WebSocket changes nothing.
    peer.ws("5");
    assert_eq!(peer.events(), []);
    // Polling goes on: a GET waits again instead of receiving a noop.
    peer.get().unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.send("a").unwrap();
    assert_eq!(peer.out(), ["poll:4a"]);
    peer.post("4b").unwrap();
    assert_eq!(peer.events(), [msg("b")]);
    // And the client may try again.
    peer.ws_open().unwrap();
    peer.ws("2probe");
    peer.ws("5");
    assert_eq!(peer.events(), [Event::Upgraded]);
}

#[test]
fn a_wrong_packet_during_probing_cancels_the_upgrade() {
    let before_probe: [&str; 5] = ["4hello", "5", "3probe", "2", "abc"];
    for text in before_probe {
        let mut peer = Peer::polling();
        peer.ws_open().unwrap();
        peer.ws(text);
        assert_eq!(peer.out(), ["ws-close"], "{text}");
        // The probing WebSocket's packets never reach the application.
        assert_eq!(peer.events(), [], "{text}");
        assert_eq!(peer.session.transport(), TransportKind::Polling);
        assert_eq!(peer.deadline(), Some(PING_INTERVAL));
        assert!(!peer.is_closed());
    }

    let after_probe: [&str; 3] = ["4hello", "2probe", "1"];
    for text in after_probe {
        let mut peer = Peer::polling();
        peer.ws_open().unwrap();
        peer.ws("2probe");
        assert_eq!(peer.out(), ["ws:3probe"]);
        peer.ws(text);
        assert_eq!(peer.out(), ["ws-close"], "{text}");
        assert_eq!(peer.events(), [], "{text}");
        // Back on polling: a GET waits rather than getting a noop.
        peer.get().unwrap();
        assert_eq!(peer.out(), Vec::<String>::new(), "{text}");
        assert!(!peer.is_closed());
    }

    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.ws_bin(&[1]);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), []);
}

#[test]
fn the_probing_websocket_closing_cancels_the_upgrade() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.ws("2probe");
    assert_eq!(peer.out(), ["ws:3probe"]);
    peer.ws_closed(Some(TransportError::WebSocket));
    // Already closed: nothing to send it.
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.events(), []);
    assert!(!peer.is_closed());
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    peer.get().unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.send("a").unwrap();
    assert_eq!(peer.out(), ["poll:4a"]);
    peer.ws_open().unwrap();
}

#[test]
fn a_second_websocket_during_the_upgrade_is_refused() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    assert_eq!(peer.ws_open(), Err(RequestError::TransportMismatch));
    assert!(!RequestError::TransportMismatch.closes_session());
    // The first one can still finish.
    peer.ws("2probe");
    peer.ws("5");
    assert_eq!(peer.out(), ["ws:3probe"]);
    assert_eq!(peer.events(), [Event::Upgraded]);
}

#[test]
fn polling_and_new_websockets_are_refused_after_the_upgrade() {
    let mut peer = Peer::upgraded();
    assert_eq!(peer.get(), Err(RequestError::TransportMismatch));
    assert_eq!(
        peer.session.handle_post_start(peer.now),
        Err(RequestError::TransportMismatch)
    );
    // The official suite's "ignores WebSocket connection with same sid after upgrade".
    assert_eq!(peer.ws_open(), Err(RequestError::TransportMismatch));
    assert!(!peer.is_closed());
    peer.ws("4hello");
    assert_eq!(peer.events(), [msg("hello")]);
    peer.send("hello").unwrap();
    assert_eq!(peer.out(), ["ws:4hello"]);
}

#[test]
fn closing_the_session_during_the_upgrade_closes_the_probe() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.close(CloseReason::ForcedClose);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
    peer.ws("2probe");
    assert_eq!(peer.out(), Vec::<String>::new());
    // The close packet waits for a GET; with none, the session ends after `ping_timeout`.
    assert_eq!(peer.deadline(), Some(PING_TIMEOUT));
    peer.tick(PING_TIMEOUT);
    assert!(peer.is_closed());
    assert_eq!(peer.deadline(), None);
    assert_eq!(peer.out(), Vec::<String>::new());
}

#[test]
fn a_close_with_nothing_queued_waits_for_the_next_get() {
    let mut peer = Peer::polling();
    peer.close(CloseReason::ForcedClose);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
    assert!(!peer.is_closed());
    peer.at(PING_TIMEOUT / 2);
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:1"]);
    assert!(peer.is_closed());
    // A close for a failure (here a ping timeout) ends the session at once.
    let mut peer = Peer::polling();
    let silent = peer.deadline().unwrap();
    peer.tick(silent);
    let late = peer.deadline().unwrap();
    peer.tick(late);
    assert!(peer.is_closed());
}

// ---------------------------------------------------------------------------------------
// WebSocket transport
// ---------------------------------------------------------------------------------------

#[test]
fn websocket_messages_both_ways() {
    let mut peer = Peer::websocket();
    peer.ws("4hello");
    peer.ws_bin(&[1, 2, 3, 4]);
    assert_eq!(
        peer.events(),
        [
            msg("hello"),
            Event::Message(Message::from(vec![1, 2, 3, 4]))
        ]
    );
    peer.send("hello").unwrap();
    peer.session.send(Message::from(vec![1, 2, 3, 4])).unwrap();
    assert_eq!(peer.out(), ["ws:4hello", "ws-bin:01020304"]);
    // `2probe` and `5` mean nothing on an active WebSocket.
    peer.ws("2probe");
    peer.ws("5");
    peer.ws("6");
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.events(), []);
}

#[test]
fn a_websocket_parse_error_closes_the_session() {
    for text in ["abc", "", "9", "0{"] {
        let mut peer = Peer::websocket();
        peer.ws(text);
        assert_eq!(peer.out(), ["ws-close"], "{text:?}");
        assert_eq!(peer.events(), [closed(CloseReason::ParseError)], "{text:?}");
        assert!(peer.is_closed());
        peer.ws("4late");
        assert_eq!(peer.events(), []);
    }
}

#[test]
fn a_client_close_packet_over_websocket_closes_the_session() {
    let mut peer = Peer::upgraded();
    peer.ws("4a");
    peer.ws("1");
    peer.ws("4b");
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(
        peer.events(),
        [msg("a"), closed(CloseReason::TransportClose)]
    );
    assert!(peer.is_closed());
}

#[test]
fn the_websocket_closing_closes_the_session() {
    let mut peer = Peer::websocket();
    peer.ws_closed(None);
    assert_eq!(peer.events(), [closed(CloseReason::TransportClose)]);
    assert!(peer.is_closed());
    assert!(!peer.out().iter().any(|out| out.starts_with("ws:")));

    let mut peer = Peer::upgraded();
    peer.ws_closed(Some(TransportError::WebSocket));
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::WebSocket
        ))]
    );
    assert!(peer.is_closed());
    // Closing twice reports once.
    peer.ws_closed(None);
    assert_eq!(peer.events(), []);
}

// ---------------------------------------------------------------------------------------
// Server-side close
// ---------------------------------------------------------------------------------------

#[test]
fn server_close_over_polling_sends_queued_messages_and_close_with_the_next_get() {
    let mut config = config();
    // Closing ignores the response budget: everything goes in the last response.
    config.max_payload = 5;
    let mut peer = Peer::polling_with(config);
    peer.send("a").unwrap();
    peer.send("b").unwrap();
    peer.close(CloseReason::ForcedClose);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
    assert_eq!(peer.out(), Vec::<String>::new());
    assert!(!peer.is_closed());
    assert_eq!(peer.send("c"), Err(SendError::Closed));
    // The session waits at most `ping_timeout` for that GET.
    assert_eq!(peer.deadline(), Some(PING_TIMEOUT));
    peer.at(50).get().unwrap();
    assert_eq!(peer.out(), ["poll:4a\x1e4b\x1e1"]);
    assert!(peer.is_closed());
    assert_eq!(peer.deadline(), None);
    assert_eq!(peer.get(), Err(RequestError::Closed));
    // Only one Closed event.
    assert_eq!(peer.events(), []);
}

#[test]
fn server_close_with_a_pending_get_answers_it_with_close() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.close(CloseReason::ServerShuttingDown);
    assert_eq!(peer.out(), ["poll:1"]);
    assert_eq!(peer.events(), [closed(CloseReason::ServerShuttingDown)]);
    assert!(peer.is_closed());
}

#[test]
fn server_close_over_polling_gives_up_after_ping_timeout() {
    let mut peer = Peer::polling();
    peer.send("a").unwrap();
    peer.at(10).close(CloseReason::ForcedClose);
    peer.tick(10 + PING_TIMEOUT - 1);
    assert!(!peer.is_closed());
    peer.tick(10 + PING_TIMEOUT);
    assert!(peer.is_closed());
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn server_close_over_websocket_sends_frames_then_closes() {
    let mut peer = Peer::new(TransportKind::WebSocket, config());
    peer.send("a").unwrap();
    peer.send("b").unwrap();
    peer.close(CloseReason::ServerShuttingDown);
    let out = peer.out();
    assert!(out[0].starts_with("ws:0{"), "{out:?}");
    assert_eq!(out[1..], ["ws:4a", "ws:4b", "ws-close"]);
    assert_eq!(peer.events(), [closed(CloseReason::ServerShuttingDown)]);
    assert!(peer.is_closed());
    assert_eq!(peer.deadline(), None);
    assert_eq!(peer.send("c"), Err(SendError::Closed));
}

#[test]
fn close_twice_reports_once() {
    let mut peer = Peer::upgraded();
    peer.close(CloseReason::ForcedClose);
    peer.close(CloseReason::ServerShuttingDown);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
}

#[test]
fn send_after_close_fails() {
    for mut peer in [Peer::polling(), Peer::websocket(), Peer::upgraded()] {
        peer.get().ok();
        peer.close(CloseReason::ForcedClose);
        assert_eq!(peer.send("late"), Err(SendError::Closed));
        assert!(!peer.out().iter().any(|out| out.contains("late")));
    }
}

// ---------------------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------------------

#[test]
fn handle_timeout_early_or_twice_does_nothing() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.tick(0);
    peer.tick(PING_INTERVAL - 1);
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["poll:2"]);
    peer.tick(PING_INTERVAL);
    peer.tick(PING_INTERVAL + 1);
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.events(), []);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
    // A timeout call at a time that is not a deadline changes no deadline.
    peer.tick(PING_INTERVAL + 2);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
}

#[test]
fn poll_timeout_is_always_the_earliest_deadline() {
    let mut peer = Peer::polling();
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    // The upgrade deadline comes first.
    peer.at(50).ws_open().unwrap();
    assert_eq!(peer.deadline(), Some(50 + UPGRADE_TIMEOUT));
    peer.ws_closed(None);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    // The ping goes out; now the pong is due.
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
    // An upgrade that would end after the pong deadline does not hide it.
    peer.at(450).ws_open().unwrap();
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
    // The pong comes: next ping at 760, but the upgrade ends at 550.
    peer.at(460).post("3").unwrap();
    assert_eq!(peer.deadline(), Some(450 + UPGRADE_TIMEOUT));
    peer.tick(450 + UPGRADE_TIMEOUT);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.deadline(), Some(460 + PING_INTERVAL));
    // A late call fires what is due and leaves no deadline in the past: the ping goes
    // out now, and its pong is due `ping_timeout` from now.
    peer.tick(5_000);
    assert_eq!(peer.deadline(), Some(5_000 + PING_TIMEOUT));
    assert_eq!(peer.events(), []);
    peer.tick(5_000 + PING_TIMEOUT);
    assert_eq!(peer.events(), [closed(CloseReason::PingTimeout)]);
    assert_eq!(peer.deadline(), None);
}
