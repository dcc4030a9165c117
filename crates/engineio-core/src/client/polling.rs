//! Long-polling: one GET always waiting for the server's packets, and POSTs for the
//! client's, one at a time ("a client MUST NOT have more than one active `POST`
//! request"; the same for `GET`). What is sent while a POST is in flight goes in the
//! next one, within the server's `maxPayload`.

use std::time::Instant;

use bytes::Bytes;

use super::{ClientCloseReason, ClientSession, ClientTransmit, State};
use crate::{Packet, PayloadEncoder, TransportKind, decode_payload};

impl ClientSession {
    /// The response to the GET in flight arrived, with this body. Its packets are handled
    /// in order; a body that does not decode closes the session with "parse error", after
    /// the packets before the bad one were handled.
    pub fn handle_poll_response(&mut self, body: Bytes, now: Instant) {
        if !self.get_in_flight || self.state == State::Closed {
            return;
        }
        self.get_in_flight = false;
        match decode_payload(body, self.config.payload_limits()) {
            Ok(packets) => {
                for packet in packets {
                    match packet {
                        Ok(packet) => self.handle_packet(packet, now),
                        Err(err) => self.finish(ClientCloseReason::ParseError(err), true),
                    }
                    // A `close` packet ends the payload: the rest is not for this session.
                    if !self.is_live() {
                        break;
                    }
                }
            }
            Err(err) => self.finish(ClientCloseReason::ParseError(err), true),
        }
        if self.upgrade.is_pausing() {
            self.try_switch();
        } else {
            self.poll();
        }
        self.check_heartbeat(now);
    }

    /// The GET in flight failed (a network error, or a status other than 200): the
    /// session closes with "transport error".
    pub fn handle_poll_error(&mut self, now: Instant) {
        if !self.get_in_flight || self.state == State::Closed {
            return;
        }
        self.get_in_flight = false;
        self.finish(
            ClientCloseReason::TransportError(TransportKind::Polling),
            true,
        );
        self.check_heartbeat(now);
    }

    /// The POST in flight was answered with 200: the next one may go.
    pub fn handle_post_done(&mut self, now: Instant) {
        if !self.post_in_flight || self.state == State::Closed {
            return;
        }
        self.post_in_flight = false;
        if self.upgrade.is_pausing() {
            self.try_switch();
        } else {
            self.flush();
        }
        self.check_heartbeat(now);
    }

    /// The POST in flight failed (a network error, or a status other than 200): the
    /// session closes with "transport error".
    pub fn handle_post_error(&mut self, now: Instant) {
        if !self.post_in_flight || self.state == State::Closed {
            return;
        }
        self.post_in_flight = false;
        self.finish(
            ClientCloseReason::TransportError(TransportKind::Polling),
            true,
        );
        self.check_heartbeat(now);
    }

    /// Asks for the next GET, unless one is in flight or polling is paused for an
    /// upgrade. A closing session keeps polling until its `close` packet is out, as the
    /// reference does.
    pub(super) fn poll(&mut self) {
        if self.state == State::Closed
            || self.transport != TransportKind::Polling
            || self.get_in_flight
            || self.upgrade.is_pausing()
        {
            return;
        }
        self.get_in_flight = true;
        self.transmits.push_back(ClientTransmit::Get {
            sid: self.sid().cloned(),
        });
    }

    /// Sends what is queued in one POST, up to the server's `maxPayload` (the first
    /// packet always goes, alone if it must). The POST that carries the `close` packet
    /// ends the session.
    pub(super) fn flush_post(&mut self) {
        if self.post_in_flight || self.upgrade.is_pausing() || self.queue.is_empty() {
            return;
        }
        let Some(sid) = self.sid().cloned() else {
            return;
        };
        // A handshake without `maxPayload` (or with 0) sets no limit, as in the reference.
        let budget = match self
            .handshake
            .as_ref()
            .map(|handshake| handshake.max_payload)
        {
            None | Some(0) => usize::MAX,
            Some(max) => usize::try_from(max).unwrap_or(usize::MAX),
        };
        let mut payload = PayloadEncoder::new(budget);
        let mut closes = false;
        while let Some(packet) = self.queue.front() {
            if !payload.try_push(packet) {
                break;
            }
            closes = *packet == Packet::Close;
            self.queue.pop_front();
            if closes {
                break;
            }
        }
        self.post_in_flight = true;
        self.transmits.push_back(ClientTransmit::Post {
            sid,
            body: payload.finish(),
        });
        if closes {
            self.finish(ClientCloseReason::ForcedClose, false);
        }
    }
}
