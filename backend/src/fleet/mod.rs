//! The fleet controller (issue 11, seed 003): member Clusters probed on their own
//! schedules, their billing kept in UsageRecords by the core's ledger rules, deletes
//! that are never lost.
//!
//! Guarantees:
//! - A Cluster carries the finalizer `fleet.hoist.dev/usage` before anything of it is
//!   billed (kube-runtime's finalizer helper adds it first).
//! - A delete stops billing at the Cluster's `deletionTimestamp` (the API server's clock,
//!   so a delete made while Hoist was down is stopped at the right second), with a
//!   compare-and-set: a retry or a second writer never moves it. Cleanup never calls
//!   the member, so a gone member cannot hang its delete.
//! - Probes run inside the controller's bounded concurrency, each within
//!   [`FleetOptions::probe_timeout`]: a hung member holds one worker for that long and
//!   never delays the rest beyond it.
//! - A sweep stops open records whose Cluster is gone without cleanup (its finalizer
//!   stripped by hand) as Orphaned.
//! - The status is written only when something visible changed (probe times at most
//!   every [`PROBE_TIMES_EVERY`]).
//! - A member's kubeconfig is checked before any client is built from it (issue 20;
//!   [`probe::member_client`]): a refused one (a file path, `exec`, `auth-provider`,
//!   `tokenFile`, a proxy, plain http off loopback…) sends nothing anywhere, reads no
//!   file and runs nothing; the Cluster's `CredentialsValid` and `Ready` conditions
//!   say why with reason [`KUBECONFIG_REFUSED`] and the field, `Reachable` goes
//!   Unknown (not probed). Billing is left as it was: a refused kubeconfig stops
//!   probing, it does not open, close or vanish a record.

pub mod facts;
pub mod ledger;
pub mod metrics;
pub mod probe;
pub mod relay;
pub mod time;
pub mod usage;

use crate::types::{Cluster, ClusterIdentity, ClusterStatus, Condition, UsageRecord};
use futures::StreamExt;
use hoist_core::fleet::Seconds;
use hoist_core::fleet::ledger::{self as rules, Record};
use hoist_core::fleet::probe::{Event, Outcome, Policy, Probed};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{self, Event as Finalizer, finalizer};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The finalizer every Cluster carries until its billing is stopped.
pub const FINALIZER: &str = "fleet.hoist.dev/usage";

/// The condition reason for a kubeconfig the controller will not use.
pub const KUBECONFIG_REFUSED: &str = "KubeconfigRefused";

/// Probe times, failure counts and error words alone are written at most this often.
pub const PROBE_TIMES_EVERY: Seconds = 300;

#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Probes at once of members that answer (the pool a thousand clusters share);
    /// members that are failing get a quarter of that in a pool of their own, so a
    /// hundred hung ones never hold the probes of the rest.
    pub concurrency: u16,
    /// The longest one probe may take.
    pub probe_timeout: Duration,
    /// Each request of a probe.
    pub request_timeout: Duration,
    /// Probe schedule and thresholds; `vanish_after` is each Cluster's own.
    pub policy: Policy,
    /// How often orphaned records are looked for.
    pub sweep_interval: Duration,
    /// Deliver closed periods to a usage sink (`--usage-sink`).
    pub relay: Option<relay::RelayOptions>,
    /// How long a stopped record is kept after its stop (and, with a usage sink, after
    /// the sink acknowledged it) before the sweep releases and deletes it; `None`
    /// keeps every record forever. Default 400 days: a year of invoices and their
    /// disputes.
    pub retention: Option<Seconds>,
    /// Where to count (the operator's registry); unregistered ones when unset.
    pub metrics: Option<metrics::FleetMetrics>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            concurrency: 64,
            probe_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            policy: Policy::default(),
            sweep_interval: Duration::from_secs(600),
            relay: None,
            retention: Some(400 * 86_400),
            metrics: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// A member client, built from one version of its kubeconfig Secret and one context.
struct Member {
    source: String,
    client: Client,
}

/// Why a Cluster has no member client.
enum NoMember {
    /// The Secret or its key is missing: a refused credential, as before.
    Missing(String),
    /// The kubeconfig is refused: nothing was sent, the condition says why.
    Refused(String),
}

