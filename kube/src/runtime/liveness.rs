//! Task health for `/livez`: a long-lived task (a controller, a watch, a ticker) that
//! ends while its process should be running, by returning, by panicking or by being
//! cut, is recorded by name, and `/livez` fails from then on, so the kubelet restarts a
//! process that looks alive and does nothing; an orderly stop ([`Liveness::stopping`])
//! is not a death.
//!
//! Caveat: only tasks spawned through [`Liveness::supervise`] are watched.

use futures::FutureExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Which of a process's long-lived tasks ended while they should still run: what
/// `/livez` answers from. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Liveness {
    inner: Arc<LivenessInner>,
}

#[derive(Default)]
struct LivenessInner {
    stopping: AtomicBool,
    ended: Mutex<Vec<&'static str>>,
}

impl Liveness {
    pub fn new() -> Self {
        Self::default()
    }

    /// `task`, watched: if it ends before [`Self::stopping`] (it returns, panics, or is
    /// dropped unfinished), `name` is recorded as ended and `/livez` fails. A panic is
    /// caught (and logged): the task ends, the process does not.
    pub fn supervise(
        &self,
        name: &'static str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let watch = Ended {
            live: self.clone(),
            name,
        };
        async move {
            let outcome = std::panic::AssertUnwindSafe(task).catch_unwind().await;
            if !watch.live.is_stopping() {
                match outcome {
                    Ok(()) => tracing::error!(
                        task = name,
                        "ended while the process runs; /livez fails from now on"
                    ),
                    Err(_) => {
                        tracing::error!(task = name, "panicked and ended; /livez fails from now on")
                    }
                }
            }
            drop(watch);
        }
    }

    /// An orderly stop begins: tasks that end from now on have not died.
    pub fn stopping(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }

    fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// The tasks that ended while they should have run (none: alive).
    pub fn ended(&self) -> Vec<&'static str> {
        self.inner
            .ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Records its task as ended when dropped before the stop: its future finished,
/// unwound, or was dropped (aborted).
struct Ended {
    live: Liveness,
    name: &'static str,
}

impl Drop for Ended {
    fn drop(&mut self) {
        if !self.live.is_stopping() {
            self.live
                .inner
                .ended
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.name);
        }
    }
}
