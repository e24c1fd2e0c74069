//! One kind's reflector loop, shared by the dashboard's caches and the operator's
//! repository watch: kube-rs' `watcher` with its default backoff, each event reported
//! to the readiness [`Gate`] and handed to an optional [`Sink`].
//!
//! A kind whose first list takes longer than [`PROBE_AFTER`] asks the API server how
//! many objects it has (`limit=1`, reading `remainingItemCount`: one request, beside
//! the list) so its progress has a total; a faster list needs no progress bar and is
//! not slowed by the extra request. The watcher relists after a 410 and rewatches
//! after a dropped stream. A kind without a sink (only counted for the gate) is
//! watched as metadata only (`PartialObjectMetadata`): the API server sends, and the
//! loop parses, names and versions instead of whole objects.
//!
//! Guarantees: the loop never ends by itself (kube-rs retries every error with
//! backoff); a 403 or 404 on an optional kind makes it synced, empty and unavailable
//! (said, not a failure); any other error is on the gate until the watch recovers.

use super::readiness::Gate;
use crate::sink::Sink;
use futures::StreamExt;
use futures::future::Either;
use kube::api::ListParams;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

/// How long a first list may take before its kind asks for a total (see the module doc).
pub const PROBE_AFTER: Duration = Duration::from_millis(50);

/// List page size, as client-go's and kube-rs' default.
pub const PAGE_SIZE: u32 = 500;

/// A first list slower than this is logged as a warning.
pub const SLOW_SYNC: Duration = Duration::from_secs(10);

/// Where a kind's objects go (none: the kind is only counted for the gate).
pub type ToSink<K> = Option<Arc<dyn Sink<K>>>;

/// Called with the kind on every watch error (the dashboard counts them).
pub type OnError = Arc<dyn Fn(&'static str) + Send + Sync>;

/// What every kind's loop reports to.
#[derive(Clone)]
pub struct Ctx {
    pub gate: Arc<Gate>,
    pub on_error: Option<OnError>,
}

async fn count(
    api: &Api<impl Resource + Clone + DeserializeOwned + Debug>,
) -> Result<u64, kube::Error> {
    let first = api.list_metadata(&ListParams::default().limit(1)).await?;
    Ok(first.items.len() as u64 + first.metadata.remaining_item_count.unwrap_or(0).max(0) as u64)
}

/// Runs one kind's reflector (see the module doc); `relists` changing starts its watch
/// again from a list. `optional`: a 403 or 404 is not a failure.
pub async fn run<K>(
    api: Api<K>,
    kind: &'static str,
    ctx: Ctx,
    sink: ToSink<K>,
    optional: bool,
    relists: Option<tokio::sync::watch::Receiver<u64>>,
) where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    // The count runs beside the list (in this task, so it ends with it), so it never
    // delays the sync, and only when the list is slow enough for anyone to watch its
    // progress.
    let probe = async {
        tokio::time::sleep(PROBE_AFTER).await;
        if ctx.gate.is_synced(kind) {
            return;
        }
        match count(&api).await {
            Ok(total) => ctx.gate.total(kind, total),
            Err(e) => ctx.gate.error(kind, e.to_string()),
        }
    };
    let watch = async {
        let mut relists = relists;
        loop {
            let cfg = watcher::Config::default().page_size(PAGE_SIZE);
            // A kind only counted is watched as metadata: the API server sends names
            // and versions, not whole objects, and nothing whole is parsed here.
            // (Cluster-wide ones only: every kind counted today is.)
            let following = match (&sink, api.namespace()) {
                (None, None) => {
                    let metadata =
                        Api::<PartialObjectMeta<K>>::all_with(api.clone().into_client(), &());
                    Either::Right(follow(
                        watcher::watcher(metadata, cfg).default_backoff(),
                        kind,
                        &ctx,
                        None,
                        optional,
                    ))
                }
                _ => Either::Left(follow(
                    watcher::watcher(api.clone(), cfg).default_backoff(),
                    kind,
                    &ctx,
                    sink.clone(),
                    optional,
                )),
            };
            let Some(rx) = relists.as_mut() else {
                return following.await;
            };
            // A relist asked for drops this watch and starts a new one (list first).
            tokio::select! {
                () = following => return,
                changed = rx.changed() => {
                    if changed.is_err() {
                        relists = None;
                    }
                    tracing::debug!(kind, "listing again");
                }
            }
        }
    };
    futures::future::join(probe, watch).await;
}

