//! How the operator runs: [`OperatorOptions`], set by `hoist operator`'s flags.

use hoist_core::operator::retry::Policy;
use std::time::Duration;

/// How the operator runs.
#[derive(Debug, Clone)]
pub struct OperatorOptions {
    /// Passes at once, per kind (ClusterPackage and Package each).
    pub concurrency: u16,
    /// Backoff and retry budget for failed passes.
    pub policy: Policy,
    /// The longest one pass may take.
    pub reconcile_timeout: Duration,
    /// How often a healthy package is looked at again (drift that no watch saw), ±10 %.
    pub resync: Duration,
    /// Object changes buffered per controller before they are dropped (and counted).
    pub trigger_buffer: usize,
    /// How often every PackageRepository's status is looked at again (besides on
    /// every change of the repositories).
    pub repository_interval: Duration,
    /// The ServiceAccount (of each Package's own namespace) a Package's writes
    /// impersonate when its spec names none (`--default-service-account`); `None`:
    /// the operator's own identity (tenants then confined by Hoist's rules only).
    pub default_service_account: Option<String>,
    /// Hoist's own confinement rules for Packages
    /// (`hoist_core::operator::confinement`). Always on in `hoist operator`; a test
    /// turns them off to show the API server refusing the same writes by itself.
    pub tenant_rules: bool,
}

impl Default for OperatorOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            policy: Policy::default(),
            reconcile_timeout: Duration::from_secs(120),
            resync: Duration::from_secs(600),
            trigger_buffer: 4096,
            repository_interval: Duration::from_secs(60),
            default_service_account: None,
            tenant_rules: true,
        }
    }
}
