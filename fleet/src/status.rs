//! The Cluster's status as the API server keeps it: the core's status
//! (`hoist_core::fleet::conditions`) in the Cluster's shape (RFC 3339 times, each
//! condition's `lastTransitionTime` kept while its status holds), written only when
//! something visible changed (probe times at most every
//! [`conditions::PROBE_TIMES_EVERY`]); the `Deleting` condition of a cleanup; and the
//! probe state read back from a status after a restart ([`seed`]).

use crate::context::Context;
use crate::{error::Error, time};
use hoist_core::fleet::Seconds;
use hoist_core::fleet::conditions::{self, Observed};
use hoist_core::fleet::ledger::Record;
use hoist_core::fleet::probe::Probed;
use hoist_kube::types::{
    BillingStatus, Cluster, ClusterIdentity, ClusterStatus, Condition, ProbeStatus,
};
use kube::ResourceExt;
use kube::api::{Api, Patch};

/// What the status says, as the probe state starts from after a restart.
pub(super) fn seed(status: Option<&ClusterStatus>) -> Probed {
    let Some(s) = status else {
        return Probed::default();
    };
    Probed {
        identity: s.identity.as_ref().map(|i| i.kube_system_uid.clone()),
        version: s.identity.as_ref().map(|i| i.server_version.clone()),
        first_seen: s.identity.as_ref().and_then(|i| time::parse(&i.first_seen)),
        last_success: s.probe.last_success.as_deref().and_then(time::parse),
        vanished: s.probe.vanished,
        ..Default::default()
    }
}

/// The status `p` and `records` make; `refused`: the kubeconfig was refused (the
/// conditions say so with [`conditions::KUBECONFIG_REFUSED`]). Transition times are
/// set by [`write`].
pub(super) fn status_of(
    cluster: &Cluster,
    p: &Probed,
    records: &[Record],
    refused: bool,
) -> ClusterStatus {
    let core = conditions::status(&Observed {
        probed: p,
        records,
        billing_enabled: cluster.spec.billing.enabled,
        kubeconfig_refused: refused,
    });
    ClusterStatus {
        identity: p.identity.as_ref().map(|id| ClusterIdentity {
            kube_system_uid: id.clone(),
            server_version: p.version.clone().unwrap_or_default(),
            first_seen: p.first_seen.map(time::to_rfc3339).unwrap_or_default(),
        }),
        probe: ProbeStatus {
            last_success: p.last_success.map(time::to_rfc3339),
            last_attempt: p.last_attempt.map(time::to_rfc3339),
            consecutive_failures: p.consecutive_failures,
            last_error: p.last_error.clone(),
            vanished: p.vanished,
        },
        billing: BillingStatus {
            record: core.billing.record,
            since: core.billing.since.map(time::to_rfc3339),
            until: core.billing.until.map(time::to_rfc3339),
        },
        conditions: core.conditions.into_iter().map(condition).collect(),
        observed_generation: cluster.metadata.generation,
    }
}

/// The core's condition in the Cluster's shape, without a transition time.
fn condition(c: conditions::Condition) -> Condition {
    Condition {
        type_: c.type_.into(),
        status: match c.status {
            Some(true) => "True",
            Some(false) => "False",
            None => "Unknown",
        }
        .into(),
        reason: c.reason.into(),
        message: c.message,
        last_transition_time: None,
        observed_generation: None,
    }
}

