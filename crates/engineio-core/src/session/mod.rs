//! The server side of one Engine.IO session, as a state machine.

mod heartbeat;
mod polling;
mod timers;
mod upgrade;

use std::{collections::VecDeque, time::Instant};

use bytes::Bytes;
use bytestring::ByteString;

use crate::{
    CloseReason, Frame, Handshake, InlineQueue, Message, Packet, SendError, SessionConfig, Sid,
    TransportKind,
};
use timers::{Timer, Timers};
use upgrade::Upgrade;

/// Something the driver must write to a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmit {
    /// The body of the response to the pending long-polling GET.
    Poll(Bytes),
    /// A frame for the session's WebSocket (the active one, or the one being probed).
    WebSocket(Frame),
    /// Close the session's WebSocket (the active one, or the one being probed).
    CloseWebSocket,
}

/// Something that happened to the session, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The client sent a message.
    Message(Message),
    /// The session moved from polling to WebSocket.
    Upgraded,
    /// The session closed; no message is accepted or delivered after this.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Closed for the application; a final long-polling response is still owed.
    Closing,
    Closed,
}

/// The server side of one Engine.IO session: handshake, heartbeat, the long-polling
/// buffer, the upgrade to WebSocket and the close, with no IO and no clock.
///
/// The driver that owns it feeds it inputs, each with the current time:
/// [`handle_poll`](Self::handle_poll), [`handle_post`](Self::handle_post),
/// [`handle_ws_open`](Self::handle_ws_open), [`handle_ws_frame`](Self::handle_ws_frame),
/// [`handle_ws_closed`](Self::handle_ws_closed), [`handle_timeout`](Self::handle_timeout),
/// [`send`](Self::send) and [`close`](Self::close). After every input it drains the
/// outputs: [`poll_transmit`](Self::poll_transmit) until `None` (writing each to its
/// transport), [`poll_event`](Self::poll_event) until `None`, then re-arms its single
/// timer with [`poll_timeout`](Self::poll_timeout). Once
/// [`is_closed`](Self::is_closed) is true the session is finished and can be dropped.
///
/// ```
/// use std::time::{Duration, Instant};
/// use engineio_core::{Event, Message, Packet, ServerSession, SessionConfig, Sid, Transmit, TransportKind};
///
/// let start = Instant::now();
/// let config = SessionConfig::default();
/// let mut session = ServerSession::new(Sid::from_random([1; 15]), TransportKind::Polling, config, start);
///
/// // The handshake GET receives the open packet.
/// session.handle_poll(start).unwrap();
/// let Some(Transmit::Poll(body)) = session.poll_transmit() else { panic!() };
/// assert!(body.starts_with(b"0{\"sid\":"));
///
/// // A POST delivers a message.
/// session.handle_post("4hello".into(), start).unwrap();
/// assert_eq!(session.poll_event(), Some(Event::Message(Message::from("hello"))));
///
/// // The server pings after `ping_interval`, through the next GET.
/// session.handle_poll(start).unwrap();
/// assert_eq!(session.poll_timeout(), Some(start + Duration::from_secs(25)));
/// session.handle_timeout(start + Duration::from_secs(25));
/// assert_eq!(session.poll_transmit(), Some(Transmit::Poll("2".into())));
/// ```
#[derive(Debug)]
pub struct ServerSession {
    sid: Sid,
    config: SessionConfig,
    transport: TransportKind,
    state: State,
    /// Packets waiting for a long-polling GET.
    buffer: VecDeque<Packet>,
    poll_pending: bool,
    post_in_flight: bool,
    upgrade: Upgrade,
    timers: Timers,
    transmits: InlineQueue<Transmit>,
    events: InlineQueue<Event>,
}

impl ServerSession {
    /// Opens a session whose first transport is `transport`, and queues the handshake.
    pub fn new(sid: Sid, transport: TransportKind, config: SessionConfig, now: Instant) -> Self {
        let upgrades = match transport {
            TransportKind::Polling if config.allow_upgrade => vec!["websocket".to_owned()],
            _ => Vec::new(),
        };
        let handshake = Handshake {
            sid: sid.clone(),
            upgrades,
            ping_interval: duration_ms(config.ping_interval),
            ping_timeout: duration_ms(config.ping_timeout),
            max_payload: config.max_payload as u64,
        };
        let mut session = Self {
            sid,
            config,
            transport,
            state: State::Open,
            buffer: VecDeque::new(),
            poll_pending: false,
            post_in_flight: false,
            upgrade: Upgrade::None,
            timers: Timers::default(),
            transmits: InlineQueue::new(),
            events: InlineQueue::new(),
        };
        session.schedule_ping(now);
        session.queue(Packet::Open(handshake));
        session
    }

    /// The session id.
    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    /// The transport the session currently uses.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The configuration the session was opened with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Whether the session is finished: nothing more will be transmitted.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether a long-polling GET is waiting for data.
    pub fn is_poll_pending(&self) -> bool {
        self.poll_pending
    }

