//! The Kubernetes adapter of the cache: one kube-rs reflector per kind, each reporting
//! to the readiness gate and (for packages) to the hub. Secrets are watched without a
//! store: the repository clientset, their only reader, keeps the one copy it needs.
//!
//! A kind whose first list takes longer than [`PROBE_AFTER`] asks the API server how
//! many objects it has (`limit=1`, reading `remainingItemCount`: one request, beside
//! the list) so its progress has a total; a faster list needs no progress bar and is
//! not slowed by the extra request. Each kind runs kube-rs' `watcher` with its default
//! backoff. The watcher relists after a 410
//! and rewatches after a dropped stream; the hub's `reconcile` turns a relist into only
//! the changes that really happened.

use super::convert;
use super::hub::Hub;
use super::readiness::Gate;
use crate::metrics::Metrics;
use crate::runtime::Supervisor;
use crate::types::{Cluster, ClusterPackage, Package, PackageInfo, PackageRepository, UsageRecord};
use futures::StreamExt;
use hoist_proto::v1::Scope;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::ListParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

/// How long a first list may take before its kind asks for a total (see the module doc).
pub const PROBE_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// List page size, as client-go's and kube-rs' default.
pub const PAGE_SIZE: u32 = 500;

/// The kinds the dashboard caches, in the order the gate shows them. Secrets are only
/// those of Hoist's own namespace (repository credentials).
/// Clusters are only those of Hoist's namespace; they and UsageRecords are optional
/// (the fleet's CRDs may not be installed, or the dashboard not allowed to read them).
pub const KINDS: [&str; 8] = [
    "ClusterPackage",
    "Package",
    "PackageInfo",
    "PackageRepository",
    "Namespace",
    "Secret",
    "Cluster",
    "UsageRecord",
];

// Where the sinks are declared (a module of their own, beside `cache` and `repo`);
// re-exported here, where the reflectors that call them are.
pub use crate::sink::Sink;

type ToSink<K> = Option<Arc<dyn Sink<K>>>;

/// Feeds packages of one scope to the hub; a relist becomes only the real differences.
/// The list is staged in the hub as it arrives (compactly), never held here.
struct PackageSink<K> {
    hub: Arc<Hub>,
    scope: Scope,
    convert: fn(&K) -> hoist_proto::v1::Package,
}

impl<K> PackageSink<K> {
    fn new(hub: Arc<Hub>, scope: Scope, convert: fn(&K) -> hoist_proto::v1::Package) -> Arc<Self> {
        Arc::new(Self {
            hub,
            scope,
            convert,
        })
    }
}

impl<K: Send + Sync> Sink<K> for PackageSink<K> {
    fn init(&self) {
        self.hub.begin(self.scope as i32);
    }
    fn init_apply(&self, obj: &K) {
        self.hub.stage(self.scope as i32, &(self.convert)(obj));
    }
    fn init_done(&self) {
        self.hub.commit(self.scope as i32);
    }
    fn apply(&self, obj: &K) {
        self.hub.upsert((self.convert)(obj));
    }
    fn delete(&self, obj: &K) {
        if let Some(key) = (self.convert)(obj).key {
            self.hub.delete(&key);
        }
    }
}

/// Where the reflectors' events go besides the gate.
pub struct Sinks {
    pub hub: Arc<Hub>,
    pub repositories: Arc<dyn Sink<PackageRepository>>,
    /// The Secrets of `namespace` (repository credentials).
    pub secrets: Arc<dyn Sink<Secret>>,
    /// Changes when the Secrets must be listed again (their sink dropped a key it now
    /// needs).
    pub secret_relists: Option<tokio::sync::watch::Receiver<u64>>,
    /// Hoist's own namespace.
    pub namespace: String,
    /// Member Clusters (of `namespace`) and UsageRecords.
    pub fleet: Arc<super::fleet::FleetView>,
}