/// Writes `next` unless only probe times moved and they were written a moment ago
/// ([`conditions::write_due`]).
pub(super) async fn write(
    cluster: &Cluster,
    ctx: &Context,
    mut next: ClusterStatus,
    now: Seconds,
) -> Result<(), Error> {
    let old = cluster.status.clone().unwrap_or_default();
    // Transition times: kept while a condition's status holds.
    for c in &mut next.conditions {
        let before = old.conditions.iter().find(|o| o.type_ == c.type_);
        c.last_transition_time = match before {
            Some(b) if b.status == c.status => b.last_transition_time.clone(),
            _ => Some(time::to_rfc3339(now).into()),
        };
    }
    let visible_change = without_times(&old) != without_times(&next);
    let written_at = old.probe.last_attempt.as_deref().and_then(time::parse);
    if !conditions::write_due(visible_change, written_at, now) {
        return Ok(());
    }
    let api: Api<Cluster> =
        Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default());
    api.patch_status(
        &cluster.name_any(),
        &hoist_kube::types::patch_params(),
        &Patch::Merge(serde_json::json!({ "status": next })),
    )
    .await?;
    Ok(())
}

/// `s` without what changes with every probe (probe times, failure counts, error
/// words): what is left is what a reader sees change.
fn without_times(s: &ClusterStatus) -> ClusterStatus {
    let mut s = s.clone();
    s.probe.last_attempt = None;
    s.probe.last_success = None;
    s.probe.consecutive_failures = s.probe.consecutive_failures.min(1);
    s.probe.last_error = s.probe.last_error.as_ref().map(|_| String::new());
    for c in &mut s.conditions {
        c.message.clear();
    }
    s
}

/// The `Deleting` condition, naming the step the delete waits on (once: a retry of
/// the cleanup does not write it again); billing stops at `at`.
pub(super) async fn say_deleting(
    cluster: &Cluster,
    ctx: &Context,
    at: Seconds,
) -> Result<(), Error> {
    let mut status = cluster.status.clone().unwrap_or_default();
    if status
        .conditions
        .iter()
        .any(|c| c.type_ == conditions::DELETING)
    {
        return Ok(());
    }
    let mut c = condition(conditions::deleting(&time::to_rfc3339(at)));
    c.last_transition_time = Some(time::to_rfc3339(time::now()).into());
    status.conditions.push(c);
    let api: Api<Cluster> =
        Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default());
    api.patch_status(
        &cluster.name_any(),
        &hoist_kube::types::patch_params(),
        &Patch::Merge(serde_json::json!({ "status": { "conditions": status.conditions } })),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_starts_from_what_the_status_says_and_learns_the_rest_again() {
        let status = ClusterStatus {
            identity: Some(ClusterIdentity {
                kube_system_uid: "k".into(),
                server_version: "v1.32.0".into(),
                first_seen: "2025-01-01T00:00:00Z".into(),
            }),
            probe: ProbeStatus {
                last_success: Some("2025-01-01T00:10:00Z".into()),
                last_attempt: Some("2025-01-01T00:11:00Z".into()),
                consecutive_failures: 2,
                last_error: Some("timeout".into()),
                vanished: true,
            },
            ..ClusterStatus::default()
        };
        let start = time::parse("2025-01-01T00:00:00Z").expect("time");
        assert_eq!(
            seed(Some(&status)),
            Probed {
                identity: Some("k".into()),
                version: Some("v1.32.0".into()),
                first_seen: Some(start),
                last_success: Some(start + 600),
                vanished: true,
                ..Probed::default()
            }
        );
        assert_eq!(seed(None), Probed::default());
    }

    #[test]
    fn probe_words_alone_are_not_a_visible_change() {
        let mut c = Cluster::new("c", Default::default());
        c.metadata.generation = Some(1);
        let p = Probed {
            identity: Some("k".into()),
            credentials_valid: Some(true),
            reachable: Some(true),
            consecutive_failures: 1,
            last_attempt: Some(100),
            last_error: Some("timeout".into()),
            ..Probed::default()
        };
        let a = status_of(&c, &p, &[], false);
        let later = Probed {
            consecutive_failures: 2,
            last_attempt: Some(130),
            last_error: Some("connection refused".into()),
            ..p.clone()
        };
        let b = status_of(&c, &later, &[], false);
        assert_ne!(a, b);
        assert_eq!(without_times(&a), without_times(&b));
        let refused = status_of(&c, &later, &[], true);
        assert_ne!(without_times(&a), without_times(&refused));
    }
}