pub struct Context {
    client: Client,
    opts: FleetOptions,
    secrets: Store<Secret>,
    records: Store<UsageRecord>,
    members: Mutex<HashMap<String, Member>>,
    probed: Mutex<HashMap<String, Probed>>,
    /// When each Cluster's next probe was due (for the lateness metric).
    due: Mutex<HashMap<String, std::time::Instant>>,
    /// Probes of members that answer, and of members that are failing.
    healthy_pool: tokio::sync::Semaphore,
    failing_pool: tokio::sync::Semaphore,
    metrics: metrics::FleetMetrics,
}

/// A running fleet controller; dropping it stops everything.
pub struct Running {
    tasks: tokio::task::JoinSet<()>,
}

impl Running {
    pub fn abort(mut self) {
        self.tasks.abort_all();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// Starts the controller for the Clusters in `namespace` (Hoist's).
pub async fn start(client: Client, namespace: &str, opts: FleetOptions) -> Running {
    let mut tasks = tokio::task::JoinSet::new();
    let (secrets, secrets_writer) = reflector::store();
    let secret_api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret_changes = watcher::watcher(secret_api, watcher::Config::default())
        .default_backoff()
        .reflect(secrets_writer)
        .applied_objects();
    let (records, records_writer) = reflector::store();
    let record_api: Api<UsageRecord> = Api::all(client.clone());
    tasks.spawn(
        watcher::watcher(record_api, watcher::Config::default())
            .default_backoff()
            .reflect(records_writer)
            .for_each(|_| futures::future::ready(())),
    );
    // Bounded: without the fleet's CRDs (an older install) the package operator must
    // not wait on this. Creates are by name, so passes before the first list cannot
    // make a second record (a 409 is "made already").
    let _ = tokio::time::timeout(Duration::from_secs(5), records.wait_until_ready()).await;
    let ctx = Arc::new(Context {
        client: client.clone(),
        opts: opts.clone(),
        secrets: secrets.clone(),
        records,
        members: Mutex::new(HashMap::new()),
        probed: Mutex::new(HashMap::new()),
        due: Mutex::new(HashMap::new()),
        healthy_pool: tokio::sync::Semaphore::new(usize::from(opts.concurrency.max(1))),
        failing_pool: tokio::sync::Semaphore::new(usize::from((opts.concurrency / 4).max(1))),
        metrics: opts
            .metrics
            .clone()
            .unwrap_or_else(metrics::FleetMetrics::unregistered),
    });
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), namespace);
    // Passes start on what the user or the finalizer changed (spec, finalizers,
    // deletion), never on the controller's own status writes: each would be a probe
    // nobody scheduled.
    let (reader, writer) = reflector::store();
    let intents = watcher::watcher(clusters, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(intent, Default::default());
    let controller = Controller::for_stream(intents, reader)
        // Passes beyond the probe pools: a pass waiting for a pool holds a slot, not a
        // probe.
        .with_config(
            kube::runtime::controller::Config::default()
                .concurrency(opts.concurrency.saturating_mul(4)),
        );
    let store = controller.store();
    // A changed kubeconfig Secret: its Clusters are probed again at once, with it.
    let cluster_store = store.clone();
    let controller = controller.watches_stream(secret_changes, move |secret: Secret| {
        let name = secret.name_any();
        cluster_store
            .state()
            .iter()
            .filter(|c| c.spec.kubeconfig_secret_ref.name == name)
            .map(|c| ObjectRef::from_obj(&**c))
            .collect::<Vec<_>>()
    });
    let c2 = ctx.clone();
    tasks.spawn(
        controller
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|_| futures::future::ready(())),
    );
    tasks.spawn(gauges_loop(ctx.clone(), store.clone(), opts.relay.clone()));
    tasks.spawn(sweep_loop(c2, opts.sweep_interval));
    if let Some(r) = opts.relay.clone() {
        tasks.spawn(relay::run(client.clone(), r, ctx.metrics.clone()));
    }
    Running { tasks }
}

/// What starts a pass: the spec (generation), the finalizers, the deletion.
fn intent(c: &Cluster) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    c.metadata.generation.hash(&mut h);
    c.metadata.finalizers.hash(&mut h);
    c.metadata.deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

