//! Adaptive concurrency (issue 23, goal 5; decision 0038): how many passes of one kind
//! run at once, between a minimum and a maximum, learnt from the API server's answers.
//!
//! kube-runtime's Controller takes one fixed concurrency, so it runs at the maximum
//! ([`crate::options::Concurrency::max`]) and every pass first takes a permit of this
//! kind's [`Limiter`]: an async semaphore whose permits the limit adds and takes back.
//! The limit learns from every request the operator's client makes ([`observed`]):
//! its latency and whether it was refused (429, 5xx); the rules are in [`estimate`].
//! It grows while passes wait for a permit and the API server answers fast, and is cut
//! on refusals and rising latency.
//!
//! Guarantees:
//! - Never more passes hold permits than the limit, once the passes over the limit that
//!   held permits before a cut have finished (a cut never stops a running pass: the
//!   permits it takes back are those returned first).
//! - The limit stays within `[min, max]`; with `min == max` (`--concurrency N`) there
//!   is no gate at all: the Controller's own concurrency is the limit, as before.
//! - A pass waiting for a permit when the operator stops is not started.
//! - The limit is the gauge `hoist_operator_concurrency_limit{name=<controller>}`.
//!
//! Caveats:
//! - The client's answers are seen above kube's own retry layer (it retries 429, 503
//!   and 504 up to 15 times with backoff, honouring `Retry-After`): a request refused
//!   and then answered shows as one slow answer, and a refusal shows as one only once
//!   kube gave up. The latency rules cut on the first; seeing each refusal as it
//!   happens needs the observing layer below kube's retry, in the client's own stack
//!   (`hoist_kube::client`).
//! - One signal for both kinds: every answer moves both limiters (the API server's
//!   load is one); each grows only on its own kind's waiting passes.
//! - The limit moves only on answers: passes that make no request (a no-op pass reads
//!   only the watches) neither grow nor cut it.

pub mod estimate;
mod observe;

pub use estimate::{Algorithm, Outcome, Sample};
pub use observe::observed;

use crate::metrics::Metrics;
use estimate::Estimate;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// How many passes of one kind run at once (see the module doc).
pub struct Limiter {
    /// `Some(n)`: fixed at `n`, no gate.
    fixed: Option<u16>,
    semaphore: Arc<Semaphore>,
    state: Mutex<State>,
    gauge: Gauge,
}

struct State {
    estimate: Estimate,
    /// The limit the semaphore's permits add up to: available + held − debt.
    permits: u32,
    /// Permits to take back as held ones are returned (a cut below what is held).
    debt: u32,
    /// Passes waiting for a permit.
    waiting: u32,
}

impl Limiter {
    /// A limiter for the controller `name` (`package`, `clusterpackage`) between
    /// `min` and `max`, by `algorithm`; fixed when `min == max`. Its limit is
    /// published on `metrics`.
    pub fn new(
        name: &'static str,
        min: u16,
        max: u16,
        algorithm: Algorithm,
        metrics: &Metrics,
    ) -> Arc<Self> {
        let (min, max) = (min.max(1), max.max(min).max(1));
        let estimate = Estimate::new(algorithm, min, max);
        let start = estimate.limit();
        let gauge = metrics.concurrency_limit(name);
        gauge.set(i64::from(start));
        Arc::new(Self {
            fixed: (min == max).then_some(max),
            semaphore: Arc::new(Semaphore::new(usize::from(start))),
            state: Mutex::new(State {
                estimate,
                permits: u32::from(start),
                debt: 0,
                waiting: 0,
            }),
            gauge,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the limit is fixed (`--concurrency N`).
    pub fn is_fixed(&self) -> bool {
        self.fixed.is_some()
    }

    /// The limit now.
    pub fn limit(&self) -> u16 {
        match self.fixed {
            Some(n) => n,
            None => self.lock().permits as u16,
        }
    }

    /// Passes waiting for a permit now.
    pub fn waiting(&self) -> u32 {
        self.lock().waiting
    }

    /// A permit to run one pass: at once while fewer than the limit hold one, else once
    /// one is returned; `None` if `stopping` turns true first. A fixed limiter hands
    /// one out at once (the Controller's concurrency is its limit).
    pub async fn acquire(self: &Arc<Self>, mut stopping: watch::Receiver<bool>) -> Option<Permit> {
        if self.fixed.is_some() {
            return Some(Permit {
                held: None,
                waited: false,
            });
        }
        if let Ok(p) = self.semaphore.clone().try_acquire_owned() {
            return Some(self.held(p, false));
        }
        let _waiting = Waiting::new(self);
        let stopped = async {
            // No one left to say so: it never stops.
            if stopping.wait_for(|s| *s).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            p = self.semaphore.clone().acquire_owned() => p.ok().map(|p| self.held(p, true)),
            () = stopped => None,
        }
    }

    fn held(self: &Arc<Self>, p: OwnedSemaphorePermit, waited: bool) -> Permit {
        Permit {
            held: Some((p, self.clone())),
            waited,
        }
    }

    /// Learns from one answer of the API server (see [`estimate`]).
    pub fn observe(&self, sample: &Sample) {
        if self.fixed.is_some() {
            return;
        }
        let mut s = self.lock();
        let demand = s.waiting > 0;
        s.estimate.on_sample(sample, demand);
        let target = u32::from(s.estimate.limit());
        self.apply(&mut s, target);
    }

    /// Moves the permits to `target`: added at once; taken back from the available
    /// ones, the rest as held ones are returned.
    fn apply(&self, s: &mut State, target: u32) {
        if target > s.permits {
            let grow = target - s.permits;
            let cancelled = grow.min(s.debt);
            s.debt -= cancelled;
            if grow > cancelled {
                self.semaphore.add_permits((grow - cancelled) as usize);
            }
        } else if target < s.permits {
            let shrink = s.permits - target;
            let taken = self.semaphore.forget_permits(shrink as usize) as u32;
            s.debt += shrink - taken;
        }
        if target != s.permits {
            s.permits = target;
            self.gauge.set(i64::from(target));
        }
    }

    /// A held permit comes back: kept by the semaphore, or taken back (a cut).
    fn release(&self, p: OwnedSemaphorePermit) {
        let mut s = self.lock();
        if s.debt > 0 {
            s.debt -= 1;
            p.forget();
        } else {
            drop(p);
        }
    }
}

/// Counts a pass waiting for a permit while it waits (also when its future is dropped).
struct Waiting<'a>(&'a Limiter);

impl<'a> Waiting<'a> {
    fn new(l: &'a Limiter) -> Self {
        l.lock().waiting += 1;
        Self(l)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.waiting = s.waiting.saturating_sub(1);
    }
}

/// The right to run one pass, returned when dropped.
pub struct Permit {
    held: Option<(OwnedSemaphorePermit, Arc<Limiter>)>,
    /// Whether the pass waited for it (its package may have changed meanwhile).
    pub waited: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some((p, limiter)) = self.held.take() {
            limiter.release(p);
        }
    }
}

/// One limiter per controller, fed by the same answers.
#[derive(Clone)]
pub struct Limiters {
    pub cluster: Arc<Limiter>,
    pub namespaced: Arc<Limiter>,
}

impl Limiters {
    /// Both kinds' limiters, between `min` and `max` by `algorithm` (the options'
    /// `Concurrency`), published on `metrics`.
    pub fn new(min: u16, max: u16, algorithm: Algorithm, metrics: &Metrics) -> Self {
        Self {
            cluster: Limiter::new("clusterpackage", min, max, algorithm, metrics),
            namespaced: Limiter::new("package", min, max, algorithm, metrics),
        }
    }

