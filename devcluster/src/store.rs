//! The object store: one global resourceVersion, objects per kind, a bounded event
//! history per kind, and a broadcast channel per kind that feeds watches.
//!
//! Guarantees:
//! - every write gets a new, strictly greater resourceVersion; a write that changes
//!   nothing gets none and emits no event;
//! - events are broadcast while the store lock is held, so a watch that subscribes under
//!   the same lock sees history and live events with no gap and no repeat;
//! - a failed write changes nothing.
//!
//! Caveats: all state sits behind one `std::sync::Mutex`; critical sections never await
//! and serialize at most one object, which keeps it far from the bottleneck (see
//! `docs/BENCHMARKS.md`).

use crate::error::ApiError;
use crate::meta;
use crate::resources::{Registry, ResourceType, StoreKey};
use crate::selector::Selectors;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast};

/// A stored object. Shared, never mutated in place.
pub type Obj = Arc<Value>;

/// `(namespace, name)`; the namespace is empty for cluster-scoped kinds.
/// An object's place in its kind: namespace (empty for cluster-scoped kinds) and name.
///
/// Ordered by hand rather than derived: comparing two empty `String`s calls libc's
/// `memcmp` with length 0 and a dangling pointer, which glibc's AVX-512 `memcmp` turns
/// into a masked load from an unmapped page: microseconds per comparison on some
/// virtual machines (ours). Every cluster-scoped object has an empty namespace.
#[derive(Debug, Clone)]
pub struct ObjKey {
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

fn cmp_str(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

impl Ord for ObjKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        cmp_str(&self.namespace, &other.namespace).then_with(|| cmp_str(&self.name, &other.name))
    }
}

impl PartialOrd for ObjKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ObjKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for ObjKey {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub event: EventType,
    pub object: Obj,
    /// The object before the change, so watches with selectors can turn a MODIFIED that
    /// leaves (enters) the selection into DELETED (ADDED), as the apiserver does.
    pub previous: Option<Obj>,
    /// The watch line for this change as stored, serialized once for every watcher.
    pub line: Bytes,
    /// When it was made: history older than the window is compacted away.
    pub at: Instant,
}

/// What a kind's broadcast channel carries.
#[derive(Debug, Clone)]
pub enum Signal {
    Change(Arc<Change>),
    /// Every event up to this resourceVersion has been sent: a bookmark may say so.
    Progress(u64),
}

/// Renders one watch line (`{"type":…,"object":…}\n`).
pub fn watch_line(event: &str, object: &Value) -> Bytes {
    let mut line =
        serde_json::to_vec(&json!({ "type": event, "object": object })).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

struct Kind {
    objects: BTreeMap<ObjKey, Obj>,
    history: VecDeque<Arc<Change>>,
    /// Events with a resourceVersion at or below the floor may be gone from history.
    floor: u64,
    /// The resourceVersion of the kind's last change (0: none since start).
    changed: u64,
    tx: broadcast::Sender<Signal>,
}

impl Kind {
    fn new(floor: u64) -> Self {
        Self {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            floor,
            changed: 0,
            tx: broadcast::channel(WATCH_BUFFER).0,
        }
    }
}

/// Events a watcher may fall behind by before it is ended with 410 Expired.
const WATCH_BUFFER: usize = 16 * 1024;
/// Paginated list snapshots kept for continue tokens.
const MAX_SNAPSHOTS: usize = 64;
const SNAPSHOT_TTL: Duration = Duration::from_secs(300);

struct Snapshot {
    id: u64,
    rv: u64,
    key: StoreKey,
    items: Arc<Vec<Obj>>,
    created: Instant,
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchFrom {
    /// Replay every event after this resourceVersion.
    Version(u64),
    /// Synthesize ADDED for every current object (RV unset or "0").
    Current,
}

/// A subscribed watch: what to send first, then the live channel.
pub struct Subscription {
    /// Objects to send as ADDED first (for [`WatchFrom::Current`]).
    pub initial: Vec<Obj>,
    /// Stored events to replay first (for [`WatchFrom::Version`]).
    pub replay: Vec<Arc<Change>>,
    /// The resourceVersion at subscription: everything up to it is in `initial`/`replay`.
    pub rv: u64,
    pub rx: broadcast::Receiver<Signal>,
}

/// One page of a list.
pub struct Page {
    pub rv: u64,
    pub items: Vec<Obj>,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

pub struct State {
    rv: u64,
    pub registry: Registry,
    kinds: HashMap<StoreKey, Kind>,
    snapshots: VecDeque<Snapshot>,
    next_snapshot: u64,
    history_limit: usize,
    /// Events older than this leave the history (see [`crate::Options::history_window`]).
    history_window: Option<Duration>,
    /// The resourceVersion of the last compaction: no kind has history before it.
    compacted: u64,
    dirty: bool,
    /// Set for the duration of a `dryRun=All` write (see [`Store::write_as`]).
    dry_run: bool,
    /// Who writes now, for `managedFields` (see [`Store::write_as`]).
    writer: Writer,
    /// An apply's field ownership, computed before the write it makes (see
    /// [`crate::fields`]); taken by that write instead of recording an Update.
    pending_managed: Option<crate::fields::Managed>,
    /// What the current write was warned of (`Warning` headers; see [`Store::write_warned`]).
    warnings: Vec<String>,
    /// Set by an apply whose configuration was already pruned: what it writes is made
    /// only of checked parts, so the write does not walk the schema again.
    fields_checked: bool,
    /// Bumped by every committed change to an object of `rbac.authorization.k8s.io`.
    rbac_changes: Arc<std::sync::atomic::AtomicU64>,
    /// How many times each object came into existence (see [`State::creations`]).
    creations: BTreeMap<String, u64>,
}

/// Distinct names [`State::creations`] remembers; beyond it they count under `(more)`.
const CREATIONS_KEPT: usize = 100_000;

/// Who a write is from: the field manager (`fieldManager`, else the client's user
/// agent), whether an apply may take fields from others (`force`), whether it is a
/// dry run, and what to do with unknown fields (`None`: devcluster's own writes, which
/// are not checked).
#[derive(Debug, Clone)]
pub struct Writer {
    pub manager: String,
    pub force: bool,
    pub dry_run: bool,
    pub field_validation: Option<crate::openapi::FieldValidation>,
    /// A check of each object the write is about to store (`None`: none).
    pub admission: Option<Admission>,
}

/// A check of an object about to be stored, given its type, the request's namespace,
/// the object and, for an update, the stored one: the RBAC storages' escalation check
/// ([`crate::auth::rbac::Authorizer::authorize_write`]). It runs under the store's
/// lock, so it must not lock the store.
#[derive(Clone)]
pub struct Admission(
    #[allow(clippy::type_complexity)]
    pub  Arc<
        dyn Fn(&ResourceType, &str, &Value, Option<&Value>) -> Result<(), ApiError> + Send + Sync,
    >,
);

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Admission")
    }
}

impl Default for Writer {
    /// devcluster's own writes (the workload controllers).
    fn default() -> Self {
        Self {
            manager: "devcluster".into(),
            force: false,
            dry_run: false,
            field_validation: None,
            admission: None,
        }
    }
}

/// The store, shared by every request.
pub struct Store {
    state: Mutex<State>,
    /// Counts changes to RBAC objects (see [`Store::rbac_changes`]).
    rbac_changes: Arc<std::sync::atomic::AtomicU64>,
    /// Woken after each write so the persister can save (see [`crate::persist`]).
    pub changed: Notify,
}

/// Options for what a write may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOpts {
    /// Write the `/status` subresource: change only `.status`.
    pub status: bool,
    /// Server-side apply (PATCH only): create the object when missing.
    pub create_missing: bool,
}

