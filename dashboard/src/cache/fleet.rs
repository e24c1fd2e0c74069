//! The dashboard's view of the fleet: member Clusters and the usage ledger, fed by their
//! reflectors, published as one [`pb::Fleet`] message on every change.
//!
//! Guarantees:
//! - The sinks never block: an event updates a map under a short lock and bumps a
//!   version ([`tokio::sync::watch::Sender::send_modify`]); the message is built by one
//!   task ([`publish`]), once per burst of changes however many streams read it.
//! - Nothing is published until both kinds have listed once (or been found
//!   unavailable): a page never shows "billed now: 0" for a fleet still loading.
//! - "Billed now", each cluster's and the fleet's seconds in the period and the
//!   warnings come from the core's rules (`hoist_core::fleet::{ledger, view}`), the
//!   ones the operator's metrics and the CLI use.

use hoist_core::fleet::Seconds;
use hoist_core::fleet::ledger::{self, Record};
use hoist_core::fleet::view;
use hoist_fleet::{facts, time, usage};
use hoist_kube::sink::Sink;
use hoist_kube::types::{Cluster, UsageRecord};
use hoist_proto::v1 as pb;
use kube::ResourceExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// A Cluster as the view keeps it: what the message needs, not the object.
#[derive(Debug, Clone)]
struct ClusterRow {
    uid: String,
    facts: view::Facts,
    /// Everything but the time- and ledger-dependent fields.
    base: pb::FleetCluster,
}

#[derive(Debug)]
struct Kind<T> {
    items: BTreeMap<String, T>,
    /// The list in progress.
    staging: Option<BTreeMap<String, T>>,
    listed: bool,
    unavailable: Option<String>,
}

impl<T> Default for Kind<T> {
    fn default() -> Self {
        Self {
            items: BTreeMap::new(),
            staging: None,
            listed: false,
            unavailable: None,
        }
    }
}

impl<T> Kind<T> {
    fn begin(&mut self) {
        self.staging = Some(BTreeMap::new());
    }
    fn stage(&mut self, key: String, v: T) {
        self.staging
            .get_or_insert_with(BTreeMap::new)
            .insert(key, v);
    }
    fn commit(&mut self) {
        self.items = self.staging.take().unwrap_or_default();
        self.listed = true;
        self.unavailable = None;
    }
}

#[derive(Debug, Default)]
struct State {
    clusters: Kind<ClusterRow>,
    records: Kind<usage::Row>,
}

/// The fleet as the caches know it.
pub struct FleetView {
    state: Mutex<State>,
    version: watch::Sender<u64>,
}

fn ms(t: Option<Seconds>) -> i64 {
    t.map_or(0, |s| s * 1000)
}

fn row(c: &Cluster) -> ClusterRow {
    let s = c.status.clone().unwrap_or_default();
    let f = facts::facts(c, false);
    let state = view::state(&f);
    let deciding = match state {
        view::State::Deleting => "Deleting",
        view::State::CredentialsRefused => "CredentialsValid",
        view::State::Unreachable => "Reachable",
        view::State::Ready | view::State::Pending => "Ready",
    };
    let cond = s.conditions.iter().find(|x| x.type_ == deciding);
    let state_since = match state {
        view::State::Deleting => f.deleting_since,
        _ => facts::since(c, deciding),
    };
    let deleting_step = s
        .conditions
        .iter()
        .find(|x| x.type_ == "Deleting")
        .map(|x| x.message.clone())
        .unwrap_or_default();
    ClusterRow {
        uid: c.uid().unwrap_or_default(),
        base: pb::FleetCluster {
            namespace: c.namespace().unwrap_or_default(),
            name: c.name_any(),
            state: state.as_str().into(),
            reason: cond
                .map(|x| x.reason.clone())
                .unwrap_or_default()
                .to_string(),
            message: cond
                .map(|x| x.message.clone())
                .filter(|m| !m.is_empty())
                .or_else(|| s.probe.last_error.clone())
                .unwrap_or_default(),
            state_since_unix_ms: ms(state_since),
            identity: s
                .identity
                .as_ref()
                .map(|i| i.kube_system_uid.clone())
                .unwrap_or_default(),
            server_version: s
                .identity
                .as_ref()
                .map(|i| i.server_version.clone())
                .unwrap_or_default(),
            last_probe_unix_ms: ms(s.probe.last_attempt.as_deref().and_then(time::parse)),
            last_success_unix_ms: ms(f.last_success),
            consecutive_failures: s.probe.consecutive_failures,
            billing_enabled: c.spec.billing.enabled,
            vanish_after_seconds: f.vanish_after.unwrap_or(0),
            deleted_unix_ms: ms(f.deleting_since),
            deleting_step,
            kubeconfig_secret: c.spec.kubeconfig_secret_ref.name.clone(),
            ..Default::default()
        },
        facts: f,
    }
}

