//! What every pass of the fleet controller reads: the [`Context`], built by
//! [`crate::start()`].

use crate::memory::Memory;
use crate::metrics;
use crate::options::FleetOptions;
use hoist_kube::types::UsageRecord;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::runtime::reflector::Store;

/// What every pass reads: the watches' stores, the memory, the probe pools.
pub struct Context {
    pub(crate) client: Client,
    pub(crate) opts: FleetOptions,
    pub(crate) secrets: Store<Secret>,
    pub(crate) records: Store<UsageRecord>,
    pub(crate) memory: Memory,
    /// Probes of members that answer, and of members that are failing.
    pub(crate) healthy_pool: tokio::sync::Semaphore,
    pub(crate) failing_pool: tokio::sync::Semaphore,
    pub(crate) metrics: metrics::FleetMetrics,
}
