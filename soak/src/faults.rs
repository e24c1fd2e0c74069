//! Injecting one fault, and ending it.
//!
//! Guarantees: every fault is journalled when it starts and when it ends, with what it
//! hit (which replica led); a fault that cannot be injected (no leader yet) is
//! journalled as skipped, not retried, so the plan stays the seed's.

use crate::cluster::{Cluster, DASHBOARD_USER, OPERATOR_USER, admin};
use crate::hoist::Hoist;
use crate::members::Members;
use crate::plan::Fault;
use crate::procs::Logs;
use crate::repo::{Control, Mode};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// What ending a fault takes, if anything: when, and what to do then.
pub enum Ending {
    None,
    After(Duration, End),
}

pub enum End {
    ClearApiFaults,
    RepositoryNormal,
    StartOperator(usize),
    StartDashboard,
    MemberBack(usize),
}

/// The replica holding the Lease, from its holder identity (`soak-operator-I-…`).
async fn leader(client: &kube::Client) -> Option<usize> {
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(client.clone(), "hoist-system");
    let lease = tokio::time::timeout(
        crate::cluster::CALL_TIMEOUT,
        leases.get_opt("hoist-operator"),
    )
    .await
    .ok()?
    .ok()??;
    let holder = lease.spec?.holder_identity?;
    (0..crate::hoist::REPLICAS).find(|i| holder.starts_with(&format!("{}-", Hoist::pod_name(*i))))
}

async fn add_api_fault(client: &kube::Client, fault: serde_json::Value) -> anyhow::Result<()> {
    admin(client, "POST", "/devcluster/faults", Some(fault))
        .await
        .map(|_| ())
}

/// Starts `fault`; returns what it hit (for the journal) and how it ends.
pub async fn inject(
    fault: &Fault,
    client: &kube::Client,
    cluster: &mut Cluster,
    hoist: &mut Hoist,
    members: &mut Members,
    repos: &Arc<Control>,
    logs: &mut Logs,
) -> anyhow::Result<(String, Ending)> {
    Ok(match fault {
        Fault::KillLeader { down } => match leader(client).await {
            Some(i) => match hoist.operators[i].take() {
                Some(p) => {
                    let name = format!("{}.{}", p.role, p.life);
                    p.kill9().await?;
                    (
                        format!("SIGKILL {name}"),
                        Ending::After(*down, End::StartOperator(i)),
                    )
                }
                None => (
                    format!("skipped: replica {i} leads but is down"),
                    Ending::None,
                ),
            },
            None => ("skipped: no replica holds the Lease".into(), Ending::None),
        },
        Fault::KillDashboard { down } => match hoist.dashboard.take() {
            Some(p) => {
                let name = format!("{}.{}", p.role, p.life);
                p.kill9().await?;
                (
                    format!("SIGKILL {name}"),
                    Ending::After(*down, End::StartDashboard),
                )
            }
            None => ("skipped: the dashboard is down".into(), Ending::None),
        },
        Fault::RestartCluster => {
            cluster.restart(client, logs).await?;
            ("devcluster stopped and started".into(), Ending::None)
        }
        Fault::Compact => {
            admin(client, "POST", "/devcluster/compact", None).await?;
            for user in [OPERATOR_USER, DASHBOARD_USER] {
                add_api_fault(
                    client,
                    json!({"verb": "watch", "user": user, "times": 8,
                           "action": {"type": "watch_end", "after_events": 0, "how": "abrupt"}}),
                )
                .await?;
            }
            (
                "history compacted, watches cut".into(),
                Ending::After(Duration::from_secs(3), End::ClearApiFaults),
            )
        }
        Fault::Storm { code, lasting } => {
            let retry_after = (*code == 429).then_some(1);
            add_api_fault(
                client,
                json!({"user": OPERATOR_USER,
                       "action": {"type": "error", "code": code, "retry_after": retry_after}}),
            )
            .await?;
            (
                format!("the operators' requests answer {code}"),
                Ending::After(*lasting, End::ClearApiFaults),
            )
        }
        Fault::Latency { millis, lasting } => {
            add_api_fault(
                client,
                json!({"action": {"type": "latency", "millis": millis}}),
            )
            .await?;
            (
                format!("every request waits {millis} ms"),
                Ending::After(*lasting, End::ClearApiFaults),
            )
        }
        Fault::WatchCut { how, after, times } => {
            add_api_fault(
                client,
                json!({"verb": "watch", "times": times,
                       "action": {"type": "watch_end", "after_events": after, "how": how.wire()}}),
            )
            .await?;
            (
                format!("the next {times} watches end after {after} events"),
                Ending::After(Duration::from_secs(5), End::ClearApiFaults),
            )
        }
        Fault::RepoSlow { millis, lasting } => {
            repos.set(Mode::Slow(Duration::from_millis(*millis)));
            (
                format!("repositories answer after {millis} ms"),
                Ending::After(*lasting, End::RepositoryNormal),
            )
        }
        Fault::RepoDown { lasting } => {
            repos.set(Mode::Down);
            (
                "repositories answer 503".into(),
                Ending::After(*lasting, End::RepositoryNormal),
            )
        }
        Fault::RepoChanged => {
            let edition = repos.republish();
            (
                format!("kv-store's manifests republished as edition {edition}"),
                Ending::None,
            )
        }
        Fault::MemberDown { member, lasting } => {
            members.down(*member).await?;
            (
                format!("member-{member} stopped"),
                Ending::After(*lasting, End::MemberBack(*member)),
            )
        }
        Fault::MemberReplaced { member } => {
            members.replace(*member, logs).await?;
            (
                format!("member-{member} replaced by another cluster"),
                Ending::None,
            )
        }
    })
}

/// Ends a fault.
pub async fn end(
    end: End,
    client: &kube::Client,
    hoist: &mut Hoist,
    members: &mut Members,
    repos: &Arc<Control>,
    logs: &mut Logs,
) -> anyhow::Result<String> {
    Ok(match end {
        End::ClearApiFaults => {
            admin(client, "DELETE", "/devcluster/faults", None).await?;
            "API faults cleared".into()
        }
        End::RepositoryNormal => {
            repos.set(Mode::Normal);
            "repositories normal".into()
        }
        End::StartOperator(i) => {
            hoist.start_operator(i, logs)?;
            format!("operator-{i} started again")
        }
        End::StartDashboard => {
            hoist.start_dashboard(logs)?;
            "dashboard started again".into()
        }
        End::MemberBack(i) => {
            members.back(i, logs).await?;
            format!("member-{i} back")
        }
    })
}
