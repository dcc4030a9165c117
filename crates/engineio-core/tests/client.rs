//! `ClientSession` against the real `ServerSession`, over an in-test network, on a virtual
//! clock.
//!
//! The network carries what one side transmits to the other, one delivery at a time: a
//! GET reaches the server (`handle_poll`), the server's `Transmit::Poll` answers it and
//! reaches the client (`handle_poll_response`); a POST reaches the server
//! (`handle_post_start` + `handle_post`) and its 200 comes back (`handle_post_done`);
//! WebSocket frames queue in each direction. Nothing sleeps: time only moves when a test
//! moves it. The network logs the wire as short strings, so a test reads like the
//! protocol: `GET` is the handshake request, `GET sid` a later one, `POST 4a|4b` a POST
//! body (`|` is the record separator), `poll< 2` a GET response, `ws> 5` a frame from the
//! client, `ws< 3probe` one from the server, `ws> CLOSE` the order to close it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::{
    collections::VecDeque,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use engineio_core::{
    ClientCloseReason, ClientConfig, ClientEvent, ClientSession, ClientTransmit, ClientTransports,
    CloseReason, DecodeError, Event, Frame, Message, SendError, ServerSession, SessionConfig, Sid,
    TransportKind,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// The network
// ---------------------------------------------------------------------------------------

const PING_INTERVAL: u64 = 300;
const PING_TIMEOUT: u64 = 200;
const UPGRADE_TIMEOUT: u64 = 1_000;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn server_config() -> SessionConfig {
    let mut config = SessionConfig::default();
    config.ping_interval = ms(PING_INTERVAL);
    config.ping_timeout = ms(PING_TIMEOUT);
    config.upgrade_timeout = ms(UPGRADE_TIMEOUT);
    config
}

fn client_config(transports: ClientTransports) -> ClientConfig {
    let mut config = ClientConfig::default();
    config.transports = transports;
    config
}

fn text(text: &str) -> Message {
    Message::from(text)
}

fn bin(data: &[u8]) -> Message {
    Message::Binary(Bytes::copy_from_slice(data))
}

fn sid() -> Sid {
    Sid::from_random([7; 15])
}

/// The phases of the GET in flight.
#[derive(Debug)]
enum Get {
    /// Asked for by the client, not yet at the server.
    Sent,
    /// Held by the server.
    AtServer,
    /// Answered; the response is on its way back.
    Answered(Bytes),
}

/// The phases of the POST in flight.
#[derive(Debug)]
enum Post {
    Sent(Bytes),
    /// Handled by the server; the status (200 or not) is on its way back.
    Answered {
        ok: bool,
    },
}

#[derive(Debug)]
enum WsItem {
    Frame(Frame),
    Close,
}

#[derive(Debug, Default)]
struct Ws {
    /// `Some(sid)` until the WebSocket handshake is done.
    connecting: Option<Option<Sid>>,
    up: VecDeque<WsItem>,
    down: VecDeque<WsItem>,
    /// The client closed it, or was told it closed: nothing more reaches the client.
    client_gone: bool,
    server_gone: bool,
}

fn render_body(body: &[u8]) -> String {
    let body = String::from_utf8(body.to_vec()).unwrap();
    body.split('\x1e')
        .map(|packet| {
            if packet.starts_with("0{") {
                "0{…}"
            } else {
                packet
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn render_frame(frame: &Frame) -> String {
    match frame {
        Frame::Text(text) if text.starts_with("0{") => "0{…}".to_owned(),
        Frame::Text(text) => text.to_string(),
        Frame::Binary(data) => format!("bin{:?}", data.to_vec()),
    }
}

/// One client, the server session it opens, and the network between them.
struct Net {
    start: Instant,
    now: Instant,
    client: ClientSession,
    server: Option<ServerSession>,
    server_config: SessionConfig,
    get: Option<Get>,
    post: Option<Post>,
    ws: Option<Ws>,
    /// The server refuses WebSocket connections (a proxy that blocks them).
    refuse_websocket: bool,
    log: Vec<String>,
    client_events: Vec<ClientEvent>,
    server_events: Vec<Event>,
}

impl Net {
    fn new(config: ClientConfig) -> Self {
        Self::with_server(config, server_config())
    }

    fn with_server(config: ClientConfig, server_config: SessionConfig) -> Self {
        let start = Instant::now();
        let mut net = Self {
            start,
            now: start,
            client: ClientSession::new(config, start),
            server: None,
            server_config,
            get: None,
            post: None,
            ws: None,
            refuse_websocket: false,
            log: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
        };
        net.route();
        net
    }

    /// A client opened and settled: over polling (upgraded or not, as `config` says) or
    /// WebSocket only. Log and events are cleared.
    fn open(config: ClientConfig) -> Self {
        let mut net = Self::new(config);
        net.pump();
        assert!(net.client.is_open(), "{:?}", net.client_events);
        assert!(matches!(net.client_events[0], ClientEvent::Open(_)));
        net.log.clear();
        net.client_events.clear();
        net.server_events.clear();
        net
    }

    fn server(&mut self) -> &mut ServerSession {
        self.server.as_mut().expect("no server session yet")
    }

    fn new_server(&mut self, transport: TransportKind) -> &mut ServerSession {
        assert!(self.server.is_none(), "a second handshake");
        self.server.insert(ServerSession::new(
            sid(),
            transport,
            self.server_config.clone(),
            self.now,
        ))
    }

    fn check_sid(&self, sid: Option<&Sid>) {
        if let Some(sid) = sid {
            assert_eq!(Some(sid), self.server.as_ref().map(ServerSession::sid));
        }
    }

    // -- routing what both sides transmit --------------------------------------------

    /// Moves what both sides transmitted onto the network, and collects their events.
    fn route(&mut self) {
        loop {
            let mut moved = false;
            while let Some(transmit) = self.client.poll_transmit() {
                moved = true;
                self.route_client(transmit);
            }
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            if let Some(server) = &mut self.server {
                let transmits: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
                self.server_events
                    .extend(std::iter::from_fn(|| server.poll_event()));
                for transmit in transmits {
                    moved = true;
                    self.route_server(transmit);
                }
            }
            if self
                .ws
                .as_ref()
                .is_some_and(|ws| ws.client_gone && ws.server_gone)
            {
                self.ws = None;
            }
            if !moved {
                break;
            }
        }
    }

    fn route_client(&mut self, transmit: ClientTransmit) {
        match transmit {
            ClientTransmit::Get { sid } => {
                assert!(self.get.is_none(), "two GETs in flight");
                self.check_sid(sid.as_ref());
                self.log
                    .push(if sid.is_some() { "GET sid" } else { "GET" }.to_owned());
                self.get = Some(Get::Sent);
            }
            ClientTransmit::Post { sid, body } => {
                assert!(self.post.is_none(), "two POSTs in flight");
                self.check_sid(Some(&sid));
                self.log.push(format!("POST {}", render_body(&body)));
                self.post = Some(Post::Sent(body));
            }
            ClientTransmit::OpenWebSocket { sid } => {
                assert!(self.ws.is_none(), "two WebSockets");
                self.check_sid(sid.as_ref());
                self.log.push(
                    if sid.is_some() {
                        "WS-OPEN sid"
                    } else {
                        "WS-OPEN"
                    }
                    .to_owned(),
                );
                self.ws = Some(Ws {
                    connecting: Some(sid),
                    ..Ws::default()
                });
            }
            ClientTransmit::WebSocket(frame) => {
                self.log.push(format!("ws> {}", render_frame(&frame)));
                let ws = self.ws.as_mut().expect("a frame with no WebSocket");
                assert!(ws.connecting.is_none() && !ws.client_gone, "{ws:?}");
                ws.up.push_back(WsItem::Frame(frame));
            }
            ClientTransmit::CloseWebSocket => {
                self.log.push("ws> CLOSE".to_owned());
                let ws = self.ws.as_mut().expect("closing no WebSocket");
                assert!(!ws.client_gone, "closing a WebSocket twice");
                if ws.connecting.is_some() {
                    self.ws = None;
                } else {
                    ws.up.push_back(WsItem::Close);
                    ws.client_gone = true;
                }
            }
            other => panic!("unknown transmit {other:?}"),
        }
    }

    fn route_server(&mut self, transmit: engineio_core::Transmit) {
        use engineio_core::Transmit;
        match transmit {
            Transmit::Poll(body) => {
                self.log.push(format!("poll< {}", render_body(&body)));
                assert!(
                    matches!(self.get, Some(Get::AtServer)),
                    "a poll response with no GET: {:?}",
                    self.get
                );
                self.get = Some(Get::Answered(body));
            }
            Transmit::WebSocket(frame) => {
                self.log.push(format!("ws< {}", render_frame(&frame)));
                let ws = self.ws.as_mut().expect("a frame with no WebSocket");
                assert!(!ws.server_gone);
                ws.down.push_back(WsItem::Frame(frame));
            }
            Transmit::CloseWebSocket => {
                self.log.push("ws< CLOSE".to_owned());
                if let Some(ws) = self.ws.as_mut().filter(|ws| !ws.server_gone) {
                    ws.down.push_back(WsItem::Close);
                    ws.server_gone = true;
                }
            }
            other => panic!("unknown transmit {other:?}"),
        }
    }

    // -- deliveries: each moves one thing one hop, and says whether it could ---------

    fn ws_connect(&mut self) -> bool {
        let Some(sid) = self.ws.as_mut().and_then(|ws| ws.connecting.take()) else {
            return false;
        };
        let now = self.now;
        if self.refuse_websocket {
            self.ws = None;
            self.client.handle_ws_error(now);
        } else if sid.is_none() {
            self.new_server(TransportKind::WebSocket);
            self.client.handle_ws_opened(now);
        } else {
            match self.server().handle_ws_open(now) {
                Ok(()) => self.client.handle_ws_opened(now),
                Err(_) => {
                    self.ws = None;
                    self.client.handle_ws_error(now);
                }
            }
        }
        self.route();
        true
    }

    fn ws_up(&mut self) -> bool {
        let Some(ws) = self.ws.as_mut() else {
            return false;
        };
        let Some(item) = ws.up.pop_front() else {
            return false;
        };
        let gone = ws.server_gone;
        if let WsItem::Close = item {
            ws.server_gone = true;
        }
        let now = self.now;
        if !gone {
            match item {
                WsItem::Frame(frame) => self.server().handle_ws_frame(frame, now),
                WsItem::Close => self.server().handle_ws_closed(None, now),
            }
        }
        self.route();
        true
    }

    fn ws_down(&mut self) -> bool {
        let Some(ws) = self.ws.as_mut() else {
            return false;
        };
        let Some(item) = ws.down.pop_front() else {
            return false;
        };
        let gone = ws.client_gone;
        if let WsItem::Close = item {
            ws.client_gone = true;
        }
        let now = self.now;
        if !gone {
            match item {
                WsItem::Frame(frame) => self.client.handle_ws_frame(frame, now),
                WsItem::Close => self.client.handle_ws_closed(now),
            }
        }
        self.route();
        true
    }

    fn get_to_server(&mut self) -> bool {
        if !matches!(self.get, Some(Get::Sent)) {
            return false;
        }
        let now = self.now;
        if self.server.is_none() {
            self.new_server(TransportKind::Polling);
        }
        self.get = Some(Get::AtServer);
        if self.server().handle_poll(now).is_err() {
            // The server answers 400.
            self.get = None;
            self.client.handle_poll_error(now);
        }
        self.route();
        true
    }

    fn get_to_client(&mut self) -> bool {
        let Some(Get::Answered(body)) = self.get.take_if(|get| matches!(get, Get::Answered(_)))
        else {
            return false;
        };
        self.client.handle_poll_response(body, self.now);
        self.route();
        true
    }

    fn post_to_server(&mut self) -> bool {
        let Some(Post::Sent(body)) = self.post.take_if(|post| matches!(post, Post::Sent(_))) else {
            return false;
        };
        let now = self.now;
        let server = self.server();
        let ok = server
            .handle_post_start(now)
            .and_then(|()| server.handle_post(body, now))
            .is_ok();
        self.post = Some(Post::Answered { ok });
        self.route();
        true
    }

    fn post_to_client(&mut self) -> bool {
        let Some(Post::Answered { ok }) = self
            .post
            .take_if(|post| matches!(post, Post::Answered { .. }))
        else {
            return false;
        };
        if ok {
            self.client.handle_post_done(self.now);
        } else {
            self.client.handle_post_error(self.now);
        }
        self.route();
        true
    }

    /// One delivery, the first of `order` that can happen.
    fn step(&mut self, order: &[fn(&mut Self) -> bool]) -> bool {
        order.iter().any(|delivery| delivery(self))
    }

    /// Delivers everything until the network is quiet (the GET held by the server).
    fn pump(&mut self) {
        self.pump_with(&Self::ALL);
    }

    const ALL: [fn(&mut Self) -> bool; 7] = [
        Self::ws_connect,
        Self::ws_up,
        Self::ws_down,
        Self::get_to_server,
        Self::get_to_client,
        Self::post_to_server,
        Self::post_to_client,
    ];

    /// Like `pump`, with only some kinds of delivery.
    fn pump_with(&mut self, order: &[fn(&mut Self) -> bool]) {
        self.route();
        for _ in 0..100_000 {
            if !self.step(order) {
                return;
            }
        }
        panic!("the network does not settle: {:?}", self.log);
    }

    // -- time ----------------------------------------------------------------------

    fn millis(&self) -> u64 {
        u64::try_from(self.now.duration_since(self.start).as_millis()).unwrap()
    }

    /// Moves the clock to `millis` after the start and fires both sides' timers, without
    /// delivering anything.
    fn tick(&mut self, millis: u64) {
        let now = self.start + ms(millis);
        assert!(now >= self.now, "the virtual clock never goes back");
        self.now = now;
        self.client.handle_timeout(now);
        if let Some(server) = &mut self.server {
            server.handle_timeout(now);
        }
        self.route();
    }

    /// Moves the clock to `millis` for the client alone: the server is silent.
    fn tick_client(&mut self, millis: u64) {
        let now = self.start + ms(millis);
        assert!(now >= self.now, "the virtual clock never goes back");
        self.now = now;
        self.client.handle_timeout(now);
        self.route();
    }

    /// Runs a healthy network until `millis`: every timer fires when due and everything
    /// is delivered at once.
    fn run_until(&mut self, millis: u64) {
        let target = self.start + ms(millis);
        loop {
            self.pump();
            let next = [
                self.client.poll_timeout(),
                self.server.as_ref().and_then(ServerSession::poll_timeout),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= target => {
                    let at = at.max(self.now);
                    self.tick(u64::try_from(at.duration_since(self.start).as_millis()).unwrap());
                }
                _ => break,
            }
        }
        self.tick(millis);
        self.pump();
    }

    // -- reading the results --------------------------------------------------------

    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    fn take_client_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.client_events)
    }

    fn take_server_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.server_events)
    }

    /// The messages the client received, dropping pings.
    fn client_messages(&mut self) -> Vec<Message> {
        self.take_client_events()
            .into_iter()
            .filter_map(|event| match event {
                ClientEvent::Message(message) => Some(message),
                ClientEvent::Ping => None,
                other => panic!("unexpected client event {other:?}"),
            })
            .collect()
    }

    fn server_messages(&mut self) -> Vec<Message> {
        self.take_server_events()
            .into_iter()
            .map(|event| match event {
                Event::Message(message) => message,
                other => panic!("unexpected server event {other:?}"),
            })
            .collect()
    }

    fn client_send(&mut self, message: Message) {
        self.client.send(message).unwrap();
        self.route();
    }

    fn server_send(&mut self, message: Message) {
        self.server().send(message).unwrap();
        self.route();
    }
}

/// A client alone, opened over polling with a canned handshake at the returned instant,
/// its outputs drained.
fn bare_polling_client(handshake: &str) -> (ClientSession, Instant) {
    let now = Instant::now();
    let mut config = ClientConfig::default();
    config.upgrade = false;
    let mut client = ClientSession::new(config, now);
    assert_eq!(
        client.poll_transmit(),
        Some(ClientTransmit::Get { sid: None })
    );
    client.handle_poll_response(Bytes::from(format!("0{handshake}")), now);
    assert!(matches!(client.poll_event(), Some(ClientEvent::Open(_))));
    assert_eq!(
        client.poll_transmit(),
        Some(ClientTransmit::Get {
            sid: Some("abc".into())
        })
    );
    (client, now)
}

const NOTHING: [&str; 0] = [];
const NO_EVENTS: [ClientEvent; 0] = [];

const HANDSHAKE: &str =
    r#"{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;

// ---------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------

#[test]
fn handshake_over_polling() {
    let mut net = Net::new(client_config(ClientTransports::Polling));
    assert_eq!(net.take_log(), ["GET"]);
    assert_eq!(net.client.transport(), TransportKind::Polling);
    assert!(!net.client.is_open());
    assert_eq!(net.client.sid(), None);

    net.pump();
    // The handshake response, then the next GET, which the server holds.
    assert_eq!(net.take_log(), ["poll< 0{…}", "GET sid"]);
    let events = net.take_client_events();
    let [ClientEvent::Open(handshake)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(handshake.sid, sid());
    assert_eq!(handshake.upgrades, ["websocket"]);
    assert_eq!(handshake.ping_interval, PING_INTERVAL);
    assert_eq!(handshake.ping_timeout, PING_TIMEOUT);
    assert!(net.client.is_open());
    assert_eq!(net.client.sid(), Some(&sid()));
    assert_eq!(net.client.handshake(), Some(handshake));
    assert_eq!(net.client.transport(), TransportKind::Polling);
    // Polling only: no probe although the server offers one.
    assert!(net.ws.is_none());
    assert!(!net.client.websocket_succeeded());
}

#[test]
fn handshake_over_websocket_only() {
    let mut net = Net::new(client_config(ClientTransports::WebSocket));
    assert_eq!(net.take_log(), ["WS-OPEN"]);
    assert_eq!(net.client.transport(), TransportKind::WebSocket);

    net.pump();
    assert_eq!(net.take_log(), ["ws< 0{…}"]);
    let events = net.take_client_events();
    let [ClientEvent::Open(handshake)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(handshake.sid, sid());
    assert!(handshake.upgrades.is_empty());
    assert!(net.client.is_open());
    assert!(net.client.websocket_succeeded());
    // No HTTP request at all.
    assert!(net.get.is_none() && net.post.is_none());
}

#[test]
fn handshake_over_polling_starts_the_probe_when_websocket_is_offered() {
    let mut net = Net::new(ClientConfig::default());
    net.pump_with(&[Net::get_to_server, Net::get_to_client]);
    assert_eq!(
        net.take_log(),
        ["GET", "poll< 0{…}", "WS-OPEN sid", "GET sid"]
    );
}

#[test]
fn no_probe_when_upgrade_is_off_or_not_offered() {
    let mut config = ClientConfig::default();
    config.upgrade = false;
    let mut net = Net::new(config);
    net.pump();
    assert_eq!(net.take_log(), ["GET", "poll< 0{…}", "GET sid"]);

    let mut server_config = server_config();
    server_config.allow_upgrade = false;
    let mut net = Net::with_server(ClientConfig::default(), server_config);
    net.pump();
    assert_eq!(net.take_log(), ["GET", "poll< 0{…}", "GET sid"]);
}

#[test]
fn remember_upgrade_opens_over_websocket_after_a_websocket_success() {
    // A first session upgrades, and says so.
    let net = Net::open(ClientConfig::default());
    assert_eq!(net.client.transport(), TransportKind::WebSocket);
    assert!(net.client.websocket_succeeded());

    let mut config = ClientConfig::default();
    config.remember_upgrade = true;
    config.prior_websocket_success = net.client.websocket_succeeded();
    let mut net = Net::new(config.clone());
    assert_eq!(net.take_log(), ["WS-OPEN"]);
    net.pump();
    assert!(net.client.is_open());

    // Without the memory, or without the option, polling comes first.
    config.prior_websocket_success = false;
    assert_eq!(Net::new(config).take_log(), ["GET"]);
    let mut config = ClientConfig::default();
    config.prior_websocket_success = true;
    assert_eq!(Net::new(config).take_log(), ["GET"]);
}

#[test]
fn messages_sent_before_the_handshake_wait_for_it() {
    let mut net = Net::new(client_config(ClientTransports::Polling));
    net.client_send(text("early"));
    net.client_send(bin(&[1, 2, 3]));
    assert_eq!(net.take_log(), ["GET"]);
    net.pump();
    assert_eq!(
        net.take_log(),
        ["poll< 0{…}", "POST 4early|bAQID", "GET sid"]
    );
    assert_eq!(net.server_messages(), [text("early"), bin(&[1, 2, 3])]);

    let mut net = Net::new(client_config(ClientTransports::WebSocket));
    net.client_send(text("early"));
    net.pump();
    assert_eq!(net.take_log(), ["WS-OPEN", "ws< 0{…}", "ws> 4early"]);
    assert_eq!(net.server_messages(), [text("early")]);
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

#[test]
fn messages_both_ways_over_polling() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.client_send(text("héllo"));
    assert_eq!(net.take_log(), ["POST 4héllo"]);
    net.pump();
    net.client_send(bin(&[0, 1, 255]));
    net.pump();
    assert_eq!(net.take_log(), ["POST bAAH/"]);
    assert_eq!(net.server_messages(), [text("héllo"), bin(&[0, 1, 255])]);

    net.server_send(text("world"));
    net.server_send(bin(&[9]));
    net.pump();
    // The first message answers the held GET; the second waits for the next GET.
    assert_eq!(
        net.take_log(),
        ["poll< 4world", "GET sid", "poll< bCQ==", "GET sid"]
    );
    assert_eq!(net.client_messages(), [text("world"), bin(&[9])]);
}

#[test]
fn messages_both_ways_over_websocket() {
    let mut net = Net::open(client_config(ClientTransports::WebSocket));
    net.client_send(text("héllo"));
    net.client_send(bin(&[1, 2]));
    net.server_send(text("world"));
    net.server_send(bin(&[3]));
    net.pump();
    assert_eq!(
        net.take_log(),
        ["ws> 4héllo", "ws> bin[1, 2]", "ws< 4world", "ws< bin[3]"]
    );
    assert_eq!(net.server_messages(), [text("héllo"), bin(&[1, 2])]);
    assert_eq!(net.client_messages(), [text("world"), bin(&[3])]);
}

#[test]
fn a_post_in_flight_makes_later_sends_wait_and_go_together() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.client_send(text("a"));
    net.client_send(text("b"));
    net.client_send(bin(&[1]));
    net.client_send(text("c"));
    // Only the first went: one POST at a time.
    assert_eq!(net.take_log(), ["POST 4a"]);
    net.pump();
    // The rest went together once it was done.
    assert_eq!(net.take_log(), ["POST 4b|bAQ==|4c"]);
    assert_eq!(
        net.server_messages(),
        [text("a"), text("b"), bin(&[1]), text("c")]
    );
}

#[test]
fn posts_stay_within_the_servers_max_payload() {
    let mut server_config = server_config();
    server_config.max_payload = 10;
    let mut net = Net::with_server(client_config(ClientTransports::Polling), server_config);
    net.pump();
    net.take_log();
    net.take_client_events();
    for message in ["0", "1234", "5678", "ab", "cd"] {
        net.client_send(text(message));
    }
    net.pump();
    // `41234`, a separator and `45678` make 11 bytes: over 10.
    assert_eq!(
        net.take_log(),
        ["POST 40", "POST 41234", "POST 45678|4ab", "POST 4cd"]
    );
    assert_eq!(net.server_messages().len(), 5);

    // A packet larger than the budget still goes, alone (the server may refuse it).
    let (mut client, now) = bare_polling_client(
        r#"{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":4}"#,
    );
    client.send(text("a")).unwrap();
    client.send(text("too long")).unwrap();
    client.send(text("b")).unwrap();
    let mut bodies = Vec::new();
    while let Some(ClientTransmit::Post { body, .. }) = client.poll_transmit() {
        bodies.push(body);
        client.handle_post_done(now);
    }
    assert_eq!(bodies, ["4a", "4too long", "4b"]);
}

#[test]
fn the_send_buffer_is_bounded() {
    let mut config = client_config(ClientTransports::Polling);
    config.max_buffered_packets = 3;
    let mut net = Net::new(config);
    for n in 0..3 {
        net.client.send(text(&n.to_string())).unwrap();
    }
    assert!(net.client.is_send_buffer_full());
    assert_eq!(net.client.send(text("3")), Err(SendError::Full));
    net.pump();
    assert!(!net.client.is_send_buffer_full());
    assert_eq!(net.server_messages(), [text("0"), text("1"), text("2")]);
}

// ---------------------------------------------------------------------------------------
// Upgrade
// ---------------------------------------------------------------------------------------

/// What each side sent, numbered in one sequence.
#[derive(Default)]
struct Tally {
    n: u8,
    client_sent: Vec<Message>,
    server_sent: Vec<Message>,
}

impl Tally {
    fn client(&mut self, net: &mut Net) {
        let message = text(&format!("c{}", self.n));
        self.n += 1;
        self.client_sent.push(message.clone());
        net.client_send(message);
    }

    fn server(&mut self, net: &mut Net) {
        let message = bin(&[self.n]);
        self.n += 1;
        self.server_sent.push(message.clone());
        net.server_send(message);
    }
}

#[test]
fn upgrade_moves_to_websocket_and_keeps_every_message_in_order() {
    let mut net = Net::new(ClientConfig::default());
    let mut tally = Tally::default();
    assert_eq!(net.take_log(), ["GET"]);

    // Before the handshake: held until it.
    tally.client(&mut net);
    net.pump_with(&[Net::get_to_server, Net::get_to_client]);
    assert_eq!(
        net.take_log(),
        ["poll< 0{…}", "POST 4c0", "WS-OPEN sid", "GET sid"]
    );
    // While the probe connects, polling carries everything.
    tally.client(&mut net);
    tally.server(&mut net);
    assert_eq!(net.take_log(), ["poll< bAg=="]);
    net.get_to_client();
    net.get_to_server();
    assert_eq!(net.take_log(), ["GET sid"]);
    net.ws_connect();
    assert_eq!(net.take_log(), ["ws> 2probe"]);
    // While probing too: `c3` queues behind the POST in flight.
    tally.client(&mut net);
    // The server answers the probe and releases the held GET with `noop`.
    net.ws_up();
    assert_eq!(net.take_log(), ["ws< 3probe", "poll< 6"]);
    // It now buffers what it sends, for the upgrade.
    tally.server(&mut net);
    assert_eq!(net.take_log(), NOTHING);
    // `3probe` reaches the client with the GET and the POST in flight: it pauses.
    net.ws_down();
    tally.client(&mut net);
    net.get_to_client();
    assert_eq!(net.take_log(), NOTHING, "no new GET while pausing");
    net.post_to_server();
    net.post_to_client();
    // Paused: `5`, then what was queued meanwhile, in order, on the WebSocket.
    assert_eq!(net.take_log(), ["ws> 5", "ws> 4c1", "ws> 4c3", "ws> 4c5"]);
    // The server has not seen `5` yet: it still buffers.
    tally.server(&mut net);
    net.pump();
    assert_eq!(net.take_log(), ["ws< bin[4]", "ws< bin[6]"]);
    tally.client(&mut net);
    tally.server(&mut net);
    net.pump();
    assert_eq!(net.take_log(), ["ws> 4c7", "ws< bin[8]"]);

    assert_eq!(net.client.transport(), TransportKind::WebSocket);
    assert_eq!(net.server().transport(), TransportKind::WebSocket);
    assert!(net.client.websocket_succeeded());
    let events = net.take_client_events();
    assert_eq!(
        events
            .iter()
            .filter(|event| **event == ClientEvent::Upgraded)
            .count(),
        1
    );
    let received: Vec<_> = events
        .into_iter()
        .filter_map(|event| match event {
            ClientEvent::Message(message) => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(received, tally.server_sent);
    let events = net.take_server_events();
    assert_eq!(
        events
            .iter()
            .filter(|event| **event == Event::Upgraded)
            .count(),
        1
    );
    let received: Vec<_> = events
        .into_iter()
        .filter_map(|event| match event {
            Event::Message(message) => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(received, tally.client_sent);
}

#[test]
fn upgrade_with_nothing_in_flight_but_the_get() {
    let mut net = Net::new(ClientConfig::default());
    net.pump();
    assert_eq!(
        net.take_log(),
        [
            "GET",
            "poll< 0{…}",
            "WS-OPEN sid",
            "GET sid",
            "ws> 2probe",
            "ws< 3probe",
            "poll< 6",
            "ws> 5"
        ]
    );
    assert!(net.client_events.contains(&ClientEvent::Upgraded));
    assert!(net.server_events.contains(&Event::Upgraded));
    assert!(net.get.is_none() && net.post.is_none());
}

#[test]
fn a_refused_probe_keeps_polling() {
    let mut net = Net::new(ClientConfig::default());
    net.refuse_websocket = true;
    net.pump();
    assert_eq!(
        net.take_log(),
        ["GET", "poll< 0{…}", "WS-OPEN sid", "GET sid"]
    );
    let events = net.take_client_events();
    assert_eq!(events.last(), Some(&ClientEvent::UpgradeFailed));
    assert_eq!(net.client.transport(), TransportKind::Polling);
    assert!(!net.client.websocket_succeeded());

    net.client_send(text("still"));
    net.server_send(text("here"));
    net.pump();
    assert_eq!(net.take_log(), ["POST 4still", "poll< 4here", "GET sid"]);
    assert_eq!(net.server_messages(), [text("still")]);
    assert_eq!(net.client_messages(), [text("here")]);
}

#[test]
fn a_wrong_probe_answer_keeps_polling() {
    let mut net = Net::new(ClientConfig::default());
    net.pump_with(&[Net::get_to_server, Net::get_to_client, Net::ws_connect]);
    assert_eq!(net.take_log().last().unwrap(), "ws> 2probe");
    // Something else than `3probe` comes first.
    let now = net.now;
    net.client.handle_ws_frame(Frame::Text("3nope".into()), now);
    net.route();
    assert_eq!(net.take_log(), ["ws> CLOSE"]);
    net.pump();
    // The server saw its WebSocket close and stays on polling too.
    assert_eq!(net.server().transport(), TransportKind::Polling);
    assert_eq!(net.client.transport(), TransportKind::Polling);
    let events = net.take_client_events();
    assert_eq!(events.last(), Some(&ClientEvent::UpgradeFailed));

    net.client_send(text("a"));
    net.server_send(text("b"));
    net.pump();
    assert_eq!(net.server_messages(), [text("a")]);
    assert_eq!(net.client_messages(), [text("b")]);
}

#[test]
fn a_probe_closed_while_pausing_resumes_polling() {
    let mut server_config = server_config();
    server_config.upgrade_timeout = ms(100);
    let mut net = Net::with_server(ClientConfig::default(), server_config);
    net.pump_with(&[Net::get_to_server, Net::get_to_client]);
    // A POST in flight, and its answer held back.
    net.client_send(text("slow"));
    net.pump_with(&[
        Net::ws_connect,
        Net::ws_up,
        Net::ws_down,
        Net::get_to_server,
        Net::get_to_client,
        Net::post_to_server,
    ]);
    assert_eq!(
        net.take_log(),
        [
            "GET",
            "poll< 0{…}",
            "WS-OPEN sid",
            "GET sid",
            "POST 4slow",
            "ws> 2probe",
            "ws< 3probe",
            "poll< 6"
        ]
    );
    // Pausing: the GET is back, the POST is not; nothing is sent.
    net.client_send(text("queued"));
    assert_eq!(net.take_log(), NOTHING);
    // The server gives up on the upgrade and closes the probe.
    net.tick(100);
    net.ws_down();
    assert_eq!(net.take_log(), ["ws< CLOSE", "GET sid"]);
    assert_eq!(net.client_events.last(), Some(&ClientEvent::UpgradeFailed));
    net.pump();
    assert_eq!(net.take_log(), ["POST 4queued"]);
    assert_eq!(net.server_messages(), [text("slow"), text("queued")]);
    assert_eq!(net.client.transport(), TransportKind::Polling);
}

// ---------------------------------------------------------------------------------------
// Heartbeat
// ---------------------------------------------------------------------------------------

#[test]
fn ping_pong_keeps_a_polling_session_alive_across_many_intervals() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.run_until(100 * PING_INTERVAL);
    assert!(net.client.is_open());
    assert!(!net.server().is_closed());
    let pings = net
        .take_client_events()
        .iter()
        .filter(|event| **event == ClientEvent::Ping)
        .count();
    assert_eq!(pings, 100);
    let log = net.take_log();
    assert_eq!(log.iter().filter(|line| *line == "poll< 2").count(), 100);
    assert_eq!(log.iter().filter(|line| *line == "POST 3").count(), 100);
}

#[test]
fn ping_pong_keeps_a_websocket_session_alive_across_many_intervals() {
    let mut net = Net::open(ClientConfig::default());
    assert_eq!(net.client.transport(), TransportKind::WebSocket);
    net.run_until(100 * PING_INTERVAL);
    assert!(net.client.is_open());
    let log = net.take_log();
    assert_eq!(log.iter().filter(|line| *line == "ws< 2").count(), 100);
    assert_eq!(log.iter().filter(|line| *line == "ws> 3").count(), 100);
}

#[test]
fn a_silent_server_means_ping_timeout_after_interval_plus_timeout() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let window = PING_INTERVAL + PING_TIMEOUT;
    assert_eq!(net.client.poll_timeout(), Some(net.start + ms(window)));

    // A ping moves the deadline to one window after it.
    net.run_until(PING_INTERVAL);
    assert_eq!(
        net.client.poll_timeout(),
        Some(net.start + ms(PING_INTERVAL + window))
    );
    // Messages do not (the reference client 6.6 counts pings only).
    net.server_send(text("x"));
    net.pump();
    assert_eq!(
        net.client.poll_timeout(),
        Some(net.start + ms(PING_INTERVAL + window))
    );
    net.take_client_events();
    net.take_log();

    // Then the server goes silent.
    net.tick_client(PING_INTERVAL + window - 1);
    assert!(net.client.is_open());
    net.tick_client(PING_INTERVAL + window);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::PingTimeout)]
    );
    assert!(net.client.is_closed());
    assert_eq!(net.client.poll_timeout(), None);
    // Over polling there is nothing to close; the driver drops its requests.
    assert_eq!(net.take_log(), NOTHING);
}

#[test]
fn ping_timeout_over_websocket_closes_the_websocket() {
    let mut net = Net::open(client_config(ClientTransports::WebSocket));
    // The server is silent.
    net.tick_client(PING_INTERVAL + PING_TIMEOUT - 1);
    assert_eq!(net.take_log(), NOTHING);
    net.tick_client(PING_INTERVAL + PING_TIMEOUT);
    assert_eq!(net.take_log(), ["ws> CLOSE"]);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::PingTimeout)]
    );
}

