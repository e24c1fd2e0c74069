//! One pass over one package (seed 004's "a work queue between events and work"): the
//! controller calls [`reconcile`] with the package as its watch last saw it; the pass
//! renders, applies, prunes and judges health, then writes the status only if it
//! changed. Failures are classified here, not left to the controller: a transient one
//! is shown as progress and retried with per-package backoff; a terminal one, or a
//! spent retry budget, stalls the package until it (or a manual retry) changes.
//!
//! Guarantees: never two passes over one package at once (the controller's rule); every
//! pass ends within [`super::OperatorOptions::reconcile_timeout`]; a pass over an
//! unchanged, healthy package makes no API request (reads come from the watches) and
//! writes nothing. A panic anywhere in a pass never ends the controller: inside the
//! install it becomes the package's terminal error ([`Error::Panicked`], shown in its
//! status like any other); anywhere else in the pass (the finalizer, a status write,
//! the uninstall) it fails the pass, which is retried with the package's backoff.
//!
//! Caveat: a panic is caught where it unwinds to, so what the pass had done by then
//! stays done (as after any failure); the `Mutex`es the pass shares are all read
//! through poisoning.

use super::apply::{self, Applied, PackageId};
use super::error::Error;
use super::memory::RetryKey;
use super::package::Installable;
use super::{Context, package_infos, render, status};
use crate::types::{OwnedResource, PackageStatus};
use futures::FutureExt;
use hoist_core::operator::conditions::Phase;
use hoist_core::operator::health::{self, Health};
use hoist_core::operator::inventory::{self, ObjectRef};
use hoist_core::operator::phase;
use hoist_core::operator::placement::Owner;
use hoist_core::operator::retry::Next;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as Finalizer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The finalizer every package carries until what it applied is gone.
pub const FINALIZER: &str = "packages.hoist.dev/cleanup";

// Part of the CRD contract (`crate::types`); re-exported here for the tests that name it so.
pub use crate::types::RETRY_ANNOTATION;

/// How soon a package still becoming healthy is looked at again if no watch event comes
/// first (events are what normally move it on).
pub const PROGRESS_RECHECK: Duration = Duration::from_secs(30);

pub async fn reconcile<K: Installable>(
    pkg: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, finalizer::Error<Error>> {
    let api = pkg.api(&ctx.client);
    let timeout = ctx.opts.reconcile_timeout;
    let started = std::time::Instant::now();
    let (who, version) = (pkg.describe(), pkg.resource_version().unwrap_or_default());
    ctx.metrics.reconcile_started();
    let run = super::finalizer::run(&api, &ctx.own_writes, FINALIZER, pkg, |event| async {
        match event {
            Finalizer::Apply(p) => install(&*p, &ctx).await,
            Finalizer::Cleanup(p) => uninstall(&*p, &ctx).await.map(|()| Action::await_change()),
        }
    });
    // A panic outside the install's own catch (the finalizer's patch, a status write,
    // the uninstall) fails this pass only; the controller goes on.
    let run = std::panic::AssertUnwindSafe(run).catch_unwind();
    let result = match tokio::time::timeout(timeout, run).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => {
            tracing::error!(package = %who, kind = K::KIND, "a pass panicked; retried with backoff");
            Err(finalizer::Error::ApplyFailed(Error::Panicked {
                during: "a reconcile",
            }))
        }
        Err(_) => Err(finalizer::Error::ApplyFailed(Error::Timeout(timeout))),
    };
    ctx.metrics
        .reconcile_finished(K::KIND, result.is_ok(), started.elapsed());
    tracing::debug!(package = %who, kind = K::KIND, took = ?started.elapsed(), ok = result.is_ok(), "pass done");
    ctx.passes.send_modify(|done| {
        done.insert(who, version);
    });
    ctx.finished.send_modify(|n| *n += 1);
    result
}

