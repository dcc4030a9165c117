//! The session's deadlines, one slot per kind.

use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// Time to send the next ping.
    Ping,
    /// The pong for the last ping is due.
    Pong,
    /// The WebSocket being probed must have upgraded by now.
    Upgrade,
    /// A closing polling session has waited long enough for its last GET.
    Close,
}

const ALL: [Timer; 4] = [Timer::Ping, Timer::Pong, Timer::Upgrade, Timer::Close];

#[derive(Debug, Default)]
pub(super) struct Timers([Option<Instant>; 4]);

impl Timers {
    /// Arms `timer` at `now + after`; a deadline too far to represent never fires.
    pub(super) fn set_after(&mut self, timer: Timer, now: Instant, after: std::time::Duration) {
        *self.slot(timer) = now.checked_add(after);
    }

    pub(super) fn cancel(&mut self, timer: Timer) {
        *self.slot(timer) = None;
    }

    pub(super) fn clear(&mut self) {
        self.0 = [None; 4];
    }

    pub(super) fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// Takes the earliest timer due at `now`, if any.
    pub(super) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = ALL
            .into_iter()
            .filter(|timer| self.get(*timer).is_some_and(|at| at <= now))
            .min_by_key(|timer| self.get(*timer))?;
        self.cancel(timer);
        Some(timer)
    }

    pub(super) fn next_of(&self, timer: Timer) -> Option<Instant> {
        self.get(timer)
    }

    fn get(&self, timer: Timer) -> Option<Instant> {
        self.0.get(timer as usize).copied().flatten()
    }

    fn slot(&mut self, timer: Timer) -> &mut Option<Instant> {
        let [ping, pong, upgrade, close] = &mut self.0;
        match timer {
            Timer::Ping => ping,
            Timer::Pong => pong,
            Timer::Upgrade => upgrade,
            Timer::Close => close,
        }
    }
}
