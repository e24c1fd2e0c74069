//! The fleet's metrics (registered in the operator's registry, served on its
//! `/metrics`): clusters by state, billed clusters, probes by result and duration,
//! probes in flight, probe lateness, open records, stops by source, export lag and
//! errors. "Billed" and "open records" come from the core's one rule.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HealthLabel {
    /// `healthy` (its last probe succeeded) or `failing`.
    pub member: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: &'static str,
}

#[derive(Clone, Debug)]
pub struct FleetMetrics {
    pub clusters: Family<StateLabel, Gauge>,
    pub billed: Gauge,
    pub probes: Family<ResultLabel, Counter>,
    pub probe_seconds: Histogram,
    pub in_flight: Gauge,
    pub lateness_seconds: Family<HealthLabel, Histogram>,
    pub open_records: Gauge,
    pub stops: Family<SourceLabel, Counter>,
    /// Records not opened because the Cluster, read fresh, was gone or being deleted.
    pub stale_passes: Counter,
    /// Member clients held (one per Cluster probed; each holds connections and tasks).
    pub member_clients: Gauge,
    pub export_lag_seconds: Gauge,
    pub export_errors: Counter,
}

impl FleetMetrics {
    /// New metrics, registered in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::unregistered();
        registry.register(
            "hoist_fleet_clusters",
            "Member clusters by state (Ready, Unreachable, CredentialsRefused, Pending, Deleting)",
            m.clusters.clone(),
        );
        registry.register(
            "hoist_fleet_billed_clusters",
            "Clusters billed now (open usage records)",
            m.billed.clone(),
        );
        registry.register(
            "hoist_fleet_probes",
            "Probes of member clusters by result (ok, refused, failed)",
            m.probes.clone(),
        );
        registry.register(
            "hoist_fleet_probe_duration_seconds",
            "How long probes took",
            m.probe_seconds.clone(),
        );
        registry.register(
            "hoist_fleet_probes_in_flight",
            "Probes running now",
            m.in_flight.clone(),
        );
        registry.register(
            "hoist_fleet_probe_lateness_seconds",
            "How late probes started against their schedule, by whether the member was healthy",
            m.lateness_seconds.clone(),
        );
        registry.register(
            "hoist_fleet_open_usage_records",
            "Usage records not stopped yet",
            m.open_records.clone(),
        );
        registry.register(
            "hoist_fleet_usage_stops",
            "Usage records stopped, by why (Deleted, Vanished, Replaced, Orphaned)",
            m.stops.clone(),
        );
        registry.register(
            "hoist_fleet_member_clients",
            "Member cluster clients held (one per Cluster probed)",
            m.member_clients.clone(),
        );
        registry.register(
            "hoist_fleet_stale_passes",
            "Passes that were to open a usage record on a copy of a Cluster the API server no longer had live (gone or being deleted): no record opened",
            m.stale_passes.clone(),
        );
        registry.register(
            "hoist_fleet_export_lag_seconds",
            "Age of the oldest closed period not yet acknowledged by the usage sink",
            m.export_lag_seconds.clone(),
        );
        registry.register(
            "hoist_fleet_export_errors",
            "Deliveries to the usage sink that failed",
            m.export_errors.clone(),
        );
        m
    }

    /// Metrics nobody scrapes (a fleet controller started on its own, in tests).
    pub fn unregistered() -> Self {
        Self {
            clusters: Family::default(),
            billed: Gauge::default(),
            probes: Family::default(),
            probe_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            in_flight: Gauge::default(),
            lateness_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.01, 1.5, 24))
            }),
            open_records: Gauge::default(),
            stops: Family::default(),
            stale_passes: Counter::default(),
            member_clients: Gauge::default(),
            export_lag_seconds: Gauge::default(),
            export_errors: Counter::default(),
        }
    }
}