#[test]
fn an_input_after_the_deadline_is_a_ping_timeout() {
    let (mut client, start) = bare_polling_client(HANDSHAKE);
    // A late timer: the next input comes long after the deadline, with no ping in it.
    client.handle_poll_response("4late".into(), start + ms(10_000));
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Message(text("late")))
    );
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::PingTimeout))
    );
}

#[test]
fn the_wall_clock_check_catches_a_suspension_at_once() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    // The driver checks after every input: the session learns the wall time of the open.
    net.client.check_wall_clock(net.now, wall);
    assert!(net.client.is_open());

    // The machine sleeps an hour: the monotonic clock sees 10 ms of it.
    net.tick(10);
    let later = wall + Duration::from_secs(3_600);
    net.client.check_wall_clock(net.now, later);
    net.route();
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::PingTimeout)]
    );
}

#[test]
fn the_wall_clock_check_leaves_a_live_session_alone() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let wall_at = |net: &Net| wall + ms(net.millis());
    for _ in 0..20 {
        let next = net.millis() + PING_INTERVAL;
        net.run_until(next);
        net.client.check_wall_clock(net.now, wall_at(&net));
    }
    assert!(net.client.is_open());

    // A wall clock set back is no reason to close either.
    net.client.check_wall_clock(net.now, SystemTime::UNIX_EPOCH);
    net.client.check_wall_clock(net.now, wall_at(&net));
    assert!(net.client.is_open());

    // The last ping came just now. Just under the window of wall time after it: still
    // open; at it: closed.
    net.client.check_wall_clock(
        net.now,
        wall_at(&net) + ms(PING_INTERVAL + PING_TIMEOUT - 1),
    );
    assert!(net.client.is_open());
    net.client
        .check_wall_clock(net.now, wall_at(&net) + ms(PING_INTERVAL + PING_TIMEOUT));
    assert!(net.client.is_closed());
}

