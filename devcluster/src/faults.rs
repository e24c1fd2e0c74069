//! Fault injection: what a slow, throttled or flaky API server does to its clients.
//!
//! A [`Fault`] matches requests by verb and path substring and applies an
//! [`FaultAction`], optionally only a number of `times`. Tests add faults in-process
//! through [`Faults`]; at run time `POST /devcluster/faults` takes the same JSON, e.g.
//! `{"verb":"list","action":{"type":"latency","millis":300}}`.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// How a watch stream ends when a [`FaultAction::WatchEnd`] fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchEnding {
    /// The chunked body ends properly.
    Clean,
    /// The connection is cut mid-body.
    Abrupt,
    /// Half of the next event line is written, then the connection is cut.
    HalfLine,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultAction {
    /// Delay the answer.
    Latency { millis: u64 },
    /// Answer with this status code (429, 500, 503, 504, 403, …), optionally `Retry-After`.
    Error {
        code: u16,
        #[serde(default)]
        retry_after: Option<u32>,
    },
    /// Writes fail with 409 Conflict, as if another writer got there first.
    Conflict,
    /// Watches end after sending this many events.
    WatchEnd {
        after_events: usize,
        how: WatchEnding,
    },
    /// Watches go silent after this many events (no bytes, no close) for `millis`, then
    /// the connection is cut.
    WatchStall { after_events: usize, millis: u64 },
    /// Watches send no BOOKMARK events.
    SuppressBookmarks,
    /// Streaming lists never send the `k8s.io/initial-events-end` bookmark.
    SuppressInitialEventsEnd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`; any when unset.
    #[serde(default)]
    pub verb: Option<String>,
    /// A substring of the request path; any when unset.
    #[serde(default)]
    pub path: Option<String>,
    /// The user the request runs as (after impersonation); any when unset. Only an
    /// authenticating server knows users: without authentication such a fault never fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub action: FaultAction,
    /// Applies to this many matching requests, then is gone; forever when unset.
    #[serde(default)]
    pub times: Option<u32>,
}

impl Fault {
    pub fn new(action: FaultAction) -> Self {
        Self {
            verb: None,
            path: None,
            user: None,
            action,
            times: None,
        }
    }
    pub fn verb(mut self, verb: &str) -> Self {
        self.verb = Some(verb.into());
        self
    }
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.into());
        self
    }
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.into());
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Fault>>,
}

impl Faults {
    pub fn add(&self, fault: Fault) {
        self.lock().push(fault);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The actions for one request, counting down `times`.
    pub fn take(&self, verb: &str, path: &str) -> Vec<FaultAction> {
        self.take_as(None, verb, path)
    }

    /// The actions for one request made as `user` (`None`: no authenticated user),
    /// counting down `times`.
    pub fn take_as(&self, user: Option<&str>, verb: &str, path: &str) -> Vec<FaultAction> {
        let mut rules = self.lock();
        let mut out = Vec::new();
        for rule in rules.iter_mut() {
            let matches = rule.verb.as_deref().is_none_or(|v| v == verb)
                && rule.path.as_deref().is_none_or(|p| path.contains(p))
                && rule.user.as_deref().is_none_or(|u| Some(u) == user);
            if matches {
                out.push(rule.action.clone());
                if let Some(n) = &mut rule.times {
                    *n = n.saturating_sub(1);
                }
            }
        }
        rules.retain(|r| r.times != Some(0));
        out
    }
}

/// The total latency among `actions`.
pub fn latency(actions: &[FaultAction]) -> Duration {
    actions
        .iter()
        .map(|a| match a {
            FaultAction::Latency { millis } => Duration::from_millis(*millis),
            _ => Duration::ZERO,
        })
        .sum()
}