fn error_policy(_: Arc<Cluster>, err: &finalizer::Error<Error>, _: Arc<Context>) -> Action {
    tracing::warn!(error = %err, "fleet reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

async fn reconcile(
    cluster: Arc<Cluster>,
    ctx: Arc<Context>,
) -> Result<Action, finalizer::Error<Error>> {
    let api: Api<Cluster> =
        Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, cluster, |event| async {
        match event {
            Finalizer::Apply(c) => apply(&c, &ctx).await,
            Finalizer::Cleanup(c) => cleanup(&c, &ctx).await,
        }
    })
    .await
}

/// The member client for `cluster`, rebuilt when its Secret or its context changes;
/// the kubeconfig is checked before anything is built from it.
async fn member(cluster: &Cluster, ctx: &Context) -> Result<Client, NoMember> {
    let r = &cluster.spec.kubeconfig_secret_ref;
    let ns = cluster.namespace().unwrap_or_default();
    let secret = ctx
        .secrets
        .get(&ObjectRef::new(&r.name).within(&ns))
        .ok_or_else(|| NoMember::Missing(format!("Secret {ns}/{} does not exist", r.name)))?;
    let key = r.key.as_deref().unwrap_or("value");
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .ok_or_else(|| NoMember::Missing(format!("Secret {ns}/{} has no key {key:?}", r.name)))?;
    let source = format!(
        "{}/{key}/{}",
        secret.resource_version().unwrap_or_default(),
        r.context.as_deref().unwrap_or_default()
    );
    let uid = cluster.uid().unwrap_or_default();
    if let Some(m) = ctx
        .members
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&uid)
        .filter(|m| m.source == source)
    {
        return Ok(m.client.clone());
    }
    let text = std::str::from_utf8(&bytes.0).map_err(|_| {
        NoMember::Refused(format!(
            "the kubeconfig is refused: Secret {ns}/{} key {key:?} is not UTF-8 text",
            r.name
        ))
    })?;
    let client = probe::member_client(text, r.context.as_deref(), ctx.opts.request_timeout)
        .await
        .map_err(|e| match e {
            probe::MemberError::Kubeconfig(_) => {
                NoMember::Refused(hoist_core::repo::format::cut(&e.to_string()))
            }
            probe::MemberError::Client(_) => NoMember::Missing(e.to_string()),
        })?;
    ctx.members
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            uid,
            Member {
                source,
                client: client.clone(),
            },
        );
    Ok(client)
}

/// What the status says, as the probe state starts from after a restart.
fn seed(status: Option<&ClusterStatus>) -> Probed {
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

async fn apply(cluster: &Cluster, ctx: &Context) -> Result<Action, Error> {
    let uid = cluster.uid().unwrap_or_default();
    let now = time::now();
    let mut policy = ctx.opts.policy.clone();
    if let Some(v) = cluster.spec.billing.vanish_after.as_deref() {
        policy.vanish_after = time::parse_duration(v).filter(|s| *s > 0);
    }
    let mut probed = ctx
        .probed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&uid)
        .cloned()
        .unwrap_or_else(|| seed(cluster.status.as_ref()));
    if let Some(due) = ctx
        .due
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&uid)
    {
        let member = if probed.consecutive_failures == 0 && probed.last_success.is_some() {
            "healthy"
        } else {
            "failing"
        };
        ctx.metrics
            .lateness_seconds
            .get_or_create(&metrics::HealthLabel { member })
            .observe(
                std::time::Instant::now()
                    .saturating_duration_since(due)
                    .as_secs_f64(),
            );
    }
    let pool = if probed.consecutive_failures > 0 {
        &ctx.failing_pool
    } else {
        &ctx.healthy_pool
    };
    let permit = pool.acquire().await;
    ctx.metrics.in_flight.inc();
    let started = std::time::Instant::now();
    let (outcome, refusal) = match member(cluster, ctx).await {
        Ok(client) => (probe::probe(&client, ctx.opts.probe_timeout).await, None),
        Err(NoMember::Missing(why)) => (Outcome::Refused(why), None),
        Err(NoMember::Refused(why)) => (Outcome::Refused(why.clone()), Some(why)),
    };
    if refusal.is_some() {
        // Forget a client an earlier kubeconfig made: nothing of this one is used.
        ctx.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&uid);
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
    let mut events = match &refusal {
        None => probed.observe(outcome, now, &policy),
        // Nothing was asked of the member: nothing is learnt of it, and billing is
        // left as it was.
        Some(why) => {
            probed.last_attempt = Some(now);
            probed.consecutive_failures += 1;
            probed.last_error = Some(why.clone());
            probed.credentials_valid = Some(false);
            probed.reachable = None;
            Vec::new()
        }
    };
    // Billed but no open record (a create that failed, a restart): open it now.
    let records_api: Api<UsageRecord> = Api::all(ctx.client.clone());
    let before: Vec<Record> = ledger::records_of(&ctx.records, &uid);
    if let Some(identity) = &probed.identity
        && !probed.vanished
        && !before.iter().any(Record::is_open)
        && events.is_empty()
        && probed.reachable == Some(true)
    {
        events.push(Event::Identified {
            identity: identity.clone(),
            at: now,
        });
    }
    let mut after = before.clone();
    if cluster.spec.billing.enabled {
        for e in &events {
            rules::on_probe(&mut after, &uid, e);
        }
        ledger::write_changes(&records_api, cluster, &before, &after, &ctx.metrics).await?;
    }
    let status = status_of(cluster, &probed, &after, refusal.is_some());
    write_status(cluster, ctx, status, now).await?;
    ctx.probed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(uid.clone(), probed.clone());
    let jitter = f64::from(now.rem_euclid(997) as u32) / 997.0;
    let next = Duration::from_secs(policy.next_in(&probed, jitter).max(1) as u64);
    ctx.due
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(uid, std::time::Instant::now() + next);
    Ok(Action::requeue(next))
}