#[test]
fn the_wall_clock_check_also_fires_an_overdue_timer() {
    let (mut client, start) = bare_polling_client(HANDSHAKE);
    // No earlier check, so no wall time learned, but the monotonic deadline has passed.
    client.check_wall_clock(start + ms(600), SystemTime::now());
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::PingTimeout))
    );
}

#[test]
fn spurious_inputs_do_nothing() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let now = net.now;
    // Early and repeated timer calls, answers to requests never made, WebSocket news
    // with no WebSocket.
    net.client.handle_timeout(now);
    net.client.handle_timeout(now + ms(1));
    net.client.handle_post_done(now);
    net.client.handle_post_error(now);
    net.client.handle_ws_opened(now);
    net.client.handle_ws_frame(Frame::Text("4x".into()), now);
    net.client.handle_ws_error(now);
    net.client.handle_ws_closed(now);
    net.route();
    assert_eq!(net.take_log(), NOTHING);
    assert_eq!(net.take_client_events(), NO_EVENTS);
    assert!(net.client.is_open());
}

// ---------------------------------------------------------------------------------------
// Close
// ---------------------------------------------------------------------------------------

#[test]
fn app_close_over_polling_sends_what_is_queued_then_close() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.client_send(text("a"));
    net.client_send(text("b"));
    net.client.close(net.now);
    net.route();
    // `a` is in flight; `b` and `close` wait for it, and go together.
    assert_eq!(net.take_log(), ["POST 4a"]);
    assert_eq!(net.client.send(text("c")), Err(SendError::Closed));
    assert!(!net.client.is_closed());
    net.pump();
    assert_eq!(net.take_log(), ["POST 4b|1", "poll< 6"]);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::ForcedClose)]
    );
    assert!(net.client.is_closed());
    assert_eq!(
        net.take_server_events(),
        [
            Event::Message(text("a")),
            Event::Message(text("b")),
            Event::Closed(CloseReason::TransportClose)
        ]
    );
    // Closing twice does nothing.
    net.client.close(net.now);
    net.route();
    assert_eq!(net.take_client_events(), NO_EVENTS);
}