/// Starts every watch on `tasks`; they run until the set is dropped or aborted.
///
/// No kind keeps a store of whole objects: what a kind feeds is all that is held (the
/// hub's protocol packages, the clientset's repositories and referenced credentials),
/// and kinds without a sink are only counted for the gate.
pub fn start(
    client: &Client,
    gate: Arc<Gate>,
    metrics: Arc<Metrics>,
    sinks: Sinks,
    tasks: &mut Supervisor,
) {
    let Sinks {
        hub,
        repositories,
        secrets,
        secret_relists,
        namespace,
        fleet,
    } = sinks;
    let ctx = Ctx { gate, metrics };
    tasks.spawn_watched(
        "the ClusterPackage reflector",
        run::<ClusterPackage>(
            Api::all(client.clone()),
            "ClusterPackage",
            ctx.clone(),
            Some(PackageSink::new(
                hub.clone(),
                Scope::Cluster,
                convert::from_cluster_package,
            )),
            false,
            None,
        ),
    );
    tasks.spawn_watched(
        "the Package reflector",
        run::<Package>(
            Api::all(client.clone()),
            "Package",
            ctx.clone(),
            Some(PackageSink::new(
                hub,
                Scope::Namespaced,
                convert::from_package,
            )),
            false,
            None,
        ),
    );
    tasks.spawn_watched(
        "the PackageInfo reflector",
        run::<PackageInfo>(
            Api::all(client.clone()),
            "PackageInfo",
            ctx.clone(),
            None,
            false,
            None,
        ),
    );
    tasks.spawn_watched(
        "the Namespace reflector",
        run::<Namespace>(
            Api::all(client.clone()),
            "Namespace",
            ctx.clone(),
            None,
            false,
            None,
        ),
    );
    // Optional: without the fleet's CRDs (or leave to read them) the dashboard still
    // becomes READY, and its Clusters page says why it is empty.
    tasks.spawn_watched(
        "the Cluster reflector",
        run::<Cluster>(
            Api::namespaced(client.clone(), &namespace),
            "Cluster",
            ctx.clone(),
            Some(fleet.clone()),
            true,
            None,
        ),
    );
    tasks.spawn_watched(
        "the UsageRecord reflector",
        run::<UsageRecord>(
            Api::all(client.clone()),
            "UsageRecord",
            ctx.clone(),
            Some(fleet),
            true,
            None,
        ),
    );
    spawn_repositories(
        client,
        ctx,
        repositories,
        secrets,
        secret_relists,
        &namespace,
        tasks,
    );
}

/// The PackageRepository watch and the (optional) Secret watch of `namespace`.
fn spawn_repositories(
    client: &Client,
    ctx: Ctx,
    repositories: Arc<dyn Sink<PackageRepository>>,
    secrets: Arc<dyn Sink<Secret>>,
    secret_relists: Option<tokio::sync::watch::Receiver<u64>>,
    namespace: &str,
    tasks: &mut Supervisor,
) {
    tasks.spawn_watched(
        "the PackageRepository reflector",
        run::<PackageRepository>(
            Api::all(client.clone()),
            "PackageRepository",
            ctx.clone(),
            Some(repositories),
            false,
            None,
        ),
    );
    // Optional: without leave to read Secrets, only repositories that need
    // credentials suffer; the dashboard still becomes READY.
    tasks.spawn_watched(
        "the Secret reflector",
        run(
            Api::<Secret>::namespaced(client.clone(), namespace),
            "Secret",
            ctx,
            Some(secrets),
            true,
            secret_relists,
        ),
    );
}

/// Only the PackageRepositories and the Secrets of Hoist's namespace, feeding their
/// sinks (the repository clientset): for a process without the dashboard
/// (`hoist operator`). `secret_relists` changes when the Secrets must be listed again.
/// The returned gate says when both have synced.
pub fn start_repositories(
    client: &Client,
    repositories: Arc<dyn Sink<PackageRepository>>,
    secrets: Arc<dyn Sink<Secret>>,
    secret_relists: Option<tokio::sync::watch::Receiver<u64>>,
    namespace: &str,
    tasks: &mut Supervisor,
) -> Arc<Gate> {
    let gate = Arc::new(Gate::new(&["PackageRepository", "Secret"], PAGE_SIZE));
    let ctx = Ctx {
        gate: gate.clone(),
        metrics: Arc::new(Metrics::new()),
    };
    spawn_repositories(
        client,
        ctx,
        repositories,
        secrets,
        secret_relists,
        namespace,
        tasks,
    );
    gate
}

#[derive(Clone)]
struct Ctx {
    gate: Arc<Gate>,
    metrics: Arc<Metrics>,
}

async fn count(
    api: &Api<impl Resource + Clone + DeserializeOwned + Debug>,
) -> Result<u64, kube::Error> {
    let first = api.list_metadata(&ListParams::default().limit(1)).await?;
    Ok(first.items.len() as u64 + first.metadata.remaining_item_count.unwrap_or(0).max(0) as u64)
}

async fn run<K>(
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
            let events = watcher::watcher(api.clone(), cfg).default_backoff();
            let following = follow(events, kind, &ctx, sink.clone(), optional);
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
                if !slow_warned && list_started.elapsed() > crate::metrics::SLOW_SYNC {
                    slow_warned = true;
                    tracing::warn!(kind, threshold = ?crate::metrics::SLOW_SYNC, "cache sync is taking longer than expected");
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
                ctx.metrics.watch_error(kind);
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
