//! Prometheus metrics, served on `/metrics` in the text format.
//!
//! Gauges that describe state (objects and sync time per kind, readiness, subscribers)
//! are read from the gate and the hub at scrape time ([`Observed`], filled by the
//! `/metrics` handler), so the hot paths only bump counters. This module names no other
//! module of the crate: the caches bump its counters, and it never reads them back.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The state the gauges describe, read at scrape time (from the readiness gate and
/// the hub).
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Each kind's cache.
    pub kinds: Vec<KindObserved>,
    /// READY or DEGRADED: the caches may be served.
    pub ready: bool,
    /// Open watch streams.
    pub subscribers: usize,
    /// The hub's revision.
    pub revision: u64,
}

/// One kind's cache, for the gauges.
#[derive(Debug, Clone)]
pub struct KindObserved {
    pub kind: &'static str,
    /// Objects loaded.
    pub loaded: u64,
    /// How long the first list took, once it finished.
    pub sync_time: Option<Duration>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabel {
    pub error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

pub struct Metrics {
    registry: Registry,
    sync_seconds: Family<KindLabel, Gauge<f64, AtomicU64>>,
    objects: Family<KindLabel, Gauge>,
    ready: Gauge,
    watch_errors: Family<KindLabel, Counter>,
    subscribers: Gauge,
    revision: Gauge,
    resyncs: Counter,
    resolve_errors: Family<ErrorLabel, Counter>,
    installs: Family<ResultLabel, Counter>,
    connections_refused: Counter,
    unary_timeouts: Counter,
    snapshots: Counter,
    alive_tasks: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hoist");
        let alive_tasks = Gauge::default();
        registry.register(
            "runtime_alive_tasks",
            "Tasks alive in the process's async runtime",
            alive_tasks.clone(),
        );
        let sync_seconds = Family::<KindLabel, Gauge<f64, AtomicU64>>::default();
        let objects = Family::<KindLabel, Gauge>::default();
        let ready = Gauge::default();
        let watch_errors = Family::<KindLabel, Counter>::default();
        let subscribers = Gauge::default();
        let revision = Gauge::default();
        let resyncs = Counter::default();
        let resolve_errors = Family::<ErrorLabel, Counter>::default();
        registry.register(
            "package_resolve_errors",
            "Package detail and install lookups that failed, by reason",
            resolve_errors.clone(),
        );
        let installs = Family::<ResultLabel, Counter>::default();
        registry.register(
            "installs",
            "Installs asked of the dashboard, by result (created, or why not)",
            installs.clone(),
        );
        registry.register(
            "cache_sync_seconds",
            "Time the first sync of each cache took",
            sync_seconds.clone(),
        );
        registry.register("cache_objects", "Objects in each cache", objects.clone());
        registry.register(
            "cache_ready",
            "1 when every cache is synced (READY or DEGRADED)",
            ready.clone(),
        );
        registry.register(
            "cache_watch_errors",
            "Watch and list errors per kind",
            watch_errors.clone(),
        );
        registry.register(
            "stream_subscribers",
            "Open dashboard streams",
            subscribers.clone(),
        );
        registry.register(
            "package_revision",
            "The latest package revision",
            revision.clone(),
        );
        registry.register(
            "stream_resyncs",
            "Snapshots sent to streams that fell behind or asked for one",
            resyncs.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "http_connections_refused",
            "Connections answered 503 and closed because the connection cap was reached",
            connections_refused.clone(),
        );
        let unary_timeouts = Counter::default();
        registry.register(
            "unary_timeouts",
            "Unary calls answered DEADLINE_EXCEEDED because they ran past their limit",
            unary_timeouts.clone(),
        );
        let snapshots = Counter::default();
        registry.register(
            "stream_snapshots",
            "Package snapshots sent to streams (a new stream, a page's Refresh, or a resync)",
            snapshots.clone(),
        );
        Self {
            registry,
            sync_seconds,
            objects,
            ready,
            watch_errors,
            subscribers,
            revision,
            resyncs,
            resolve_errors,
            installs,
            connections_refused,
            unary_timeouts,
            snapshots,
            alive_tasks,
        }
    }

    /// A snapshot sent to a stream.
    pub fn snapshot_sent(&self) {
        self.snapshots.inc();
    }

    /// Snapshots sent to streams so far.
    pub fn snapshots_sent(&self) -> u64 {
        self.snapshots.get()
    }

    /// A connection refused at the cap (see [`crate::api::listener`]).
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// A unary call cut at its time limit.
    pub fn unary_timeout(&self) {
        self.unary_timeouts.inc();
    }

    pub fn watch_error(&self, kind: &str) {
        self.watch_errors
            .get_or_create(&KindLabel { kind: kind.into() })
            .inc();
    }

    pub fn resync(&self) {
        self.resyncs.inc();
    }

    pub fn resolve_error(&self, label: &'static str) {
        self.resolve_errors
            .get_or_create(&ErrorLabel { error: label })
            .inc();
    }

    /// An install through the dashboard: `created`, or the error's metric label.
    pub fn install(&self, result: &'static str) {
        self.installs.get_or_create(&ResultLabel { result }).inc();
    }

    /// The text exposition, with the state gauges set from `now`.
    pub fn encode(&self, now: &Observed) -> String {
        for k in &now.kinds {
            let label = KindLabel {
                kind: k.kind.to_string(),
            };
            self.objects.get_or_create(&label).set(k.loaded as i64);
            if let Some(t) = k.sync_time {
                self.sync_seconds.get_or_create(&label).set(t.as_secs_f64());
            }
        }
        self.ready.set(i64::from(now.ready));
        self.subscribers.set(now.subscribers as i64);
        self.revision.set(now.revision as i64);
        self.alive_tasks.set(hoist_kube::runtime::alive_tasks());
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}