impl Store {
    pub fn new(history_limit: usize, history_window: Option<Duration>) -> Self {
        let rbac_changes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut state = State {
            rbac_changes: rbac_changes.clone(),
            rv: 0,
            registry: Registry::with_builtins(),
            kinds: HashMap::new(),
            snapshots: VecDeque::new(),
            next_snapshot: 1,
            history_limit: history_limit.max(1),
            history_window,
            compacted: 0,
            dirty: false,
            dry_run: false,
            writer: Writer::default(),
            pending_managed: None,
            warnings: Vec::new(),
            fields_checked: false,
            creations: BTreeMap::new(),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let rt = state.registry.get("", "v1", "namespaces").cloned();
            if let Some(rt) = rt {
                let obj =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                if let Err(e) = state.create(&rt, "", obj) {
                    tracing::error!(%e, "cannot seed namespace");
                }
            }
        }
        Self {
            state: Mutex::new(state),
            rbac_changes,
            changed: Notify::new(),
        }
    }

    /// How many changes to Roles, ClusterRoles and bindings were committed so far, read
    /// without the store's lock: a cache of them is current while this stays put.
    /// Read it *before* reading the objects, so a change made in between is seen next.
    pub fn rbac_changes(&self) -> u64 {
        self.rbac_changes.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Locks the state. The lock is never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs a write for `writer`: its field manager owns what it changes
    /// (`managedFields`), and when it is a dry run (`dryRun=All`) everything is checked
    /// and the answer is what the write would store, but nothing is stored, no watch
    /// event is sent and the resourceVersion does not move.
    pub fn write_as<T>(
        &self,
        writer: Writer,
        f: impl FnOnce(&mut State) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.write_warned(writer, f).0
    }

    /// As [`Store::write_as`], also handing back what the write was warned of (unknown
    /// fields it dropped, under `fieldValidation=Warn`), each once, in order.
    pub fn write_warned<T>(
        &self,
        writer: Writer,
        f: impl FnOnce(&mut State) -> Result<T, ApiError>,
    ) -> (Result<T, ApiError>, Vec<String>) {
        let mut state = self.lock();
        state.dry_run = writer.dry_run;
        state.writer = writer;
        let out = f(&mut state);
        state.dry_run = false;
        state.writer = Writer::default();
        state.pending_managed = None;
        state.fields_checked = false;
        let mut warnings = std::mem::take(&mut state.warnings);
        let mut seen = std::collections::HashSet::new();
        warnings.retain(|w| seen.insert(w.clone()));
        let dirty = state.dirty;
        drop(state);
        if dirty {
            self.changed.notify_one();
        }
        (out, warnings)
    }

    /// Runs a write and wakes the persister when it changed something.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut state = self.lock();
        let out = f(&mut state);
        if state.dirty {
            drop(state);
            self.changed.notify_one();
        }
        out
    }
}