#[test]
fn app_close_over_websocket() {
    let mut net = Net::open(client_config(ClientTransports::WebSocket));
    net.client_send(text("bye"));
    net.client.close(net.now);
    net.route();
    assert_eq!(net.take_log(), ["ws> 4bye", "ws> 1", "ws> CLOSE"]);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::ForcedClose)]
    );
    net.pump();
    assert_eq!(
        net.take_server_events(),
        [
            Event::Message(text("bye")),
            Event::Closed(CloseReason::TransportClose)
        ]
    );
}

#[test]
fn app_close_before_the_handshake_is_immediate() {
    let mut net = Net::new(client_config(ClientTransports::Polling));
    net.client.send(text("never")).unwrap();
    net.client.close(net.now);
    net.route();
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::ForcedClose)]
    );
    assert!(net.client.is_closed());
    // A late handshake response is ignored.
    net.pump();
    assert_eq!(net.take_client_events(), NO_EVENTS);

    let mut net = Net::new(client_config(ClientTransports::WebSocket));
    net.client.close(net.now);
    net.route();
    assert_eq!(net.take_log(), ["WS-OPEN", "ws> CLOSE"]);
}

#[test]
fn app_close_during_the_upgrade_abandons_the_probe() {
    let mut net = Net::new(ClientConfig::default());
    net.pump_with(&[Net::get_to_server, Net::get_to_client, Net::ws_connect]);
    net.take_log();
    net.client_send(text("first"));
    net.client_send(text("last"));
    net.client.close(net.now);
    net.route();
    assert_eq!(net.take_log(), ["POST 4first", "ws> CLOSE"]);
    net.pump();
    assert!(net.take_log().contains(&"POST 4last|1".to_owned()));
    assert_eq!(
        net.take_client_events().last(),
        Some(&ClientEvent::Closed(ClientCloseReason::ForcedClose))
    );
    assert_eq!(
        net.take_server_events(),
        [
            Event::Message(text("first")),
            Event::Message(text("last")),
            Event::Closed(CloseReason::TransportClose)
        ]
    );
}

