//! The client side of one Engine.IO session, as a state machine.

mod close;
mod config;
mod heartbeat;
mod output;
mod polling;
mod reason;
mod upgrade;
mod websocket;

use std::{collections::VecDeque, time::Instant};

use crate::{DecodeError, Handshake, Message, Packet, SendError, Sid, TransportKind};
pub use config::{ClientConfig, ClientTransports};
use heartbeat::Heartbeat;
pub use output::{ClientEvent, ClientTransmit};
pub use reason::ClientCloseReason;
use upgrade::Upgrade;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the handshake.
    Opening,
    Open,
    /// The application closed: the queue is going out, ending with a `close` packet.
    Closing,
    Closed,
}

/// The client side of one Engine.IO v4 session: the handshake, the long-polling loop,
/// the heartbeat, the upgrade to WebSocket and the close, with no IO and no clock.
///
/// The driver that owns it performs what [`poll_transmit`](Self::poll_transmit) asks
/// (HTTP requests, a WebSocket) and reports how each went, with the current time:
/// [`handle_poll_response`](Self::handle_poll_response) /
/// [`handle_poll_error`](Self::handle_poll_error) for a GET,
/// [`handle_post_done`](Self::handle_post_done) /
/// [`handle_post_error`](Self::handle_post_error) for a POST,
/// [`handle_ws_opened`](Self::handle_ws_opened), [`handle_ws_frame`](Self::handle_ws_frame),
/// [`handle_ws_error`](Self::handle_ws_error) and [`handle_ws_closed`](Self::handle_ws_closed)
/// for the WebSocket. The application's inputs are [`send`](Self::send) and
/// [`close`](Self::close). After every input the driver drains the outputs:
/// [`poll_transmit`](Self::poll_transmit) until `None`, [`poll_event`](Self::poll_event)
/// until `None`, then re-arms its single timer with [`poll_timeout`](Self::poll_timeout)
/// and calls [`handle_timeout`](Self::handle_timeout) when it fires (and
/// [`check_wall_clock`](Self::check_wall_clock) whenever the process may have been
/// suspended). Once [`is_closed`](Self::is_closed) is true the driver carries out the
/// transmits it has drained (the last may be a POST with the `close` packet), drops
/// everything else and the session.
///
/// The session asks for at most one GET and one POST at a time, as the protocol
/// requires; messages sent while a POST is in flight go together in the next one, up to
/// the server's `maxPayload`.
///
/// ```
/// use std::time::Instant;
/// use engineio_core::{ClientConfig, ClientEvent, ClientSession, ClientTransmit, Message};
///
/// let now = Instant::now();
/// let mut client = ClientSession::new(ClientConfig::default(), now);
///
/// // The handshake GET, and its response.
/// assert_eq!(client.poll_transmit(), Some(ClientTransmit::Get { sid: None }));
/// client.handle_poll_response(
///     r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#.into(),
///     now,
/// );
/// let Some(ClientEvent::Open(handshake)) = client.poll_event() else { panic!() };
/// assert_eq!(handshake.sid.as_str(), "abc");
///
/// // The next GET waits for the server's packets; a message goes out in a POST.
/// assert_eq!(client.poll_transmit(), Some(ClientTransmit::Get { sid: Some("abc".into()) }));
/// client.send(Message::from("hello")).unwrap();
/// assert_eq!(
///     client.poll_transmit(),
///     Some(ClientTransmit::Post { sid: "abc".into(), body: "4hello".into() })
/// );
///
/// // A ping arrives; the pong waits for the POST in flight, then goes out.
/// client.handle_poll_response("2".into(), now);
/// assert_eq!(client.poll_event(), Some(ClientEvent::Ping));
/// assert_eq!(client.poll_transmit(), Some(ClientTransmit::Get { sid: Some("abc".into()) }));
/// client.handle_post_done(now);
/// assert_eq!(
///     client.poll_transmit(),
///     Some(ClientTransmit::Post { sid: "abc".into(), body: "3".into() })
/// );
/// ```
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    state: State,
    /// The transport the session uses (or opens with).
    transport: TransportKind,
    handshake: Option<Handshake>,
    /// Packets not yet handed to a transport.
    queue: VecDeque<Packet>,
    get_in_flight: bool,
    post_in_flight: bool,
    upgrade: Upgrade,
    heartbeat: Heartbeat,
    websocket_succeeded: bool,
    transmits: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
}

impl ClientSession {
    /// Starts opening a session: over long-polling (a handshake GET) when it is allowed,
    /// otherwise over WebSocket (see [`ClientConfig::remember_upgrade`]).
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        // Nothing is timed before the handshake: how long to wait for it is the
        // driver's (the reference client leaves it to Socket.IO's manager too).
        let _ = now;
        let transport = config.first_transport();
        let websocket_succeeded = config.prior_websocket_success;
        let mut session = Self {
            config,
            state: State::Opening,
            transport,
            handshake: None,
            queue: VecDeque::new(),
            get_in_flight: false,
            post_in_flight: false,
            upgrade: Upgrade::Idle,
            heartbeat: Heartbeat::default(),
            websocket_succeeded,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        match transport {
            TransportKind::Polling => session.poll(),
            TransportKind::WebSocket => session
                .transmits
                .push_back(ClientTransmit::OpenWebSocket { sid: None }),
        }
        session
    }

