//! What Hoist has applied, as the cluster has it now: one label-selected watch per kind
//! a package applied (only objects labelled `app.kubernetes.io/managed-by=hoist`),
//! each feeding a store the reconciler reads instead of the API, and turning every
//! change of an object into a reconcile of the package its labels name. That is how a
//! package notices its Deployment becoming available, or someone editing what it
//! applied, without polling (`.owns()` cannot: a ClusterPackage is cluster-scoped and
//! owns namespaced objects; research §4).
//!
//! Guarantees: a kind is watched once, from the first package that applies it, for as
//! long as the operator runs; the trigger channels are bounded and never awaited: when
//! a controller falls behind, triggers are dropped and counted (the package's own
//! periodic pass still comes).
//! Only objects some install lists are kept ([`Objects::keep_only`]): anyone may label
//! a ConfigMap as Hoist's, and a thousand large labelled objects that no inventory
//! lists cost a parse each as they pass, not memory, and start no pass. An object enters
//! the store when an inventory lists it, when this operator created it, or when a pass
//! read it and found it the package's ([`Objects::adopt`]); once in, it is followed
//! until deleted.
//! Caveat: `managedFields` are dropped from the stored objects (they are not needed to
//! judge health or drift), and each object is kept as its JSON text, parsed when a
//! pass reads it: a Deployment is 1.4 KB as text and 13 KB as a `serde_json::Value`
//! (a B-tree node per JSON object), and a pass reads an object once.

use crate::scopes::Kind;
use futures::StreamExt;
use hoist_core::operator::placement::{MANAGED_BY, PACKAGE_LABEL, PACKAGE_NAMESPACE_LABEL};
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

use hoist_kube::types::{ClusterPackage, Package};

/// How long the first list of a newly watched kind may take before the reconcile that
/// asked for it goes on without it (and is retried).
pub const FIRST_LIST: Duration = Duration::from_secs(30);

/// Objects per page of a watched kind's (re)list: a page is held whole while it is
/// parsed, so its size bounds the memory a list of large objects takes at once.
pub const LIST_PAGE: u32 = 50;

/// (group, version, kind).
pub type KindKey = (String, String, String);

/// (namespace, name) of a stored object.
type Key = (Option<String>, String);

/// One watched kind's objects, each as its JSON text (see the module's caveat).
type Texts = Arc<RwLock<HashMap<Key, Arc<str>>>>;

/// One watched kind: its objects, and whether its first list is in (on a `watch`
/// channel, so that every pass waiting on a new kind wakes at once).
#[derive(Clone)]
struct Watched {
    store: Texts,
    ready: tokio::sync::watch::Receiver<bool>,
}

pub struct Objects {
    client: Client,
    stores: RwLock<HashMap<KindKey, Watched>>,
    cluster: mpsc::Sender<ObjectRef<ClusterPackage>>,
    namespaced: mpsc::Sender<ObjectRef<Package>>,
    /// Where a (re)list's objects send their packages: behind users' changes
    /// ([`crate::relist`]).
    cluster_relist: mpsc::UnboundedSender<ObjectRef<ClusterPackage>>,
    namespaced_relist: mpsc::UnboundedSender<ObjectRef<Package>>,
    /// Triggers dropped because a controller's channel was full.
    pub dropped: AtomicU64,
    tasks: std::sync::Mutex<tokio::task::JoinSet<()>>,
    /// Objects this operator created that its watches have not delivered yet (the
    /// "expectations" of Kubernetes' own controllers): a pass that comes before the
    /// watch event reads them here instead of creating them a second time.
    created: std::sync::Mutex<HashMap<Created, (Arc<DynamicObject>, std::time::Instant)>>,
    /// Which labelled objects are worth keeping (unset: all of them).
    keep: std::sync::OnceLock<Keep>,
}

/// Whether a labelled object is one to keep (see [`Objects::keep_only`]).
pub type Keep = Arc<dyn Fn(&DynamicObject) -> bool + Send + Sync>;

/// (kind, namespace, name) of a created object.
type Created = (KindKey, Option<String>, String);

/// How long a created object is trusted before its watch delivers it (then it is not:
/// it may have been deleted meanwhile, and the watch is the truth).
pub const CREATED_TRUSTED_FOR: Duration = Duration::from_secs(30);

/// The receiving ends, for the controllers' `reconcile_on`.
pub struct Triggers {
    pub cluster: mpsc::Receiver<ObjectRef<ClusterPackage>>,
    pub namespaced: mpsc::Receiver<ObjectRef<Package>>,
    /// Packages to look over after users' changes (see [`crate::relist`]).
    pub cluster_relist: mpsc::UnboundedReceiver<ObjectRef<ClusterPackage>>,
    pub namespaced_relist: mpsc::UnboundedReceiver<ObjectRef<Package>>,
}

