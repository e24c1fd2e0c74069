//! The Kubernetes adapter of the cache: one kube-rs reflector per kind, each reporting
//! to the readiness gate and (for packages) to the hub.
//!
//! Each kind asks the API server how many objects it has (`limit=1`, reading
//! `remainingItemCount`: one request per kind per start, beside the list) so progress
//! has a total, and runs kube-rs' `watcher` with its default backoff. The watcher relists after a 410
//! and rewatches after a dropped stream; the hub's `reconcile` turns a relist into only
//! the changes that really happened.

use super::convert;
use super::hub::Hub;
use super::readiness::Gate;
use crate::metrics::Metrics;
use crate::types::{ClusterPackage, Package, PackageInfo, PackageRepository};
use futures::StreamExt;
use hoist_proto::v1::Scope;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::ListParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use tokio::task::JoinSet;

/// List page size, as client-go's and kube-rs' default.
pub const PAGE_SIZE: u32 = 500;

/// The kinds the dashboard caches, in the order the gate shows them.
pub const KINDS: [&str; 5] = [
    "ClusterPackage",
    "Package",
    "PackageInfo",
    "PackageRepository",
    "Namespace",
];

/// Read access to every cache (zero API requests per read).
#[derive(Clone)]
pub struct Stores {
    pub cluster_packages: Store<ClusterPackage>,
    pub packages: Store<Package>,
    pub package_infos: Store<PackageInfo>,
    pub repositories: Store<PackageRepository>,
    pub namespaces: Store<Namespace>,
}

/// How a kind's objects reach the hub.
type ToHub<K> = Option<(Scope, fn(&K) -> hoist_proto::v1::Package)>;

/// Starts every reflector on `tasks`; they run until the set is dropped or aborted.
pub fn start(
    client: &Client,
    gate: Arc<Gate>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    tasks: &mut JoinSet<()>,
) -> Stores {
    let ctx = Ctx { gate, hub, metrics };
    Stores {
        cluster_packages: spawn(
            tasks,
            Api::all(client.clone()),
            "ClusterPackage",
            ctx.clone(),
            Some((Scope::Cluster, convert::from_cluster_package)),
        ),
        packages: spawn(
            tasks,
            Api::all(client.clone()),
            "Package",
            ctx.clone(),
            Some((Scope::Namespaced, convert::from_package)),
        ),
        package_infos: spawn(
            tasks,
            Api::all(client.clone()),
            "PackageInfo",
            ctx.clone(),
            None,
        ),
        repositories: spawn(
            tasks,
            Api::all(client.clone()),
            "PackageRepository",
            ctx.clone(),
            None,
        ),
        namespaces: spawn(tasks, Api::all(client.clone()), "Namespace", ctx, None),
    }
}

#[derive(Clone)]
struct Ctx {
    gate: Arc<Gate>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
}

fn spawn<K>(
    tasks: &mut JoinSet<()>,
    api: Api<K>,
    kind: &'static str,
    ctx: Ctx,
    to_hub: ToHub<K>,
) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    tasks.spawn(run(api, kind, ctx, to_hub, writer));
    reader
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
    to_hub: ToHub<K>,
    writer: reflector::store::Writer<K>,
) where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    // The count runs beside the list, so it never delays the sync.
    let (probe_api, probe_gate) = (api.clone(), ctx.gate.clone());
    tokio::spawn(async move {
        match count(&probe_api).await {
            Ok(total) => probe_gate.total(kind, total),
            Err(e) => probe_gate.error(kind, e.to_string()),
        }
    });
    let cfg = watcher::Config::default().page_size(PAGE_SIZE);
    let mut events =
        std::pin::pin!(reflector::reflector(writer, watcher::watcher(api, cfg)).default_backoff());
    let mut listed = Vec::new();
    let mut list_started = std::time::Instant::now();
    let mut slow_warned = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => {
                ctx.gate.listing(kind);
                listed.clear();
                list_started = std::time::Instant::now();
            }
            Ok(Event::InitApply(obj)) => {
                ctx.gate.loaded(kind);
                if let Some((_, f)) = to_hub {
                    listed.push(f(&obj));
                }
                if !slow_warned && list_started.elapsed() > crate::metrics::SLOW_SYNC {
                    slow_warned = true;
                    tracing::warn!(kind, threshold = ?crate::metrics::SLOW_SYNC, "cache sync is taking longer than expected");
                }
            }
            Ok(Event::InitDone) => {
                if let Some((scope, _)) = to_hub {
                    ctx.hub.reconcile(scope as i32, std::mem::take(&mut listed));
                }
                ctx.gate.synced(kind);
            }
            Ok(Event::Apply(obj)) => {
                ctx.gate.event(kind);
                if let Some((_, f)) = to_hub {
                    ctx.hub.upsert(f(&obj));
                }
            }
            Ok(Event::Delete(obj)) => {
                ctx.gate.event(kind);
                if let Some((_, f)) = to_hub
                    && let Some(key) = f(&obj).key
                {
                    ctx.hub.delete(&key);
                }
            }
            Err(e) => {
                tracing::debug!(kind, error = %e, "watch error; kube-rs retries with backoff");
                ctx.metrics.watch_error(kind);
                ctx.gate.error(kind, e.to_string());
            }
        }
    }
}