    /// The configuration the session was opened with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The session id, once the handshake has arrived.
    pub fn sid(&self) -> Option<&Sid> {
        self.handshake.as_ref().map(|handshake| &handshake.sid)
    }

    /// The server's handshake, once it has arrived.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// The transport the session uses, or opens with.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// Whether the handshake has arrived and the session is neither closing nor closed.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the session is finished: nothing more will be transmitted or delivered.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether the session holds `max_buffered_packets` unsent packets, so that
    /// [`send`](Self::send) would fail with [`SendError::Full`]. A driver stops taking
    /// messages from the application while it is.
    pub fn is_send_buffer_full(&self) -> bool {
        self.queue.len() >= self.config.max_buffered_packets
    }

    /// Whether this session opened over, or upgraded to, WebSocket, and no transport
    /// failed since: the reference client's `priorWebsocketSuccess`. A driver passes it
    /// on to the next session as [`ClientConfig::prior_websocket_success`].
    pub fn websocket_succeeded(&self) -> bool {
        self.websocket_succeeded
    }

    /// Queues a message. It goes out at once when the transport can take it, otherwise
    /// as soon as it can: after the handshake, behind the POST in flight, after the
    /// upgrade. Messages go out in the order they were sent.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        if matches!(self.state, State::Closing | State::Closed) {
            return Err(SendError::Closed);
        }
        if self.is_send_buffer_full() {
            return Err(SendError::Full);
        }
        self.queue.push_back(Packet::Message(message));
        self.flush();
        Ok(())
    }

    /// The next thing to do on the network.
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_live() {
            self.heartbeat.deadline()
        } else {
            None
        }
    }

    /// Open, or closing but still exchanging packets.
    fn is_live(&self) -> bool {
        matches!(self.state, State::Open | State::Closing)
    }

    /// Handles a packet that arrived on the session's transport.
    fn handle_packet(&mut self, packet: Packet, now: Instant) {
        match self.state {
            State::Opening => match packet {
                Packet::Open(handshake) => self.handle_open(handshake, now),
                _ => self.finish(
                    ClientCloseReason::ParseError(DecodeError::Handshake(
                        "the first packet is not the open packet".to_owned(),
                    )),
                    true,
                ),
            },
            State::Open | State::Closing => match packet {
                Packet::Ping(_) => self.handle_ping(now),
                Packet::Message(message) => self.events.push_back(ClientEvent::Message(message)),
                Packet::Close => self.finish(ClientCloseReason::TransportClose, true),
                // A second handshake, a pong (a v4 client pings only to probe), an
                // upgrade or a noop mean nothing to a client on its transport.
                Packet::Open(_) | Packet::Pong(_) | Packet::Upgrade | Packet::Noop => {}
            },
            State::Closed => {}
        }
    }

    fn handle_open(&mut self, handshake: Handshake, now: Instant) {
        let probe = self.transport == TransportKind::Polling
            && self.config.upgrade
            && self.config.transports.allows(TransportKind::WebSocket)
            && handshake.upgrades.iter().any(|name| name == "websocket");
        self.state = State::Open;
        // The reference: `priorWebsocketSuccess = "websocket" === transport.name`.
        self.websocket_succeeded = self.transport == TransportKind::WebSocket;
        self.handshake = Some(handshake.clone());
        self.start_heartbeat(now);
        self.events.push_back(ClientEvent::Open(handshake));
        self.flush();
        if probe {
            self.start_probe();
        }
    }

    /// Hands queued packets to the transport, as far as it can take them now.
    fn flush(&mut self) {
        if !self.is_live() {
            return;
        }
        match self.transport {
            TransportKind::WebSocket => {
                while let Some(packet) = self.queue.pop_front() {
                    self.transmits
                        .push_back(ClientTransmit::WebSocket(packet.to_frame()));
                    if packet == Packet::Close {
                        self.finish(ClientCloseReason::ForcedClose, true);
                        return;
                    }
                }
            }
            TransportKind::Polling => self.flush_post(),
        }
    }

    /// Ends the session. `close_websocket` says whether the session's WebSocket is still
    /// there to be closed (it is not when the driver reported it closed or failed).
    fn finish(&mut self, reason: ClientCloseReason, close_websocket: bool) {
        if self.state == State::Closed {
            return;
        }
        if matches!(reason, ClientCloseReason::TransportError(_)) {
            // The reference forgets a WebSocket success on any transport error.
            self.websocket_succeeded = false;
        }
        // Whatever ends a session the application is closing, it ends as it asked.
        let reason = if self.state == State::Closing {
            ClientCloseReason::ForcedClose
        } else {
            reason
        };
        self.cancel_probe();
        if close_websocket && self.transport == TransportKind::WebSocket {
            self.transmits.push_back(ClientTransmit::CloseWebSocket);
        }
        self.state = State::Closed;
        self.queue.clear();
        self.heartbeat.stop();
        self.get_in_flight = false;
        self.post_in_flight = false;
        self.events.push_back(ClientEvent::Closed(reason));
    }
}
