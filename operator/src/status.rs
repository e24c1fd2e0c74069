//! A package's status after a pass, written only when something in it changed (a pass
//! over an unchanged package writes nothing: no new resourceVersion, no event, no
//! storm; Glasskube's 60 s status churn is what this avoids): its conditions for the
//! pass's phase, its per-object list, whether a change is only progress words (the
//! pacing's input), and the write itself, with what must come before and after it.

use crate::apply::Applied;
use crate::context::Context;
use crate::error::Error;
use crate::package::Installable;
use hoist_core::operator::conditions::{self, Phase};
use hoist_core::operator::health::Health;
use hoist_core::operator::inventory::ObjectRef;
use hoist_kube::types::RETRY_ANNOTATION;
use hoist_kube::types::{Condition, ObjectStatus, OwnedResource, PackageStatus};
use kube::ResourceExt;
use kube::api::{Api, Patch};
use serde_json::{Value, json};
use std::time::Instant;

/// The most objects listed in `status.objects` (the rest are counted in the message).
pub const MAX_LISTED_OBJECTS: usize = 100;

/// Conditions for `phase`, keeping each one's `lastTransitionTime` while its status
/// stays the same.
pub fn conditions_for(
    phase: &Phase,
    old: &[Condition],
    generation: Option<i64>,
    now: &str,
) -> Vec<Condition> {
    conditions::for_phase(phase)
        .into_iter()
        .map(|c| {
            let previous = old.iter().find(|o| o.type_ == c.type_);
            let since = match previous {
                Some(p) if p.status == c.status => p.last_transition_time.clone(),
                _ => Some(now.to_string().into()),
            };
            Condition {
                type_: c.type_.to_string().into(),
                status: c.status.to_string().into(),
                reason: c.reason.into(),
                message: c.message,
                last_transition_time: since,
                observed_generation: generation,
            }
        })
        .collect()
}

pub fn owned(r: &ObjectRef) -> OwnedResource {
    OwnedResource {
        group: r.group.clone().into(),
        version: r.version.clone().into(),
        kind: r.kind.clone().into(),
        name: r.name.clone().into(),
        namespace: (!r.namespace.is_empty()).then(|| r.namespace.as_str().into()),
        marked_for_deletion: false,
    }
}

pub fn reference(o: &OwnedResource) -> ObjectRef {
    ObjectRef {
        group: o.group.to_string(),
        version: o.version.to_string(),
        kind: o.kind.to_string(),
        namespace: o.namespace.clone().unwrap_or_default().to_string(),
        name: o.name.to_string(),
    }
}

/// The per-object list: what the operator last did to each object (a pass that leaves
/// it alone keeps the `Created` or `Configured` before it, so the list does not change,
/// and the status is not rewritten, just because a later pass found nothing to do) and
/// how healthy it is.
pub fn objects(applied: &[(Applied, Health)], before: &[ObjectStatus]) -> Vec<ObjectStatus> {
    applied
        .iter()
        .take(MAX_LISTED_OBJECTS)
        .map(|(a, h)| {
            let namespace =
                (!a.reference.namespace.is_empty()).then(|| a.reference.namespace.as_str().into());
            let previous = before.iter().find(|o| {
                o.kind == a.reference.kind && o.namespace == namespace && o.name == a.reference.name
            });
            let action = match (a.action, previous) {
                (crate::apply::Action::Unchanged, Some(p)) => p.action.clone(),
                (action, _) => action.as_str().to_string().into(),
            };
            ObjectStatus {
                kind: a.reference.kind.clone().into(),
                namespace,
                name: a.reference.name.clone().into(),
                action,
                health: h.status.as_str().to_string().into(),
                message: h.message.clone().into(),
            }
        })
        .collect()
}

/// Whether two statuses differ in anything but condition times (times only move with a
/// status change, so equal statuses mean nothing happened).
pub fn differs(old: Option<&PackageStatus>, new: &PackageStatus) -> bool {
    old != Some(new)
}

