//! Long-polling: at most one GET and one POST in flight; a GET takes what is buffered,
//! up to `max_payload`, and the rest waits for the next GET.

use std::time::Instant;

use bytes::Bytes;

use super::{ServerSession, State, Transmit};
use crate::{
    CloseReason, DecodeError, Packet, PayloadEncoder, RequestError, TransportError, TransportKind,
    decode_payload,
};

impl ServerSession {
    /// A long-polling GET arrived for this session. On success the GET is pending until
    /// a [`Transmit::Poll`] answers it. A second GET while one is pending closes the
    /// session (the pending one receives the `close` packet).
    pub fn handle_poll(&mut self, now: Instant) -> Result<(), RequestError> {
        if self.state == State::Closed {
            return Err(RequestError::Closed);
        }
        if self.transport != TransportKind::Polling {
            return Err(RequestError::TransportMismatch);
        }
        if self.poll_pending {
            self.close_with(
                CloseReason::TransportError(TransportError::RequestOverlap),
                false,
                now,
            );
            return Err(RequestError::Overlap);
        }
        self.poll_pending = true;
        self.flush_poll();
        Ok(())
    }

    /// The client of the pending GET went away before it was answered.
    pub fn handle_poll_dropped(&mut self, now: Instant) {
        if !self.poll_pending {
            return;
        }
        self.poll_pending = false;
        match self.state {
            State::Open => self.close_with(
                CloseReason::TransportError(TransportError::PollClosedPrematurely),
                false,
                now,
            ),
            State::Closing => self.finish(),
            State::Closed => {}
        }
    }

    /// A POST started; its body follows with [`handle_post`](Self::handle_post). A
    /// second POST before the first one's body closes the session.
    pub fn handle_post_start(&mut self, now: Instant) -> Result<(), RequestError> {
        if self.state != State::Open {
            return Err(RequestError::Closed);
        }
        if self.transport != TransportKind::Polling {
            return Err(RequestError::TransportMismatch);
        }
        if self.post_in_flight {
            return Err(self.handle_post_overlap(now));
        }
        self.post_in_flight = true;
        Ok(())
    }

    /// A POST started while another one was in flight (a driver that tracks POSTs itself,
    /// and tells the session of one only with its body, reports the overlap here): the
    /// session closes with "transport error". Returns the error to answer it with.
    pub fn handle_post_overlap(&mut self, now: Instant) -> RequestError {
        self.close_with(
            CloseReason::TransportError(TransportError::RequestOverlap),
            false,
            now,
        );
        RequestError::Overlap
    }

    /// A POST body arrived: its packets are handled in order. A body that does not
    /// decode closes the session with "parse error" (or "transport error" when it is over
    /// `max_payload`) after the packets before the bad one were handled.
    pub fn handle_post(&mut self, body: Bytes, now: Instant) -> Result<(), RequestError> {
        self.post_in_flight = false;
        if self.state != State::Open {
            return Err(RequestError::Closed);
        }
        let packets = match decode_payload(body, self.config.payload_limits()) {
            Ok(packets) => packets,
            Err(err) => return Err(self.payload_error(err, now)),
        };
        for packet in packets {
            match packet {
                Ok(packet) => self.handle_packet(packet, || now),
                Err(err) => return Err(self.payload_error(err, now)),
            }
            if self.state != State::Open {
                break;
            }
        }
        Ok(())
    }

    /// The POST body went over `max_payload` while it was being read: the session
    /// closes with "transport error".
    pub fn handle_post_too_large(&mut self, now: Instant) {
        self.post_in_flight = false;
        self.close_with(
            CloseReason::TransportError(TransportError::PayloadTooLarge),
            false,
            now,
        );
    }

    /// The POST's body could not be read to its end (the client went away): the
    /// session closes with "transport error".
    pub fn handle_post_aborted(&mut self, now: Instant) {
        self.post_in_flight = false;
        self.close_with(
            CloseReason::TransportError(TransportError::PostClosedPrematurely),
            false,
            now,
        );
    }

    fn payload_error(&mut self, err: DecodeError, now: Instant) -> RequestError {
        let reason = match err {
            DecodeError::PayloadTooLarge { .. } => {
                CloseReason::TransportError(TransportError::PayloadTooLarge)
            }
            _ => CloseReason::ParseError,
        };
        self.close_with(reason, false, now);
        RequestError::Decode(err)
    }

    /// Answers the pending GET if there is anything to say: buffered packets, the
    /// `noop` that releases it during an upgrade, or the final `close`.
    pub(super) fn flush_poll(&mut self) {
        if !self.poll_pending {
            return;
        }
        let closing = self.state == State::Closing;
        let probed = self.upgrade.is_probed();
        if self.buffer.is_empty() && !closing && !probed {
            return;
        }
        let budget = if closing {
            usize::MAX
        } else {
            self.config.max_payload
        };
        let mut payload = PayloadEncoder::new(budget);
        while let Some(packet) = self.buffer.front() {
            if !payload.try_push(packet) {
                break;
            }
            self.buffer.pop_front();
        }
        if closing {
            payload.try_push(&Packet::Close);
        } else if payload.is_empty() {
            payload.try_push(&Packet::Noop);
        }
        self.transmits.push_back(Transmit::Poll(payload.finish()));
        self.poll_pending = false;
        if closing {
            self.finish();
        }
    }
}
