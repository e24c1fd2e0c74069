//! How the operator runs: [`OperatorOptions`], set by `hoist operator`'s flags.

use crate::limiter::Algorithm;
use hoist_core::operator::retry::Policy;
use std::time::Duration;

/// How the operator runs.
#[derive(Debug, Clone)]
pub struct OperatorOptions {
    /// Passes at once, per kind (ClusterPackage and Package each): fixed, or adaptive
    /// between a minimum and a maximum ([`crate::limiter`]).
    pub concurrency: Concurrency,
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
            concurrency: Concurrency::default(),
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

/// How many passes of one kind run at once (`--concurrency`, or `--min-concurrency`
/// and `--max-concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    pub min: u16,
    /// The Controller's own concurrency: the most passes ever handed out at once.
    pub max: u16,
    /// How the limit learns between `min` and `max`.
    pub algorithm: Algorithm,
}

impl Concurrency {
    /// `--min-concurrency`'s default.
    pub const DEFAULT_MIN: u16 = 2;
    /// `--max-concurrency`'s default.
    pub const DEFAULT_MAX: u16 = 32;

    /// Always `n` (`--concurrency N`): no gate, the Controller's concurrency alone.
    pub const fn fixed(n: u16) -> Self {
        Self {
            min: n,
            max: n,
            algorithm: Algorithm::Aimd,
        }
    }

    /// Between `min` and `max`, learnt by the default [`Algorithm`].
    pub fn adaptive(min: u16, max: u16) -> Self {
        Self {
            min,
            max,
            algorithm: Algorithm::default(),
        }
    }

    /// This, learnt by `algorithm`.
    pub fn with_algorithm(self, algorithm: Algorithm) -> Self {
        Self { algorithm, ..self }
    }

    /// Whether the limit never moves.
    pub fn is_fixed(&self) -> bool {
        self.min >= self.max
    }
}

impl Default for Concurrency {
    /// Adaptive between [`Self::DEFAULT_MIN`] and [`Self::DEFAULT_MAX`].
    fn default() -> Self {
        Self::adaptive(Self::DEFAULT_MIN, Self::DEFAULT_MAX)
    }
}
