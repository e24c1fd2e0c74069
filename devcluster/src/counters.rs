//! Request counters by verb and resource, in all and per user: how many API calls a
//! feature costs, and who made them ("the operator's ServiceAccount made no write at
//! rest").

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The verbs that change something.
pub const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// Counts requests as `(verb, resource)`, the resource named as kubectl names it
/// (`configmaps`, `packages.packages.hoist.dev`); discovery counts as resource `discovery`.
/// When the server authenticates, each request is also counted for the user it ran as
/// (after impersonation); without authentication there is no user to count.
#[derive(Debug, Default)]
pub struct Counters {
    counts: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    all: BTreeMap<(String, String), u64>,
    /// `user → (verb, resource) → n`.
    by_user: BTreeMap<String, BTreeMap<(String, String), u64>>,
    /// `user → "verb resource" → n` of requests authorization refused.
    refused: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Distinct refusals remembered per user; beyond it they are counted under `(more)`.
const REFUSALS_KEPT: usize = 1000;

impl Counters {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> CountsGuard<'_> {
        CountsGuard(self.tables())
    }

    pub fn record(&self, verb: &str, resource: &str) {
        self.record_as(None, verb, resource);
    }

    /// Counts a request of `verb` on `resource`, and for `user` when there is one.
    pub fn record_as(&self, user: Option<&str>, verb: &str, resource: &str) {
        let mut t = self.tables();
        let key = (verb.to_string(), resource.to_string());
        if let Some(user) = user {
            *t.by_user
                .entry(user.to_string())
                .or_default()
                .entry(key.clone())
                .or_default() += 1;
        }
        *t.all.entry(key).or_default() += 1;
    }

    /// Requests of `verb` on `resource` made as `user` so far.
    pub fn get_as(&self, user: &str, verb: &str, resource: &str) -> u64 {
        self.tables()
            .by_user
            .get(user)
            .and_then(|m| m.get(&(verb.to_string(), resource.to_string())))
            .copied()
            .unwrap_or(0)
    }

    /// Writes (see [`WRITE_VERBS`]) of any resource made as `user` so far.
    pub fn writes_by(&self, user: &str) -> u64 {
        self.tables().by_user.get(user).map_or(0, |m| {
            m.iter()
                .filter(|((v, _), _)| WRITE_VERBS.contains(&v.as_str()))
                .map(|(_, n)| n)
                .sum()
        })
    }

    /// Counts a request authorization refused (RBAC, impersonation, escalation):
    /// `what` is `"verb resource"` (`"create configmaps"`, `"get /metrics"`).
    pub fn record_refused(&self, user: &str, what: &str) {
        let mut t = self.tables();
        let mine = t.refused.entry(user.to_string()).or_default();
        let key = if mine.len() >= REFUSALS_KEPT && !mine.contains_key(what) {
            "(more)".to_string()
        } else {
            what.to_string()
        };
        *mine.entry(key).or_default() += 1;
    }

    /// What authorization refused `user` so far (`"verb resource" → n`): empty for a
    /// component whose RBAC grants everything it does.
    pub fn refused(&self, user: &str) -> BTreeMap<String, u64> {
        self.tables().refused.get(user).cloned().unwrap_or_default()
    }

    /// Every refusal so far, per user.
    pub fn refused_by_user(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.tables().refused.clone()
    }

    /// All counts per user: `user → "verb resource" → n`.
    pub fn snapshot_by_user(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.tables()
            .by_user
            .iter()
            .map(|(u, m)| {
                let m = m
                    .iter()
                    .map(|((v, r), n)| (format!("{v} {r}"), *n))
                    .collect();
                (u.clone(), m)
            })
            .collect()
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
        let mut t = self.tables();
        t.all.clear();
        t.by_user.clear();
        t.refused.clear();
    }
}

/// The all-users table, for the readers above.
struct CountsGuard<'a>(std::sync::MutexGuard<'a, Tables>);

impl std::ops::Deref for CountsGuard<'_> {
    type Target = BTreeMap<(String, String), u64>;
    fn deref(&self) -> &Self::Target {
        &self.0.all
    }
}
