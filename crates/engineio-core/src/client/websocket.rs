//! The WebSocket inputs. A session has at most one WebSocket: its transport (opened for
//! a WebSocket-only session, or won by the upgrade), or the probe of an upgrade. Each
//! packet is one frame; a binary frame is a binary message.

use std::time::Instant;

use super::{ClientCloseReason, ClientSession, State};
use crate::{DecodeError, Frame, Packet, TransportKind};

impl ClientSession {
    /// The WebSocket asked for with [`ClientTransmit::OpenWebSocket`] is open. For a
    /// WebSocket-only session the handshake comes next, as its first frame; for a probe
    /// the session sends `2probe`.
    ///
    /// [`ClientTransmit::OpenWebSocket`]: super::ClientTransmit::OpenWebSocket
    pub fn handle_ws_opened(&mut self, now: Instant) {
        if self.is_probing() {
            self.handle_probe_opened();
        }
        self.check_heartbeat(now);
    }

    /// A frame arrived on the WebSocket. A frame that does not decode, or is larger than
    /// [`max_payload`](super::ClientConfig::max_payload), closes the session with
    /// "parse error".
    pub fn handle_ws_frame(&mut self, frame: Frame, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if self.is_probing() {
            self.handle_probe_frame(frame);
        } else if self.transport == TransportKind::WebSocket {
            let size = match &frame {
                Frame::Text(text) => text.len(),
                Frame::Binary(data) => data.len(),
            };
            let max = self.config.max_payload;
            let packet = if size > max {
                Err(DecodeError::PayloadTooLarge { size, max })
            } else {
                Packet::decode_frame(frame)
            };
            match packet {
                Ok(packet) => self.handle_packet(packet, now),
                Err(err) => self.finish(ClientCloseReason::ParseError(err), true),
            }
        }
        self.check_heartbeat(now);
    }

    /// The WebSocket failed: it could not be opened, or broke. On the session's transport
    /// the session closes with "transport error"; a probe fails and the session stays on
    /// polling. The driver has dropped that WebSocket.
    pub fn handle_ws_error(&mut self, now: Instant) {
        self.handle_ws_end(ClientCloseReason::TransportError(TransportKind::WebSocket));
        self.check_heartbeat(now);
    }

    /// The WebSocket was closed by the server. On the session's transport the session
    /// closes with "transport close"; a probe fails and the session stays on polling.
    pub fn handle_ws_closed(&mut self, now: Instant) {
        self.handle_ws_end(ClientCloseReason::TransportClose);
        self.check_heartbeat(now);
    }

    fn handle_ws_end(&mut self, reason: ClientCloseReason) {
        if self.is_probing() {
            self.probe_failed(false);
        } else if self.transport == TransportKind::WebSocket {
            self.finish(reason, false);
        }
    }
}
