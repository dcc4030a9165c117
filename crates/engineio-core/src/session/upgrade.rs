//! The upgrade from polling to WebSocket: the client opens a WebSocket with the session
//! id and sends `2probe`; the server answers `3probe` and releases the pending GET with a
//! `noop`; the client sends `5` and the WebSocket becomes the session's transport. A
//! WebSocket that does not finish within `upgrade_timeout`, or says anything else, is
//! closed and the session stays on polling.

use std::time::Instant;

use super::{Event, ServerSession, State, Timer, Transmit};
use crate::{CloseReason, Frame, Packet, RequestError, TransportError, TransportKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Upgrade {
    None,
    /// A WebSocket is open; its `2probe` has not come yet.
    Probing,
    /// The probe was answered; the client is pausing polling before it sends `5`.
    Probed,
}

impl Upgrade {
    pub(super) fn is_active(self) -> bool {
        self != Self::None
    }

    pub(super) fn is_probed(self) -> bool {
        self == Self::Probed
    }
}

impl ServerSession {
    /// A WebSocket for this session has been accepted. For a polling session it starts
    /// the upgrade; it is refused when the session is already on WebSocket, an upgrade
    /// is under way, or upgrades are off.
    pub fn handle_ws_open(&mut self, now: Instant) -> Result<(), RequestError> {
        if self.state != State::Open {
            return Err(RequestError::Closed);
        }
        if self.transport != TransportKind::Polling
            || self.upgrade.is_active()
            || !self.config.allow_upgrade
        {
            return Err(RequestError::TransportMismatch);
        }
        self.upgrade = Upgrade::Probing;
        self.timers
            .set_after(Timer::Upgrade, now, self.config.upgrade_timeout);
        Ok(())
    }

    /// A frame arrived on the session's WebSocket.
    pub fn handle_ws_frame(&mut self, frame: Frame, now: Instant) {
        self.handle_ws_frame_with_clock(frame, || now);
    }

    /// [`handle_ws_frame`](Self::handle_ws_frame) with the time asked of `clock`, and only
    /// when the frame needs it: a message, the most common frame, does not. For a driver
    /// whose clock costs a read of the system's.
    pub fn handle_ws_frame_with_clock(&mut self, frame: Frame, clock: impl FnOnce() -> Instant) {
        if self.state != State::Open {
            return;
        }
        let packet = Packet::decode_frame(frame);
        if self.transport == TransportKind::WebSocket {
            match packet {
                Ok(packet) => self.handle_packet(packet, clock),
                Err(_) => self.close_with(CloseReason::ParseError, false, clock()),
            }
            return;
        }
        match (self.upgrade, packet) {
            (Upgrade::None, _) => {}
            (Upgrade::Probing, Ok(Packet::Ping(data))) if data == "probe" => {
                self.transmits
                    .push_back(Transmit::WebSocket(Packet::probe_pong().to_frame()));
                self.upgrade = Upgrade::Probed;
                self.flush_poll();
            }
            (Upgrade::Probed, Ok(Packet::Upgrade)) => self.complete_upgrade(),
            _ => self.cancel_upgrade(),
        }
    }

    /// The session's WebSocket closed, cleanly (`None`) or not. The session closes if it
    /// was its transport; a WebSocket that was being probed only ends the upgrade.
    pub fn handle_ws_closed(&mut self, error: Option<TransportError>, now: Instant) {
        if self.transport == TransportKind::WebSocket {
            let reason = error.map_or(CloseReason::TransportClose, CloseReason::TransportError);
            self.close_with(reason, false, now);
        } else if self.upgrade.is_active() {
            self.upgrade = Upgrade::None;
            self.timers.cancel(Timer::Upgrade);
        }
    }

    pub(super) fn cancel_upgrade(&mut self) {
        if self.upgrade.is_active() {
            self.upgrade = Upgrade::None;
            self.timers.cancel(Timer::Upgrade);
            self.transmits.push_back(Transmit::CloseWebSocket);
        }
    }

    fn complete_upgrade(&mut self) {
        self.upgrade = Upgrade::None;
        self.timers.cancel(Timer::Upgrade);
        if self.poll_pending {
            self.poll_pending = false;
            self.transmits
                .push_back(Transmit::Poll(bytes::Bytes::from_static(b"6")));
        }
        self.transport = TransportKind::WebSocket;
        while let Some(packet) = self.buffer.pop_front() {
            self.transmits
                .push_back(Transmit::WebSocket(packet.to_frame()));
        }
        self.events.push_back(Event::Upgraded);
    }
}
