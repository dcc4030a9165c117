//! The close asked for by the application. As in the reference client, what is queued
//! still goes out, then the `close` packet: in the last POST (with the messages that fit
//! in it), or as a frame before the WebSocket is closed. An upgrade under way is
//! abandoned, and the session closes on long-polling.

use std::time::Instant;

use super::{ClientCloseReason, ClientSession, State};
use crate::Packet;

impl ClientSession {
    /// Closes the session from the application's side. [`ClientEvent::Closed`] with
    /// "forced close" follows once the `close` packet is handed to the transport; the
    /// session may deliver messages until then. A session still waiting for its handshake
    /// closes at once (the driver drops the request under way).
    ///
    /// [`ClientEvent::Closed`]: super::ClientEvent::Closed
    pub fn close(&mut self, now: Instant) {
        match self.state {
            State::Opening => self.finish(ClientCloseReason::ForcedClose, true),
            State::Open => {
                self.cancel_probe();
                self.state = State::Closing;
                self.queue.push_back(Packet::Close);
                self.flush();
                self.check_heartbeat(now);
            }
            State::Closing | State::Closed => {}
        }
    }
}
