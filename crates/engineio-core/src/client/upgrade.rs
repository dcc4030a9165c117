//! The upgrade from long-polling to WebSocket, as the reference client does it: once
//! open over polling, and when the handshake lists `websocket`, open a WebSocket with
//! the session id and send `2probe`; on `3probe`, pause polling (let the GET in flight
//! end, which the server answers with `noop`, and the POST in flight too), then send `5`
//! on the WebSocket, which becomes the session's transport, and flush there what was
//! queued meanwhile. A probe that fails (an error, another answer, the WebSocket closed)
//! leaves the session on polling, for good.

use super::{ClientEvent, ClientSession, ClientTransmit};
use crate::{Frame, Packet, TransportKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Upgrade {
    /// No probe: none yet, none wanted, or it is over.
    Idle,
    /// The probe WebSocket is being opened.
    Connecting,
    /// `2probe` is sent; `3probe` is awaited.
    Probing,
    /// `3probe` came; waiting for the GET and POST in flight to end.
    Pausing,
}

impl Upgrade {
    /// Whether a probe WebSocket exists.
    fn is_live(self) -> bool {
        self != Self::Idle
    }

    pub(super) fn is_pausing(self) -> bool {
        self == Self::Pausing
    }
}

impl ClientSession {
    pub(super) fn start_probe(&mut self) {
        // The reference forgets a prior WebSocket success while it probes.
        self.websocket_succeeded = false;
        self.upgrade = Upgrade::Connecting;
        self.transmits.push_back(ClientTransmit::OpenWebSocket {
            sid: self.sid().cloned(),
        });
    }

    /// Whether the driver's WebSocket inputs are about the probe.
    pub(super) fn is_probing(&self) -> bool {
        self.transport == TransportKind::Polling && self.upgrade.is_live()
    }

    pub(super) fn handle_probe_opened(&mut self) {
        if self.upgrade == Upgrade::Connecting {
            self.upgrade = Upgrade::Probing;
            self.transmits
                .push_back(ClientTransmit::WebSocket(Packet::probe_ping().to_frame()));
        }
    }

    pub(super) fn handle_probe_frame(&mut self, frame: Frame) {
        let answer = Packet::decode_frame(frame);
        if self.upgrade == Upgrade::Probing
            && answer.is_ok_and(|packet| packet == Packet::probe_pong())
        {
            self.upgrade = Upgrade::Pausing;
            self.websocket_succeeded = true;
            self.try_switch();
        } else {
            self.probe_failed(true);
        }
    }

    /// The probe failed. `close_websocket` says whether its WebSocket is still there to
    /// be closed. Polling resumes if it was pausing.
    pub(super) fn probe_failed(&mut self, close_websocket: bool) {
        if !self.upgrade.is_live() {
            return;
        }
        self.upgrade = Upgrade::Idle;
        if close_websocket {
            self.transmits.push_back(ClientTransmit::CloseWebSocket);
        }
        self.events.push_back(ClientEvent::UpgradeFailed);
        self.poll();
        self.flush();
    }

    /// Abandons the probe, when the session closes.
    pub(super) fn cancel_probe(&mut self) {
        if self.is_probing() {
            self.upgrade = Upgrade::Idle;
            self.transmits.push_back(ClientTransmit::CloseWebSocket);
        }
    }

    /// Switches to the WebSocket once polling is paused: no GET and no POST in flight.
    pub(super) fn try_switch(&mut self) {
        if !self.upgrade.is_pausing()
            || !self.is_live()
            || self.get_in_flight
            || self.post_in_flight
        {
            return;
        }
        self.upgrade = Upgrade::Idle;
        self.transport = TransportKind::WebSocket;
        self.transmits
            .push_back(ClientTransmit::WebSocket(Packet::Upgrade.to_frame()));
        self.events.push_back(ClientEvent::Upgraded);
        self.flush();
    }
}
