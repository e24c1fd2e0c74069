//! The limit itself: how an answer of the API server moves it ([`Estimate`]), by one of
//! two rules ([`Algorithm`]). Pure: no clock, no locks; [`super::Limiter`] feeds it.
//!
//! Both rules share what a refusal does: a 429, a 5xx or a failed connection halves
//! the limit (never below the minimum), once per window: an answer to a request sent
//! before the last cut says nothing about the limit since, so it cuts nothing (TCP's
//! "one reduction per round trip"). Both grow only while passes wait for a permit (the
//! queue is deeper than the limit): an idle operator says nothing about how many
//! passes the API server would bear.
//!
//! - [`Algorithm::Aimd`]: additive increase, multiplicative decrease, as TCP Reno and
//!   Netflix's `AIMDLimit`, with a latency rule instead of its fixed timeout: an answer
//!   slower than [`AIMD_TOLERANCE`] times the long-run average round trip, while the
//!   recent ones ([`SHORT_WINDOW`]) are too, is a refusal (one slow answer among fast
//!   ones is noise; a run of fast answers after a slow period is a recovery, not a
//!   reason to cut again). Slow start (+1 per answer) until the first cut, then
//!   +1/limit per answer.
//! - [`Algorithm::Gradient`]: Netflix's `Gradient2Limit`: `limit × gradient + queue`,
//!   smoothed, where `gradient = clamp(1.5 × long RTT / this RTT, 0.5, 1)` and the
//!   queue allowance is √limit (Netflix's default of 4 is meant for limits in the
//!   hundreds; at 2–32 it would hold the limit above 8 whatever the latency).
//!
//! Units: the limit counts passes (the permits of [`super::Limiter`]); answers are per
//! request, several per pass, so "+1 per answer" grows by a few per pass.

use std::time::{Duration, Instant};

/// How the limit learns (see the module doc and decision 0038).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Additive increase, multiplicative decrease (halved on a refusal or a slow
    /// answer): the default (decision 0038: it remembers a refusal for as long as the
    /// additive growth takes, so a storm that comes back finds fewer passes sending).
    #[default]
    Aimd,
    /// Netflix's Gradient2: the limit follows the ratio of the long-run to the current
    /// round trip, plus a queue allowance. Measured as fast under latency, but back at
    /// the maximum long before a storm comes back (decision 0038).
    Gradient,
}

/// What an answer of the API server was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Any answer that is not a refusal for load (2xx, 404, 409, 422…).
    Answered,
    /// 429 Too Many Requests.
    Throttled,
    /// A 5xx (but 501), or no answer at all (a connection refused, reset or timed out).
    Failed,
}

/// One request to the API server, as the client saw it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub started: Instant,
    /// From sending the request to the answer's headers.
    pub took: Duration,
    pub outcome: Outcome,
    /// Whether `took` speaks for the API server's load: writes do; reads may be lists
    /// of any size, so only their outcome counts.
    pub timed: bool,
}

/// The factor a refusal multiplies the limit by.
pub const BACKOFF: f64 = 0.5;
/// AIMD: an answer this many times slower than the long-run average is a refusal.
pub const AIMD_TOLERANCE: f64 = 2.0;
/// Gradient2's tolerance: the current round trip may be this much above the long-run
/// one before the limit shrinks.
pub const GRADIENT_TOLERANCE: f64 = 1.5;
/// Gradient2's smoothing of each new limit.
pub const SMOOTHING: f64 = 0.2;
/// The long-run round trip's window, in answers (Gradient2's 600).
pub const LONG_WINDOW: f64 = 600.0;
/// AIMD: the window of the recent round trip, in answers.
pub const SHORT_WINDOW: f64 = 10.0;
/// Answers averaged plainly before an average becomes exponential; no answer is
/// judged slow before.
pub const WARMUP: u32 = 10;

/// Netflix's `ExpAvgMeasurement`: a plain mean over the first [`WARMUP`] values, then
/// an exponential average over `window`.
#[derive(Debug, Clone)]
struct Ema {
    window: f64,
    count: u32,
    value: f64,
}

impl Ema {
    fn new(window: f64) -> Self {
        Self {
            window,
            count: 0,
            value: 0.0,
        }
    }

    fn warm(&self) -> bool {
        self.count >= WARMUP
    }

    fn add(&mut self, x: f64) -> f64 {
        if self.count < WARMUP {
            self.count += 1;
            self.value += (x - self.value) / f64::from(self.count);
        } else {
            let f = 2.0 / (self.window + 1.0);
            self.value = self.value * (1.0 - f) + x * f;
        }
        self.value
    }
}

