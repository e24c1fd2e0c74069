//! What every long-running part of Hoist shares (`serve`, `demo`, the operator, the
//! fleet): the signals that stop it, and an orderly stop.
//!
//! Shutdown is a broadcast plus a drain, as in tokio's mini-redis: one `watch` channel
//! tells every part to stop taking new work; the parts that hold other people's work
//! (the HTTP server with its in-flight calls) are awaited within a deadline; whatever
//! only runs in the background (reflectors, tickers) is aborted after that.
//!
//! # Guarantees
//! - [`stop_signal`] resolves on SIGTERM (how Kubernetes stops a pod) or Ctrl-C, whichever
//!   comes first.
//! - [`Supervisor::shutdown`] returns within its deadline (plus the time aborted tasks
//!   take to unwind), whatever a task does: a drain that overruns is cut, and says so.
//! - Dropping a [`Supervisor`] without `shutdown` still stops and aborts everything.

mod liveness;

pub use liveness::Liveness;

use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Tasks alive in the current tokio runtime (0 outside one), for the `/metrics` of
/// `hoist serve` and `hoist operator` (`hoist_runtime_alive_tasks`): a task leak shows
/// as a count that only grows, which the soak holds flat.
pub fn alive_tasks() -> i64 {
    tokio::runtime::Handle::try_current().map_or(0, |h| {
        i64::try_from(h.metrics().num_alive_tasks()).unwrap_or(i64::MAX)
    })
}

/// How long in-flight calls get to finish after a stop signal by default. Kubernetes
/// waits `terminationGracePeriodSeconds` (30 s by default) before SIGKILL.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(20);

/// Resolves with the signal's name on SIGTERM or Ctrl-C (SIGINT).
///
/// # Errors
/// When the process cannot install the signal handlers (never on Linux in practice).
pub async fn stop_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("Ctrl-C"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}

/// How a shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every draining task finished in time.
    Completely,
    /// The deadline passed first; the rest was aborted.
    Cut,
}

/// Owns a command's tasks and stops them in order. See the module doc.
pub struct Supervisor {
    stop: watch::Sender<bool>,
    /// Tasks that end by themselves once stop is sent, and are waited for.
    draining: JoinSet<()>,
    /// Tasks with nothing to finish: aborted once the draining ones are done.
    background: JoinSet<()>,
    /// What `/livez` reads: the watched tasks that ended while they should run.
    live: Liveness,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Self::watched_by(Liveness::new())
    }

    /// A supervisor whose stop tells `live` that tasks ending from then on have not died.
    pub fn watched_by(live: Liveness) -> Self {
        Self {
            stop: watch::channel(false).0,
            draining: JoinSet::new(),
            background: JoinSet::new(),
            live,
        }
    }

    /// The health of its watched tasks, for `/livez`.
    pub fn liveness(&self) -> Liveness {
        self.live.clone()
    }

    /// Spawns a background task, watched: if it ends before the stop, `name` is recorded
    /// and `/livez` fails.
    pub fn spawn_watched(
        &mut self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.background.spawn(self.live.supervise(name, task));
    }

    /// A receiver that turns `true` when the stop is sent.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Spawns a task that must watch [`Self::stopped`] and finish its work before it
    /// ends; shutdown waits for it (up to the deadline).
    pub fn spawn_draining(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.draining.spawn(task);
    }

    /// The set for background tasks, aborted at shutdown after the drain.
    pub fn background(&mut self) -> &mut JoinSet<()> {
        &mut self.background
    }

    /// Sends stop, waits up to `deadline` for the draining tasks, then aborts the rest.
    pub async fn shutdown(mut self, deadline: Duration) -> Drained {
        self.live.stopping();
        let _ = self.stop.send(true);
        let drain = async { while self.draining.join_next().await.is_some() {} };
        let drained = match tokio::time::timeout(deadline, drain).await {
            Ok(()) => Drained::Completely,
            Err(_) => {
                tracing::warn!(?deadline, "in-flight work did not finish in time; cut");
                Drained::Cut
            }
        };
        self.draining.abort_all();
        self.background.abort_all();
        while self.draining.join_next().await.is_some() {}
        while self.background.join_next().await.is_some() {}
        drained
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.live.stopping();
        let _ = self.stop.send(true);
        self.draining.abort_all();
        self.background.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_watched_task_that_ends_before_the_stop_fails_liveness_and_one_after_does_not() {
        let mut sup = Supervisor::new();
        let live = sup.liveness();
        let (end_tx, end_rx) = tokio::sync::oneshot::channel::<()>();
        sup.spawn_watched("the early one", async move {
            let _ = end_rx.await;
        });
        sup.spawn_watched("the steady one", std::future::pending());
        assert!(live.ended().is_empty());
        let _ = end_tx.send(());
        let died = async {
            while live.ended().is_empty() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), died)
            .await
            .expect("the early end is seen");
        sup.shutdown(Duration::from_secs(1)).await;
        assert_eq!(live.ended(), vec!["the early one"], "the stop is no death");
    }

    #[tokio::test]
    async fn a_draining_task_finishes_its_work_after_stop_and_background_ones_are_aborted() {
        let mut sup = Supervisor::new();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let mut stopped = sup.stopped();
        sup.spawn_draining(async move {
            let _ = stopped.wait_for(|s| *s).await;
            // Work that outlives the signal: finished, not cut.
            tokio::task::yield_now().await;
            let _ = done_tx.send("finished");
        });
        sup.background().spawn(std::future::pending());
        assert_eq!(
            sup.shutdown(Duration::from_secs(30)).await,
            Drained::Completely
        );
        assert_eq!(done_rx.await, Ok("finished"));
    }

    #[tokio::test]
    async fn a_drain_that_overruns_its_deadline_is_cut() {
        let mut sup = Supervisor::new();
        sup.spawn_draining(std::future::pending());
        assert_eq!(sup.shutdown(Duration::from_millis(50)).await, Drained::Cut);
    }
}