fn condition(type_: &str, status: Option<bool>, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: match status {
            Some(true) => "True",
            Some(false) => "False",
            None => "Unknown",
        }
        .into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: None,
        observed_generation: None,
    }
}

/// The status `p` and `records` make; `refused`: the kubeconfig was refused (the
/// conditions say so with [`KUBECONFIG_REFUSED`]).
fn status_of(cluster: &Cluster, p: &Probed, records: &[Record], refused: bool) -> ClusterStatus {
    let open = records.iter().find(|r| r.is_open());
    let last = records.iter().max_by_key(|r| r.seq);
    let shown = open.or(last);
    let error = p.last_error.clone().unwrap_or_default();
    let billed = open.is_some();
    let ready = p.credentials_valid == Some(true) && p.reachable == Some(true);
    ClusterStatus {
        identity: p.identity.as_ref().map(|id| ClusterIdentity {
            kube_system_uid: id.clone(),
            server_version: p.version.clone().unwrap_or_default(),
            first_seen: p.first_seen.map(time::to_rfc3339).unwrap_or_default(),
        }),
        probe: crate::types::ProbeStatus {
            last_success: p.last_success.map(time::to_rfc3339),
            last_attempt: p.last_attempt.map(time::to_rfc3339),
            consecutive_failures: p.consecutive_failures,
            last_error: p.last_error.clone(),
            vanished: p.vanished,
        },
        billing: crate::types::BillingStatus {
            record: shown.map(Record::name),
            since: shown.map(|r| time::to_rfc3339(r.start)),
            until: shown.and_then(|r| r.stop.map(|(t, _)| time::to_rfc3339(t))),
        },
        conditions: vec![
            match p.credentials_valid {
                _ if refused => {
                    condition("CredentialsValid", Some(false), KUBECONFIG_REFUSED, &error)
                }
                Some(false) => condition("CredentialsValid", Some(false), "Refused", &error),
                Some(true) => condition("CredentialsValid", Some(true), "Accepted", ""),
                None => condition("CredentialsValid", None, "NotProbed", ""),
            },
            match p.reachable {
                Some(false) => condition("Reachable", Some(false), "ProbeFailed", &error),
                Some(true) => condition("Reachable", Some(true), "ProbeSucceeded", ""),
                None => condition("Reachable", None, "NotProbed", &error),
            },
            if billed {
                condition("Billed", Some(true), "Open", "")
            } else if p.vanished {
                condition(
                    "Billed",
                    Some(false),
                    "Vanished",
                    "unreachable past vanishAfter",
                )
            } else if !cluster.spec.billing.enabled {
                condition("Billed", Some(false), "Disabled", "")
            } else {
                condition("Billed", Some(false), "NotIdentified", "")
            },
            condition(
                "Ready",
                Some(ready),
                match () {
                    _ if ready => "Ready",
                    _ if refused => KUBECONFIG_REFUSED,
                    _ => "NotReady",
                },
                &error,
            ),
        ],
        observed_generation: cluster.metadata.generation,
    }
}