/// The JSON text an object is kept as; `None` (not kept) if it does not serialize.
fn as_text(o: &DynamicObject) -> Option<Arc<str>> {
    serde_json::to_string(o).ok().map(Arc::from)
}

fn key_of_object(o: &DynamicObject) -> Key {
    (o.namespace(), o.name_any())
}

fn key_of(r: &kube::api::ApiResource) -> KindKey {
    (r.group.clone(), r.version.clone(), r.kind.clone())
}

/// The label selector of everything Hoist applies: managed by Hoist and naming a
/// package (both labels; an object with one of them is nobody's).
pub fn selector() -> String {
    format!("{}={},{PACKAGE_LABEL}", MANAGED_BY.0, MANAGED_BY.1)
}

impl Objects {
    pub fn new(client: Client, capacity: usize) -> (Arc<Self>, Triggers) {
        let (ctx, crx) = mpsc::channel(capacity);
        let (ntx, nrx) = mpsc::channel(capacity);
        let (crtx, crrx) = mpsc::unbounded_channel();
        let (nrtx, nrrx) = mpsc::unbounded_channel();
        let objects = Arc::new(Self {
            client,
            stores: RwLock::new(HashMap::new()),
            cluster: ctx,
            namespaced: ntx,
            cluster_relist: crtx,
            namespaced_relist: nrtx,
            dropped: AtomicU64::new(0),
            tasks: std::sync::Mutex::new(tokio::task::JoinSet::new()),
            created: std::sync::Mutex::new(HashMap::new()),
            keep: std::sync::OnceLock::new(),
        });
        (
            objects,
            Triggers {
                cluster: crx,
                namespaced: nrx,
                cluster_relist: crrx,
                namespaced_relist: nrrx,
            },
        )
    }

    fn key(kind: &Kind) -> KindKey {
        key_of(&kind.resource)
    }

    /// Whether `obj` is exactly what this operator created (its resourceVersion), as
    /// the watch delivers it; the memory of the create goes then (the store has it).
    fn own_create(&self, kind: &KindKey, obj: &DynamicObject) -> bool {
        let key: Created = (kind.clone(), obj.namespace(), obj.name_any());
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        match created.get(&key) {
            Some((o, _)) if o.resource_version() == obj.resource_version() => {
                created.remove(&key);
                true
            }
            _ => false,
        }
    }

    /// Watches `kind` if nobody did yet, and waits (up to [`FIRST_LIST`]) for its first
    /// list; `false` if that did not come in time.
    pub async fn store(self: &Arc<Self>, kind: &Kind) -> bool {
        let key = Self::key(kind);
        let existing = self
            .stores
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let mut watched = match existing {
            Some(w) => w,
            None => self.start(key, kind),
        };
        let waited = tokio::time::timeout(FIRST_LIST, watched.ready.wait_for(|r| *r)).await;
        match waited {
            Ok(Ok(_)) => true,
            _ => {
                tracing::warn!(kind = %kind.resource.kind, "the watch of applied objects did not list in time");
                false
            }
        }
    }

