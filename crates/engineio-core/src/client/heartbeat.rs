//! The heartbeat, seen from the client. The protocol: "if the client does not receive a
//! `ping` packet within `pingInterval + pingTimeout`, then it SHOULD consider that the
//! connection is closed". As in the reference client (6.6), only the handshake and the
//! pings restart that wait; other packets do not.
//!
//! Timers can be late: a suspended laptop or a locked phone stops the process, and on
//! Linux and macOS `Instant` does not advance while it is stopped, so a deadline in
//! `Instant`s fires far too late after a resume. The reference client checks the wall
//! clock for that reason, and so does [`ClientSession::check_wall_clock`].

use std::time::{Duration, Instant, SystemTime};

use bytestring::ByteString;

use super::{ClientCloseReason, ClientEvent, ClientSession, State};
use crate::Packet;

#[derive(Debug, Default)]
pub(super) struct Heartbeat {
    /// `pingInterval + pingTimeout`.
    window: Duration,
    /// When the last ping (or the handshake) arrived; `None` when not running.
    last: Option<Instant>,
    /// The wall-clock time of `last`, learned at the first wall-clock check after it.
    last_wall: Option<SystemTime>,
}

impl Heartbeat {
    pub(super) fn start(&mut self, window: Duration, now: Instant) {
        self.window = window;
        self.restart(now);
    }

    pub(super) fn restart(&mut self, now: Instant) {
        self.last = Some(now);
        self.last_wall = None;
    }

    pub(super) fn stop(&mut self) {
        self.last = None;
        self.last_wall = None;
    }

    /// When the session gives up waiting for a ping; a deadline too far to represent
    /// never comes.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.last.and_then(|last| last.checked_add(self.window))
    }

    fn is_expired(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|deadline| now >= deadline)
    }

    fn is_expired_by_wall_clock(&mut self, now: Instant, wall: SystemTime) -> bool {
        let Some(last) = self.last else {
            return false;
        };
        // Back-dating `wall` by the `Instant` time since the last ping gives the wall time
        // of that ping, unless the process was suspended in between; then it is too
        // late, and this check misses that one suspension rather than ever closing a
        // live session. Checking right after each input keeps the estimate exact.
        let last_wall = *self.last_wall.get_or_insert_with(|| {
            wall.checked_sub(now.saturating_duration_since(last))
                .unwrap_or(wall)
        });
        // A wall clock set back gives an error here: no time has passed.
        wall.duration_since(last_wall)
            .is_ok_and(|elapsed| elapsed >= self.window)
    }
}

impl ClientSession {
    /// Handles a timer expiry: closes the session with "ping timeout" when no ping came
    /// in time. Calling it early, or twice, does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.check_heartbeat(now);
    }

    /// Checks the heartbeat against the wall clock too, for a process that may have been
    /// suspended: `now` is the monotonic time, `wall` the system time, both read just now.
    /// When `pingInterval + pingTimeout` of wall-clock time or more has passed since the
    /// last ping, the session closes with "ping timeout" at once, without waiting for
    /// its timer (which, on most systems, does not count the time spent suspended).
    ///
    /// Call it after every input and whenever the process may have slept (on waking, and
    /// before sending): it learns the wall time of each ping at the first call after it.
    /// A wall clock set forward by more than the window closes the session too, as in the
    /// reference client.
    pub fn check_wall_clock(&mut self, now: Instant, wall: SystemTime) {
        if self.is_live() && self.heartbeat.is_expired_by_wall_clock(now, wall) {
            self.finish(ClientCloseReason::PingTimeout, true);
        }
        self.check_heartbeat(now);
    }

    pub(super) fn start_heartbeat(&mut self, now: Instant) {
        let Some(handshake) = &self.handshake else {
            return;
        };
        let window = handshake
            .ping_interval()
            .saturating_add(handshake.ping_timeout());
        self.heartbeat.start(window, now);
    }

    pub(super) fn handle_ping(&mut self, now: Instant) {
        self.heartbeat.restart(now);
        self.events.push_back(ClientEvent::Ping);
        // A closing session has its `close` packet queued last; the reference sends
        // nothing more once the application closed.
        if self.state == State::Open {
            self.queue.push_back(Packet::Pong(ByteString::new()));
            self.flush();
        }
    }

    /// Every input ends here, so that an input that comes after the deadline (a driver
    /// whose timer was late) closes the session as the timer would have.
    pub(super) fn check_heartbeat(&mut self, now: Instant) {
        if self.is_live() && self.heartbeat.is_expired(now) {
            self.finish(ClientCloseReason::PingTimeout, true);
        }
    }
}
