//! The in-test network between a `ClientSession` and a `ServerSession`, and its log.

use super::*;

pub(crate) const PING_INTERVAL: u64 = 300;
pub(crate) const PING_TIMEOUT: u64 = 200;
pub(crate) const UPGRADE_TIMEOUT: u64 = 1_000;

pub(crate) fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

pub(crate) fn server_config() -> SessionConfig {
    let mut config = SessionConfig::default();
    config.ping_interval = ms(PING_INTERVAL);
    config.ping_timeout = ms(PING_TIMEOUT);
    config.upgrade_timeout = ms(UPGRADE_TIMEOUT);
    config
}

pub(crate) fn client_config(transports: ClientTransports) -> ClientConfig {
    let mut config = ClientConfig::default();
    config.transports = transports;
    config
}

pub(crate) fn text(text: &str) -> Message {
    Message::from(text)
}

pub(crate) fn bin(data: &[u8]) -> Message {
    Message::Binary(Bytes::copy_from_slice(data))
}

pub(crate) fn sid() -> Sid {
    Sid::from_random([7; 15])
}

/// The phases of the GET in flight.
#[derive(Debug)]
pub(crate) enum Get {
    /// Asked for by the client, not yet at the server.
    Sent,
    /// Held by the server.
    AtServer,
    /// Answered; the response is on its way back.
    Answered(Bytes),
}

/// The phases of the POST in flight.
#[derive(Debug)]
pub(crate) enum Post {
    Sent(Bytes),
    /// Handled by the server; the status (200 or not) is on its way back.
    Answered {
        ok: bool,
    },
}

#[derive(Debug)]
pub(crate) enum WsItem {
    Frame(Frame),
    Close,
}

#[derive(Debug, Default)]
pub(crate) struct Ws {
    /// `Some(sid)` until the WebSocket handshake is done.
    pub(crate) connecting: Option<Option<Sid>>,
    pub(crate) up: VecDeque<WsItem>,
    pub(crate) down: VecDeque<WsItem>,
    /// The client closed it, or was told it closed: nothing more reaches the client.
    pub(crate) client_gone: bool,
    pub(crate) server_gone: bool,
}

