//! The reconnection delays of the official client.

use std::time::Duration;

/// The official client's reconnection backoff: the delay starts at `min`, doubles (by
/// `factor`) with every attempt up to `max`, and is spread by `jitter` (the
/// `randomizationFactor`): with a random `r` in `[0, 1)`, the deviation is
/// `floor(r * jitter * delay)`, subtracted when `floor(r * 10)` is even and added
/// otherwise. Randomness is an argument, so a test can replay any sequence. It never
/// stops growing or wraps: past `max` it stays at `max`, whatever the number of attempts.
///
/// ```
/// use std::time::Duration;
/// use socketio_core::Backoff;
///
/// let mut backoff = Backoff::default(); // 1 s doubling to 5 s, jitter 0.5
/// assert_eq!(backoff.next_delay(0.0), Duration::from_millis(1000));
/// assert_eq!(backoff.next_delay(0.0), Duration::from_millis(2000));
/// assert_eq!(backoff.next_delay(0.15), Duration::from_millis(4300)); // 4000 + 0.15 * 0.5 * 4000
/// assert_eq!(backoff.next_delay(0.0), Duration::from_millis(5000));
/// backoff.reset();
/// assert_eq!(backoff.attempts(), 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    factor: f64,
    jitter: f64,
    attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.5,
        )
    }
}

impl Backoff {
    /// A backoff from `min` to `max` with `jitter` in `[0, 1]`, doubling.
    #[must_use]
    pub fn new(min: Duration, max: Duration, jitter: f64) -> Self {
        Self {
            min,
            max: max.max(min),
            factor: 2.0,
            jitter: jitter.clamp(0.0, 1.0),
            attempts: 0,
        }
    }

    /// The delay before the next attempt, given a random number in `[0, 1)`; counts the
    /// attempt.
    pub fn next_delay(&mut self, random: f64) -> Duration {
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let exponent = i32::try_from(self.attempts).unwrap_or(i32::MAX);
        self.attempts = self.attempts.saturating_add(1);
        let mut ms = self.min.as_secs_f64() * 1000.0 * self.factor.powi(exponent);
        if self.jitter > 0.0 {
            let deviation = (random * self.jitter * ms).floor();
            // The reference picks the sign from the same random number.
            if ((random * 10.0).floor() as u64) & 1 == 0 {
                ms -= deviation;
            } else {
                ms += deviation;
            }
        }
        let max_ms = self.max.as_secs_f64() * 1000.0;
        let ms = if ms.is_finite() {
            ms.min(max_ms).max(0.0)
        } else {
            max_ms
        };
        Duration::from_millis(ms.floor() as u64)
    }

    /// The number of attempts since the last reset.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts over from `min` (after a successful connection).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_max_and_stays_there_forever() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(800), 0.0);
        let delays: Vec<u64> = (0..6)
            .map(|_| backoff.next_delay(0.3).as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 800, 800]);
        for _ in 0..10_000 {
            assert_eq!(backoff.next_delay(0.99), Duration::from_millis(800));
        }
    }

    #[test]
    fn jitter_follows_the_reference_formula() {
        // floor(0.35 * 10) = 3 is odd: added; floor(0.25 * 10) = 2 is even: subtracted.
        let mut up = Backoff::new(Duration::from_millis(1000), Duration::from_secs(60), 0.5);
        assert_eq!(up.next_delay(0.35), Duration::from_millis(1175));
        let mut down = Backoff::new(Duration::from_millis(1000), Duration::from_secs(60), 0.5);
        assert_eq!(down.next_delay(0.25), Duration::from_millis(875));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let mut backoff = Backoff::new(Duration::MAX, Duration::ZERO, 7.0);
        for random in [f64::NAN, f64::INFINITY, -1.0, 2.0] {
            let _ = backoff.next_delay(random);
        }
    }
}
