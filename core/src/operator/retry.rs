//! When a failed reconcile is tried again (seed 004): transient errors back off
//! exponentially per object, with jitter so a fleet of failures does not retry in step,
//! until a budget runs out and the object is dead-lettered; terminal errors are not
//! retried until the object or one of its inputs changes. Success resets the count.

use std::time::Duration;

/// What kind of failure a reconcile ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Could pass on its own: network, timeouts, 5xx, 429, conflicts, a kind not yet
    /// served. Shown as progressing, retried with backoff.
    Transient,
    /// Will fail again until someone changes something: a bad manifest, an invalid
    /// value, a dependency conflict, a foreign object, an unsupported format.
    Terminal,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Terminal => "terminal",
        }
    }
}

/// The backoff and the budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The first retry's delay; each further one doubles it.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Transient failures in a row after which the object is dead-lettered.
    pub budget: u32,
    /// How far a delay may be moved either way, as a fraction (0.1: ±10 %).
    pub jitter: f64,
}

impl Default for Policy {
    /// 1 s doubling to 5 min, ±10 %; dead-lettered after 12 failures in a row (about
    /// 25 minutes of trying).
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
            budget: 12,
            jitter: 0.1,
        }
    }
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Try again after this long.
    RetryAfter(Duration),
    /// The budget is spent: stop, say so, wait for a change or a manual retry.
    DeadLetter,
    /// Terminal: wait for a change.
    WaitForChange,
}

impl Policy {
    /// The delay before retry number `failures` (1 for the first failure), moved by
    /// `unit` (a random number in `[0, 1)`) within the jitter.
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.max);
        let spread = (unit.clamp(0.0, 1.0) * 2.0 - 1.0) * self.jitter;
        raw.mul_f64((1.0 + spread).max(0.0))
    }

    /// What follows the `failures`-th failure in a row of class `class`.
    pub fn after_failure(&self, class: ErrorClass, failures: u32, unit: f64) -> Next {
        match class {
            ErrorClass::Terminal => Next::WaitForChange,
            ErrorClass::Transient if failures >= self.budget => Next::DeadLetter,
            ErrorClass::Transient => Next::RetryAfter(self.delay(failures, unit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_the_base_up_to_the_cap_within_the_jitter() {
        let p = Policy::default();
        let mid = 0.5;
        let got: Vec<u64> = (1..=11).map(|n| p.delay(n, mid).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        let low = p.delay(5, 0.0).as_secs_f64();
        let high = p.delay(5, 0.999).as_secs_f64();
        assert!((14.3..=14.5).contains(&low), "{low}");
        assert!((17.5..=17.61).contains(&high), "{high}");
        assert_eq!(p.delay(u32::MAX, mid), p.max, "no overflow");
    }

    #[test]
    fn transient_failures_retry_until_the_budget_and_terminal_ones_wait_for_a_change() {
        let p = Policy::default();
        assert!(matches!(
            p.after_failure(ErrorClass::Transient, 1, 0.5),
            Next::RetryAfter(_)
        ));
        assert_eq!(
            p.after_failure(ErrorClass::Transient, p.budget, 0.5),
            Next::DeadLetter
        );
        assert_eq!(
            p.after_failure(ErrorClass::Terminal, 1, 0.5),
            Next::WaitForChange
        );
    }
}