pub(crate) fn render_body(body: &[u8]) -> String {
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

pub(crate) fn render_frame(frame: &Frame) -> String {
    match frame {
        Frame::Text(text) if text.starts_with("0{") => "0{…}".to_owned(),
        Frame::Text(text) => text.to_string(),
        Frame::Binary(data) => format!("bin{:?}", data.to_vec()),
    }
}

/// One client, the server session it opens, and the network between them.
pub(crate) struct Net {
    pub(crate) start: Instant,
    pub(crate) now: Instant,
    pub(crate) client: ClientSession,
    pub(crate) server: Option<ServerSession>,
    pub(crate) server_config: SessionConfig,
    pub(crate) get: Option<Get>,
    pub(crate) post: Option<Post>,
    pub(crate) ws: Option<Ws>,
    /// The server refuses WebSocket connections (a proxy that blocks them).
    pub(crate) refuse_websocket: bool,
    pub(crate) log: Vec<String>,
    pub(crate) client_events: Vec<ClientEvent>,
    pub(crate) server_events: Vec<Event>,
}

impl Net {
    pub(crate) fn new(config: ClientConfig) -> Self {
        Self::with_server(config, server_config())
    }

    pub(crate) fn with_server(config: ClientConfig, server_config: SessionConfig) -> Self {
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
    pub(crate) fn open(config: ClientConfig) -> Self {
        let mut net = Self::new(config);
        net.pump();
        assert!(net.client.is_open(), "{:?}", net.client_events);
        assert!(matches!(net.client_events[0], ClientEvent::Open(_)));
        net.log.clear();
        net.client_events.clear();
        net.server_events.clear();
        net
    }

    pub(crate) fn server(&mut self) -> &mut ServerSession {
        self.server.as_mut().expect("no server session yet")
    }

    pub(crate) fn new_server(&mut self, transport: TransportKind) -> &mut ServerSession {
        assert!(self.server.is_none(), "a second handshake");
        self.server.insert(ServerSession::new(
            sid(),
            transport,
            self.server_config.clone(),
            self.now,
        ))
    }

    pub(crate) fn check_sid(&self, sid: Option<&Sid>) {
        if let Some(sid) = sid {
            assert_eq!(Some(sid), self.server.as_ref().map(ServerSession::sid));
        }
    }

    // -- routing what both sides transmit --------------------------------------------

    /// Moves what both sides transmitted onto the network, and collects their events.
    pub(crate) fn route(&mut self) {
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

    pub(crate) fn route_client(&mut self, transmit: ClientTransmit) {
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

    pub(crate) fn route_server(&mut self, transmit: engineio_core::Transmit) {
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

    pub(crate) fn ws_connect(&mut self) -> bool {
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

    pub(crate) fn ws_up(&mut self) -> bool {
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

    pub(crate) fn ws_down(&mut self) -> bool {
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

    pub(crate) fn get_to_server(&mut self) -> bool {
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

    pub(crate) fn get_to_client(&mut self) -> bool {
        let Some(Get::Answered(body)) = self.get.take_if(|get| matches!(get, Get::Answered(_)))
        else {
            return false;
        };
        self.client.handle_poll_response(body, self.now);
        self.route();
        true
    }

    pub(crate) fn post_to_server(&mut self) -> bool {
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

    pub(crate) fn post_to_client(&mut self) -> bool {
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
    pub(crate) fn step(&mut self, order: &[fn(&mut Self) -> bool]) -> bool {
        order.iter().any(|delivery| delivery(self))
    }

    /// Delivers everything until the network is quiet (the GET held by the server).
    pub(crate) fn pump(&mut self) {
        self.pump_with(&Self::ALL);
    }

    pub(crate) const ALL: [fn(&mut Self) -> bool; 7] = [
        Self::ws_connect,
        Self::ws_up,
        Self::ws_down,
        Self::get_to_server,
        Self::get_to_client,
        Self::post_to_server,
        Self::post_to_client,
    ];

    /// Like `pump`, with only some kinds of delivery.
    pub(crate) fn pump_with(&mut self, order: &[fn(&mut Self) -> bool]) {
        self.route();
        for _ in 0..100_000 {
            if !self.step(order) {
                return;
            }
        }
        panic!("the network does not settle: {:?}", self.log);
    }

    // -- time ----------------------------------------------------------------------

    pub(crate) fn millis(&self) -> u64 {
        u64::try_from(self.now.duration_since(self.start).as_millis()).unwrap()
    }

    /// Moves the clock to `millis` after the start and fires both sides' timers, without
    /// delivering anything.
    pub(crate) fn tick(&mut self, millis: u64) {
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
    pub(crate) fn tick_client(&mut self, millis: u64) {
        let now = self.start + ms(millis);
        assert!(now >= self.now, "the virtual clock never goes back");
        self.now = now;
        self.client.handle_timeout(now);
        self.route();
    }

    /// Runs a healthy network until `millis`: every timer fires when due and everything
    /// is delivered at once.
    pub(crate) fn run_until(&mut self, millis: u64) {
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

    pub(crate) fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    pub(crate) fn take_client_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.client_events)
    }

    pub(crate) fn take_server_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.server_events)
    }

    /// The messages the client received, dropping pings.
    pub(crate) fn client_messages(&mut self) -> Vec<Message> {
        self.take_client_events()
            .into_iter()
            .filter_map(|event| match event {
                ClientEvent::Message(message) => Some(message),
                ClientEvent::Ping => None,
                other => panic!("unexpected client event {other:?}"),
            })
            .collect()
    }

    pub(crate) fn server_messages(&mut self) -> Vec<Message> {
        self.take_server_events()
            .into_iter()
            .map(|event| match event {
                Event::Message(message) => message,
                other => panic!("unexpected server event {other:?}"),
            })
            .collect()
    }

    pub(crate) fn client_send(&mut self, message: Message) {
        self.client.send(message).unwrap();
        self.route();
    }

    pub(crate) fn server_send(&mut self, message: Message) {
        self.server().send(message).unwrap();
        self.route();
    }
}

/// A client alone, opened over polling with a canned handshake at the returned instant,
/// its outputs drained.
pub(crate) fn bare_polling_client(handshake: &str) -> (ClientSession, Instant) {
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

pub(crate) const NOTHING: [&str; 0] = [];
pub(crate) const NO_EVENTS: [ClientEvent; 0] = [];

pub(crate) const HANDSHAKE: &str =
    r#"{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;

/// The message a client event carries, if it is one.
pub(crate) fn client_message(event: &ClientEvent) -> Option<Message> {
    match event {
        ClientEvent::Message(message) => Some(message.clone()),
        _ => None,
    }
}

/// The message a server event carries, if it is one.
pub(crate) fn server_message(event: &Event) -> Option<Message> {
    match event {
        Event::Message(message) => Some(message.clone()),
        _ => None,
    }
}
