//! One pass over a Cluster, under kube-runtime's finalizer helper (the finalizer is
//! added before anything is billed): a Cluster that is not being deleted is probed
//! within its pool and deadline (or its kubeconfig refused), the probe's billing events
//! are applied to its ledger by the core's rules and written, its status is written
//! when something visible changed, and the pass comes back at its next probe. A
//! Cluster being deleted goes to [`crate::cleanup`].

use crate::context::Context;
use crate::fresh::{self, Fresh};
use crate::member::{NoMember, member};
use crate::{cleanup, error::Error, ledger, metrics, probe, status, time};
use hoist_core::fleet::Seconds;
use hoist_core::fleet::conditions;
use hoist_core::fleet::ledger::{self as rules, Record, StopSource};
use hoist_core::fleet::probe::{Event, Outcome, Policy, Probed};
use hoist_kube::types::{Cluster, UsageRecord};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as Finalizer, finalizer};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The finalizer every Cluster carries until its billing is stopped.
pub const FINALIZER: &str = "fleet.hoist.dev/usage";

pub(super) fn error_policy(
    _: Arc<Cluster>,
    err: &finalizer::Error<Error>,
    _: Arc<Context>,
) -> Action {
    tracing::warn!(error = %err, "fleet reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

pub(super) async fn reconcile(
    cluster: Arc<Cluster>,
    ctx: Arc<Context>,
) -> Result<Action, finalizer::Error<Error>> {
    let api: Api<Cluster> =
        Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, cluster, |event| async {
        match event {
            Finalizer::Apply(c) => apply(&c, &ctx).await,
            Finalizer::Cleanup(c) => cleanup::cleanup(&c, &ctx).await,
        }
    })
    .await
}

/// A pass over a Cluster that is not being deleted (see the module).
async fn apply(cluster: &Cluster, ctx: &Context) -> Result<Action, Error> {
    let uid = cluster.uid().unwrap_or_default();
    let now = time::now();
    let policy = policy_of(cluster, &ctx.opts.policy);
    let mut probed = ctx
        .memory
        .probed(&uid)
        .unwrap_or_else(|| status::seed(cluster.status.as_ref()));
    count_lateness(ctx, &uid, &probed);
    let (outcome, refusal) = probe_once(cluster, ctx, &probed).await;
    let events = match &refusal {
        None => probed.observe(outcome, now, &policy),
        // Nothing was asked of the member: nothing is learnt of it, and billing is
        // left as it was.
        Some(why) => {
            probed.not_asked(why.clone(), now);
            Vec::new()
        }
    };
    let Some(records) = bill(cluster, ctx, &uid, &probed, events, now).await? else {
        // This copy is stale: the Cluster is gone or being deleted (its delete brings
        // the cleanup pass). Nothing of it is kept: the member client this pass built
        // holds connections and tasks.
        ctx.memory.forget(&uid);
        return Ok(Action::await_change());
    };
    let next_status = status::status_of(cluster, &probed, &records, refusal.is_some());
    status::write(cluster, ctx, next_status, now).await?;
    let jitter = f64::from(now.rem_euclid(997) as u32) / 997.0;
    let next = Duration::from_secs(policy.next_in(&probed, jitter).max(1) as u64);
    ctx.memory.remember(uid, probed, Instant::now() + next);
    Ok(Action::requeue(next))
}

/// The controller's probe policy with the Cluster's own `billing.vanishAfter`.
fn policy_of(cluster: &Cluster, default: &Policy) -> Policy {
    let mut policy = default.clone();
    if let Some(v) = cluster.spec.billing.vanish_after.as_deref() {
        policy.vanish_after = time::parse_duration(v).filter(|s| *s > 0);
    }
    policy
}

/// Observes how late this pass is against the probe the last one scheduled.
fn count_lateness(ctx: &Context, uid: &str, probed: &Probed) {
    let Some(late) = ctx.memory.lateness(uid, Instant::now()) else {
        return;
    };
    let member = if probed.consecutive_failures == 0 && probed.last_success.is_some() {
        "healthy"
    } else {
        "failing"
    };
    ctx.metrics
        .lateness_seconds
        .get_or_create(&metrics::HealthLabel { member })
        .observe(late.as_secs_f64());
}

/// One probe of the member, in the pool its last result puts it in (failing members
/// have their own); with the refusal when its kubeconfig was refused (then nothing was
/// sent, and any client an earlier kubeconfig made is forgotten).
async fn probe_once(
    cluster: &Cluster,
    ctx: &Context,
    probed: &Probed,
) -> (Outcome, Option<String>) {
    let pool = if probed.consecutive_failures > 0 {
        &ctx.failing_pool
    } else {
        &ctx.healthy_pool
    };
    let permit = pool.acquire().await;
    ctx.metrics.in_flight.inc();
    let started = Instant::now();
    let (outcome, refusal) = match member(cluster, ctx).await {
        Ok(client) => (probe::probe(&client, ctx.opts.probe_timeout).await, None),
        Err(NoMember::Missing(why)) => (Outcome::Refused(why), None),
        Err(NoMember::Refused(why)) => (Outcome::Refused(why.clone()), Some(why)),
    };
    if refusal.is_some() {
        ctx.memory.forget_member(&cluster.uid().unwrap_or_default());
    }
    ctx.metrics.in_flight.dec();
    drop(permit);
    ctx.metrics
        .probe_seconds
        .observe(started.elapsed().as_secs_f64());
    ctx.metrics
        .probes
        .get_or_create(&metrics::ResultLabel {
            result: match &outcome {
                Outcome::Ok { .. } => "ok",
                Outcome::Refused(_) => "refused",
                Outcome::Failed(_) => "failed",
            },
        })
        .inc();
    (outcome, refusal)
}

/// The ledger's part of a pass: the probe's billing `events`, and the core's
/// [`conditions::reopen`] (identified, with no open record), applied to the Cluster's
/// records when its billing is enabled, and written; returns its records as they are
/// now, or `None` when a record was to be opened and the Cluster, read fresh, is not
/// live (this pass ran on a stale copy; see [`fresh`]): then nothing is left open.
async fn bill(
    cluster: &Cluster,
    ctx: &Context,
    uid: &str,
    probed: &Probed,
    mut events: Vec<Event>,
    now: Seconds,
) -> Result<Option<Vec<Record>>, Error> {
    let before: Vec<Record> = ledger::records_of(&ctx.records, uid);
    events.extend(conditions::reopen(probed, &before, &events, now));
    let mut after = before.clone();
    if !cluster.spec.billing.enabled {
        return Ok(Some(after));
    }
    for e in &events {
        rules::on_probe(&mut after, uid, e);
    }
    let opened: Vec<Record> = after
        .iter()
        .filter(|r| r.is_open() && !before.iter().any(|b| b.name() == r.name()))
        .cloned()
        .collect();
    let clusters: Api<Cluster> =
        Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default());
    if !opened.is_empty() && fresh::read(&clusters, cluster).await? != Fresh::Live {
        tracing::info!(cluster = %cluster.name_any(), "no record opened: the Cluster is gone or being deleted (this pass saw an older copy)");
        ctx.metrics.stale_passes.inc();
        return Ok(None);
    }
    let api: Api<UsageRecord> = Api::all(ctx.client.clone());
    ledger::write_changes(&api, cluster, &before, &after, &ctx.metrics).await?;
    if opened.is_empty() {
        return Ok(Some(after));
    }
    // Deleted between the read and the create: the cleanup may have listed the records
    // before this one existed, so it is stopped here.
    match fresh::read(&clusters, cluster).await? {
        Fresh::Live => Ok(Some(after)),
        gone => {
            for r in &opened {
                let at = fresh::stop_at(gone, r.start);
                let stop = ledger::stop_once(&api, &r.name(), at, StopSource::Deleted).await?;
                ledger::count_stop(&ctx.metrics, stop);
            }
            ctx.metrics.stale_passes.inc();
            Ok(None)
        }
    }
}