#[test]
fn server_close_over_polling() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.server_send(text("bye"));
    net.pump();
    // The server closes with the next GET held: it answers it with `close`.
    let now = net.now;
    net.server().close(CloseReason::ForcedClose, now);
    net.pump();
    assert_eq!(net.take_log(), ["poll< 4bye", "GET sid", "poll< 1"]);
    assert_eq!(
        net.take_client_events(),
        [
            ClientEvent::Message(text("bye")),
            ClientEvent::Closed(ClientCloseReason::TransportClose)
        ]
    );
    assert!(net.client.is_closed());
    assert_eq!(net.client.send(text("x")), Err(SendError::Closed));
    assert_eq!(net.take_log(), NOTHING);
}

#[test]
fn server_close_over_websocket() {
    let mut net = Net::open(ClientConfig::default());
    let now = net.now;
    net.server().close(CloseReason::ForcedClose, now);
    net.route();
    assert_eq!(net.take_log(), ["ws< CLOSE"]);
    net.pump();
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::TransportClose)]
    );
    // The server's `close` packet over WebSocket, when it sends one, ends it too.
    let mut net = Net::open(client_config(ClientTransports::WebSocket));
    let now = net.now;
    net.client.handle_ws_frame(Frame::Text("1".into()), now);
    net.route();
    assert_eq!(net.take_log(), ["ws> CLOSE"]);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::TransportClose)]
    );
}

