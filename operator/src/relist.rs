//! A restart's relist comes after users' changes (seed 004: "user changes served before
//! a restart's relist of everything").
//!
//! At start every package arrives at once from the watch's initial list. Those already
//! done ([`settled`]: Ready for their current generation and retry) are not passed on
//! with the rest; they go to a deferred queue that [`feed`] releases to the controller a
//! few at a time: at most `batch` (half the workers: of the concurrency limit as it is
//! when the batch is released) released and not yet finished. A
//! user's change (a new package, a new generation) goes straight to the controller, so
//! it always finds a free worker instead of queueing behind thousands of look-overs.
//!
//! Guarantees: every listed package still gets its pass (drift that happened while the
//! operator was down is found); the deferred queue never blocks the watch (it is
//! unbounded: a reference per listed package and per applied object a restart finds,
//! passed on to the controller, which merges repeats of one package); a pass that never comes for a
//! released reference (the package was deleted) delays the next batch by at most
//! [`PACE_TIMEOUT`], never forever.

use crate::package::Installable;
use hoist_kube::types::RETRY_ANNOTATION;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The longest a batch waits for its passes before the next is released.
pub const PACE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a listed package needs no pass before users' changes: Ready for its current
/// generation and retry, not being deleted, carrying the finalizer.
pub fn settled<K: Installable>(pkg: &K) -> bool {
    let Some(status) = pkg.status() else {
        return false;
    };
    let generation = pkg.meta().generation;
    let ready = status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True" && c.observed_generation == generation);
    ready
        && pkg.meta().deletion_timestamp.is_none()
        && pkg
            .finalizers()
            .iter()
            .any(|f| f == crate::reconcile::FINALIZER)
        && status.last_handled_retry.as_deref()
            == pkg.annotations().get(RETRY_ANNOTATION).map(String::as_str)
}

/// Releases deferred references to `to`, `batch()` at a time (read at each batch: half
/// the workers, as many as the concurrency limit allows now), each batch after the
/// previous one's passes finished (`finished` counts finished passes) or
/// [`PACE_TIMEOUT`]. Ends when either channel closes.
pub async fn feed<K: Installable>(
    mut deferred: mpsc::UnboundedReceiver<ObjectRef<K>>,
    to: mpsc::Sender<ObjectRef<K>>,
    mut finished: watch::Receiver<u64>,
    batch: impl Fn() -> usize,
) {
    while let Some(first) = deferred.recv().await {
        let batch = batch().max(1) as u64;
        let base = *finished.borrow_and_update();
        let mut released = 0;
        let mut next = Some(first);
        while let Some(r) = next.take() {
            if to.send(r).await.is_err() {
                return;
            }
            released += 1;
            if released >= batch {
                break;
            }
            next = deferred.try_recv().ok();
        }
        let _ =
            tokio::time::timeout(PACE_TIMEOUT, finished.wait_for(|n| *n >= base + released)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_kube::types::{Condition, Package, PackageStatus};

    fn pkg(ready_for: Option<i64>, generation: i64, finalized: bool) -> Package {
        let mut p = Package::new("web", Default::default());
        p.metadata.namespace = Some("a".into());
        p.metadata.generation = Some(generation);
        if finalized {
            p.metadata.finalizers = Some(vec![super::super::reconcile::FINALIZER.into()]);
        }
        p.status = ready_for.map(|g| PackageStatus {
            conditions: vec![Condition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: "InstallationSucceeded".into(),
                message: String::new(),
                last_transition_time: None,
                observed_generation: Some(g),
            }],
            ..Default::default()
        });
        p
    }

    #[test]
    fn only_packages_ready_for_their_current_generation_wait_for_users() {
        assert!(settled(&pkg(Some(2), 2, true)));
        assert!(!settled(&pkg(Some(1), 2, true)), "a new generation");
        assert!(!settled(&pkg(None, 1, true)), "never reconciled");
        assert!(!settled(&pkg(Some(1), 1, false)), "no finalizer yet");
        let mut retried = pkg(Some(1), 1, true);
        retried
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(RETRY_ANNOTATION.into(), "now".into());
        assert!(!settled(&retried), "a retry asked for");
    }

    #[tokio::test(start_paused = true)]
    async fn references_are_released_a_batch_at_a_time_as_passes_finish() {
        let (dtx, drx) = mpsc::unbounded_channel::<ObjectRef<Package>>();
        let (tx, mut rx) = mpsc::channel(16);
        let (done, finished) = watch::channel(0u64);
        for i in 0..5 {
            dtx.send(ObjectRef::new(&format!("p{i}")).within("a"))
                .expect("send");
        }
        let feeder = tokio::spawn(feed(drx, tx, finished, || 2));
        let first = (rx.recv().await, rx.recv().await);
        assert!(first.0.is_some() && first.1.is_some());
        assert!(
            rx.try_recv().is_err(),
            "no third before the first two finish"
        );
        done.send_modify(|n| *n += 2);
        assert!(rx.recv().await.is_some());
        assert!(rx.recv().await.is_some());
        done.send_modify(|n| *n += 2);
        assert!(rx.recv().await.is_some());
        drop(dtx);
        feeder.await.expect("feeder ends");
    }
}