impl State {
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    fn kind_mut(&mut self, key: &StoreKey) -> &mut Kind {
        let floor = self.compacted;
        self.kinds
            .entry(key.clone())
            .or_insert_with(|| Kind::new(floor))
    }

    /// The resourceVersion of the last change to any object of `key` (0 when none was
    /// changed since start): a cache of a kind is current while this stays put.
    pub fn kind_changed(&self, key: &StoreKey) -> u64 {
        self.kinds.get(key).map_or(0, |k| k.changed)
    }

    /// Every stored object with its kind, for persistence.
    pub fn all_objects(&self) -> Vec<(StoreKey, Obj)> {
        let mut out: Vec<_> = self
            .kinds
            .iter()
            .flat_map(|(k, kind)| kind.objects.values().map(move |o| (k.clone(), o.clone())))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every stored object of one kind, in (namespace, name) order.
    pub fn objects_of(&self, key: &StoreKey) -> Vec<Obj> {
        self.kinds
            .get(key)
            .map(|k| k.objects.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The stored objects of `key` in namespace `ns` whose names start with `prefix`, in
    /// name order: a range of the kind's index, so it costs what it finds, not the kind's
    /// size (the workload controllers find a workload's pods so).
    pub fn objects_with_prefix(&self, key: &StoreKey, ns: &str, prefix: &str) -> Vec<Obj> {
        let Some(kind) = self.kinds.get(key) else {
            return Vec::new();
        };
        kind.objects
            .range(ObjKey::new(ns, prefix)..)
            .take_while(|(k, _)| k.namespace == ns && k.name.starts_with(prefix))
            .map(|(_, o)| o.clone())
            .collect()
    }

    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Restores objects from a state file: sets the resourceVersion, no events.
    pub fn restore(&mut self, rv: u64, objects: Vec<(StoreKey, Value)>) -> Result<(), String> {
        self.rv = rv;
        // CRDs first, so that the kinds they define are known.
        let (crds, rest): (Vec<_>, Vec<_>) = objects.into_iter().partition(|(k, _)| {
            k.group == "apiextensions.k8s.io" && k.plural == "customresourcedefinitions"
        });
        for (key, obj) in crds.into_iter().chain(rest) {
            if self.registry.any_version(&key).is_none() {
                return Err(format!("objects of unknown kind {key}"));
            }
            if key.group == "apiextensions.k8s.io" && key.plural == "customresourcedefinitions" {
                let types = crate::crd::served_types(&obj).map_err(|e| e.message)?;
                for t in types {
                    self.registry.insert(t);
                }
            }
            let k = ObjKey::new(meta::namespace(&obj), meta::name(&obj));
            self.kind_mut(&key).objects.insert(k, Arc::new(obj));
        }
        self.compacted = rv;
        for kind in self.kinds.values_mut() {
            kind.floor = rv;
            kind.changed = rv;
        }
        self.rbac_changes
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Calls `f` with the stored object `ns/name` of `key`, if any, without copying it.
    pub fn with_object<T>(
        &self,
        key: &StoreKey,
        ns: &str,
        name: &str,
        f: impl FnOnce(&Value) -> T,
    ) -> Option<T> {
        self.kinds
            .get(key)
            .and_then(|k| k.objects.get(&ObjKey::new(ns, name)))
            .map(|o| f(o))
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Obj, ApiError> {
        self.kinds
            .get(&rt.store_key())
            .and_then(|k| k.objects.get(&ObjKey::new(ns, name)))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&rt.plural, name))
    }

    /// Lists one page. `ns` of `None` lists every namespace.
    ///
    /// A list with a `limit` that does not fit in one page keeps a snapshot, so every
    /// following page is consistent with the first and carries the same resourceVersion.
    pub fn list(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        selectors: &Selectors,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<Page, ApiError> {
        let key = rt.store_key();
        let now = Instant::now();
        self.snapshots
            .retain(|s| now.duration_since(s.created) < SNAPSHOT_TTL);
        let (rv, items, offset, snapshot_id) = match continue_token {
            Some(token) => {
                let (id, offset) = parse_continue(token)?;
                let snap = self.snapshots.iter().find(|s| s.id == id && s.key == key).ok_or_else(|| {
                    ApiError::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
                })?;
                (snap.rv, snap.items.clone(), offset, Some(id))
            }
            None => {
                let items: Vec<Obj> = self
                    .kinds
                    .get(&key)
                    .map(|k| {
                        k.objects
                            .iter()
                            .filter(|(k, _)| ns.is_none_or(|n| n == k.namespace))
                            .filter(|(_, o)| selectors.matches(o))
                            .map(|(_, o)| o.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                (self.rv, Arc::new(items), 0, None)
            }
        };
        let end = limit
            .filter(|l| *l > 0)
            .map_or(items.len(), |l| (offset + l).min(items.len()));
        let page: Vec<Obj> = items
            .get(offset..end)
            .map(<[Obj]>::to_vec)
            .unwrap_or_default();
        if end >= items.len() {
            return Ok(Page {
                rv,
                items: page,
                continue_token: None,
                remaining: None,
            });
        }
        let id = match snapshot_id {
            Some(id) => id,
            None => {
                let id = self.next_snapshot;
                self.next_snapshot += 1;
                if self.snapshots.len() >= MAX_SNAPSHOTS {
                    self.snapshots.pop_front();
                }
                self.snapshots.push_back(Snapshot {
                    id,
                    rv,
                    key,
                    items: items.clone(),
                    created: now,
                });
                id
            }
        };
        Ok(Page {
            rv,
            items: page,
            continue_token: Some(format!("{rv}-{id}-{end}")),
            remaining: Some(items.len() - end),
        })
    }

    /// Subscribes to a kind's events from a point in its history.
    ///
    /// Fails with 410 Expired when `from` is older than the kind's history window.
    pub fn watch(&mut self, rt: &ResourceType, from: WatchFrom) -> Result<Subscription, ApiError> {
        let rv = self.rv;
        let kind = self.kind_mut(&rt.store_key());
        let rx = kind.tx.subscribe();
        match from {
            WatchFrom::Current => Ok(Subscription {
                initial: kind.objects.values().cloned().collect(),
                replay: vec![],
                rv,
                rx,
            }),
            WatchFrom::Version(from) => {
                if from < kind.floor {
                    return Err(ApiError::expired(format!(
                        "too old resource version: {from} ({})",
                        kind.floor
                    )));
                }
                let replay = kind
                    .history
                    .iter()
                    .filter(|c| c.rv > from)
                    .cloned()
                    .collect();
                Ok(Subscription {
                    initial: vec![],
                    replay,
                    rv,
                    rx,
                })
            }
        }
    }

    /// Tells every watch that all events up to now were sent (drives bookmarks).
    pub fn broadcast_progress(&self) {
        for kind in self.kinds.values() {
            let _ = kind.tx.send(Signal::Progress(self.rv));
        }
    }

    /// Forgets all history and list snapshots: the next watch from an older
    /// resourceVersion gets 410 Expired, as after an etcd compaction.
    /// How many times each object came into existence since this server started, as
    /// `"resource namespace/name"` (`"resource name"` for cluster-scoped ones), the
    /// resource named as the request counters name it. A create that failed (409) is
    /// not counted; an apply that created is. More than one for a name means it was
    /// deleted and made again: what a soak checks against what its workload asked for.
    ///
    /// Caveat: not kept in the state file (a restarted server starts from zero), and
    /// beyond 100,000 distinct names further ones count under `(more)`.
    pub fn creations(&self) -> BTreeMap<String, u64> {
        self.creations.clone()
    }

    pub fn compact(&mut self) {
        let rv = self.rv;
        self.compacted = rv;
        for kind in self.kinds.values_mut() {
            kind.history.clear();
            kind.floor = rv;
        }
        self.snapshots.clear();
    }

    /// Records a change: new resourceVersion, store, history, broadcast. In a dry run,
    /// only the object as it would be stored (a create has no resourceVersion yet; a
    /// change keeps the stored one).
    /// The CRD that serves a custom resource type.
    pub fn crd_of(&self, rt: &ResourceType) -> Option<Obj> {
        let key = StoreKey {
            group: "apiextensions.k8s.io".into(),
            plural: "customresourcedefinitions".into(),
        };
        let name = format!("{}.{}", rt.plural, rt.group);
        self.kinds
            .get(&key)?
            .objects
            .get(&ObjKey::new("", &name))
            .cloned()
    }

    /// Drops the fields `obj`'s schema does not declare, as the API server's decoding
    /// does, and tells the writer as its `fieldValidation` asks: a 400 naming them
    /// (Strict; nothing is written), a warning each (Warn), or nothing (Ignore).
    /// devcluster's own writes are not checked; kinds without a schema keep everything.
    fn check_fields(&mut self, rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
        use crate::openapi::{FieldValidation, builtin::builtins, prune};
        let Some(mode) = self.writer.field_validation else {
            return Ok(());
        };
        if self.fields_checked {
            return Ok(());
        }
        let unknown = if rt.custom {
            let Some(crd) = self.crd_of(rt) else {
                return Ok(());
            };
            match crate::crd::version_schema(&crd, &rt.version) {
                Some(schema) => prune::custom(obj, schema),
                None => return Ok(()),
            }
        } else {
            match builtins().kind(&rt.group, &rt.version, &rt.kind) {
                Some(schema) => prune::builtin(obj, schema),
                None => return Ok(()),
            }
        };
        match mode {
            _ if unknown.is_empty() => Ok(()),
            FieldValidation::Strict => Err(crate::openapi::strict_error(
                &rt.kind,
                &rt.version,
                &unknown,
            )),
            FieldValidation::Warn => {
                self.warnings
                    .extend(unknown.iter().map(|f| format!("unknown field {f:?}")));
                Ok(())
            }
            FieldValidation::Ignore => Ok(()),
        }
    }

    /// Refuses a custom object whose values break its CRD version's schema: 422 Invalid
    /// naming every cause, as `apiextensions-apiserver` answers (see
    /// [`crate::openapi::validate`]). First drops the `null`s of fields that are not
    /// nullable, as the API server's decoder does. Runs after unknown fields are
    /// pruned, on what is about to be stored (so on every create, update, patch and
    /// apply, dry runs included); an update (and a `/status` write, which checks the
    /// whole object) is checked against `old`, ratcheting errors in unchanged parts.
    /// devcluster's own writes and built-in kinds are not checked.
    fn check_values(
        &self,
        rt: &ResourceType,
        name: &str,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        use crate::openapi::validate;
        if !rt.custom || self.writer.field_validation.is_none() {
            return Ok(());
        }
        let Some(crd) = self.crd_of(rt) else {
            return Ok(());
        };
        let Some(schema) = crate::crd::version_schema(&crd, &rt.version) else {
            return Ok(());
        };
        validate::prune_nulls(obj, schema);
        let causes = match old {
            Some(old) => validate::validate_update(schema, obj, old),
            None => validate::validate(schema, obj),
        };
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_causes(&rt.group, &rt.kind, name, causes))
        }
    }

    fn commit(
        &mut self,
        rt: &ResourceType,
        event: EventType,
        mut obj: Value,
        previous: Option<Obj>,
    ) -> Obj {
        if self.dry_run {
            let m = meta::metadata_mut(&mut obj);
            match previous.as_deref().map(meta::resource_version) {
                Some(rv) => {
                    m.insert("resourceVersion".into(), Value::String(rv.to_string()));
                }
                None => {
                    m.remove("resourceVersion");
                }
            }
            return Arc::new(obj);
        }
        self.rv += 1;
        let rv = self.rv;
        meta::metadata_mut(&mut obj)
            .insert("resourceVersion".into(), Value::String(rv.to_string()));
        let obj = Arc::new(obj);
        let key = ObjKey::new(meta::namespace(&obj), meta::name(&obj));
        let created = matches!(event, EventType::Added).then(|| match key.namespace.as_str() {
            "" => format!("{} {}", rt.store_key(), key.name),
            ns => format!("{} {ns}/{}", rt.store_key(), key.name),
        });
        let line = watch_line(event.as_str(), &obj);
        let change = Arc::new(Change {
            rv,
            event,
            object: obj.clone(),
            previous,
            line,
            at: Instant::now(),
        });
        let (limit, window) = (self.history_limit, self.history_window);
        let kind = self.kind_mut(&rt.store_key());
        match event {
            EventType::Deleted => kind.objects.remove(&key),
            _ => kind.objects.insert(key, obj.clone()),
        };
        kind.history.push_back(change.clone());
        kind.changed = rv;
        // Bounded by count and by age, as kube-apiserver's watch cache and etcd's
        // compaction bound it: a resume from before what is kept gets 410.
        let expired = |c: &Change| window.is_some_and(|w| change.at.duration_since(c.at) > w);
        while kind.history.len() > limit || kind.history.front().is_some_and(|c| expired(c)) {
            if let Some(old) = kind.history.pop_front() {
                kind.floor = old.rv;
            }
        }
        let _ = kind.tx.send(Signal::Change(change));
        if let Some(name) = created {
            let kept = self.creations.len() < CREATIONS_KEPT || self.creations.contains_key(&name);
            *self
                .creations
                .entry(if kept { name } else { "(more)".into() })
                .or_default() += 1;
        }
        // After the object is in place: a reader that sees the new count sees it.
        if rt.group == crate::resources::RBAC_GROUP {
            self.rbac_changes
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        self.dirty = true;
        obj
    }

    /// Creates an object (POST). `ns` is the namespace from the URL.
    pub fn create(&mut self, rt: &ResourceType, ns: &str, mut obj: Value) -> Result<Obj, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        check_type(rt, &obj)?;
        normalize(rt, &mut obj);
        self.admit(rt, ns, &obj, None)?;
        obj["apiVersion"] = Value::String(rt.api_version());
        obj["kind"] = Value::String(rt.kind.clone());
        self.check_fields(rt, &mut obj)?;
        let m = meta::metadata_mut(&mut obj);
        let mut name = m
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty()
            && let Some(prefix) = m.get("generateName").and_then(Value::as_str)
        {
            name = format!(
                "{prefix}{}",
                &uuid::Uuid::new_v4().simple().to_string()[..5]
            );
        }
        let body_ns = m
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if rt.namespaced {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            m.insert("namespace".into(), Value::String(ns.into()));
        } else {
            m.remove("namespace");
        }
        let valid = if rt.plural == "namespaces" && rt.group.is_empty() {
            meta::check_label(&name)
        } else if rt.group == "rbac.authorization.k8s.io" {
            // `ValidateRBACName`: any path segment (`system:discovery`).
            meta::check_path_segment(&name)
        } else {
            meta::check_subdomain(&name)
        };
        valid.map_err(|why| ApiError::invalid(&rt.plural, &name, why))?;
        m.insert("name".into(), Value::String(name.clone()));
        m.insert(
            "uid".into(),
            Value::String(uuid::Uuid::new_v4().to_string()),
        );
        m.insert("creationTimestamp".into(), Value::String(meta::now()));
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ] {
            m.remove(k);
        }
        if rt.custom || obj.get("spec").is_some() {
            meta::metadata_mut(&mut obj).insert("generation".into(), json!(1));
        }
        if rt.status_subresource
            && rt.custom
            && let Value::Object(o) = &mut obj
        {
            o.remove("status");
        }
        self.check_values(rt, &name, &mut obj, None)?;
        if rt.namespaced {
            self.require_namespace(ns)?;
        }
        self.set_managed(rt, None, &mut obj, false);
        let key = ObjKey::new(if rt.namespaced { ns } else { "" }, &name);
        if self
            .kinds
            .get(&rt.store_key())
            .is_some_and(|k| k.objects.contains_key(&key))
        {
            return Err(ApiError::already_exists(&rt.plural, &name));
        }
        let is_crd = is_crd(rt);
        let created = if is_crd {
            // Validate before committing: a CRD that defines nothing servable is rejected whole.
            let types = crate::crd::served_types(&obj)?;
            let created = self.commit(rt, EventType::Added, obj, None);
            if !self.dry_run {
                for t in types {
                    self.registry.insert(t);
                }
            }
            self.establish_crd(rt, &created)?
        } else {
            self.commit(rt, EventType::Added, obj, None)
        };
        Ok(created)
    }

    /// Runs the current writer's admission check, if any, on an object to be stored.
    fn admit(
        &self,
        rt: &ResourceType,
        ns: &str,
        obj: &Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        match &self.writer.admission {
            Some(Admission(check)) => check(rt, ns, obj, old),
            None => Ok(()),
        }
    }

    /// Sets a new CRD's accepted names and `Established` condition (a MODIFIED event).
    fn establish_crd(&mut self, rt: &ResourceType, crd: &Obj) -> Result<Obj, ApiError> {
        let mut next = (**crd).clone();
        next["status"] = crate::crd::established_status(&next);
        let prev = crd.clone();
        if meta::same_ignoring_version(&prev, &next) {
            return Ok(prev);
        }
        Ok(self.commit(rt, EventType::Modified, next, Some(prev)))
    }

    /// Writes `next`'s `metadata.managedFields`: an apply's ownership when one is
    /// pending, else the current writer as an Update manager of what changed from `old`.
    fn set_managed(
        &mut self,
        rt: &ResourceType,
        old: Option<&Value>,
        next: &mut Value,
        status: bool,
    ) {
        let managed = match self.pending_managed.take() {
            Some(m) => m,
            None => {
                let mut m = old.map(crate::fields::Managed::of).unwrap_or_default();
                let manager = self.writer.manager.clone();
                m.record_update(&manager, &rt.api_version(), &meta::now(), old, next, status);
                m
            }
        };
        let m = meta::metadata_mut(next);
        match managed.to_json() {
            Some(v) => m.insert("managedFields".into(), v),
            None => m.remove("managedFields"),
        };
    }

    /// A server-side apply of `applied` by the current writer onto `current` (`None`:
    /// the object is new): the object to write, with its field ownership pending for
    /// that write; 409 naming each conflict unless the writer forces.
    fn server_side_apply(
        &mut self,
        rt: &ResourceType,
        name: &str,
        current: Option<&Value>,
        applied: &Value,
    ) -> Result<Value, ApiError> {
        let mut managed = current.map(crate::fields::Managed::of).unwrap_or_default();
        let writer = self.writer.clone();
        let mut body = applied.clone();
        if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
        let next = managed
            .apply(
                &writer.manager,
                &rt.api_version(),
                &meta::now(),
                current,
                &body,
                writer.force,
            )
            .map_err(|conflicts| {
                ApiError::conflict(
                    &rt.plural,
                    name,
                    crate::fields::conflict_message(&conflicts),
                )
            })?;
        self.pending_managed = Some(managed);
        Ok(next)
    }

    fn require_namespace(&self, ns: &str) -> Result<(), ApiError> {
        let key = StoreKey {
            group: String::new(),
            plural: "namespaces".into(),
        };
        let exists = self
            .kinds
            .get(&key)
            .is_some_and(|k| k.objects.contains_key(&ObjKey::new("", ns)));
        if exists {
            Ok(())
        } else {
            Err(ApiError::not_found("namespaces", ns))
        }
    }

    /// Replaces an object (PUT), or its status with `opts.status`.
    ///
    /// The body's `metadata.resourceVersion` must match the stored one (409 Conflict
    /// otherwise); custom resources require it.
    pub fn update(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        body: Value,
        opts: WriteOpts,
    ) -> Result<Obj, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        check_type(rt, &body)?;
        let mut body = body;
        normalize(rt, &mut body);
        let body_name = meta::name(&body);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let old = self.get(rt, ns, name)?;
        let body_rv = meta::resource_version(&body);
        if body_rv.is_empty() {
            if rt.custom {
                return Err(ApiError::invalid(
                    &rt.plural,
                    name,
                    "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                ));
            }
        } else if body_rv != meta::resource_version(&old) {
            return Err(ApiError::stale(&rt.plural, name));
        }
        let mut next = if opts.status {
            let mut next = (*old).clone();
            next["status"] = body.get("status").cloned().unwrap_or(Value::Null);
            if next["status"].is_null()
                && let Value::Object(o) = &mut next
            {
                o.remove("status");
            }
            next
        } else {
            let mut next = body;
            next["apiVersion"] = Value::String(rt.api_version());
            next["kind"] = Value::String(rt.kind.clone());
            if rt.status_subresource {
                match old.get("status") {
                    Some(s) => next["status"] = s.clone(),
                    None => {
                        if let Value::Object(o) = &mut next {
                            o.remove("status");
                        }
                    }
                }
            }
            let old_meta = old.get("metadata").cloned().unwrap_or(Value::Null);
            let m = meta::metadata_mut(&mut next);
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "namespace",
                "name",
                "generation",
            ] {
                match old_meta.get(k) {
                    Some(v) => m.insert(k.into(), v.clone()),
                    None => m.remove(k),
                };
            }
            m.remove("managedFields");
            match old_meta.get("managedFields") {
                Some(v) => m.insert("managedFields".into(), v.clone()),
                None => None,
            };
            next
        };
        self.admit(rt, ns, &next, Some(&old))?;
        self.check_fields(rt, &mut next)?;
        self.check_values(rt, name, &mut next, Some(&old))?;
        self.set_managed(rt, Some(&old), &mut next, opts.status);
        if meta::generation_relevant(&old, rt.custom) != meta::generation_relevant(&next, rt.custom)
        {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                + 1;
            meta::metadata_mut(&mut next).insert("generation".into(), json!(generation));
        }
        meta::metadata_mut(&mut next).insert(
            "resourceVersion".into(),
            Value::String(meta::resource_version(&old).into()),
        );
        if meta::is_deleting(&old) {
            let before = meta::finalizers(&old);
            if let Some(added) = meta::finalizers(&next)
                .into_iter()
                .find(|f| !before.contains(f))
            {
                return Err(ApiError::invalid(
                    &rt.plural,
                    name,
                    format!(
                        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers [{added:?}]"
                    ),
                ));
            }
        }
        if meta::same_ignoring_version(&old, &next) {
            return Ok(old);
        }
        if is_crd(rt) && !opts.status {
            let types = crate::crd::served_types(&next)?;
            for t in types {
                self.registry.insert(t);
            }
        }
        if meta::is_deleting(&next) && meta::finalizers(&next).is_empty() {
            return Ok(self.remove(rt, old, next));
        }
        Ok(self.commit(rt, EventType::Modified, next, Some(old)))
    }

    /// Applies a patch of `kind` (PATCH). Server-side apply creates missing objects.
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        kind: crate::patch::PatchKind,
        patch: &Value,
        opts: WriteOpts,
    ) -> Result<Obj, ApiError> {
        // An applied configuration loses its unknown fields before ownership is
        // computed, so no manager ever owns a field that is not stored.
        let pruned;
        let patch = if kind == crate::patch::PatchKind::Apply {
            let mut applied = patch.clone();
            self.check_fields(rt, &mut applied)?;
            self.fields_checked = true;
            pruned = applied;
            &pruned
        } else {
            patch
        };
        let current = match self.get(rt, ns, name) {
            // In the view the patch was written for (Events have two; see `events`).
            Ok(o) => crate::events::render(rt, &o),
            Err(_) if opts.create_missing => {
                let mut obj = self.server_side_apply(rt, name, None, patch)?;
                meta::metadata_mut(&mut obj).insert("name".into(), Value::String(name.into()));
                return self.create(rt, ns, obj);
            }
            Err(e) => return Err(e),
        };
        let mut next = if kind == crate::patch::PatchKind::Apply {
            self.server_side_apply(rt, name, Some(&current), patch)?
        } else {
            let mut next = current.clone();
            crate::patch::apply(kind, &mut next, patch, rt.custom)?;
            next
        };
        if meta::resource_version(&next).is_empty() {
            meta::metadata_mut(&mut next).insert(
                "resourceVersion".into(),
                Value::String(meta::resource_version(&current).into()),
            );
        }
        self.update(
            rt,
            ns,
            name,
            next,
            WriteOpts {
                create_missing: false,
                ..opts
            },
        )
    }

    /// Deletes an object (DELETE). With finalizers it is only marked (deletionTimestamp,
    /// MODIFIED); it goes (DELETED) when the last finalizer is removed.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        preconditions: &Value,
    ) -> Result<Obj, ApiError> {
        let old = self.get(rt, ns, name)?;
        if let Some(uid) = preconditions.get("uid").and_then(Value::as_str)
            && uid != meta::uid(&old)
        {
            return Err(ApiError::conflict(
                &rt.plural,
                name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta::uid(&old)
                ),
            ));
        }
        if let Some(rv) = preconditions.get("resourceVersion").and_then(Value::as_str)
            && rv != meta::resource_version(&old)
        {
            return Err(ApiError::conflict(
                &rt.plural,
                name,
                format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    meta::resource_version(&old)
                ),
            ));
        }
        if !meta::finalizers(&old).is_empty() {
            if meta::is_deleting(&old) {
                return Ok(old);
            }
            let mut next = (*old).clone();
            let m = meta::metadata_mut(&mut next);
            m.insert("deletionTimestamp".into(), Value::String(meta::now()));
            m.insert("deletionGracePeriodSeconds".into(), json!(0));
            return Ok(self.commit(rt, EventType::Modified, next, Some(old)));
        }
        let last = (*old).clone();
        Ok(self.remove(rt, old, last))
    }

