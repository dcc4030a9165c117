//! The heartbeat: the server pings every `ping_interval`; a pong must follow within
//! `ping_timeout`, or the session closes with "ping timeout".

use std::time::Instant;

use bytestring::ByteString;

use super::{ServerSession, Timer};
use crate::Packet;

impl ServerSession {
    pub(super) fn schedule_ping(&mut self, now: Instant) {
        self.timers
            .set_after(Timer::Ping, now, self.config.ping_interval);
    }

    pub(super) fn send_ping(&mut self, now: Instant) {
        self.timers
            .set_after(Timer::Pong, now, self.config.ping_timeout);
        self.queue(Packet::Ping(ByteString::new()));
    }

    pub(super) fn handle_pong(&mut self, now: Instant) {
        // A pong with no ping outstanding changes nothing: the next ping keeps its time.
        if self.timers.next_of(Timer::Pong).is_some() {
            self.timers.cancel(Timer::Pong);
            self.schedule_ping(now);
        }
    }
}
