//! The watches a [`Context`] reads, and the context itself, built in one place for a
//! running operator ([`crate::controller::start_supervised`]): discovery ([`Scopes`]), the applied
//! objects' watches ([`Objects`], started per kind as passes need them), the namespaces
//! (metadata only), the PackageInfos, the two package kinds, and `valueFrom`'s inputs.
//! (A preview needs none of them: see [`crate::preview::Planner`].)
//!
//! The package kinds' watches are handed back unpolled (`Changes`): the operator
//! gives them to its controllers, whose polling fills their stores.
//! Every store drops `managedFields` (nothing reads them, and they are a good part of
//! an object's size).

use crate::finalizer::OwnWrites;
use crate::objects::{FIRST_LIST, Objects, Triggers};
use crate::package::Installable;
use crate::scopes::Scopes;
use crate::{
    context::Context, error::Error, inputs, metrics, options::OperatorOptions, probes, relist,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use hoist_kube::repo::clientset::Clientset;
use hoist_kube::types::{ClusterPackage, Package, PackageInfo};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// The changes of one package kind that start passes (see [`intents`]), unpolled: its
/// store fills as they are polled.
pub(super) type Changes<K> = BoxStream<'static, Result<K, watcher::Error>>;

/// What the watches feed besides the stores: the triggers of the applied objects'
/// watches and the package kinds' changes.
pub(super) struct Feeds {
    pub triggers: Triggers,
    pub cluster: Changes<ClusterPackage>,
    pub namespaced: Changes<Package>,
}

/// The watched state a context is made of (see [`Watches::into_context`]).
pub(super) struct Watches {
    pub scopes: Scopes,
    pub objects: Arc<Objects>,
    pub namespaces: Store<PartialObjectMeta<Namespace>>,
    pub package_infos: Store<PackageInfo>,
    pub cluster: Store<ClusterPackage>,
    pub namespaced: Store<Package>,
    /// The finalizer patches whose echoes [`Feeds`]' changes skip.
    pub own_writes: Arc<OwnWrites>,
}

/// What sets a running operator's context apart.
pub(super) struct Role {
    pub opts: OperatorOptions,
    pub metrics: Arc<metrics::Metrics>,
    /// Who the context's Events say published them.
    pub reporter: Reporter,
    /// Counts finished passes (see [`crate::context::Passes`]).
    pub finished: watch::Sender<u64>,
    /// True once the operator stops (see [`crate::context::Passes::stopping`]).
    pub stopping: watch::Receiver<bool>,
    /// Each kind's work queue and concurrency limit.
    pub lanes: crate::workqueue::Lanes,
}

impl Watches {
    /// Reads discovery, then starts the namespace and PackageInfo watches (in `tasks`,
    /// supervised by `live`); `trigger_buffer` bounds the applied objects' triggers.
    /// Nothing waits for a first list here (see [`Self::listed`]).
    pub async fn start(
        client: &Client,
        trigger_buffer: usize,
        tasks: &mut tokio::task::JoinSet<()>,
        live: &probes::Liveness,
    ) -> Result<(Self, Feeds), Error> {
        let scopes = Scopes::new(client.clone());
        scopes.refresh(true).await?;
        let (objects, triggers) = Objects::new(client.clone(), trigger_buffer);
        let namespaces = spawn_store(
            Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
            "the Namespace watch",
            tasks,
            live,
        );
        let package_infos = spawn_store(
            Api::<PackageInfo>::all(client.clone()),
            "the PackageInfo watch",
            tasks,
            live,
        );
        let own_writes = Arc::new(OwnWrites::default());
        let (cluster_deferred, namespaced_deferred) = objects.relist_senders();
        let (cluster, cluster_writer) = reflector::store();
        let (namespaced, namespaced_writer) = reflector::store();
        let feeds = Feeds {
            triggers,
            cluster: intents(
                Api::<ClusterPackage>::all(client.clone()),
                cluster_writer,
                cluster_deferred,
                own_writes.clone(),
            )
            .boxed(),
            namespaced: intents(
                Api::<Package>::all(client.clone()),
                namespaced_writer,
                namespaced_deferred,
                own_writes.clone(),
            )
            .boxed(),
        };
        let watches = Self {
            scopes,
            objects,
            namespaces,
            package_infos,
            cluster,
            namespaced,
            own_writes,
        };
        Ok((watches, feeds))
    }

    /// Waits for the first lists of the namespaces and the PackageInfos (up to
    /// [`FIRST_LIST`] each).
    pub async fn listed(&self) {
        let _ = tokio::time::timeout(FIRST_LIST, self.namespaces.wait_until_ready()).await;
        let _ = tokio::time::timeout(FIRST_LIST, self.package_infos.wait_until_ready()).await;
    }

    /// The context of passes reading these watches.
    pub fn into_context(
        self,
        client: &Client,
        repositories: Arc<Clientset>,
        role: Role,
    ) -> Context {
        let (to_cluster, to_namespaced) = self.objects.senders();
        let inputs = inputs::Inputs::new(
            client.clone(),
            to_cluster,
            to_namespaced,
            self.cluster,
            self.namespaced,
        );
        Context {
            client: client.clone(),
            repositories,
            scopes: self.scopes,
            objects: self.objects,
            stores: crate::context::Stores {
                namespaces: self.namespaces,
                package_infos: self.package_infos,
            },
            memory: Default::default(),
            metrics: role.metrics,
            opts: role.opts,
            passes: crate::context::Passes::new(role.finished, role.stopping),
            lanes: role.lanes,
            recorder: Recorder::new(client.clone(), role.reporter),
            inputs,
            own_writes: self.own_writes,
            identities: crate::identity::Identities::new(client.clone()),
        }
    }
}

/// A store of everything `api` lists, watched in `tasks` (supervised by `live` as
/// `name`).
fn spawn_store<K>(
    api: Api<K>,
    name: &'static str,
    tasks: &mut tokio::task::JoinSet<()>,
    live: &probes::Liveness,
) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(without_managed_fields)
        .reflect(writer)
        .for_each(|_| futures::future::ready(()));
    tasks.spawn(live.supervise(name, stream));
    reader
}

/// Drops `managedFields` from what the operator's stores keep: nothing reads them, and
/// they are a good part of a package's size (every writer's field set, as JSON).
fn without_managed_fields<K: kube::Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
}

/// The watch of one package kind: every change kept in the store (dependencies and
/// package references read status from it), only intent changes passed on; packages
/// of the initial list that are already done go to `deferred` instead (see
/// [`relist`]), and the echoes of `own` finalizer patches go nowhere (after the
/// predicate has seen them, so the next change is compared with them).
fn intents<K: Installable>(
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    deferred: mpsc::UnboundedSender<ObjectRef<K>>,
    own: Arc<OwnWrites>,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(without_managed_fields)
        .reflect(writer)
        .filter_map(move |event| {
            let passed = match event {
                Ok(watcher::Event::InitApply(o)) if relist::settled(&o) => {
                    // Unbounded, one reference per package: never blocks the watch.
                    let _ = deferred.send(ObjectRef::from_obj(&o));
                    None
                }
                Ok(watcher::Event::InitApply(o) | watcher::Event::Apply(o)) => Some(Ok(o)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            };
            futures::future::ready(passed)
        })
        // What a pass acts on: the package's spec (generation), its annotations (a
        // retry), its finalizers and its deletion; not its status.
        .predicate_filter(
            hoist_kube::watch_intent::intent_with_annotations,
            Default::default(),
        )
        .filter(move |event| {
            let echo = matches!(event, Ok(o) if own.is_echo(o));
            futures::future::ready(!echo)
        })
}