#[test]
fn transport_failures_are_transport_errors() {
    let polling_error = [ClientEvent::Closed(ClientCloseReason::TransportError(
        TransportKind::Polling,
    ))];

    // The GET fails.
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let now = net.now;
    net.get = None;
    net.client.handle_poll_error(now);
    net.route();
    assert_eq!(net.take_client_events(), polling_error);
    assert_eq!(net.take_log(), NOTHING);

    // The POST fails.
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.client_send(text("x"));
    net.post = None;
    net.client.handle_post_error(now);
    net.route();
    assert_eq!(net.take_client_events(), polling_error);

    // A server that no longer knows the session (its close waited `ping_timeout` for a
    // GET that came later) answers the next GET with 400.
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.server_send(text("x"));
    net.server().close(CloseReason::ForcedClose, now);
    net.server().handle_timeout(now + ms(PING_TIMEOUT));
    assert!(net.server().is_closed());
    net.pump();
    assert_eq!(net.take_log(), ["poll< 4x", "GET sid"]);
    let events = net.take_client_events();
    assert_eq!(events[1..], polling_error);

    // The WebSocket breaks.
    let mut net = Net::open(ClientConfig::default());
    assert!(net.client.websocket_succeeded());
    net.ws = None;
    net.client.handle_ws_error(now);
    net.route();
    // The driver has dropped it already: nothing to close.
    assert_eq!(net.take_log(), NOTHING);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::TransportError(
            TransportKind::WebSocket
        ))]
    );
    // The reference forgets the WebSocket success after a transport error.
    assert!(!net.client.websocket_succeeded());
}