    /// Feeds one answer to both.
    pub fn observe(&self, sample: &Sample) {
        self.cluster.observe(sample);
        self.namespaced.observe(sample);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn sample(started: Instant, outcome: Outcome) -> Sample {
        Sample {
            started,
            took: Duration::from_millis(20),
            outcome,
            timed: true,
        }
    }

    fn never() -> watch::Receiver<bool> {
        watch::channel(false).1
    }

    #[tokio::test]
    async fn the_gate_follows_the_limit_and_a_cut_waits_for_running_passes() {
        let metrics = Metrics::new();
        let l = Limiter::new("package", 2, 4, Algorithm::Aimd, &metrics);
        assert_eq!(l.limit(), 2);
        let a = l.acquire(never()).await.expect("first");
        let b = l.acquire(never()).await.expect("second");
        assert!(!a.waited && !b.waited);
        // A third waits: and with one waiting, fast answers grow the limit.
        let l2 = l.clone();
        let third = tokio::spawn(async move { l2.acquire(never()).await.map(|p| p.waited) });
        while l.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        let t = Instant::now();
        l.observe(&sample(t, Outcome::Answered));
        assert_eq!(l.limit(), 3);
        assert_eq!(
            third.await.expect("joined"),
            Some(true),
            "let in by the growth"
        );
        assert!(
            metrics
                .encode()
                .contains("hoist_operator_concurrency_limit{name=\"package\"} 3")
        );
        // Grown to four with four held, then a 429: the limit is two, and the two
        // passes over it keep running; the permits come back only as they finish.
        let c = l.acquire(never()).await.expect("third permit");
        let l2 = l.clone();
        let fourth = tokio::spawn(async move { l2.acquire(never()).await });
        while l.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        l.observe(&sample(t, Outcome::Answered));
        let d = fourth.await.expect("joined").expect("fourth");
        assert_eq!(l.limit(), 4);
        l.observe(&sample(t + Duration::from_secs(1), Outcome::Throttled));
        assert_eq!(l.limit(), 2);
        drop((a, b));
        assert_eq!(
            l.semaphore.available_permits(),
            0,
            "taken back, not handed out"
        );
        drop(c);
        assert_eq!(l.semaphore.available_permits(), 1, "one still held");
        drop(d);
        assert_eq!(l.semaphore.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_fixed_limit_never_moves_and_never_gates() {
        let metrics = Metrics::new();
        let l = Limiter::new("package", 3, 3, Algorithm::Gradient, &metrics);
        assert!(l.is_fixed());
        let t = Instant::now();
        let mut held = Vec::new();
        for i in 0..10u64 {
            held.push(l.acquire(never()).await.expect("never gated"));
            l.observe(&sample(t + Duration::from_secs(i), Outcome::Throttled));
            l.observe(&sample(t + Duration::from_secs(i), Outcome::Answered));
        }
        assert_eq!(l.limit(), 3);
        assert!(
            metrics
                .encode()
                .contains("hoist_operator_concurrency_limit{name=\"package\"} 3")
        );
    }

    #[tokio::test]
    async fn a_pass_waiting_when_the_operator_stops_is_not_started() {
        let metrics = Metrics::new();
        let l = Limiter::new("package", 1, 8, Algorithm::Gradient, &metrics);
        let _held = l.acquire(never()).await.expect("first");
        let (stop, stopping) = watch::channel(false);
        let l2 = l.clone();
        let waiting = tokio::spawn(async move { l2.acquire(stopping).await.is_some() });
        while l.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        stop.send(true).expect("sent");
        assert!(!waiting.await.expect("joined"));
        assert_eq!(l.waiting(), 0);
    }
}