    /// Removes an object for good, then what depended on it: the objects of a deleted
    /// namespace or CRD, and objects whose every owner is gone (background cascade).
    fn remove(&mut self, rt: &ResourceType, old: Obj, last: Value) -> Obj {
        let removed = self.commit(rt, EventType::Deleted, last, Some(old));
        let mut doomed: Vec<Obj> = Vec::new();
        if rt.group.is_empty() && rt.plural == "namespaces" {
            let ns = meta::name(&removed).to_string();
            for kind in self.kinds.values() {
                for (k, o) in &kind.objects {
                    if k.namespace == ns {
                        doomed.push(o.clone());
                    }
                }
            }
        }
        if is_crd(rt)
            && let Ok(types) = crate::crd::served_types(&removed)
            && let Some(t) = types.first()
        {
            let key = t.store_key();
            let objs: Vec<Obj> = self
                .kinds
                .get(&key)
                .map(|k| k.objects.values().cloned().collect())
                .unwrap_or_default();
            for o in objs {
                let mut last = (*o).clone();
                meta::metadata_mut(&mut last).remove("finalizers");
                self.commit(t, EventType::Deleted, last, Some(o));
            }
            if !self.dry_run {
                self.registry.remove_all_versions(&key);
            }
        }
        let uid = meta::uid(&removed).to_string();
        for kind in self.kinds.values() {
            for o in kind.objects.values() {
                let owners: Vec<&str> = o
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .map(|refs| {
                        refs.iter()
                            .filter_map(|r| r.get("uid").and_then(Value::as_str))
                            .collect()
                    })
                    .unwrap_or_default();
                if owners.contains(&uid.as_str()) && owners.iter().all(|u| !self.uid_exists(u)) {
                    doomed.push(o.clone());
                }
            }
        }
        for o in doomed {
            let Some(t) = self.type_of(&o) else { continue };
            let _ = self.delete(&t, meta::namespace(&o), meta::name(&o), &Value::Null);
        }
        removed
    }

