//! A Cluster's status and spec as the core's plain [`Facts`], for its one reading of a
//! cluster's state and billing warnings (`hoist_core::fleet::view`): the metrics, the
//! CLI and the dashboard call this, never their own reading of the conditions.

use crate::time;
use hoist_core::fleet::Seconds;
use hoist_core::fleet::conditions::{CREDENTIALS_VALID, REACHABLE, READY};
use hoist_core::fleet::probe::Policy;
use hoist_core::fleet::view::Facts;
use hoist_kube::types::Cluster;

fn condition<'a>(c: &'a Cluster, t: &str) -> Option<&'a hoist_kube::types::Condition> {
    c.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|x| x.type_ == t))
}

fn holds(c: &Cluster, t: &str) -> Option<bool> {
    condition(c, t).and_then(|x| match x.status.as_str() {
        "True" => Some(true),
        "False" => Some(false),
        _ => None,
    })
}

/// When the condition `t` took its current status.
pub fn since(c: &Cluster, t: &str) -> Option<Seconds> {
    condition(c, t)
        .and_then(|x| x.last_transition_time.as_deref())
        .and_then(time::parse)
}

/// The Cluster's vanish deadline: its own `billing.vanishAfter` (`0`: never), else the
/// default policy's.
pub fn vanish_after(c: &Cluster) -> Option<Seconds> {
    match c.spec.billing.vanish_after.as_deref() {
        Some(v) => time::parse_duration(v).filter(|s| *s > 0),
        None => Policy::default().vanish_after,
    }
}

/// `billed`: whether the ledger has an open record for it (the records are the truth;
/// the Cluster's status may lag them by a write).
pub fn facts(c: &Cluster, billed: bool) -> Facts {
    Facts {
        deleting_since: c
            .metadata
            .deletion_timestamp
            .as_ref()
            .map(|t| t.0.as_second()),
        credentials_valid: holds(c, CREDENTIALS_VALID),
        reachable: holds(c, REACHABLE),
        reachable_since: since(c, REACHABLE),
        ready: holds(c, READY),
        billed,
        last_success: c
            .status
            .as_ref()
            .and_then(|s| s.probe.last_success.as_deref())
            .and_then(time::parse),
        vanish_after: vanish_after(c),
    }
}