#[test]
fn close_reasons_have_the_reference_words() {
    assert_eq!(
        ClientCloseReason::TransportClose.as_str(),
        "transport close"
    );
    assert_eq!(
        ClientCloseReason::TransportError(TransportKind::Polling).as_str(),
        "transport error"
    );
    assert_eq!(ClientCloseReason::PingTimeout.as_str(), "ping timeout");
    assert_eq!(ClientCloseReason::ForcedClose.as_str(), "forced close");
    assert_eq!(
        ClientCloseReason::ParseError(DecodeError::Empty).as_str(),
        "parse error"
    );
    assert_eq!(
        ClientCloseReason::TransportError(TransportKind::WebSocket).to_string(),
        "transport error (websocket)"
    );
}

// ---------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------

fn closed_by_poll_response(body: impl Into<Bytes>) -> Vec<ClientEvent> {
    let (mut client, now) = bare_polling_client(HANDSHAKE);
    client.handle_poll_response(body.into(), now);
    assert!(client.is_closed());
    // Nothing more is asked of the network.
    assert_eq!(client.poll_transmit(), None);
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn parse_error(err: DecodeError) -> ClientEvent {
    ClientEvent::Closed(ClientCloseReason::ParseError(err))
}

#[test]
fn a_malformed_poll_response_is_a_parse_error() {
    assert_eq!(
        closed_by_poll_response("9"),
        [parse_error(DecodeError::UnknownType(b'9'))]
    );
    assert_eq!(
        closed_by_poll_response(""),
        [parse_error(DecodeError::Empty)]
    );
    assert_eq!(
        closed_by_poll_response("b%%%"),
        [parse_error(DecodeError::Base64)]
    );
    assert_eq!(
        closed_by_poll_response(Bytes::from_static(&[b'4', 0xff])),
        [parse_error(DecodeError::Utf8)]
    );
    // The packets before the bad one are delivered.
    assert_eq!(
        closed_by_poll_response("4ok\x1e\x1e4lost"),
        [
            ClientEvent::Message(text("ok")),
            parse_error(DecodeError::Empty)
        ]
    );
    // An HTTP error page is not a payload.
    assert_eq!(
        closed_by_poll_response(r#"{"code":1,"message":"Session ID unknown"}"#),
        [parse_error(DecodeError::UnknownType(b'{'))]
    );
}

#[test]
fn poll_responses_over_the_limits_are_parse_errors() {
    let mut config = client_config(ClientTransports::Polling);
    config.max_payload = 8;
    config.max_packets_per_payload = 2;
    let now = Instant::now();
    let open = |config: &ClientConfig| {
        let mut client = ClientSession::new(config.clone(), now);
        client.handle_poll_response(format!("0{HANDSHAKE}").into(), now);
        client
    };
    // The handshake itself is over 8 bytes.
    let mut client = open(&config);
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::ParseError(
            DecodeError::PayloadTooLarge { max: 8, .. }
        )))
    ));
    config.max_payload = 1_000;
    let mut client = open(&config);
    client.poll_event();
    client.handle_poll_response("4a\x1e4b\x1e4c".into(), now);
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    assert_eq!(
        events,
        [
            ClientEvent::Message(text("a")),
            ClientEvent::Message(text("b")),
            parse_error(DecodeError::TooManyPackets { max: 2 })
        ]
    );
}

#[test]
fn the_first_packet_must_be_the_handshake() {
    let now = Instant::now();
    let mut client = ClientSession::new(ClientConfig::default(), now);
    client.handle_poll_response("4hello".into(), now);
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::ParseError(
            DecodeError::Handshake(_)
        )))
    ));

    let mut client = ClientSession::new(client_config(ClientTransports::WebSocket), now);
    client.handle_ws_opened(now);
    client.handle_ws_frame(Frame::Text("0{\"sid\":".into()), now);
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::ParseError(
            DecodeError::Handshake(_)
        )))
    ));
}