    fn uid_exists(&self, uid: &str) -> bool {
        self.kinds
            .values()
            .any(|k| k.objects.values().any(|o| meta::uid(o) == uid))
    }

    /// The served type of a stored object, from its apiVersion and kind.
    fn type_of(&self, obj: &Value) -> Option<ResourceType> {
        let api_version = obj.get("apiVersion").and_then(Value::as_str)?;
        let kind = obj.get("kind").and_then(Value::as_str)?;
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        self.registry
            .in_group_version(group, version)
            .find(|t| t.kind == kind)
            .cloned()
    }
}

/// What the API server does to a body before storing it: a Secret's `stringData` is
/// write-only, merged into `data` (base64) and never stored.
fn normalize(rt: &ResourceType, obj: &mut Value) {
    use base64::Engine;
    if !(rt.group.is_empty() && rt.plural == "secrets") {
        return;
    }
    let Some(Value::Object(plain)) = obj.as_object_mut().and_then(|o| o.remove("stringData"))
    else {
        return;
    };
    if !obj.get("data").is_some_and(Value::is_object) {
        obj["data"] = Value::Object(Default::default());
    }
    for (k, v) in plain {
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        obj["data"][k] = Value::String(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

fn is_crd(rt: &ResourceType) -> bool {
    rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions"
}

/// A body's `kind`/`apiVersion`, when given, must name the resource of the URL.
fn check_type(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    if let Some(kind) = obj.get("kind").and_then(Value::as_str)
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the object ({kind}) does not match the resource ({})",
            rt.kind
        )));
    }
    if let Some(av) = obj.get("apiVersion").and_then(Value::as_str) {
        let group = av.split_once('/').map_or("", |(g, _)| g);
        if group != rt.group {
            return Err(ApiError::bad_request(format!(
                "the apiVersion of the object ({av}) does not match the resource's group ({})",
                rt.group
            )));
        }
    }
    Ok(())
}

fn parse_continue(token: &str) -> Result<(u64, usize), ApiError> {
    let bad = || ApiError::bad_request(format!("invalid continue token {token:?}"));
    let mut parts = token.split('-');
    let _rv: u64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let id: u64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let offset: usize = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok((id, offset))
}
