//! The Events a package's passes publish (`events.k8s.io/v1`, repeats folded into a
//! series by the recorder): one when its `Ready` condition moves to Ready or to trouble,
//! one when it is auto-updated. What users see in `kubectl describe` and `kubectl
//! events`.
//!
//! Guarantees: a package at rest publishes nothing (only transitions are announced);
//! progress is left to the status; a failure to publish is logged, never fatal.

use crate::context::Context;
use crate::package::Installable;
use hoist_kube::types::PackageStatus;

fn ready(s: Option<&PackageStatus>) -> Option<(String, String, String)> {
    s.and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .map(|c| {
            (
                c.status.to_string(),
                c.reason.to_string(),
                c.message.clone(),
            )
        })
}

/// Whether the `Ready` condition moves (status or reason) from `old` to `new`.
pub(super) fn ready_moved(old: Option<&PackageStatus>, new: &PackageStatus) -> bool {
    match (ready(old), ready(Some(new))) {
        (_, None) => false,
        (Some(b), Some(n)) => b.0 != n.0 || b.1 != n.1,
        (None, Some(_)) => true,
    }
}

/// An Event when the package's `Ready` condition moves (status or reason): what users
/// see in `kubectl describe` and `kubectl events`. Only transitions are announced, so
/// a package at rest emits nothing; a failure to publish is logged, never fatal.
pub(super) async fn announce<K: Installable>(pkg: &K, ctx: &Context, new: &PackageStatus) {
    use kube::runtime::events::{Event, EventType};
    let Some(now) = ready(Some(new)) else {
        return;
    };
    // Progress is in the status; Events are for arrivals (Ready) and trouble.
    let type_ = match (now.0.as_str(), now.1.as_str()) {
        ("True", _) => EventType::Normal,
        (_, "Progressing" | "Pending" | "Deleting" | "DependenciesNotReady") => return,
        _ => EventType::Warning,
    };
    let event = Event {
        type_,
        reason: now.1.clone(),
        note: Some(hoist_core::repo::format::cut(&now.2)),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &pkg.object_ref(&())).await {
        tracing::debug!(package = %pkg.describe(), error = %e, "cannot publish an event");
    }
}

/// The Event of an auto-update.
pub(super) async fn announce_update<K: Installable>(pkg: &K, ctx: &Context, to: &str) {
    use kube::runtime::events::{Event, EventType};
    let event = Event {
        type_: EventType::Normal,
        reason: "AutoUpdated".into(),
        note: Some(format!(
            "moving from {} to {to}, the newest version its repository offers that its dependents accept",
            pkg.spec().package_info.version
        )),
        action: "Upgrade".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &pkg.object_ref(&())).await {
        tracing::debug!(package = %pkg.describe(), error = %e, "cannot publish an event");
    }
}
