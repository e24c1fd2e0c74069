//! One pass over one package (seed 004's "a work queue between events and work"): the
//! controller calls [`reconcile`] with the package as its watch last saw it; the pass
//! renders, applies, prunes and judges health, then writes the status only if it
//! changed. Failures are classified here, not left to the controller: a transient one
//! is shown as progress and retried with per-package backoff; a terminal one, or a
//! spent retry budget, stalls the package until it (or a manual retry) changes.
//!
//! Guarantees: never two passes over one package at once (the controller's rule); a
//! pass starts with a permit of its kind's concurrency limit ([`crate::limiter`]), and
//! one that waited for it reads its package as the watch shows it then; every pass
//! ends within [`crate::options::OperatorOptions::reconcile_timeout`] of its permit; a
//! pass over an unchanged, healthy package makes no API request (reads come from the
//! watches) and writes nothing. A panic anywhere in a pass never ends the controller:
//! inside the install it becomes the package's terminal error ([`Error::Panicked`],
//! shown in its status like any other); anywhere else in the pass (the finalizer, a
//! status write, the uninstall) it fails the pass, which is retried with the package's
//! backoff.
//!
//! Caveat: a panic is caught where it unwinds to, so what the pass had done by then
//! stays done (as after any failure); the `Mutex`es the pass shares are all read
//! through poisoning.

use crate::error::Error;
use crate::memory::RetryKey;
use crate::package::Installable;
use crate::{context::Context, events, package_infos, status};
use futures::FutureExt;
use hoist_core::operator::conditions::Phase;
use hoist_core::operator::failure;
use hoist_core::operator::inventory::{self, ObjectRef as Owned};
use hoist_core::operator::pacing::{self, Pace};
use hoist_core::operator::retry::Next;
use hoist_kube::types::PackageStatus;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as Finalizer};
use kube::runtime::reflector::ObjectRef;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The finalizer every package carries until what it applied is gone.
pub const FINALIZER: &str = "packages.hoist.dev/cleanup";

// Part of the CRD contract (`hoist_kube::types`); re-exported here for the tests that name it so.
pub use hoist_kube::types::RETRY_ANNOTATION;

/// How soon a package still becoming healthy is looked at again if no watch event comes
/// first (events are what normally move it on).
pub const PROGRESS_RECHECK: Duration = Duration::from_secs(30);