    /// Whether the polling buffer holds `max_buffered_packets`, so that
    /// [`send`](Self::send) would fail with [`SendError::Full`]. A driver stops taking
    /// messages from the application while it is.
    pub fn is_send_buffer_full(&self) -> bool {
        self.transport == TransportKind::Polling
            && self.buffer.len() >= self.config.max_buffered_packets
    }

    /// Queues an application message.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.check_send()?;
        self.queue(Packet::Message(message));
        Ok(())
    }

    fn check_send(&self) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        if self.is_send_buffer_full() {
            return Err(SendError::Full);
        }
        Ok(())
    }

    /// Sends a text message given in its frame form: `4` then the text. A server that
    /// sends one message to many sessions (a broadcast) frames it once this way, rather
    /// than once per session as [`send`](Self::send) does. A string that does not start
    /// with `4` is sent whole as a text message.
    pub fn send_framed_text(&mut self, framed: ByteString) -> Result<(), SendError> {
        if framed.as_bytes().first() != Some(&crate::packet::MESSAGE) {
            return self.send(Message::Text(framed));
        }
        self.check_send()?;
        match self.transport {
            TransportKind::WebSocket => {
                self.transmits
                    .push_back(Transmit::WebSocket(Frame::Text(framed)));
            }
            // A polling payload frames each packet itself.
            TransportKind::Polling => {
                let text = framed.slice_ref(framed.get(1..).unwrap_or_default());
                self.queue(Packet::Message(Message::Text(text)));
            }
        }
        Ok(())
    }

    /// Closes the session from the server side. Queued messages are still delivered:
    /// over WebSocket at once, over polling with the next GET (which also carries the
    /// `close` packet), if one comes within `ping_timeout`.
    pub fn close(&mut self, reason: CloseReason, now: Instant) {
        self.close_with(reason, true, now);
    }

    /// Handles a timer expiry. Calling it early, or twice, does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.take_expired(now) {
            match timer {
                Timer::Ping => self.send_ping(now),
                Timer::Pong => self.close_with(CloseReason::PingTimeout, false, now),
                Timer::Upgrade => self.cancel_upgrade(),
                Timer::Close => self.finish(),
            }
        }
    }

    /// The next thing to write to a transport.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Handles a packet that arrived on the session's active transport; `now` is asked
    /// only by those that need the time.
    fn handle_packet(&mut self, packet: Packet, now: impl FnOnce() -> Instant) {
        match packet {
            Packet::Message(message) => self.events.push_back(Event::Message(message)),
            Packet::Pong(_) => self.handle_pong(now()),
            Packet::Close => {
                // The client asked for the close, so a pending GET is released with a
                // `noop`, not told `close` (the v4 test suite's "forcefully closes the
                // session"; the reference does the same).
                if self.poll_pending {
                    self.poll_pending = false;
                    self.transmits
                        .push_back(Transmit::Poll(Bytes::from_static(b"6")));
                }
                self.close_with(CloseReason::TransportClose, false, now());
            }
            // A v4 client pings only to probe, which a polling payload cannot carry;
            // the remaining types mean nothing from a client on its active transport.
            Packet::Ping(_) | Packet::Open(_) | Packet::Upgrade | Packet::Noop => {}
        }
    }

    /// Puts a packet on the active transport, or in the polling buffer.
    fn queue(&mut self, packet: Packet) {
        match self.transport {
            TransportKind::WebSocket => {
                self.transmits
                    .push_back(Transmit::WebSocket(packet.to_frame()));
            }
            TransportKind::Polling => {
                self.buffer.push_back(packet);
                self.flush_poll();
            }
        }
    }

    fn close_with(&mut self, reason: CloseReason, flush: bool, now: Instant) {
        if self.state != State::Open {
            return;
        }
        self.events.push_back(Event::Closed(reason));
        self.state = State::Closing;
        self.timers.clear();
        if !flush {
            self.buffer.clear();
        }
        if self.upgrade.is_active() {
            self.cancel_upgrade();
        }
        match self.transport {
            TransportKind::WebSocket => {
                self.transmits.push_back(Transmit::CloseWebSocket);
                self.finish();
            }
            TransportKind::Polling if self.poll_pending => self.flush_poll(),
            // A close the server asked for waits for the client's next GET, which gets
            // what is queued and the `close` packet, as the reference server does: the
            // client then sees a clean close, not an unknown session.
            TransportKind::Polling if flush => {
                self.timers
                    .set_after(Timer::Close, now, self.config.ping_timeout);
            }
            TransportKind::Polling => self.finish(),
        }
    }

    fn finish(&mut self) {
        self.state = State::Closed;
        self.timers.clear();
        self.buffer.clear();
    }
}

fn duration_ms(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
