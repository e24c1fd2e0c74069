//! Exponential backoff with full jitter, honouring the server's RetryInfo.
//!
//! `delay = random(0, min(cap, base * 2^attempt))`, then at least what the server
//! asked for. Full jitter spreads reconnecting tabs after a backend restart instead of
//! having them all return at once.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            attempt: 0,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt, given a uniform random number in [0, 1) and
    /// the server's suggested delay, if any. Advances the attempt count.
    pub fn next(&mut self, random: f64, server_hint: Option<Duration>) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let jittered = ceiling.mul_f64(random.clamp(0.0, 1.0));
        match server_hint {
            Some(hint) => jittered.max(hint.min(self.cap)),
            None => jittered,
        }
    }

    /// Attempts made since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Called after a success: the next failure starts small again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let mut b = Backoff::default();
        let tops: Vec<Duration> = (0..10).map(|_| b.next(0.999_999, None)).collect();
        assert!(tops[1] > tops[0] && tops[2] > tops[1]);
        assert!(tops.iter().all(|d| *d <= Duration::from_secs(30)));
        assert!(tops[9] > Duration::from_secs(29));
    }

    #[test]
    fn full_jitter_can_be_zero_and_the_server_hint_is_a_floor() {
        let mut b = Backoff::default();
        assert_eq!(b.next(0.0, None), Duration::ZERO);
        assert_eq!(
            b.next(0.0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        b.reset();
        assert_eq!(b.attempt(), 0);
    }
}
