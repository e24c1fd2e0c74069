//! The `hoist operator` process: its probe port, leader election, and while it leads
//! the package operator and the fleet controller (issue 25, step 5: the top floor is
//! the only place components are started; the operator does not start the fleet).
//!
//! Guarantees:
//! - `/livez`, `/readyz` and `/metrics` answer from the start, before the Lease is
//!   won: a standby is live and ready (it can take over).
//! - Nothing reconciles before this replica leads; losing the Lease stops both
//!   controllers at once, without finishing passes (another replica leads now).
//! - `stop` drains both controllers within the one deadline, then releases the Lease
//!   so a standby takes over without waiting for it to expire.

use crate::operator::{self, OperatorOptions, lease, metrics, metrics_auth, probes};
use crate::repo::clientset::Clientset;
use kube::Client;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How `hoist operator` runs besides the controllers.
pub struct RunOptions {
    /// Take part in leader election as this identity (in `namespace`); without it the
    /// operator reconciles at once (one replica, or outside a cluster).
    pub leader_election: Option<String>,
    /// Hoist's namespace: the Lease lives there.
    pub namespace: String,
    /// How long a claim on the Lease lasts unrenewed: how long a standby waits for a
    /// leader that died without releasing it ([`lease::LEASE_DURATION`] by default).
    pub lease_duration: Duration,
    /// Serve `/livez`, `/readyz`, `/metrics` here.
    pub probes: Option<tokio::net::TcpListener>,
    /// How long running passes get to finish at shutdown.
    pub drain: Duration,
    /// Where the metrics go (readable by the caller, served on the probe port).
    pub metrics: Arc<metrics::Metrics>,
    /// Run the fleet controller too (the same leader), with these options (their
    /// `metrics` from [`metrics()`], to be served on the same port).
    pub fleet: Option<crate::fleet::FleetOptions>,
    /// Who may read `/metrics` on the probe port (`None`: nobody; `/livez` and
    /// `/readyz` are always open).
    pub metrics_auth: Option<metrics_auth::MetricsAuth>,
}

/// The operator's and the fleet controller's metrics in one registry, so the probe
/// port's one `/metrics` serves both: the first for [`RunOptions::metrics`], the second
/// for the fleet's options.
pub fn metrics() -> (Arc<metrics::Metrics>, crate::fleet::metrics::FleetMetrics) {
    let mut registry = prometheus_client::registry::Registry::default();
    let fleet = crate::fleet::metrics::FleetMetrics::register(&mut registry);
    (Arc::new(metrics::Metrics::in_registry(registry)), fleet)
}

/// Why [`run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `stop` resolved; running passes finished (within the drain) and the Lease was
    /// released.
    Stopped,
    /// Another replica took the Lease: this one stopped reconciling at once.
    LostLease,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Operator(#[from] operator::Error),
    #[error(transparent)]
    Lease(#[from] lease::LeaseError),
}

/// The operator as a process runs it: probes, then (if asked) leader election, then
/// the controllers while this replica leads, until `stop` resolves or the lead is lost.
pub async fn run(
    client: Client,
    repositories: Arc<Clientset>,
    opts: OperatorOptions,
    run: RunOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Exit, RunError> {
    let metrics = run.metrics.clone();
    let live = probes::Liveness::new();
    let (ready_tx, ready_rx) = watch::channel(false);
    let (probes_stop, probes_stopped) = watch::channel(false);
    let probes = run.probes.map(|listener| {
        tokio::spawn(probes::serve(
            listener,
            metrics.clone(),
            ready_rx,
            live.clone(),
            probes_stopped,
            run.metrics_auth.clone(),
        ))
    });
    let mut stop = std::pin::pin!(stop);
    let election = run.leader_election.as_deref();
    let mut leadership = join(&client, election, &run.namespace, run.lease_duration).await?;
    let _ = ready_tx.send(true);
    // One gauge, shared with the family (a clone of a gauge is the same counter).
    let leading = metrics
        .leader
        .get_or_create(&metrics::LeaseLabel {
            name: lease::LEASE_NAME,
        })
        .clone();
    leading.set(i64::from(leadership.is_none()));
    if let Some(l) = leadership.as_mut() {
        tracing::info!(identity = %l.identity, "waiting to lead");
        tokio::select! {
            _ = l.acquired() => {
                tracing::info!(identity = %l.identity, "leading");
                leading.set(1);
            }
            _ = &mut stop => {
                if let Some(l) = leadership { l.release().await; }
                let _ = probes_stop.send(true);
                if let Some(p) = probes { let _ = p.await; }
                return Ok(Exit::Stopped);
            }
        }
    }
    let fleet = match &run.fleet {
        Some(f) => Some(crate::fleet::start(client.clone(), &run.namespace, f.clone()).await),
        None => None,
    };
    let running = operator::start_supervised(client, repositories, opts, metrics, live).await?;
    let exit = match leadership.as_mut() {
        Some(l) => tokio::select! {
            _ = l.lost() => Exit::LostLease,
            _ = &mut stop => Exit::Stopped,
        },
        None => {
            stop.await;
            Exit::Stopped
        }
    };
    if exit == Exit::LostLease {
        leading.set(0);
    }
    match exit {
        // Someone else leads now: stop at once, do not finish passes.
        Exit::LostLease => {
            drop(running);
            drop(fleet);
        }
        // Both drain at once, within the one deadline.
        Exit::Stopped => {
            let fleet = async {
                if let Some(f) = fleet {
                    f.shutdown(run.drain).await;
                }
            };
            tokio::join!(running.shutdown(run.drain), fleet);
        }
    }
    if let Some(l) = leadership {
        l.release().await;
    }
    let _ = probes_stop.send(true);
    if let Some(p) = probes {
        let _ = p.await;
    }
    Ok(exit)
}

/// Joins the leader election as `identity` when there is one (`None`: this replica
/// leads), for a Lease held `duration` unrenewed.
async fn join(
    client: &Client,
    identity: Option<&str>,
    namespace: &str,
    duration: Duration,
) -> Result<Option<lease::Leadership>, RunError> {
    let Some(identity) = identity else {
        return Ok(None);
    };
    let renew = (duration / 3).max(Duration::from_secs(1));
    let l = lease::join(client.clone(), namespace, identity, duration, renew).await?;
    Ok(Some(l))
}