/// Writes `next` unless only probe times moved and they were written a moment ago.
async fn write_status(
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
            _ => Some(time::to_rfc3339(now)),
        };
    }
    // Probe times, failure counts and error words change with every probe; they are
    // written with the next transition, or at most every PROBE_TIMES_EVERY.
    let without_times = |s: &ClusterStatus| {
        let mut s = s.clone();
        s.probe.last_attempt = None;
        s.probe.last_success = None;
        s.probe.consecutive_failures = s.probe.consecutive_failures.min(1);
        s.probe.last_error = s.probe.last_error.as_ref().map(|_| String::new());
        for c in &mut s.conditions {
            c.message.clear();
        }
        s
    };
    let written_at = old.probe.last_attempt.as_deref().and_then(time::parse);
    let fresh = written_at.is_some_and(|t| now - t < PROBE_TIMES_EVERY);
    if without_times(&old) == without_times(&next) && fresh {
        return Ok(());
    }
    let api: Api<Cluster> =
        Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default());
    api.patch_status(
        &cluster.name_any(),
        &crate::operator::apply::patch_params(),
        &Patch::Merge(serde_json::json!({ "status": next })),
    )
    .await?;
    Ok(())
}

/// The Cluster is being deleted: billing stops at its deletionTimestamp (set once),
/// without asking the member anything; then the finalizer goes.
async fn cleanup(cluster: &Cluster, ctx: &Context) -> Result<Action, Error> {
    let uid = cluster.uid().unwrap_or_default();
    let at = cluster
        .metadata
        .deletion_timestamp
        .as_ref()
        .map_or_else(time::now, |t| t.0.as_second());
    say_deleting(cluster, ctx, at).await?;
    let api: Api<UsageRecord> = Api::all(ctx.client.clone());
    // Read fresh, not from the watch: a record created a moment ago must be stopped too.
    let lp = kube::api::ListParams::default();
    for u in api.list(&lp).await?.items {
        if u.spec.cluster_uid == uid && u.spec.stop.is_none() {
            let stop =
                ledger::stop_once(&api, &u.name_any(), at, rules::StopSource::Deleted).await?;
            ledger::count_stop(&ctx.metrics, stop);
        }
    }
    forget_kubeconfig(cluster, ctx).await?;
    ctx.probed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&uid);
    ctx.members
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&uid);
    Ok(Action::await_change())
}

