//! Leader election on a Lease, so that of several operator replicas exactly one
//! reconciles (the others wait, ready to take over). Done by `kube-lease-manager`, a
//! maintained crate whose exclusivity rests on server-side apply conflicts (pinned by
//! devcluster's `leases` test), not by a loop of our own.
//!
//! Guarantees: [`Leadership::acquired`] resolves only while this replica holds the
//! Lease; [`Leadership::lost`] resolves when it stops holding it (the caller must then
//! stop reconciling: the operator exits, as controller-runtime's managers do);
//! [`Leadership::release`] gives the Lease up at shutdown, so a successor does not wait
//! for it to expire.

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use std::time::Duration;
use tokio::sync::watch;

/// The Lease's name, in Hoist's namespace.
pub const LEASE_NAME: &str = "hoist-operator";

/// How long a holder's claim lasts without renewal (controller-runtime's default); it is
/// renewed a third of that before it ends.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
#[error("leader election: {0}")]
pub struct LeaseError(#[from] kube_lease_manager::LeaseManagerError);

/// This replica's place in the election.
pub struct Leadership {
    state: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<
        Result<kube_lease_manager::LeaseManager, kube_lease_manager::LeaseManagerError>,
    >,
    pub identity: String,
}

/// Joins the election for [`LEASE_NAME`] in `namespace` as `identity`.
pub async fn join(
    client: Client,
    namespace: &str,
    identity: &str,
    duration: Duration,
    grace: Duration,
) -> Result<Leadership, LeaseError> {
    let manager = LeaseManagerBuilder::new(client, LEASE_NAME)
        .with_namespace(namespace)
        .with_identity(identity)
        .with_duration(duration.as_secs().max(2))
        .with_grace(grace.as_secs().clamp(1, duration.as_secs().max(2) - 1))
        .with_field_manager("hoist-operator-lease")
        .build()
        .await?;
    let (state, task) = manager.watch().await;
    Ok(Leadership {
        state,
        task,
        identity: identity.to_string(),
    })
}

impl Leadership {
    /// Whether this replica holds the Lease now.
    pub fn is_leader(&self) -> bool {
        *self.state.borrow()
    }

    /// Resolves once this replica holds the Lease.
    pub async fn acquired(&mut self) {
        let _ = self.state.wait_for(|held| *held).await;
    }

    /// Resolves when this replica no longer holds the Lease (or the election stopped).
    pub async fn lost(&mut self) {
        let _ = self.state.wait_for(|held| !*held).await;
    }

    /// Gives the Lease up (a successor takes it at once, not after it expires).
    pub async fn release(self) {
        drop(self.state);
        match tokio::time::timeout(Duration::from_secs(5), self.task).await {
            Ok(Ok(Ok(manager))) => {
                let _ = manager.release().await;
            }
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the Lease could not be released"),
            _ => tracing::warn!("the Lease was not released in time"),
        }
    }
}

/// A name for this replica: the pod's name where there is one, else the host's, with
/// a random suffix so two processes on one host differ.
pub fn identity() -> String {
    let base = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "hoist".into());
    format!("{base}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}