/// The limit and what it learned (see the module doc).
#[derive(Debug, Clone)]
pub struct Estimate {
    algorithm: Algorithm,
    min: f64,
    max: f64,
    limit: f64,
    long: Ema,
    /// AIMD: the recent round trip.
    short: Ema,
    slow_start: bool,
    /// When the last cut was made (the end of the answer that made it).
    last_cut: Option<Instant>,
}

impl Estimate {
    /// Starts at `min` (growing from there as answers come fast).
    pub fn new(algorithm: Algorithm, min: u16, max: u16) -> Self {
        let (min, max) = (f64::from(min.max(1)), f64::from(max.max(min).max(1)));
        Self {
            algorithm,
            min,
            max,
            limit: min,
            long: Ema::new(LONG_WINDOW),
            short: Ema::new(SHORT_WINDOW),
            slow_start: true,
            last_cut: None,
        }
    }

    /// The limit, in passes, as the gate applies it.
    pub fn limit(&self) -> u16 {
        self.limit.round().clamp(self.min, self.max) as u16
    }

    /// Learns from `sample`; `demand`: passes are waiting for a permit.
    pub fn on_sample(&mut self, sample: &Sample, demand: bool) {
        match sample.outcome {
            Outcome::Throttled | Outcome::Failed => self.cut(sample),
            Outcome::Answered if sample.timed => {
                let rtt = sample.took.as_secs_f64().max(1e-6);
                match self.algorithm {
                    Algorithm::Aimd => self.aimd(sample, rtt, demand),
                    Algorithm::Gradient => self.gradient(rtt, demand),
                }
            }
            Outcome::Answered => {}
        }
        self.limit = self.limit.clamp(self.min, self.max);
    }

    /// Halves the limit, unless `sample` was sent before the last cut.
    fn cut(&mut self, sample: &Sample) {
        if self.last_cut.is_some_and(|at| sample.started < at) {
            return;
        }
        self.limit = (self.limit * BACKOFF).max(self.min);
        self.last_cut = Some(sample.started + sample.took);
        self.slow_start = false;
    }

    /// Adds `rtt` to the long-run average (returned), brought down faster when the
    /// current answers are much quicker (Gradient2's recovery after a slow period).
    fn learn(&mut self, rtt: f64) -> f64 {
        let long = self.long.add(rtt);
        if long / rtt > 2.0 {
            self.long.value *= 0.95;
        }
        long
    }

    fn aimd(&mut self, sample: &Sample, rtt: f64, demand: bool) {
        let (warm, before) = (self.long.warm(), self.long.value);
        self.learn(rtt);
        let recent = self.short.add(rtt);
        let slow = |t: f64| t > AIMD_TOLERANCE * before;
        if warm && slow(rtt) && slow(recent) {
            self.cut(sample);
        } else if demand {
            self.limit += if self.slow_start {
                1.0
            } else {
                1.0 / self.limit
            };
        }
    }

