//! Values that come from elsewhere (`valueFrom`): a ConfigMap key, a Secret key, or
//! another ClusterPackage's value, as Glasskube's packages use them.
//!
//! Guarantees: each referenced ConfigMap or Secret is watched on its own (a field
//! selector on its name), so a pass reads values from memory, not from the API, and a
//! change to a referenced object reconciles every package that uses it. A Package may
//! read only from its own namespace (a reference elsewhere is refused, terminally: it
//! would let anyone who can create a Package read any namespace's Secrets through the
//! operator); a ClusterPackage must say which namespace. Through `packageRef` a Package
//! reads only values a ClusterPackage sets literally, never one the ClusterPackage
//! itself reads from a ConfigMap, Secret or package (that would hand a tenant what an
//! admin's install may read). A missing object or key is transient: the package waits
//! for it, and its appearance moves the package on. No error quotes a value.
//!
//! A preview resolves values by the same rules ([`resolve`] over a [`Lookup`]), reading
//! each referenced object once instead of watching it.

use crate::error::Error;
use crate::objects::FIRST_LIST;
use futures::StreamExt;
use futures::future::BoxFuture;
use hoist_kube::types::{ClusterPackage, Package, ValueConfiguration};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// How deep a chain of package references may go.
const MAX_DEPTH: usize = 8;

/// A referenced object: ConfigMap or Secret, namespace, name.
type Key = (&'static str, String, String);

/// Who uses a referenced object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum User {
    Cluster(String),
    Namespaced(String, String),
}

#[derive(Clone)]
enum Watched {
    ConfigMap(Store<ConfigMap>, watch::Receiver<bool>),
    Secret(Store<Secret>, watch::Receiver<bool>),
}

pub struct Inputs {
    client: Client,
    watched: Mutex<HashMap<Key, Watched>>,
    users: Arc<Mutex<HashMap<Key, BTreeSet<User>>>>,
    cluster: mpsc::Sender<ObjectRef<ClusterPackage>>,
    namespaced: mpsc::Sender<ObjectRef<Package>>,
    /// The ClusterPackages as the controller's watch has them (package references,
    /// dependencies).
    pub cluster_packages: Store<ClusterPackage>,
    /// The Packages as the controller's watch has them (dependencies).
    pub packages: Store<Package>,
    tasks: Mutex<tokio::task::JoinSet<()>>,
    /// Each referenced object's watch, to stop when its last user is gone.
    handles: Mutex<HashMap<Key, tokio::task::AbortHandle>>,
}

impl Inputs {
    pub fn new(
        client: Client,
        cluster: mpsc::Sender<ObjectRef<ClusterPackage>>,
        namespaced: mpsc::Sender<ObjectRef<Package>>,
        cluster_packages: Store<ClusterPackage>,
        packages: Store<Package>,
    ) -> Self {
        Self {
            client,
            watched: Mutex::new(HashMap::new()),
            users: Arc::new(Mutex::new(HashMap::new())),
            cluster,
            namespaced,
            cluster_packages,
            packages,
            tasks: Mutex::new(tokio::task::JoinSet::new()),
            handles: Mutex::new(HashMap::new()),
        }
    }

    /// The value `v` stands for, read on behalf of `user` (a Package in `own_namespace`,
    /// or a ClusterPackage when that is `None`). `name` is the value's name, for errors.
    pub async fn resolve(
        &self,
        name: &str,
        v: &ValueConfiguration,
        user: &User,
        own_namespace: Option<&str>,
    ) -> Result<Option<String>, Error> {
        resolve(self, name, v, user, own_namespace).await
    }

    /// One key of a watched ConfigMap or Secret (Secret data decoded from bytes).
    async fn watched_key(
        &self,
        kind: &'static str,
        ns: &str,
        object: &str,
        key: &str,
        value: &str,
        user: &User,
    ) -> Result<String, Error> {
        let k: Key = (kind, ns.to_string(), object.to_string());
        self.users
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(k.clone())
            .or_default()
            .insert(user.clone());
        let watched = self.watch(&k);
        match watched {
            Watched::ConfigMap(store, mut ready) => {
                let _ = tokio::time::timeout(FIRST_LIST, ready.wait_for(|r| *r)).await;
                let cm = store.get(&ObjectRef::new(object).within(ns));
                config_map_key(cm.as_deref(), ns, object, key, value)
            }
            Watched::Secret(store, mut ready) => {
                let _ = tokio::time::timeout(FIRST_LIST, ready.wait_for(|r| *r)).await;
                let s = store.get(&ObjectRef::new(object).within(ns));
                secret_key(s.as_deref(), ns, object, key, value)
            }
        }
    }

