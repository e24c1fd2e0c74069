//! The Kubernetes adapter of the cache: one reflector per kind the dashboard shows
//! (the loop itself is [`hoist_kube::reflector::driver`]), each reporting to the readiness
//! gate and (for packages) to the hub. Secrets are watched without a store: the
//! repository clientset, their only reader, keeps the one copy it needs. The hub's
//! `reconcile` turns a relist into only the changes that really happened.

use super::convert;
use super::hub::Hub;
use crate::metrics::Metrics;
use hoist_kube::reflector::driver::{Ctx, run};
use hoist_kube::reflector::readiness::Gate;
use hoist_kube::reflector::repositories;
use hoist_kube::runtime::Supervisor;
use hoist_kube::sink::Sink;
use hoist_kube::types::{
    Cluster, ClusterPackage, Package, PackageInfo, PackageRepository, UsageRecord,
};
use hoist_proto::v1::Scope;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{Api, Client};
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