/// Whether `new` only changes the words of a progress `old` already shows: the same
/// generation still progressing for the same reason, the same version, inventory and
/// installs, the same objects with the same actions (only health words moved). Such a
/// write is cosmetic; the reconciler rate-limits it.
pub fn only_progress_words(old: Option<&PackageStatus>, new: &PackageStatus) -> bool {
    let Some(old) = old else {
        return false;
    };
    let reconciling = |s: &PackageStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == "Reconciling" && c.status == "True")
            .map(|c| (c.reason.clone(), c.observed_generation))
    };
    let shape = |s: &PackageStatus| {
        s.objects
            .iter()
            .map(|o| {
                (
                    o.kind.clone(),
                    o.namespace.clone(),
                    o.name.clone(),
                    o.action.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    reconciling(old).is_some()
        && reconciling(old) == reconciling(new)
        && old.version == new.version
        && old.owned_resources == new.owned_resources
        && old.owned_packages == new.owned_packages
        && old.last_handled_retry == new.last_handled_retry
        && shape(old) == shape(new)
}

/// Patches `status` through the status subresource, as a merge patch that also clears
/// fields the new status no longer has. Nothing is sent when it equals `old`; else the
/// resourceVersion the write made.
pub async fn patch<K>(
    api: &Api<K>,
    name: &str,
    old: Option<&PackageStatus>,
    status: &PackageStatus,
) -> Result<Option<String>, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if !differs(old, status) {
        return Ok(None);
    }
    let mut body = serde_json::to_value(status).map_err(kube::Error::SerdeError)?;
    if let Value::Object(m) = &mut body {
        for field in [
            "version",
            "ownedResources",
            "ownedPackageInfos",
            "ownedPackages",
            "objects",
            "lastHandledRetry",
            "warnings",
            "keptResources",
        ] {
            m.entry(field).or_insert(Value::Null);
        }
    }
    let written = api
        .patch_status(
            name,
            &hoist_kube::types::patch_params(),
            &Patch::Merge(json!({ "status": body })),
        )
        .await?;
    Ok(Some(
        written.meta().resource_version.clone().unwrap_or_default(),
    ))
}

/// The status as it stands, with new conditions for `phase`.
pub(super) fn with_phase<K: Installable>(
    pkg: &K,
    base: PackageStatus,
    phase: &Phase,
) -> PackageStatus {
    let old = pkg.status().map(|s| s.conditions.as_slice()).unwrap_or(&[]);
    PackageStatus {
        conditions: conditions_for(phase, old, pkg.meta().generation, &now()),
        last_handled_retry: pkg.annotations().get(RETRY_ANNOTATION).cloned(),
        ..base
    }
}

/// Writes `new` as `pkg`'s status when it differs from the one shown: the Event of a
/// `Ready` that moved first, then the patch (remembered until the watch delivers it,
/// [`fresher`]), then a pass for every dependent.
pub(super) async fn write<K: Installable>(
    pkg: &K,
    ctx: &Context,
    new: &PackageStatus,
) -> Result<(), Error> {
    if !differs(pkg.status(), new) {
        return Ok(());
    }
    let moved = crate::events::ready_moved(pkg.status(), new);
    // The Event first: whoever sees the new status (the dashboard reloads on it) finds
    // the Event that announces it. A status write that then fails is retried, and its
    // repeated Event folds into the same series.
    if moved {
        crate::events::announce(pkg, ctx, new).await;
    }
    let api = pkg.api(&ctx.client);
    if let Some(rv) = patch(&api, &pkg.name_any(), pkg.status(), new).await? {
        ctx.memory
            .remember_written(&pkg.uid().unwrap_or_default(), rv, new, Instant::now());
        ctx.metrics.status_written();
        tracing::debug!(
            package = %pkg.describe(),
            reason = new.conditions.first().map(|c| c.reason.as_str()).unwrap_or(""),
            message = new.conditions.first().map(|c| c.message.as_str()).unwrap_or(""),
            "status written"
        );
    }
    if moved {
        // After the write: dependents read this package's state from the watch.
        ctx.notify_dependents(&hoist_core::install::InstallRef::new(
            pkg.namespace().as_deref(),
            pkg.name_any(),
        ));
    }
    Ok(())
}

/// `pkg` with the status this operator last wrote, when its watch has not delivered
/// that write yet; `None` when `pkg` is current (see [`crate::memory::Memory::fresher`]).
pub(super) fn fresher<K: Installable>(pkg: &K, ctx: &Context) -> Option<K> {
    let status = ctx.memory.fresher(
        &pkg.uid()?,
        pkg.resource_version().as_deref(),
        pkg.status(),
        Instant::now(),
    )?;
    let mut newer = pkg.clone();
    newer.set_status(status);
    Some(newer)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_words_of_a_progress_moving_is_a_cosmetic_change() {
        let progressing = |message: &str| Phase::Progressing {
            reason: "Progressing".into(),
            message: message.into(),
        };
        let status = |phase: &Phase, health: &str, action: &str| PackageStatus {
            conditions: conditions_for(phase, &[], Some(1), "t"),
            objects: vec![ObjectStatus {
                kind: "Deployment".into(),
                namespace: Some("a".into()),
                name: "web".into(),
                action: action.into(),
                health: health.into(),
                message: format!("{health} now").into(),
            }],
            ..Default::default()
        };
        let old = status(&progressing("Ready: 0/3"), "InProgress", "Created");
        let words = status(&progressing("Ready: 2/3"), "InProgress", "Created");
        assert!(only_progress_words(Some(&old), &words));
        let ready = status(
            &Phase::Ready {
                message: "done".into(),
            },
            "Current",
            "Created",
        );
        assert!(!only_progress_words(Some(&old), &ready), "Ready is news");
        let acted = status(&progressing("Ready: 2/3"), "InProgress", "Configured");
        assert!(
            !only_progress_words(Some(&old), &acted),
            "a new action is news"
        );
        assert!(
            !only_progress_words(None, &words),
            "the first status is news"
        );
    }

    #[test]
    fn a_condition_keeps_its_transition_time_while_its_status_holds() {
        let ready = Phase::Ready {
            message: "installed".into(),
        };
        let first = conditions_for(&ready, &[], Some(1), "t1");
        assert!(
            first
                .iter()
                .all(|c| c.last_transition_time.as_deref() == Some("t1"))
        );
        let again = conditions_for(&ready, &first, Some(2), "t2");
        assert!(
            again
                .iter()
                .all(|c| c.last_transition_time.as_deref() == Some("t1")),
            "{again:?}"
        );
        assert!(again.iter().all(|c| c.observed_generation == Some(2)));
        let failed = conditions_for(
            &Phase::Failed {
                reason: "ForeignObject".into(),
                message: "x".into(),
            },
            &again,
            Some(2),
            "t3",
        );
        let ready_now = failed
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.last_transition_time.clone());
        assert_eq!(ready_now, Some(Some("t3".into())));
    }
}
