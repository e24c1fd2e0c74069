//! How the fleet controller runs: its probe pools and deadlines, the probe policy, the
//! sweep's pace, the usage sink, the records' retention and where it counts.

use crate::{metrics, relay};
use hoist_core::fleet::Seconds;
use hoist_core::fleet::probe::Policy;
use std::time::Duration;

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