    /// Starts the watch of a kind (once: a racing caller gets the first one).
    fn start(self: &Arc<Self>, key: KindKey, kind: &Kind) -> Watched {
        let mut stores = self.stores.write().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = stores.get(&key) {
            return w.clone();
        }
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &kind.resource);
        let store: Texts = Arc::default();
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let watched = Watched {
            store: store.clone(),
            ready,
        };
        stores.insert(key, watched.clone());
        drop(stores);
        // Small pages: a list's answer is held whole while it is parsed, and a kind's
        // labelled objects may be large (clutter included, which is then dropped).
        let cfg = watcher::Config::default()
            .labels(&selector())
            .page_size(LIST_PAGE);
        let stream = watcher::watcher(api, cfg).default_backoff().modify(|o| {
            o.managed_fields_mut().clear();
        });
        let this = Arc::clone(self);
        let kind_key = key_of(&kind.resource);
        let task = async move {
            let mut events = std::pin::pin!(stream);
            // A (re)list's objects, swapped in whole when it is done (as kube-runtime's
            // reflector does): an object deleted while the watch was down goes.
            let mut relisted: HashMap<Key, Arc<str>> = HashMap::new();
            // The first list finds nothing new: every pass needing this kind waits for
            // it, and the packages' own relist looks every package over after a start.
            // A later relist (the watch was down) finds what changed meanwhile.
            let mut listed = false;
            while let Some(event) = events.next().await {
                match event {
                    Ok(watcher::Event::Init) => relisted.clear(),
                    // A relist's changes are looked over after users' changes, not
                    // before.
                    Ok(watcher::Event::InitApply(o)) => {
                        let key = key_of_object(&o);
                        let before = store
                            .read()
                            .unwrap_or_else(|p| p.into_inner())
                            .get(&key)
                            .cloned();
                        if before.is_none() && !this.kept(&o) {
                            continue;
                        }
                        let Some(text) = as_text(&o) else {
                            continue;
                        };
                        if listed && before.as_deref() != Some(&*text) {
                            this.defer(&o);
                        }
                        relisted.insert(key, text);
                    }
                    Ok(watcher::Event::InitDone) => {
                        let before = std::mem::replace(
                            &mut *store.write().unwrap_or_else(|p| p.into_inner()),
                            std::mem::take(&mut relisted),
                        );
                        if listed {
                            // Deleted while the watch was down: its package looks again.
                            let now = store.read().unwrap_or_else(|p| p.into_inner());
                            let gone: Vec<Arc<str>> = before
                                .into_iter()
                                .filter(|(k, _)| !now.contains_key(k))
                                .map(|(_, text)| text)
                                .collect();
                            drop(now);
                            for text in gone {
                                if let Ok(o) = serde_json::from_str::<DynamicObject>(&text) {
                                    this.defer(&o);
                                }
                            }
                        }
                        listed = true;
                        let _ = ready_tx.send(true);
                    }
                    Ok(watcher::Event::Apply(o)) => {
                        // The echo of this operator's own create: the pass that created
                        // it judged it from the create's answer already.
                        let own = this.own_create(&kind_key, &o);
                        let key = key_of_object(&o);
                        let known = store
                            .read()
                            .unwrap_or_else(|p| p.into_inner())
                            .contains_key(&key);
                        if !own && !known && !this.kept(&o) {
                            // Labelled as Hoist's, listed by no install: not kept, and
                            // no package's business.
                            continue;
                        }
                        if let Some(text) = as_text(&o) {
                            store
                                .write()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(key, text);
                        }
                        if !own {
                            this.trigger(&o);
                        }
                    }
                    Ok(watcher::Event::Delete(o)) => {
                        let was = store
                            .write()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&key_of_object(&o))
                            .is_some();
                        if was {
                            this.trigger(&o);
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "watch of applied objects restarts"),
                }
            }
        };
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .spawn(task);
        watched
    }

    /// The deferred queues, for the package watches' own initial lists.
    pub fn relist_senders(
        &self,
    ) -> (
        mpsc::UnboundedSender<ObjectRef<ClusterPackage>>,
        mpsc::UnboundedSender<ObjectRef<Package>>,
    ) {
        (self.cluster_relist.clone(), self.namespaced_relist.clone())
    }

    /// Queues a look-over of the package `obj`'s labels name, behind users' changes.
    fn defer(&self, obj: &DynamicObject) {
        let labels = obj.labels();
        let Some(name) = labels.get(PACKAGE_LABEL) else {
            return;
        };
        let _ = match labels.get(PACKAGE_NAMESPACE_LABEL) {
            Some(ns) => self
                .namespaced_relist
                .send(ObjectRef::new(name).within(ns))
                .is_ok(),
            None => self.cluster_relist.send(ObjectRef::new(name)).is_ok(),
        };
    }

    /// Asks for a reconcile of the package `obj`'s labels name, without waiting.
    fn trigger(&self, obj: &DynamicObject) {
        let labels = obj.labels();
        let Some(name) = labels.get(PACKAGE_LABEL) else {
            return;
        };
        let sent = match labels.get(PACKAGE_NAMESPACE_LABEL) {
            Some(ns) => self
                .namespaced
                .try_send(ObjectRef::new(name).within(ns))
                .is_ok(),
            None => self.cluster.try_send(ObjectRef::new(name)).is_ok(),
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The stored object, if the kind is watched and the object exists and is Hoist's;
    /// else one this operator created less than [`CREATED_TRUSTED_FOR`] ago that the
    /// watch has not delivered yet. As JSON, parsed from the stored text straight into
    /// what the apply compares (no typed object in between).
    pub fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key: Created = (
            Self::key(kind),
            namespace.map(String::from),
            name.to_string(),
        );
        let stored = {
            let stores = self.stores.read().unwrap_or_else(|p| p.into_inner());
            let store = stores.get(&key.0)?.store.clone();
            drop(stores);
            let text = store
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&(key.1.clone(), key.2.clone()))
                .cloned();
            text.and_then(|t| match serde_json::from_str::<Value>(&t) {
                Ok(o) => Some(o),
                Err(e) => {
                    tracing::warn!(error = %e, "a stored object does not parse back");
                    None
                }
            })
        };
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        if stored.is_some() {
            // Delivered: the watch is the truth from now on.
            created.remove(&key);
            return stored;
        }
        match created.get(&key) {
            Some((o, at)) if at.elapsed() < CREATED_TRUSTED_FOR => serde_json::to_value(&**o).ok(),
            Some(_) => {
                created.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps, from now on, only the labelled objects `keep` accepts (besides those this
    /// operator created or adopted, and those already kept). Set once; later calls are
    /// ignored.
    pub fn keep_only(&self, keep: Keep) {
        let _ = self.keep.set(keep);
    }

    fn kept(&self, o: &DynamicObject) -> bool {
        self.keep.get().is_none_or(|keep| keep(o))
    }

    /// Stores `obj`, read by a pass and found to be the package's, if its kind is
    /// watched (so the next pass reads it here, not from the API).
    pub fn adopt(&self, kind: &Kind, obj: &DynamicObject) {
        let store = self
            .stores
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&Self::key(kind))
            .map(|w| w.store.clone());
        let Some(store) = store else {
            return;
        };
        let mut obj = obj.clone();
        obj.managed_fields_mut().clear();
        if let Some(text) = as_text(&obj) {
            store
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key_of_object(&obj), text);
        }
    }

    /// Records an object this operator just created (see [`Objects::get`]).
    pub fn created(&self, kind: &Kind, namespace: Option<&str>, obj: DynamicObject) {
        let key: Created = (Self::key(kind), namespace.map(String::from), obj.name_any());
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        created.retain(|_, (_, at)| at.elapsed() < CREATED_TRUSTED_FOR);
        created.insert(key, (Arc::new(obj), std::time::Instant::now()));
    }

    /// Senders for other sources of reconciles (referenced inputs), with the same
    /// bounded channels.
    pub fn senders(
        &self,
    ) -> (
        mpsc::Sender<ObjectRef<ClusterPackage>>,
        mpsc::Sender<ObjectRef<Package>>,
    ) {
        (self.cluster.clone(), self.namespaced.clone())
    }

    /// How many objects are stored, over every watched kind.
    pub fn stored(&self) -> usize {
        self.stores
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|w| w.store.read().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    /// The stored text of the object `namespace/name` of any watched kind whose kind is
    /// `kind` (for tests and diagnostics).
    pub fn text_of(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Arc<str>> {
        let key: Key = (namespace.map(String::from), name.to_string());
        self.stores
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((_, _, k), _)| k == kind)
            .find_map(|(_, w)| {
                w.store
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&key)
                    .cloned()
            })
    }

    /// How many kinds are watched.
    pub fn kinds(&self) -> usize {
        self.stores.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Stops every watch.
    pub fn shutdown(&self) {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abort_all();
    }
}

/// The [`Keep`] of a running operator: an object whose labels name an install that lists
/// it in `status.ownedResources`. Until both installs' stores hold their first list,
/// everything is kept (an install not seen yet is not a reason to drop its objects).
pub fn inventoried(
    cluster: kube::runtime::reflector::Store<ClusterPackage>,
    namespaced: kube::runtime::reflector::Store<Package>,
) -> Keep {
    let ready = std::sync::atomic::AtomicBool::new(false);
    Arc::new(move |o: &DynamicObject| {
        if !ready.load(Ordering::Acquire) {
            use futures::FutureExt;
            let listed = |r: Option<Result<(), _>>| matches!(r, Some(Ok(())));
            if listed(cluster.wait_until_ready().now_or_never())
                && listed(namespaced.wait_until_ready().now_or_never())
            {
                ready.store(true, Ordering::Release);
            } else {
                return true;
            }
        }
        let labels = o.labels();
        let Some(name) = labels.get(PACKAGE_LABEL) else {
            return false;
        };
        let status = match labels.get(PACKAGE_NAMESPACE_LABEL) {
            Some(ns) => namespaced
                .get(&ObjectRef::new(name).within(ns))
                .map(|p| listed(p.status.as_ref(), o)),
            None => cluster
                .get(&ObjectRef::new(name))
                .map(|p| listed(p.status.as_ref(), o)),
        };
        status.unwrap_or(false)
    })
}

/// Whether `status`'s inventory lists `o` (by group, kind, namespace and name).
pub fn listed(status: Option<&hoist_kube::types::PackageStatus>, o: &DynamicObject) -> bool {
    let Some(status) = status else {
        return false;
    };
    let (group, kind) = o.types.as_ref().map_or(("", ""), |t| {
        (
            t.api_version.rsplit_once('/').map_or("", |(g, _)| g),
            t.kind.as_str(),
        )
    });
    let namespace = o.namespace();
    let name = o.name_any();
    status.owned_resources.iter().any(|r| {
        r.kind == kind
            && r.group == group
            && r.name == name
            && r.namespace.as_deref() == namespace.as_deref()
    })
}