/// Deletes the kubeconfig Secret `hoist cluster add` made for this Cluster (labelled
/// so), unless another Cluster still uses it. A Secret the user made is theirs: kept.
async fn forget_kubeconfig(cluster: &Cluster, ctx: &Context) -> Result<(), Error> {
    let namespace = cluster.namespace().unwrap_or_default();
    let name = &cluster.spec.kubeconfig_secret_ref.name;
    // From the watch: the operator may list Secrets, not get them one by one.
    let key = kube::runtime::reflector::ObjectRef::new(name).within(&namespace);
    let Some(secret) = ctx.secrets.get(&key) else {
        return Ok(());
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let (label, value) = crate::cli::fleet::MADE_BY;
    if secret.labels().get(label).map(String::as_str) != Some(value) {
        return Ok(());
    }
    let others = Api::<Cluster>::namespaced(ctx.client.clone(), &namespace)
        .list(&Default::default())
        .await?;
    if others.items.iter().any(|c| {
        c.uid() != cluster.uid()
            && c.metadata.deletion_timestamp.is_none()
            && &c.spec.kubeconfig_secret_ref.name == name
    }) {
        return Ok(());
    }
    match secrets.delete(name, &Default::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The `Deleting` condition, naming the step the delete waits on (once: a retry of
/// the cleanup does not write it again).
async fn say_deleting(cluster: &Cluster, ctx: &Context, at: Seconds) -> Result<(), Error> {
    let mut status = cluster.status.clone().unwrap_or_default();
    if status.conditions.iter().any(|c| c.type_ == "Deleting") {
        return Ok(());
    }
    let mut c = condition(
        "Deleting",
        Some(true),
        "StoppingBilling",
        &format!(
            "recording billing's stop at {} (the delete), then releasing the finalizer",
            time::to_rfc3339(at)
        ),
    );
    c.last_transition_time = Some(time::to_rfc3339(time::now()));
    status.conditions.push(c);
    let api: Api<Cluster> =
        Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default());
    api.patch_status(
        &cluster.name_any(),
        &crate::operator::apply::patch_params(),
        &Patch::Merge(serde_json::json!({ "status": { "conditions": status.conditions } })),
    )
    .await?;
    Ok(())
}

/// Every 5 s: the gauges (clusters by state, billed, open records, export lag), from
/// the watches; the rules that count are the core's.
async fn gauges_loop(
    ctx: Arc<Context>,
    clusters: Store<Cluster>,
    relay: Option<relay::RelayOptions>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let mut counts: HashMap<&'static str, i64> = HashMap::new();
        for c in clusters.state() {
            // Billing is not part of the state word.
            let state = hoist_core::fleet::view::state(&facts::facts(&c, false)).as_str();
            *counts.entry(state).or_default() += 1;
        }
        for state in hoist_core::fleet::view::State::ALL.map(|s| s.as_str()) {
            ctx.metrics
                .clusters
                .get_or_create(&metrics::StateLabel { state })
                .set(counts.get(state).copied().unwrap_or(0));
        }
        let records: Vec<(Option<Seconds>, Record)> = ctx
            .records
            .state()
            .iter()
            .filter_map(|u| {
                let through = u
                    .status
                    .as_ref()
                    .and_then(|s| s.exported_through.as_deref())
                    .and_then(time::parse);
                ledger::to_core(u).map(|r| (through, r))
            })
            .collect();
        let core: Vec<Record> = records.iter().map(|(_, r)| r.clone()).collect();
        ctx.metrics.billed.set(rules::billed_now(&core) as i64);
        ctx.metrics
            .open_records
            .set(rules::billed_now(&core) as i64);
        if let Some(r) = &relay {
            let now = time::now();
            let lag = records
                .iter()
                .filter_map(|(through, rec)| {
                    rules::periods_to_export(rec, *through, now, r.period, r.grace, 1)
                        .first()
                        .map(|(_, to)| now - to)
                })
                .max()
                .unwrap_or(0);
            ctx.metrics.export_lag_seconds.set(lag);
        }
    }
}

/// Every `every`: open records of Clusters that are gone are stopped as Orphaned.
async fn sweep_loop(ctx: Arc<Context>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match sweep(&ctx).await {
            Ok(stopped) if !stopped.is_empty() => {
                tracing::info!(
                    ?stopped,
                    "usage records of vanished Clusters stopped as Orphaned"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "usage sweep failed"),
        }
    }
}

/// One sweep (see [`sweep_loop`]): stops orphaned records and releases expired ones
/// (past the retention, and acknowledged by the usage sink when there is one);
/// returns the records it stopped. The Clusters are
/// listed from the API server, not taken from a watch: "gone" must never be read off a
/// cache that has not listed yet.
pub async fn sweep(ctx: &Context) -> Result<Vec<String>, Error> {
    let existing: Vec<String> = Api::<Cluster>::all(ctx.client.clone())
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter_map(|c| c.uid())
        .collect();
    let api: Api<UsageRecord> = Api::all(ctx.client.clone());
    let now = time::now();
    let mut stopped = Vec::new();
    for u in api.list(&Default::default()).await?.items {
        if u.spec.stop.is_none() && !existing.contains(&u.spec.cluster_uid) {
            let stop =
                ledger::stop_once(&api, &u.name_any(), now, rules::StopSource::Orphaned).await?;
            ledger::count_stop(&ctx.metrics, stop);
            stopped.push(u.name_any());
        } else if let Some(retention) = ctx.opts.retention
            && let Some(r) = ledger::to_core(&u)
        {
            let through = u
                .status
                .as_ref()
                .and_then(|s| s.exported_through.as_deref())
                .and_then(time::parse);
            if rules::expired(&r, ctx.opts.relay.is_some(), through, now, retention) {
                ledger::release(&api, &u).await?;
            }
        }
    }
    Ok(stopped)
}