    /// The watch of one referenced object, started on first use.
    fn watch(&self, k: &Key) -> Watched {
        let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = watched.get(k) {
            return w.clone();
        }
        let (kind, ns, name) = k.clone();
        let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let (ready_tx, ready_rx) = watch::channel(false);
        let users = self.users.clone();
        let (cluster, namespaced) = (self.cluster.clone(), self.namespaced.clone());
        let key = k.clone();
        let notify = move || {
            let users = users.lock().unwrap_or_else(|p| p.into_inner());
            for u in users.get(&key).into_iter().flatten() {
                let _ = match u {
                    User::Cluster(n) => cluster.try_send(ObjectRef::new(n)).is_ok(),
                    User::Namespaced(ns, n) => {
                        namespaced.try_send(ObjectRef::new(n).within(ns)).is_ok()
                    }
                };
            }
        };
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let w = if kind == "ConfigMap" {
            let (reader, writer) = reflector::store();
            let stream =
                watcher::watcher(Api::<ConfigMap>::namespaced(self.client.clone(), &ns), cfg)
                    .default_backoff()
                    .reflect(writer);
            let handle = tasks.spawn(follow(stream, reader.clone(), ready_tx, notify));
            self.handles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(k.clone(), handle);
            Watched::ConfigMap(reader, ready_rx)
        } else {
            let (reader, writer) = reflector::store();
            let stream = watcher::watcher(Api::<Secret>::namespaced(self.client.clone(), &ns), cfg)
                .default_backoff()
                .reflect(writer);
            let handle = tasks.spawn(follow(stream, reader.clone(), ready_tx, notify));
            self.handles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(k.clone(), handle);
            Watched::Secret(reader, ready_rx)
        };
        watched.insert(k.clone(), w.clone());
        w
    }

    /// Forgets `user` (an uninstalled package): it is no longer reconciled when what it
    /// referenced changes, and a referenced object nobody else uses is no longer watched.
    pub fn forget(&self, user: &User) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let mut unused = Vec::new();
        users.retain(|key, set| {
            set.remove(user);
            if set.is_empty() {
                unused.push(key.clone());
                false
            } else {
                true
            }
        });
        drop(users);
        let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
        let mut handles = self.handles.lock().unwrap_or_else(|p| p.into_inner());
        for key in unused {
            watched.remove(&key);
            if let Some(h) = handles.remove(&key) {
                h.abort();
            }
        }
    }

    /// How many referenced objects are watched.
    pub fn watched(&self) -> usize {
        self.watched.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Stops every watch.
    pub fn shutdown(&self) {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abort_all();
    }
}

/// Where the objects a value names are read: a running operator's watches
/// ([`Inputs`]) or one-off reads (a preview's). The rules of [`resolve`] are the same
/// for both.
pub trait Lookup: Sync {
    /// Key `key` of the ConfigMap or Secret (`kind`) `ns/object`, read for `user`; a
    /// missing object or key is [`Error::Waiting`] naming value `value` (see
    /// [`config_map_key`], [`secret_key`]).
    fn key<'a>(
        &'a self,
        kind: &'static str,
        ns: &'a str,
        object: &'a str,
        key: &'a str,
        value: &'a str,
        user: &'a User,
    ) -> BoxFuture<'a, Result<String, Error>>;

    /// The values ClusterPackage `name` sets; `None` when it does not exist.
    fn cluster_package_values<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, ValueConfiguration>>, Error>>;
}

impl Lookup for Inputs {
    fn key<'a>(
        &'a self,
        kind: &'static str,
        ns: &'a str,
        object: &'a str,
        key: &'a str,
        value: &'a str,
        user: &'a User,
    ) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(self.watched_key(kind, ns, object, key, value, user))
    }

    fn cluster_package_values<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, ValueConfiguration>>, Error>> {
        let values = self
            .cluster_packages
            .get(&ObjectRef::new(name))
            .map(|p| p.spec.values.clone());
        Box::pin(futures::future::ready(Ok(values)))
    }
}

/// The value `v` stands for, read through `lookup` on behalf of `user` (a Package in
/// `own_namespace`, or a ClusterPackage when that is `None`): the rules of the module
/// doc. `name` is the value's name, for errors.
pub async fn resolve(
    lookup: &dyn Lookup,
    name: &str,
    v: &ValueConfiguration,
    user: &User,
    own_namespace: Option<&str>,
) -> Result<Option<String>, Error> {
    resolve_at(lookup, name, v, user, own_namespace, 0).await
}

