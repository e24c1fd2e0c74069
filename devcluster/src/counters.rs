//! Request counters by verb and resource: how many API calls a feature costs.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Counts requests as `(verb, resource)`, the resource named as kubectl names it
/// (`configmaps`, `packages.packages.hoist.dev`); discovery counts as resource `discovery`.
#[derive(Debug, Default)]
pub struct Counters {
    counts: Mutex<BTreeMap<(String, String), u64>>,
}

impl Counters {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), u64>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn record(&self, verb: &str, resource: &str) {
        *self
            .lock()
            .entry((verb.to_string(), resource.to_string()))
            .or_default() += 1;
    }

    /// Requests of `verb` on `resource` so far.
    pub fn get(&self, verb: &str, resource: &str) -> u64 {
        self.lock()
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests of any verb on `resource` so far.
    pub fn total_for(&self, resource: &str) -> u64 {
        self.lock()
            .iter()
            .filter(|((_, r), _)| r == resource)
            .map(|(_, n)| n)
            .sum()
    }

    /// All counts, keyed `"verb resource"`.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock()
            .iter()
            .map(|((v, r), n)| (format!("{v} {r}"), *n))
            .collect()
    }

    pub fn reset(&self) {
        self.lock().clear();
    }
}