    fn gradient(&mut self, rtt: f64, demand: bool) {
        let long = self.learn(rtt);
        let gradient = (GRADIENT_TOLERANCE * long / rtt).clamp(0.5, 1.0);
        let mut next = self.limit * gradient + self.limit.sqrt();
        if !demand {
            next = next.min(self.limit);
        }
        self.limit = self.limit * (1.0 - SMOOTHING) + next * SMOOTHING;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers in a row, `gap` apart, each taking `took`.
    struct Clock(Instant);

    impl Clock {
        fn new() -> Self {
            Self(Instant::now())
        }
        fn sample(&mut self, took: Duration, outcome: Outcome) -> Sample {
            let started = self.0;
            self.0 += took;
            Sample {
                started,
                took,
                outcome,
                timed: true,
            }
        }
    }

    const FAST: Duration = Duration::from_millis(50);

    fn grown(algorithm: Algorithm, answers: usize) -> (Estimate, Clock) {
        let mut e = Estimate::new(algorithm, 2, 32);
        let mut clock = Clock::new();
        for _ in 0..answers {
            e.on_sample(&clock.sample(FAST, Outcome::Answered), true);
        }
        (e, clock)
    }

    #[test]
    fn fast_answers_and_a_deep_queue_grow_the_limit_to_the_maximum_and_no_further() {
        for algorithm in [Algorithm::Aimd, Algorithm::Gradient] {
            let (e, _) = grown(algorithm, 60);
            assert_eq!(e.limit(), 32, "{algorithm:?}");
            let (e, _) = grown(algorithm, 10_000);
            assert_eq!(e.limit(), 32, "{algorithm:?} never above the maximum");
        }
    }

    #[test]
    fn without_passes_waiting_the_limit_does_not_grow() {
        for algorithm in [Algorithm::Aimd, Algorithm::Gradient] {
            let mut e = Estimate::new(algorithm, 2, 32);
            let mut clock = Clock::new();
            for _ in 0..1000 {
                e.on_sample(&clock.sample(FAST, Outcome::Answered), false);
            }
            assert_eq!(e.limit(), 2, "{algorithm:?}");
        }
    }

    #[test]
    fn a_429_or_a_5xx_halves_the_limit_once_per_window_and_never_below_the_minimum() {
        for algorithm in [Algorithm::Aimd, Algorithm::Gradient] {
            for refusal in [Outcome::Throttled, Outcome::Failed] {
                let (mut e, mut clock) = grown(algorithm, 100);
                assert_eq!(e.limit(), 32);
                // Thirty-two requests in flight, all refused: one cut.
                let sent = clock.0;
                let refused: Vec<Sample> = (0..32)
                    .map(|i| Sample {
                        started: sent + Duration::from_micros(i),
                        took: FAST,
                        outcome: refusal,
                        timed: true,
                    })
                    .collect();
                for s in &refused {
                    e.on_sample(s, true);
                }
                assert_eq!(
                    e.limit(),
                    16,
                    "{algorithm:?} {refusal:?}: one cut per window"
                );
                // Requests sent after the cut are news: each window halves again.
                clock.0 += FAST * 2;
                for _ in 0..10 {
                    e.on_sample(&clock.sample(FAST, refusal), true);
                }
                assert_eq!(
                    e.limit(),
                    2,
                    "{algorithm:?} {refusal:?}: down to the minimum"
                );
            }
        }
    }

    #[test]
    fn rising_latency_cuts_the_limit() {
        for algorithm in [Algorithm::Aimd, Algorithm::Gradient] {
            let (mut e, mut clock) = grown(algorithm, 200);
            assert_eq!(e.limit(), 32);
            // The API server slows down to eight times its usual answer, for a while.
            for _ in 0..40 {
                e.on_sample(&clock.sample(FAST * 8, Outcome::Answered), true);
            }
            assert!(e.limit() <= 16, "{algorithm:?}: {}", e.limit());
        }
    }

    #[test]
    fn answers_as_fast_as_usual_never_cut() {
        for algorithm in [Algorithm::Aimd, Algorithm::Gradient] {
            let (mut e, mut clock) = grown(algorithm, 200);
            // Jitter of ±40 % around the usual answer.
            for i in 0..2000u32 {
                let took = FAST.mul_f64(0.6 + f64::from(i % 5) * 0.2);
                e.on_sample(&clock.sample(took, Outcome::Answered), true);
            }
            assert_eq!(e.limit(), 32, "{algorithm:?}");
        }
    }

    #[test]
    fn aimd_cuts_on_a_run_of_slow_answers_not_on_one_nor_on_the_recovery() {
        let (mut e, mut clock) = grown(Algorithm::Aimd, 200);
        e.on_sample(&clock.sample(FAST * 3, Outcome::Answered), true);
        assert_eq!(e.limit(), 32, "one slow answer among fast ones is noise");
        for _ in 0..50 {
            e.on_sample(&clock.sample(FAST, Outcome::Answered), true);
        }
        // A slow period (a storm retried by the client): one cut per window…
        let sent = clock.0;
        for i in 0..32 {
            let slow = Sample {
                started: sent + Duration::from_micros(i),
                took: Duration::from_secs(2),
                outcome: Outcome::Answered,
                timed: true,
            };
            e.on_sample(&slow, true);
        }
        assert_eq!(e.limit(), 16);
        // …and fast answers after it grow again, though the recent average is still
        // high.
        clock.0 = sent + Duration::from_secs(3);
        for _ in 0..20 {
            e.on_sample(&clock.sample(FAST, Outcome::Answered), true);
        }
        assert_eq!(e.limit(), 17);
    }

    #[test]
    fn reads_move_the_limit_by_their_outcome_only() {
        let (mut e, mut clock) = grown(Algorithm::Aimd, 100);
        let mut slow_read = clock.sample(Duration::from_secs(30), Outcome::Answered);
        slow_read.timed = false;
        e.on_sample(&slow_read, true);
        assert_eq!(e.limit(), 32, "a long list is no sign of load");
        let mut refused_read = clock.sample(FAST, Outcome::Throttled);
        refused_read.timed = false;
        e.on_sample(&refused_read, true);
        assert_eq!(e.limit(), 16);
    }

    #[test]
    fn after_a_cut_aimd_grows_by_about_one_per_limit_answers() {
        let (mut e, mut clock) = grown(Algorithm::Aimd, 100);
        e.on_sample(&clock.sample(FAST, Outcome::Throttled), true);
        assert_eq!(e.limit(), 16);
        for _ in 0..16 {
            e.on_sample(&clock.sample(FAST, Outcome::Answered), true);
        }
        assert_eq!(e.limit(), 17, "no more slow start after a cut");
    }
}