/// Feeds one kind's events to the gate and its sink, forever.
async fn follow<K>(
    events: impl futures::Stream<Item = Result<Event<K>, watcher::Error>>,
    kind: &'static str,
    ctx: &Ctx,
    sink: ToSink<K>,
    optional: bool,
) {
    let mut events = std::pin::pin!(events);
    let mut list_started = std::time::Instant::now();
    let mut slow_warned = false;
    let mut warned_setup = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => {
                ctx.gate.listing(kind);
                sink.iter().for_each(|s| s.init());
                list_started = std::time::Instant::now();
            }
            Ok(Event::InitApply(obj)) => {
                ctx.gate.loaded(kind);
                sink.iter().for_each(|s| s.init_apply(&obj));
                if !slow_warned && list_started.elapsed() > SLOW_SYNC {
                    slow_warned = true;
                    tracing::warn!(kind, threshold = ?SLOW_SYNC, "cache sync is taking longer than expected");
                }
            }
            Ok(Event::InitDone) => {
                sink.iter().for_each(|s| s.init_done());
                ctx.gate.synced(kind);
            }
            Ok(Event::Apply(obj)) => {
                ctx.gate.event(kind);
                sink.iter().for_each(|s| s.apply(&obj));
            }
            Ok(Event::Delete(obj)) => {
                ctx.gate.event(kind);
                sink.iter().for_each(|s| s.delete(&obj));
            }
            Err(e) => {
                let message = explain(kind, &e);
                if !warned_setup && message.len() > e.to_string().len() {
                    warned_setup = true;
                    tracing::warn!(kind, "{message}");
                }
                tracing::debug!(kind, error = %e, "watch error; kube-rs retries with backoff");
                if let Some(on_error) = &ctx.on_error {
                    on_error(kind);
                }
                if optional && (forbidden(&e) || not_installed(&e)) {
                    // Synced, empty, and said: not a failure that makes the dashboard
                    // DEGRADED, since nothing it shows depends on it.
                    if !ctx.gate.is_synced(kind) {
                        sink.iter().for_each(|s| {
                            s.init();
                            s.init_done();
                            s.unavailable(&message);
                        });
                    }
                    ctx.gate.unavailable(kind, message);
                } else if answered(&e) {
                    ctx.gate.refused(kind, message);
                } else {
                    ctx.gate.error(kind, message);
                }
            }
        }
    }
}

/// Whether the API server said no (403) to listing or watching.
fn forbidden(e: &watcher::Error) -> bool {
    matches!(
        e,
        watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 403
    )
}

/// Whether the kind is not served (404: its CRD is not installed).
fn not_installed(e: &watcher::Error) -> bool {
    matches!(
        e,
        watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 404
    )
}

/// Whether the API server answered (with an error status): it is reachable.
fn answered(e: &watcher::Error) -> bool {
    matches!(
        e,
        watcher::Error::InitialListFailed(kube::Error::Api(_))
            | watcher::Error::WatchStartFailed(kube::Error::Api(_))
            | watcher::Error::WatchFailed(kube::Error::Api(_))
            | watcher::Error::WatchError(_)
    )
}

/// What the status shows for a watch error: the API server's words, and what to do
/// about the two errors a first run against a real cluster meets (Hoist's CRDs not
/// installed, Hoist not allowed to read a kind). kube-rs keeps retrying either way, so
/// fixing the cluster is enough: no restart.
fn explain(kind: &str, e: &watcher::Error) -> String {
    let code = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s)) => Some(s.code),
        _ => None,
    };
    let ours = matches!(
        kind,
        "ClusterPackage" | "Package" | "PackageInfo" | "PackageRepository"
    );
    match code {
        Some(404) if matches!(kind, "Cluster" | "UsageRecord") => format!(
            "{e}: the fleet's CustomResourceDefinitions (fleet.hoist.dev) are not installed \
             in this cluster; install Hoist's CRDs with `hoist crdgen | kubectl apply -f -` \
             to manage member clusters"
        ),
        Some(404) if ours => format!(
            "{e}: the {kind} CustomResourceDefinition is not installed in this cluster; \
             install Hoist's CRDs with `hoist crdgen | kubectl apply -f -`"
        ),
        Some(403) => format!(
            "{e}: the identity Hoist runs as may not list and watch {kind} objects; \
             grant it list and watch on them"
        ),
        _ => e.to_string(),
    }
}