fn resolve_at<'a>(
    lookup: &'a dyn Lookup,
    name: &'a str,
    v: &'a ValueConfiguration,
    user: &'a User,
    own_namespace: Option<&'a str>,
    depth: usize,
) -> BoxFuture<'a, Result<Option<String>, Error>> {
    Box::pin(async move {
        if let Some(value) = &v.value {
            return Ok(Some(value.clone()));
        }
        let Some(from) = &v.value_from else {
            return Ok(None);
        };
        let invalid = |why: String| Error::InvalidValue {
            name: name.to_string(),
            why,
        };
        let namespace = |r_ns: &Option<String>| -> Result<String, Error> {
            match (own_namespace, r_ns.as_deref()) {
                (Some(own), None) => Ok(own.to_string()),
                (Some(own), Some(ns)) if ns == own => Ok(own.to_string()),
                (Some(own), Some(ns)) => Err(invalid(format!(
                    "refused: a Package in {own:?} may only read values from its own namespace, not {ns:?}"
                ))),
                (None, Some(ns)) => Ok(ns.to_string()),
                (None, None) => Err(invalid(
                    "a ClusterPackage's valueFrom must name the namespace of the ConfigMap or Secret".into(),
                )),
            }
        };
        if let Some(r) = &from.config_map_ref {
            let ns = namespace(&r.namespace)?;
            return lookup
                .key("ConfigMap", &ns, &r.name, &r.key, name, user)
                .await
                .map(Some);
        }
        if let Some(r) = &from.secret_ref {
            let ns = namespace(&r.namespace)?;
            return lookup
                .key("Secret", &ns, &r.name, &r.key, name, user)
                .await
                .map(Some);
        }
        if let Some(r) = &from.package_ref {
            if depth >= MAX_DEPTH {
                return Err(invalid(format!(
                    "package references nest deeper than {MAX_DEPTH} (a cycle?)"
                )));
            }
            let values = lookup
                .cluster_package_values(&r.name)
                .await?
                .ok_or_else(|| {
                    Error::Waiting(format!(
                        "ClusterPackage {:?} (for value {name:?}) does not exist yet",
                        r.name
                    ))
                })?;
            let Some(inner) = values.get(&r.value) else {
                return Err(Error::Waiting(format!(
                    "ClusterPackage {:?} sets no value {:?} (for value {name:?})",
                    r.name, r.value
                )));
            };
            if matches!(user, User::Namespaced(..)) && inner.value.is_none() {
                // The ClusterPackage read it with an admin's reach (any namespace's
                // Secret): a tenant's Package gets only what was written in the open.
                return Err(invalid(format!(
                    "refused: ClusterPackage {:?}'s value {:?} comes from a ConfigMap, Secret or another package; a Package may read only values a ClusterPackage sets literally",
                    r.name, r.value
                )));
            }
            // The other package's references are read with its own rights (a
            // ClusterPackage: namespaces it names).
            return resolve_at(lookup, name, inner, user, None, depth + 1).await;
        }
        Ok(None)
    })
}

/// Key `key` of ConfigMap `ns/object` as read (`None`: it does not exist); what is
/// missing is [`Error::Waiting`] naming value `value`.
pub fn config_map_key(
    cm: Option<&ConfigMap>,
    ns: &str,
    object: &str,
    key: &str,
    value: &str,
) -> Result<String, Error> {
    let missing = |what: String| Error::Waiting(format!("{what} (for value {value:?})"));
    let cm = cm.ok_or_else(|| missing(format!("ConfigMap {ns}/{object} does not exist")))?;
    cm.data
        .as_ref()
        .and_then(|d| d.get(key).cloned())
        .ok_or_else(|| missing(format!("ConfigMap {ns}/{object} has no key {key:?}")))
}

/// Key `key` of Secret `ns/object` as read (`None`: it does not exist), decoded from
/// bytes; what is missing is [`Error::Waiting`] naming value `value`.
pub fn secret_key(
    s: Option<&Secret>,
    ns: &str,
    object: &str,
    key: &str,
    value: &str,
) -> Result<String, Error> {
    let missing = |what: String| Error::Waiting(format!("{what} (for value {value:?})"));
    let s = s.ok_or_else(|| missing(format!("Secret {ns}/{object} does not exist")))?;
    s.data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .ok_or_else(|| missing(format!("Secret {ns}/{object} has no key {key:?}")))
}

/// Drives one reference's watch: readiness once, then a reconcile of its users on
/// every change after the first list.
async fn follow<K, S>(
    stream: S,
    store: Store<K>,
    ready: watch::Sender<bool>,
    notify: impl Fn() + Send + 'static,
) where
    K: kube::Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send,
{
    let mut stream = std::pin::pin!(stream);
    let mut listed = false;
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::InitDone) => {
                if store.wait_until_ready().await.is_ok() {
                    let _ = ready.send(true);
                }
                if listed {
                    notify();
                }
                listed = true;
            }
            Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) => notify(),
            _ => {}
        }
    }
}
