//! The Kubernetes adapter of the cache: one reflector per kind the dashboard shows
//! (the loop itself is [`hoist_kube::reflector::driver`]), each reporting to the readiness
//! gate and (for packages) to the hub. Secrets are watched without a store: the
//! repository clientset, their only reader, keeps the one copy it needs. The hub's
//! `reconcile` turns a relist into only the changes that really happened.

use super::convert;
use super::hub::Hub;
use super::view::View;
use crate::metrics::Metrics;
use hoist_kube::reflector::driver::{Ctx, ToSink, run};
use hoist_kube::reflector::readiness::Gate;
use hoist_kube::reflector::repositories;
use hoist_kube::runtime::Supervisor;
use hoist_kube::sink::Sink;
use hoist_kube::types::{
    Cluster, ClusterPackage, Package, PackageInfo, PackageRepository, UsageRecord,
};
use hoist_proto::v1::Scope;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

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
    let ctx = Ctx {
        gate,
        on_error: Some(Arc::new(move |kind| metrics.watch_error(kind))),
    };
    // Packages are read as their views: only what a row shows is parsed.
    let cluster_packages =
        PackageSink::new(hub.clone(), Scope::Cluster, convert::from_cluster_view);
    let packages = PackageSink::new(hub, Scope::Namespaced, convert::from_view);
    reflect::<View<ClusterPackage>>(
        tasks,
        "the ClusterPackage reflector",
        "ClusterPackage",
        Api::all(client.clone()),
        &ctx,
        Some(cluster_packages),
        false,
    );
    reflect::<View<Package>>(
        tasks,
        "the Package reflector",
        "Package",
        Api::all(client.clone()),
        &ctx,
        Some(packages),
        false,
    );
    reflect::<PackageInfo>(
        tasks,
        "the PackageInfo reflector",
        "PackageInfo",
        Api::all(client.clone()),
        &ctx,
        None,
        false,
    );
    reflect::<Namespace>(
        tasks,
        "the Namespace reflector",
        "Namespace",
        Api::all(client.clone()),
        &ctx,
        None,
        false,
    );
    // Optional: without the fleet's CRDs (or leave to read them) the dashboard still
    // becomes READY, and its Clusters page says why it is empty.
    let clusters = Api::namespaced(client.clone(), &namespace);
    reflect::<Cluster>(
        tasks,
        "the Cluster reflector",
        "Cluster",
        clusters,
        &ctx,
        Some(fleet.clone()),
        true,
    );
    reflect::<UsageRecord>(
        tasks,
        "the UsageRecord reflector",
        "UsageRecord",
        Api::all(client.clone()),
        &ctx,
        Some(fleet),
        true,
    );
    repositories::spawn(
        client,
        ctx,
        repositories,
        secrets,
        secret_relists,
        &namespace,
        tasks,
    );
}

/// Watches `kind` on `tasks` as the task `name` (see [`run`]; `optional`: a 403 or 404
/// leaves it synced and empty).
fn reflect<K>(
    tasks: &mut Supervisor,
    name: &'static str,
    kind: &'static str,
    api: Api<K>,
    ctx: &Ctx,
    sink: ToSink<K>,
    optional: bool,
) where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    tasks.spawn_watched(name, run(api, kind, ctx.clone(), sink, optional, None));
}