/// What the controller does when a pass fails outside the pass's own handling (its
/// status write, the finalizer's patch): try again with the package's backoff.
pub fn error_policy<K: Installable>(
    pkg: Arc<K>,
    err: &finalizer::Error<Error>,
    ctx: Arc<Context>,
) -> Action {
    let failures = ctx.memory.count_failure(&retry_key(&*pkg));
    let delay = ctx.opts.policy.delay(failures, jitter());
    tracing::warn!(package = %pkg.describe(), kind = K::KIND, error = %err, ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// A number in `[0, 1)` for jitter.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1_000_000) / 1_000_000.0
}

/// What identifies a package's run of failures: its uid, generation and retry
/// annotation; a change to either starts a new run.
fn retry_key<K: Installable>(pkg: &K) -> RetryKey {
    RetryKey {
        uid: pkg.uid().unwrap_or_default(),
        generation: pkg.meta().generation.unwrap_or(0),
        token: pkg
            .annotations()
            .get(RETRY_ANNOTATION)
            .cloned()
            .unwrap_or_default(),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The package, and who its writes are made as: a Package's ServiceAccount (its own
/// or the operator's default), a ClusterPackage's the operator.
fn package_id<K: Installable>(pkg: &K, ctx: &Context) -> PackageId {
    let namespace = pkg.namespace();
    PackageId {
        acting: super::identity::Acting::for_package(
            namespace.as_deref(),
            pkg.service_account(),
            ctx.opts.default_service_account.as_deref(),
        ),
        name: pkg.name_any(),
        namespace,
    }
}

/// The status as it stands, with new conditions for `phase`.
fn with_phase<K: Installable>(pkg: &K, base: PackageStatus, phase: &Phase) -> PackageStatus {
    let old = pkg.status().map(|s| s.conditions.as_slice()).unwrap_or(&[]);
    PackageStatus {
        conditions: status::conditions_for(phase, old, pkg.meta().generation, &now()),
        last_handled_retry: pkg.annotations().get(RETRY_ANNOTATION).cloned(),
        ..base
    }
}

async fn write<K: Installable>(pkg: &K, ctx: &Context, new: &PackageStatus) -> Result<(), Error> {
    if !status::differs(pkg.status(), new) {
        return Ok(());
    }
    let moved = ready_moved(pkg.status(), new);
    // The Event first: whoever sees the new status (the dashboard reloads on it) finds
    // the Event that announces it. A status write that then fails is retried, and its
    // repeated Event folds into the same series.
    if moved {
        announce(pkg, ctx, new).await;
    }
    let api = pkg.api(&ctx.client);
    if let Some(rv) = status::write(&api, &pkg.name_any(), pkg.status(), new).await? {
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

fn ready(s: Option<&PackageStatus>) -> Option<(String, String, String)> {
    s.and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Whether the `Ready` condition moves (status or reason) from `old` to `new`.
fn ready_moved(old: Option<&PackageStatus>, new: &PackageStatus) -> bool {
    match (ready(old), ready(Some(new))) {
        (_, None) => false,
        (Some(b), Some(n)) => b.0 != n.0 || b.1 != n.1,
        (None, Some(_)) => true,
    }
}

/// An Event when the package's `Ready` condition moves (status or reason): what users
/// see in `kubectl describe` and `kubectl events`. Only transitions are announced, so
/// a package at rest emits nothing; a failure to publish is logged, never fatal.
async fn announce<K: Installable>(pkg: &K, ctx: &Context, new: &PackageStatus) {
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
async fn announce_update<K: Installable>(pkg: &K, ctx: &Context, to: &str) {
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

/// `pkg` with the status this operator last wrote, when its watch has not delivered
/// that write yet; `None` when `pkg` is current (see [`super::memory::Memory::fresher`]).
fn fresher<K: Installable>(pkg: &K, ctx: &Context) -> Option<K> {
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

async fn install<K: Installable>(pkg: &K, ctx: &Context) -> Result<Action, Error> {
    let fresher = fresher(pkg, ctx);
    let pkg = fresher.as_ref().unwrap_or(pkg);
    let current = pkg.status().cloned().unwrap_or_default();
    if pkg.spec().suspend {
        write(pkg, ctx, &with_phase(pkg, current, &Phase::Suspended)).await?;
        return Ok(Action::await_change());
    }
    let key = retry_key(pkg);
    match caught(pass(pkg, ctx), "the install").await {
        Ok((phase, status)) => {
            ctx.memory.clear_failures(&key.uid);
            let next = with_phase(pkg, status, &phase);
            if matches!(phase, Phase::Progressing { .. })
                && pkg.status().is_none_or(|s| s.conditions.is_empty())
                && !*ctx.stopping.borrow()
                && let Some(wait) = ctx.memory.first_status_wait(&key.uid, Instant::now())
            {
                // A new package on its way: its first status waits a moment, so one that
                // becomes Ready meanwhile is written once, as Ready.
                return Ok(Action::requeue(wait));
            }
            if matches!(phase, Phase::Progressing { .. })
                && status::only_progress_words(pkg.status(), &next)
                && let Some(wait) = ctx.memory.progress_words_wait(&key.uid, Instant::now())
            {
                // Only the words of the progress moved, and they were written a moment
                // ago: written at the end of the window instead (one write, not one per
                // watch event), unless the package moves on first.
                return Ok(Action::requeue(wait));
            }
            if matches!(phase, Phase::Progressing { .. }) {
                ctx.memory.wrote_progress(&key.uid, Instant::now());
            }
            write(pkg, ctx, &next).await?;
            if matches!(phase, Phase::Ready { .. }) && super::auto_update::wanted(pkg) {
                // A failed check (the repository is down) is retried at the next
                // pass; it never fails this one, which did its work.
                match super::auto_update::check(pkg, ctx).await {
                    Ok(Some(to)) => announce_update(pkg, ctx, &to).await,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::info!(package = %pkg.describe(), error = %e, "auto-update check failed")
                    }
                }
            }
            Ok(match phase {
                Phase::Progressing { .. } => Action::requeue(PROGRESS_RECHECK),
                _ => Action::requeue(ctx.opts.resync.mul_f64(0.9 + jitter() * 0.2)),
            })
        }
        Err(e) => {
            let mut current = current;
            if matches!(e, Error::Fetch(_) | Error::Format(_)) {
                // Best effort: the PackageInfo says why its version cannot be read.
                let info = &pkg.spec().package_info;
                let failed = package_infos::ensure(
                    ctx,
                    info.repository_name.as_deref(),
                    &info.name,
                    &info.version,
                    package_infos::Sync::Failed {
                        message: hoist_core::repo::format::cut(&e.to_string()),
                    },
                )
                .await;
                if let Ok(name) = failed {
                    let o = package_infos::owned(&name);
                    if !current.owned_package_infos.contains(&o) {
                        current.owned_package_infos.push(o);
                    }
                }
            }
            let class = e.class();
            let failures = ctx.memory.count_failure(&key);
            ctx.metrics.reconcile_error(e.metric_label(), class);
            let next = ctx.opts.policy.after_failure(class, failures, jitter());
            let message = hoist_core::repo::format::cut(&e.to_string());
            let (phase, action) = match next {
                Next::RetryAfter(d) => (
                    Phase::Retrying {
                        reason: e.reason().to_string(),
                        message: format!(
                            "{message} (attempt {failures}; retrying in {}s)",
                            d.as_secs().max(1)
                        ),
                    },
                    Action::requeue(d),
                ),
                Next::DeadLetter => (
                    Phase::DeadLettered {
                        message: format!(
                            "gave up after {failures} attempts: {message}; retry with `hoist retry` once the cause is fixed"
                        ),
                    },
                    Action::await_change(),
                ),
                Next::WaitForChange => (
                    Phase::Failed {
                        reason: e.reason().to_string(),
                        message,
                    },
                    Action::await_change(),
                ),
            };
            if matches!(next, Next::DeadLetter) {
                ctx.metrics.dead_lettered();
            }
            tracing::info!(package = %pkg.describe(), kind = K::KIND, error = %e, class = class.as_str(), "pass failed");
            write(pkg, ctx, &with_phase(pkg, current, &phase)).await?;
            Ok(action)
        }
    }
}

/// `fut`'s result, or [`Error::Panicked`] naming `during` when it panics: what a
/// package's pass does must never end the controller that runs it (a template, a
/// manifest or a cluster answer Hoist did not foresee). The panic's message goes to the
/// log by the panic hook, never to the status.
pub async fn caught<T>(
    fut: impl std::future::Future<Output = Result<T, Error>>,
    during: &'static str,
) -> Result<T, Error> {
    match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(
                during,
                "a pass panicked; the package is failed with an internal error"
            );
            Err(Error::Panicked { during })
        }
    }
}

/// Render, apply, prune, judge: the phase and the status (without conditions).
async fn pass<K: Installable>(pkg: &K, ctx: &Context) -> Result<(Phase, PackageStatus), Error> {
    let rendered = render::render(pkg, ctx).await?;
    // Glasskube's PackageInfo for this version (written only when it changes), and the
    // ones of earlier versions released.
    let info = &pkg.spec().package_info;
    let pi = package_infos::ensure(
        ctx,
        info.repository_name.as_deref(),
        &info.name,
        &info.version,
        package_infos::Sync::Completed {
            manifest: &rendered.manifest,
            resolved_url: rendered.repository.manifest_url(&info.name, &info.version),
        },
    )
    .await?;
    let pis = vec![package_infos::owned(&pi)];
    let old_pis: Vec<OwnedResource> = pkg
        .status()
        .map(|s| {
            s.owned_package_infos
                .iter()
                .filter(|o| !pis.contains(o))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !old_pis.is_empty() {
        package_infos::release(ctx, &pkg.describe(), &old_pis).await?;
    }
    let deps =
        super::dependencies::ensure(pkg, &rendered.manifest, &rendered.repository, ctx).await?;
    // What an earlier version needed and this one no longer does goes now (not only at
    // uninstall, Glasskube's open #318).
    let dropped: Vec<OwnedResource> = pkg
        .status()
        .map(|s| {
            s.owned_packages
                .iter()
                .filter(|o| !deps.owned.contains(o))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !dropped.is_empty() {
        let me = hoist_core::install::InstallRef::new(pkg.namespace().as_deref(), pkg.name_any());
        super::dependencies::release(ctx, &me, &dropped).await?;
    }
    if !deps.waiting.is_empty() {
        // Nothing is applied before what it needs is ready (Glasskube's order).
        let status = PackageStatus {
            owned_packages: deps.owned,
            owned_package_infos: pis,
            conditions: Vec::new(),
            warnings: rendered.warnings,
            ..pkg.status().cloned().unwrap_or_default()
        };
        let phase = Phase::Progressing {
            reason: "DependenciesNotReady".into(),
            message: format!(
                "waiting for required package(s): {}",
                deps.waiting.join("; ")
            ),
        };
        return Ok((phase, status));
    }
    let id = package_id(pkg, ctx);
    let owner = pkg.owner(rendered.manifest.default_namespace.clone());
    let old: Vec<ObjectRef> = pkg
        .status()
        .map(|s| s.owned_resources.iter().map(status::reference).collect())
        .unwrap_or_default();
    // The prune brake: a render with nothing in it never uninstalls what is there.
    if rendered.placed.objects.is_empty() && !old.is_empty() {
        return Err(inventory::PruneError::EmptyRender { had: old.len() }.into());
    }
    let mut objects = rendered.placed.objects;
    let mut namespaces = rendered.placed.namespaces.clone();
    for ns in &deps.namespaces {
        if !namespaces.contains(ns) {
            namespaces.push(ns.clone());
        }
    }
    for ns in &namespaces {
        if ctx.namespace_is_ours_to_apply(ns, &owner) {
            objects.push(namespace_object(ns, &owner));
        }
    }
    if let Some(own) = pkg.namespace().filter(|_| ctx.opts.tenant_rules) {
        let refs: Vec<ObjectRef> = objects.iter().map(apply::reference).collect();
        hoist_core::operator::confinement::check_objects(&own, &refs)?;
    }
    let applied = apply::apply_all(ctx, &id, objects).await?;
    for a in &applied {
        ctx.metrics.applied(a.action.as_str());
    }
    let new: Vec<ObjectRef> = applied.iter().map(|a| a.reference.clone()).collect();
    let plan = inventory::plan_prune(&old, &new, pkg.spec().prune_durable)?;
    let known: Vec<ObjectRef> = old.iter().chain(&new).cloned().collect();
    let failed = apply::prune(ctx, &id, &plan.delete, &known).await;
    ctx.metrics
        .pruned((plan.delete.len() - failed.len()) as u64);
    // What was kept stays listed until the package has it again (or it is pruned).
    let mut kept: Vec<OwnedResource> = pkg
        .status()
        .map(|s| s.kept_resources.clone())
        .unwrap_or_default();
    kept.extend(plan.kept.iter().map(status::owned));
    kept.retain(|k| {
        let r = status::reference(k);
        !new.iter().any(|n| n.same_object(&r)) && !plan.delete.iter().any(|d| d.same_object(&r))
    });
    kept.dedup_by(|a, b| status::reference(a).same_object(&status::reference(b)));
    let inventory: Vec<OwnedResource> = inventory::next(&new, &failed)
        .iter()
        .map(status::owned)
        .collect();
    let judged: Vec<(Applied, Health)> = applied
        .into_iter()
        .map(|a| {
            let h = health::compute(&a.live);
            (a, h)
        })
        .collect();
    let phase = phase::from_health(judged.iter().map(|(a, h)| (&a.reference, h)), failed.len());
    let info = &pkg.spec().package_info;
    let installed = match phase {
        Phase::Ready { .. } => Some(info.version.clone()),
        _ => pkg.status().and_then(|s| s.version.clone()),
    };
    let status = PackageStatus {
        version: installed,
        conditions: Vec::new(),
        owned_resources: inventory,
        owned_package_infos: pis,
        owned_packages: deps.owned,
        objects: status::objects(
            &judged,
            pkg.status().map(|s| s.objects.as_slice()).unwrap_or(&[]),
        ),
        last_handled_retry: None,
        warnings: rendered.warnings,
        kept_resources: kept,
    };
    Ok((phase, status))
}

pub(super) fn namespace_object(name: &str, owner: &Owner) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": owner.labels()},
    })
}

/// Removes what the package applied, in reverse apply order (only objects still
/// labelled as its own); the finalizer goes once every delete was accepted.
async fn uninstall<K: Installable>(pkg: &K, ctx: &Context) -> Result<(), Error> {
    // Dependencies and components first (each uninstalls itself through its own
    // finalizer): a component's Package may live in a namespace deleted below.
    let me = hoist_core::install::InstallRef::new(pkg.namespace().as_deref(), pkg.name_any());
    let recorded = pkg
        .status()
        .map(|s| s.owned_packages.as_slice())
        .unwrap_or(&[]);
    super::dependencies::release(ctx, &me, recorded).await?;
    let id = package_id(pkg, ctx);
    let all: Vec<ObjectRef> = pkg
        .status()
        .map(|s| s.owned_resources.iter().map(status::reference).collect())
        .unwrap_or_default();
    for r in inventory::deletion_order(&all) {
        apply::delete_one(ctx, &id, &r, &all).await?;
    }
    let pis = pkg
        .status()
        .map(|s| s.owned_package_infos.clone())
        .unwrap_or_default();
    package_infos::release(ctx, &pkg.describe(), &pis).await?;
    let user = super::dependencies::user_of(&me);
    ctx.memory.forget(&pkg.uid().unwrap_or_default(), &user);
    ctx.inputs.forget(&user);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_a_pass_becomes_the_packages_error() {
        let boom = async {
            if std::hint::black_box(true) {
                panic!("a bug");
            }
            Ok::<(), Error>(())
        };
        let e = caught(boom, "the install").await.expect_err("caught");
        assert!(
            matches!(
                e,
                Error::Panicked {
                    during: "the install"
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.reason(), "InternalError");
        assert!(e.to_string().contains("during the install"), "{e}");
        let fine = caught(async { Ok::<u8, Error>(7) }, "the install").await;
        assert_eq!(fine.ok(), Some(7));
    }
}