/// The clusters whose records remain but whose Cluster is gone, billed in the period:
/// the recorded stop for each (its last record's), most recent first. One still open
/// (its Cluster gone without cleanup) is billed and says the sweep will stop it.
fn removed(
    s: &State,
    present: &std::collections::HashSet<&str>,
    period_start: Seconds,
    now: Seconds,
) -> Vec<pb::FleetCluster> {
    let mut gone: BTreeMap<&str, Vec<&usage::Row>> = BTreeMap::new();
    for r in s.records.items.values() {
        if !present.contains(r.record.cluster_uid.as_str()) {
            gone.entry(r.record.cluster_uid.as_str())
                .or_default()
                .push(r);
        }
    }
    let mut out: Vec<pb::FleetCluster> = gone
        .into_values()
        .filter_map(|rows| {
            let last = rows.iter().max_by_key(|r| r.record.seq)?;
            let seconds: Seconds = rows
                .iter()
                .map(|r| r.record.seconds_in(period_start, now, now))
                .sum();
            let open = last.record.is_open();
            if seconds == 0 && !open {
                return None;
            }
            let (until, source) = last.record.stop.map_or((0, ""), |(t, src)| (t, src.as_str()));
            Some(pb::FleetCluster {
                namespace: last.namespace.clone(),
                name: last.cluster.clone(),
                state: "Removed".into(),
                identity: last.record.identity.clone(),
                billing_enabled: true,
                billed: open,
                billed_since_unix_ms: last.record.start * 1000,
                billed_until_unix_ms: until * 1000,
                stop_source: source.into(),
                period_seconds: seconds,
                warnings: if open {
                    vec!["its Cluster is gone and billing is still open: the sweep stops it as Orphaned".into()]
                } else {
                    Vec::new()
                },
                ..Default::default()
            })
        })
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse((c.billed, c.billed_until_unix_ms)));
    out
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl FleetView {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            version: watch::Sender::new(0),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
        self.version.send_modify(|v| *v += 1);
        r
    }

    /// Both kinds listed (or unavailable): the view can be shown.
    fn known(s: &State) -> bool {
        (s.clusters.listed || s.clusters.unavailable.is_some())
            && (s.records.listed || s.records.unavailable.is_some())
    }

    /// The message at `now`; `None` until both kinds have listed once.
    pub fn build(&self, now: Seconds) -> Option<pb::Fleet> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !Self::known(&s) {
            return None;
        }
        let period_start = usage::month_start(now);
        let mut by_cluster: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
        for r in s.records.items.values() {
            by_cluster
                .entry(r.record.cluster_uid.as_str())
                .or_default()
                .push(&r.record);
        }
        let all: Vec<Record> = s.records.items.values().map(|r| r.record.clone()).collect();
        let clusters = s
            .clusters
            .items
            .values()
            .map(|c| {
                let records = by_cluster
                    .get(c.uid.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let open = records.iter().find(|r| r.is_open());
                let last = records.iter().max_by_key(|r| r.seq);
                let facts = view::Facts {
                    billed: open.is_some(),
                    ..c.facts.clone()
                };
                let mut m = c.base.clone();
                m.billed = open.is_some();
                m.billed_since_unix_ms = ms(open.or(last).map(|r| r.start));
                if open.is_none()
                    && let Some((t, source)) = last.and_then(|r| r.stop)
                {
                    m.billed_until_unix_ms = t * 1000;
                    m.stop_source = source.as_str().into();
                }
                m.period_seconds = records
                    .iter()
                    .map(|r| r.seconds_in(period_start, now, now))
                    .sum();
                m.warnings = view::warnings(&facts, now);
                m
            })
            .collect();
        let present: std::collections::HashSet<&str> =
            s.clusters.items.values().map(|c| c.uid.as_str()).collect();
        let removed = removed(&s, &present, period_start, now);
        let unavailable = [&s.clusters.unavailable, &s.records.unavailable]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        Some(pb::Fleet {
            available: unavailable.is_empty(),
            unavailable,
            clusters,
            billed_now: ledger::billed_now(&all) as u32,
            period_seconds: ledger::seconds(&all, period_start, now, now),
            period_start_unix_ms: period_start * 1000,
            as_of_unix_ms: now * 1000,
            removed,
        })
    }

    /// Usage for `[from, to)` in `format`, from the cached ledger.
    pub fn usage(&self, from: Seconds, to: Seconds, now: Seconds, format: usage::Format) -> String {
        let rows: Vec<usage::Row> = {
            let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.records.items.values().cloned().collect()
        };
        usage::render(rows, from, to, now, format)
    }

    /// Whether the cluster `namespace/name` is cached.
    pub fn has_cluster(&self, namespace: &str, name: &str) -> bool {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.clusters.items.contains_key(&key(namespace, name))
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

impl Sink<Cluster> for FleetView {
    fn init(&self) {
        self.with(|s| s.clusters.begin());
    }
    fn init_apply(&self, c: &Cluster) {
        let k = key(&c.namespace().unwrap_or_default(), &c.name_any());
        let row = row(c);
        // Staged rows are not visible: no version bump per listed object.
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.clusters.stage(k, row);
    }
    fn init_done(&self) {
        self.with(|s| s.clusters.commit());
    }
    fn apply(&self, c: &Cluster) {
        let k = key(&c.namespace().unwrap_or_default(), &c.name_any());
        let row = row(c);
        self.with(|s| s.clusters.items.insert(k, row));
    }
    fn delete(&self, c: &Cluster) {
        let k = key(&c.namespace().unwrap_or_default(), &c.name_any());
        self.with(|s| s.clusters.items.remove(&k));
    }
    fn unavailable(&self, why: &str) {
        self.with(|s| s.clusters.unavailable = Some(why.to_string()));
    }
}

impl Sink<UsageRecord> for FleetView {
    fn init(&self) {
        self.with(|s| s.records.begin());
    }
    fn init_apply(&self, u: &UsageRecord) {
        if let Some(r) = usage::Row::from_record(u) {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.records.stage(u.name_any(), r);
        }
    }
    fn init_done(&self) {
        self.with(|s| s.records.commit());
    }
    fn apply(&self, u: &UsageRecord) {
        let name = u.name_any();
        let r = usage::Row::from_record(u);
        self.with(|s| match r {
            Some(r) => s.records.items.insert(name, r),
            None => s.records.items.remove(&name),
        });
    }
    fn delete(&self, u: &UsageRecord) {
        let name = u.name_any();
        self.with(|s| s.records.items.remove(&name));
    }
    fn unavailable(&self, why: &str) {
        self.with(|s| s.records.unavailable = Some(why.to_string()));
    }
}

/// How often the message is rebuilt without a change: warnings that depend on the time
/// alone ("billing stops as Vanished in …") move on with it.
pub const REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// Publishes the view on `tx` after every burst of changes (and every [`REFRESH`]),
/// until the task is aborted (the server's shutdown). Building takes the lock
/// once per burst: changes arriving meanwhile are folded into the next build.
pub async fn publish(view: Arc<FleetView>, tx: watch::Sender<Option<Arc<pb::Fleet>>>) {
    let mut changes = view.subscribe();
    loop {
        if let Some(f) = view.build(time::now()) {
            tx.send_replace(Some(Arc::new(f)));
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep(REFRESH) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_kube::types::{ClusterSpec, ClusterStatus, Condition, UsageRecordSpec};

    fn cluster(name: &str, uid: &str, reachable: &str) -> Cluster {
        let mut c = Cluster::new(name, ClusterSpec::default());
        c.metadata.namespace = Some("hoist-system".into());
        c.metadata.uid = Some(uid.into());
        c.status = Some(ClusterStatus {
            conditions: vec![Condition {
                type_: "Reachable".into(),
                status: reachable.into(),
                reason: "ProbeFailed".into(),
                message: "connection refused".into(),
                last_transition_time: Some("2026-11-30T09:00:00Z".into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        c
    }

    fn record(uid: &str, seq: u32, start: &str, stop: Option<&str>) -> UsageRecord {
        UsageRecord::new(
            &format!("{uid}-{seq}"),
            UsageRecordSpec {
                cluster_uid: uid.into(),
                cluster_name: "edge".into(),
                cluster_namespace: "hoist-system".into(),
                identity: "ks".into(),
                seq,
                start: start.into(),
                stop: stop.map(Into::into),
                stop_source: stop.map(|_| "Deleted".into()),
            },
        )
    }

    #[test]
    fn nothing_is_published_until_both_kinds_have_listed() {
        let v = FleetView::new();
        Sink::<Cluster>::init(&*v);
        Sink::<Cluster>::init_apply(&*v, &cluster("edge", "u1", "True"));
        Sink::<Cluster>::init_done(&*v);
        assert!(v.build(0).is_none(), "records not listed yet");
        Sink::<UsageRecord>::init(&*v);
        Sink::<UsageRecord>::init_done(&*v);
        assert_eq!(v.build(0).map(|f| f.clusters.len()), Some(1));
    }

    #[test]
    fn billed_now_and_seconds_come_from_the_records_and_an_unreachable_billed_cluster_warns() {
        let v = FleetView::new();
        Sink::<Cluster>::init(&*v);
        Sink::<Cluster>::init_apply(&*v, &cluster("edge", "u1", "False"));
        Sink::<Cluster>::init_done(&*v);
        Sink::<UsageRecord>::init(&*v);
        Sink::<UsageRecord>::init_apply(
            &*v,
            &record(
                "u1",
                1,
                "2026-11-30T08:00:00Z",
                Some("2026-11-30T09:00:00Z"),
            ),
        );
        Sink::<UsageRecord>::init_apply(&*v, &record("u1", 2, "2026-11-30T09:30:00Z", None));
        Sink::<UsageRecord>::init_done(&*v);
        let now = time::parse("2026-11-30T10:00:00Z").expect("time");
        let f = v.build(now).expect("listed");
        assert_eq!(f.billed_now, 1);
        // 1 h closed + 30 min open.
        assert_eq!(f.period_seconds, 5400);
        let c = &f.clusters[0];
        assert!(c.billed);
        assert_eq!(c.state, "Unreachable");
        assert_eq!(c.period_seconds, 5400);
        assert_eq!(c.billed_since_unix_ms, (now - 1800) * 1000);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn a_stopped_record_shows_until_when_and_why_and_a_relist_drops_what_is_gone() {
        let v = FleetView::new();
        Sink::<Cluster>::init(&*v);
        Sink::<Cluster>::init_apply(&*v, &cluster("edge", "u1", "True"));
        Sink::<Cluster>::init_done(&*v);
        Sink::<UsageRecord>::init(&*v);
        Sink::<UsageRecord>::init_apply(
            &*v,
            &record(
                "u1",
                1,
                "2026-11-30T08:00:00Z",
                Some("2026-11-30T09:00:00Z"),
            ),
        );
        Sink::<UsageRecord>::init_done(&*v);
        let now = time::parse("2026-11-30T10:00:00Z").expect("time");
        let c = v.build(now).expect("listed").clusters[0].clone();
        assert!(!c.billed);
        assert_eq!(c.stop_source, "Deleted");
        assert_eq!(c.billed_until_unix_ms, (now - 3600) * 1000);
        Sink::<Cluster>::init(&*v);
        Sink::<Cluster>::init_done(&*v);
        let f = v.build(now).expect("listed");
        assert!(f.clusters.is_empty());
        // Its Cluster gone, its billing stays visible with the recorded stop.
        assert_eq!(f.removed.len(), 1);
        assert_eq!(f.removed[0].name, "edge");
        assert_eq!(f.removed[0].stop_source, "Deleted");
        assert_eq!(f.removed[0].billed_until_unix_ms, (now - 3600) * 1000);
        assert_eq!(f.removed[0].period_seconds, 3600);
    }
}
