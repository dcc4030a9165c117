//! The scripted peer: a `ServerSession` on a virtual clock, and what it transmits as short strings.

use super::*;

pub(crate) const PING_INTERVAL: u64 = 300;
pub(crate) const PING_TIMEOUT: u64 = 200;
pub(crate) const UPGRADE_TIMEOUT: u64 = 100;

pub(crate) fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The official v4 test suite's timings, and a short upgrade timeout.
pub(crate) fn config() -> SessionConfig {
    let mut config = SessionConfig::default();
    config.ping_interval = ms(PING_INTERVAL);
    config.ping_timeout = ms(PING_TIMEOUT);
    config.upgrade_timeout = ms(UPGRADE_TIMEOUT);
    config
}

pub(crate) fn msg(text: &str) -> Event {
    Event::Message(Message::from(text))
}

pub(crate) fn closed(reason: CloseReason) -> Event {
    Event::Closed(reason)
}

pub(crate) fn render(transmit: Transmit) -> String {
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
pub(crate) struct Peer {
    pub(crate) session: ServerSession,
    pub(crate) start: Instant,
    pub(crate) now: Instant,
}

impl Peer {
    pub(crate) fn new(transport: TransportKind, config: SessionConfig) -> Self {
        let start = Instant::now();
        let session = ServerSession::new(Sid::from_random([7; 15]), transport, config, start);
        Self {
            session,
            start,
            now: start,
        }
    }

    /// A polling session whose handshake GET has been answered and drained.
    pub(crate) fn polling_with(config: SessionConfig) -> Self {
        let mut peer = Self::new(TransportKind::Polling, config);
        peer.get().unwrap();
        let out = peer.out();
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("poll:0{\"sid\":"), "{out:?}");
        peer
    }

    pub(crate) fn polling() -> Self {
        Self::polling_with(config())
    }

    /// A WebSocket-only session whose handshake frame has been drained.
    pub(crate) fn websocket() -> Self {
        let mut peer = Self::new(TransportKind::WebSocket, config());
        let out = peer.out();
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("ws:0{\"sid\":"), "{out:?}");
        peer
    }

    /// A polling session upgraded to WebSocket, everything drained.
    pub(crate) fn upgraded() -> Self {
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
    pub(crate) fn at(&mut self, millis: u64) -> &mut Self {
        let now = self.start + ms(millis);
        assert!(now >= self.now, "the virtual clock never goes back");
        self.now = now;
        self
    }

    /// Moves the clock to `millis` and fires the timers due by then.
    pub(crate) fn tick(&mut self, millis: u64) {
        self.at(millis);
        self.session.handle_timeout(self.now);
    }

    pub(crate) fn deadline(&self) -> Option<u64> {
        self.session
            .poll_timeout()
            .map(|at| u64::try_from(at.duration_since(self.start).as_millis()).unwrap())
    }

    pub(crate) fn get(&mut self) -> Result<(), RequestError> {
        self.session.handle_poll(self.now)
    }

    pub(crate) fn drop_get(&mut self) {
        self.session.handle_poll_dropped(self.now);
    }

    /// A whole POST: its start, then its body.
    pub(crate) fn post(&mut self, body: impl Into<Bytes>) -> Result<(), RequestError> {
        self.session.handle_post_start(self.now)?;
        self.session.handle_post(body.into(), self.now)
    }

    pub(crate) fn ws_open(&mut self) -> Result<(), RequestError> {
        self.session.handle_ws_open(self.now)
    }

    pub(crate) fn ws(&mut self, text: &str) {
        self.session
            .handle_ws_frame(Frame::Text(text.into()), self.now);
    }

    pub(crate) fn ws_bin(&mut self, data: &'static [u8]) {
        self.session
            .handle_ws_frame(Frame::Binary(Bytes::from_static(data)), self.now);
    }

    pub(crate) fn ws_closed(&mut self, error: Option<TransportError>) {
        self.session.handle_ws_closed(error, self.now);
    }

    pub(crate) fn send(&mut self, text: &str) -> Result<(), SendError> {
        self.session.send(Message::from(text))
    }

    pub(crate) fn close(&mut self, reason: CloseReason) {
        self.session.close(reason, self.now);
    }

    /// Everything transmitted since the last call.
    pub(crate) fn out(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.session.poll_transmit())
            .map(render)
            .collect()
    }

    /// Every event since the last call.
    pub(crate) fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.session.is_closed()
    }
}

/// The handshake object of a rendered `open` packet.
pub(crate) fn handshake_json(rendered: &str) -> serde_json::Map<String, serde_json::Value> {
    let json = rendered
        .strip_prefix("poll:0")
        .or_else(|| rendered.strip_prefix("ws:0"))
        .unwrap_or_else(|| panic!("not an open packet: {rendered}"));
    match serde_json::from_str(json).unwrap() {
        serde_json::Value::Object(map) => map,
        other => panic!("handshake is not an object: {other}"),
    }
}