#[test]
fn a_malformed_websocket_frame_is_a_parse_error() {
    for (frame, err) in [
        (Frame::Text("".into()), DecodeError::Empty),
        (Frame::Text("x".into()), DecodeError::UnknownType(b'x')),
        (
            Frame::Binary(Bytes::from(vec![0; 1_001])),
            DecodeError::PayloadTooLarge {
                size: 1_001,
                max: 1_000,
            },
        ),
    ] {
        let mut config = client_config(ClientTransports::WebSocket);
        config.max_payload = 1_000;
        let mut net = Net::open(config);
        let now = net.now;
        net.client.handle_ws_frame(frame, now);
        net.route();
        assert_eq!(net.take_log(), ["ws> CLOSE"]);
        assert_eq!(net.take_client_events(), [parse_error(err)]);
        net.pump();
        assert_eq!(
            net.take_server_events(),
            [Event::Closed(CloseReason::TransportClose)]
        );
    }
}

// ---------------------------------------------------------------------------------------
// Random interleavings
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Action {
    /// One delivery, of the kind with this index in `Net::ALL` (or the next that can).
    Deliver(usize),
    ClientSend,
    ServerSend,
    /// Time passes.
    Wait(u64),
    /// A long time passes, with nothing delivered: enough to cost a ping timeout or an
    /// upgrade timeout, in the cases that allow stalls.
    Stall,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        10 => (0..Net::ALL.len()).prop_map(Action::Deliver),
        2 => Just(Action::ClientSend),
        2 => Just(Action::ServerSend),
        2 => (0..40u64).prop_map(Action::Wait),
        1 => Just(Action::Stall),
    ]
}

fn transports() -> impl Strategy<Value = ClientTransports> {
    prop_oneof![
        Just(ClientTransports::Both),
        Just(ClientTransports::Polling),
        Just(ClientTransports::WebSocket),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the order of deliveries, sends and waits: each side receives exactly what
    /// the other sent, in order, with nothing lost or duplicated; a side that closed (a
    /// slow delivery can cost a ping timeout) received a prefix of it.
    #[test]
    fn random_interleavings_keep_order_and_lose_nothing(
        transports in transports(),
        // Small enough to split POSTs, large enough for any one message (the server
        // refuses a body over it, however the client splits).
        max_payload in prop_oneof![Just(1_000_000usize), 16..60usize],
        actions in proptest::collection::vec(action(), 1..300),
        stalls in proptest::bool::weighted(0.2),
    ) {
        let mut server_config = server_config();
        server_config.ping_interval = ms(1_000);
        server_config.ping_timeout = ms(1_000);
        server_config.max_payload = max_payload;
        let mut net = Net::with_server(client_config(transports), server_config);
        let mut client_sent = Vec::new();
        let mut server_sent = Vec::new();
        let mut elapsed = 0;
        for (n, action) in actions.into_iter().enumerate() {
            match action {
                Action::Deliver(first) => {
                    let order: Vec<_> = Net::ALL.iter().cycle().skip(first).take(Net::ALL.len()).copied().collect();
                    net.step(&order);
                }
                Action::ClientSend => {
                    let message = if n % 2 == 0 { text(&format!("c{n}")) } else { bin(&n.to_be_bytes()) };
                    if net.client.send(message.clone()).is_ok() {
                        client_sent.push(message);
                    }
                    net.route();
                }
                Action::ServerSend => {
                    let message = if n % 3 == 0 { bin(&n.to_le_bytes()) } else { text(&format!("s{n}")) };
                    if let Some(server) = &mut net.server {
                        if server.send(message.clone()).is_ok() {
                            server_sent.push(message);
                        }
                    }
                    net.route();
                }
                Action::Wait(millis) => {
                    elapsed += millis;
                    net.tick(elapsed);
                }
                Action::Stall => {
                    elapsed += if stalls { 2_100 } else { 1 };
                    net.tick(elapsed);
                }
            }
        }
        net.pump();

        let client_received: Vec<_> = net.client_events.iter().filter_map(|event| match event {
            ClientEvent::Message(message) => Some(message.clone()),
            _ => None,
        }).collect();
        let server_received: Vec<_> = net.server_events.iter().filter_map(|event| match event {
            Event::Message(message) => Some(message.clone()),
            _ => None,
        }).collect();
        let closed = net.client.is_closed() || net.server.as_ref().is_some_and(ServerSession::is_closed);
        if closed {
            prop_assert!(server_sent.starts_with(&client_received), "{client_received:?} / {server_sent:?}");
            prop_assert!(client_sent.starts_with(&server_received), "{server_received:?} / {client_sent:?}");
        } else {
            prop_assert_eq!(&client_received, &server_sent);
            prop_assert_eq!(&server_received, &client_sent);
            // The session ends on WebSocket when it may, unless the server gave up on a
            // slow upgrade.
            if transports != ClientTransports::Polling
                && !net.client_events.contains(&ClientEvent::UpgradeFailed)
            {
                prop_assert_eq!(net.client.transport(), TransportKind::WebSocket);
            }
        }
        // Only a heartbeat can end a session here (a slow network), and what follows from
        // it on the other side: never a parse error, an overlap, a misuse.
        let client_closed = net.client_events.iter().find_map(|event| match event {
            ClientEvent::Closed(reason) => Some(reason.clone()),
            _ => None,
        });
        let server_closed = net.server_events.iter().find_map(|event| match event {
            Event::Closed(reason) => Some(*reason),
            _ => None,
        });
        prop_assert!(
            matches!(
                client_closed,
                None | Some(
                    ClientCloseReason::PingTimeout
                        | ClientCloseReason::TransportClose
                        | ClientCloseReason::TransportError(_)
                )
            ),
            "{client_closed:?} {:?}", net.log
        );
        prop_assert!(
            matches!(server_closed, None | Some(CloseReason::PingTimeout | CloseReason::TransportClose)),
            "{server_closed:?} {:?}", net.log
        );
        if client_closed.is_some() || server_closed.is_some() {
            // A ping timeout on either side; or the protocol's own race: the server gave
            // up on a slow upgrade and closed the probe just as the client, having had
            // `3probe`, switched to it (the reference client closes then too).
            let upgrade_timed_out = net.server.as_ref().is_some_and(|server| {
                server.transport() == TransportKind::Polling
            }) && net.log.iter().any(|line| line == "ws< CLOSE");
            prop_assert!(
                client_closed == Some(ClientCloseReason::PingTimeout)
                    || server_closed == Some(CloseReason::PingTimeout)
                    || upgrade_timed_out,
                "{client_closed:?} {server_closed:?} {:?}", net.log
            );
            prop_assert!(stalls, "a session closed without a stall: {:?}", net.log);
        }
    }
}

#[test]
fn a_server_close_with_nothing_queued_reaches_the_next_poll() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let now = net.now;
    net.server_send(text("x"));
    // The GET that carried "x" is answered; the client's next one is not at the server
    // yet when the server closes: that one gets the close packet.
    net.server().close(CloseReason::ForcedClose, now);
    net.pump();
    assert_eq!(net.take_log(), ["poll< 4x", "GET sid", "poll< 1"]);
    let events = net.take_client_events();
    assert_eq!(
        events.last(),
        Some(&ClientEvent::Closed(ClientCloseReason::TransportClose))
    );
    assert!(net.server().is_closed());
}