pub async fn reconcile<K: Installable>(
    pkg: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, finalizer::Error<Error>> {
    // The kind's concurrency limit first (a fixed one lets every pass in): the pass's
    // time and deadline start with its permit.
    let lane = ctx.lanes.of::<K>();
    let work = match lane {
        Some(lane) => match lane
            .start(ObjectRef::from_obj(&*pkg), ctx.passes.stopped())
            .await
        {
            Some(work) => Some(work),
            // The operator stops: a pass not started is not started now.
            None => return Ok(Action::await_change()),
        },
        None => None,
    };
    // A pass that waited reads the package as it is now (gone: nothing to do).
    let pkg = match (lane, &work) {
        (Some(lane), Some(w)) if w.waited() => match lane.latest(w.object()) {
            Some(newest) => newest,
            None => return Ok(Action::await_change()),
        },
        _ => pkg,
    };
    let api = pkg.api(&ctx.client);
    let timeout = ctx.opts.reconcile_timeout;
    let started = std::time::Instant::now();
    let (who, version) = (pkg.describe(), pkg.resource_version().unwrap_or_default());
    ctx.metrics.reconcile_started();
    let run = crate::finalizer::run(&api, &ctx.own_writes, FINALIZER, pkg, |event| async {
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
    // The permit back and the work observed before the pass counts as finished.
    drop(work);
    ctx.passes.finished(who, version);
    result
}

/// The pass over `pkg` asks to be looked at again `after` (`retry`: a failure's
/// backoff), as its kind's work queue records it.
fn requeue<K: Installable>(pkg: &K, ctx: &Context, after: Duration, retry: bool) -> Action {
    if let Some(lane) = ctx.lanes.of::<K>() {
        lane.queue
            .next_look(&ObjectRef::from_obj(pkg), after, retry);
    }
    Action::requeue(after)
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
    if let Some(lane) = ctx.lanes.of::<K>() {
        lane.queue.retried(&ObjectRef::from_obj(&*pkg), delay);
    }
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

/// The pass of a package that is not being deleted (the finalizer's `Apply`): nothing
/// but its `Suspended` status while suspended; else [`pass::run`], then the status it
/// comes to, paced (the core's [`pacing`] rule), or the failure, classified.
async fn install<K: Installable>(pkg: &K, ctx: &Context) -> Result<Action, Error> {
    let fresher = status::fresher(pkg, ctx);
    let pkg = fresher.as_ref().unwrap_or(pkg);
    let current = pkg.status().cloned().unwrap_or_default();
    if pkg.spec().suspend {
        status::write(
            pkg,
            ctx,
            &status::with_phase(pkg, current, &Phase::Suspended),
        )
        .await?;
        return Ok(Action::await_change());
    }
    let key = retry_key(pkg);
    match caught(crate::pass::run(pkg, ctx), "the install").await {
        Ok((phase, status)) => succeeded(pkg, ctx, &key, phase, status).await,
        Err(e) => failed(pkg, ctx, &key, current, e).await,
    }
}

/// After a pass that did its work: its status written now or held a moment (a new
/// package's first, a words-only progress), an auto-update looked for once Ready, and
/// the next look (soon while progressing, at the resync otherwise).
async fn succeeded<K: Installable>(
    pkg: &K,
    ctx: &Context,
    key: &RetryKey,
    phase: Phase,
    status: PackageStatus,
) -> Result<Action, Error> {
    ctx.memory.clear_failures(&key.uid);
    let next = status::with_phase(pkg, status, &phase);
    let progressing = matches!(phase, Phase::Progressing { .. });
    let facts = pacing::Pass {
        progressing,
        first: pkg.status().is_none_or(|s| s.conditions.is_empty()),
        stopping: ctx.passes.stopping(),
        words_only: progressing && status::only_progress_words(pkg.status(), &next),
    };
    match pacing::pace(facts, &mut ctx.memory.waits(&key.uid, Instant::now())) {
        // A new package on its way: its first status waits a moment, so one that
        // becomes Ready meanwhile is written once, as Ready. Or only the words of the
        // progress moved, written a moment ago: written at the end of the window
        // instead (one write, not one per watch event), unless the package moves on.
        Pace::HoldFirst(wait) | Pace::HoldWords(wait) => return Ok(requeue(pkg, ctx, wait, false)),
        Pace::Write { progress: true } => ctx.memory.wrote_progress(&key.uid, Instant::now()),
        Pace::Write { progress: false } => {}
    }
    status::write(pkg, ctx, &next).await?;
    if matches!(phase, Phase::Ready { .. }) && crate::auto_update::wanted(pkg) {
        // A failed check (the repository is down) is retried at the next
        // pass; it never fails this one, which did its work.
        match crate::auto_update::check(pkg, ctx).await {
            Ok(Some(to)) => events::announce_update(pkg, ctx, &to).await,
            Ok(None) => {}
            Err(e) => {
                tracing::info!(package = %pkg.describe(), error = %e, "auto-update check failed")
            }
        }
    }
    let next = match phase {
        Phase::Progressing { .. } => PROGRESS_RECHECK,
        _ => ctx.opts.resync.mul_f64(0.9 + jitter() * 0.2),
    };
    Ok(requeue(pkg, ctx, next, false))
}

/// After a pass that failed with `e`: counted, shown as the core's [`failure`] rule
/// says (Retrying, Failed or dead-lettered), and looked at again after the backoff or
/// once something changes.
async fn failed<K: Installable>(
    pkg: &K,
    ctx: &Context,
    key: &RetryKey,
    mut current: PackageStatus,
    e: Error,
) -> Result<Action, Error> {
    if matches!(e, Error::Fetch(_) | Error::Format(_)) {
        record_unreadable(pkg, ctx, &mut current, &e).await;
    }
    let class = e.class();
    let failures = ctx.memory.count_failure(key);
    ctx.metrics.reconcile_error(e.metric_label(), class);
    let next = ctx.opts.policy.after_failure(class, failures, jitter());
    let message = hoist_core::repo::format::cut(&e.to_string());
    let phase = failure::phase_after(next, e.reason(), &message, failures);
    if matches!(next, Next::DeadLetter) {
        ctx.metrics.dead_lettered();
    }
    tracing::info!(package = %pkg.describe(), kind = K::KIND, error = %e, class = class.as_str(), "pass failed");
    status::write(pkg, ctx, &status::with_phase(pkg, current, &phase)).await?;
    // Recorded once the status is written: a failed write is the error policy's retry.
    Ok(match next {
        Next::RetryAfter(d) => requeue(pkg, ctx, d, true),
        Next::DeadLetter | Next::WaitForChange => Action::await_change(),
    })
}

/// Best effort: the PackageInfo of `pkg`'s version says why that version cannot be
/// read (`e`), and `current` lists it among the package's own.
async fn record_unreadable<K: Installable>(
    pkg: &K,
    ctx: &Context,
    current: &mut PackageStatus,
    e: &Error,
) {
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
    crate::dependencies::release(ctx, &me, recorded).await?;
    let id = crate::pass::package_id(pkg, ctx);
    let all: Vec<Owned> = pkg
        .status()
        .map(|s| s.owned_resources.iter().map(status::reference).collect())
        .unwrap_or_default();
    for r in inventory::deletion_order(&all) {
        crate::prune::delete_one(ctx, &id, &r, &all).await?;
    }
    let pis = pkg
        .status()
        .map(|s| s.owned_package_infos.clone())
        .unwrap_or_default();
    package_infos::release(ctx, &pkg.describe(), &pis).await?;
    let user = crate::dependencies::user_of(&me);
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
