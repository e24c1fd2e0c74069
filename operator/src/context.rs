//! What every pass can reach ([`Context`]), built once per running operator
//! (`watches::Watches::into_context`): the clients, the watched state, the
//! memory of packages between passes, the options, metrics and Events, the pass
//! bookkeeping ([`Passes`]) and where passes start (the lanes: work queue and limit).

use crate::{
    finalizer, identity, inputs, memory, metrics, objects, options::OperatorOptions, scopes,
};
use hoist_kube::repo::clientset::Clientset;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use std::sync::Arc;
use tokio::sync::watch;

/// What every pass can reach.
pub struct Context {
    pub client: Client,
    pub repositories: Arc<Clientset>,
    pub scopes: scopes::Scopes,
    pub objects: Arc<objects::Objects>,
    /// The namespaces and PackageInfos, as their watches show them.
    pub stores: Stores,
    /// What the operator remembers of each package between passes (failures, the
    /// status last written, status pacing, who waits on it).
    pub memory: memory::Memory,
    pub metrics: Arc<metrics::Metrics>,
    pub opts: OperatorOptions,
    /// Which passes finished, and whether the operator stops.
    pub passes: Passes,
    /// Where each kind's passes start: its work queue's metrics and its concurrency
    /// limit ([`crate::workqueue`], [`crate::limiter`]).
    pub lanes: crate::workqueue::Lanes,
    /// Publishes `events.k8s.io/v1` Events (repeats folded into a series).
    pub recorder: kube::runtime::events::Recorder,
    /// Values from ConfigMaps, Secrets and other packages (`valueFrom`).
    pub inputs: inputs::Inputs,
    /// The resourceVersions of this operator's finalizer patches, whose watch echoes
    /// start no pass (the pass that wrote one went on to install).
    pub own_writes: Arc<finalizer::OwnWrites>,
    /// Who writes for which package (tenants' Packages impersonate an account).
    pub identities: identity::Identities,
}

/// The watched stores a pass reads besides the packages' and their objects'.
pub struct Stores {
    /// The namespaces (metadata only): which a package may apply as its own.
    pub namespaces: Store<PartialObjectMeta<Namespace>>,
    /// The PackageInfos (see [`crate::package_infos`]).
    pub package_infos: Store<hoist_kube::types::PackageInfo>,
}

/// The pass bookkeeping: what callers wait on to know a change was acted on, what
/// paces the relist, and whether the operator stops.
pub struct Passes {
    /// The resourceVersion of each package (`ns/name` or `name`) as its last finished
    /// pass saw it.
    done: watch::Sender<std::collections::BTreeMap<String, String>>,
    /// Passes finished so far (paces the relist, [`crate::relist::feed`]).
    finished: watch::Sender<u64>,
    /// True once the operator stops: passes finishing then write what they have.
    stopping: watch::Receiver<bool>,
}

impl Passes {
    /// Bookkeeping counting into `finished` and reading `stopping`.
    pub(crate) fn new(finished: watch::Sender<u64>, stopping: watch::Receiver<bool>) -> Self {
        Self {
            done: watch::channel(Default::default()).0,
            finished,
            stopping,
        }
    }

    /// The resourceVersion of each package (`ns/name` or `name`) as its last finished
    /// pass saw it: how a caller (a test, `hoist install --wait`) knows a change was
    /// acted on.
    pub fn subscribe(&self) -> watch::Receiver<std::collections::BTreeMap<String, String>> {
        self.done.subscribe()
    }

    /// A pass over the package `who` (at resourceVersion `version`) finished.
    pub fn finished(&self, who: String, version: String) {
        self.done.send_modify(|done| {
            done.insert(who, version);
        });
        self.finished.send_modify(|n| *n += 1);
    }

    /// Whether the operator stops.
    pub fn stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Turns true once the operator stops.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stopping.clone()
    }
}

impl Context {
    /// Asks for a pass over everything that depends on `at` (without waiting).
    pub fn notify_dependents(&self, at: &hoist_core::install::InstallRef) {
        let users = self.memory.dependents_of(at);
        let (cluster, namespaced) = self.objects.senders();
        for u in users {
            let sent = match &u {
                inputs::User::Cluster(n) => cluster.try_send(ObjectRef::new(n)).is_ok(),
                inputs::User::Namespaced(ns, n) => {
                    namespaced.try_send(ObjectRef::new(n).within(ns)).is_ok()
                }
            };
            if !sent {
                self.objects
                    .dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Whether a package owned by `owner` should apply namespace `name` (and so hold it
    /// in its inventory): when it does not exist, or exists carrying `owner`'s labels
    /// (the package made it). A namespace someone else made is used, never taken over.
    ///
    /// Caveat: read from the namespace watch, so a namespace made an instant ago may
    /// look missing; applying it then is harmless (the apply sees it and refuses to take
    /// over a foreign one).
    pub fn namespace_is_ours_to_apply(
        &self,
        name: &str,
        owner: &hoist_core::operator::placement::Owner,
    ) -> bool {
        use kube::ResourceExt;
        let ns = self.stores.namespaces.get(&ObjectRef::new(name));
        ours_to_apply(ns.as_ref().map(|ns| ns.labels()), owner)
    }
}

/// Whether a package owned by `owner` should apply a namespace with these `labels`
/// (`None`: it does not exist): see [`Context::namespace_is_ours_to_apply`].
pub(super) fn ours_to_apply(
    labels: Option<&std::collections::BTreeMap<String, String>>,
    owner: &hoist_core::operator::placement::Owner,
) -> bool {
    labels.is_none_or(|labels| {
        owner
            .labels()
            .iter()
            .all(|(k, v)| labels.get(k).is_some_and(|l| l == v))
    })
}
