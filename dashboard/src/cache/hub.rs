//! The change hub: the packages as the dashboard sees them, a revision per change, a
//! bounded ring of recent changes to resume from, and a broadcast to every stream.
//!
//! A domain core: it holds protocol messages, never Kubernetes objects (compactly: see
//! [`super::stored`]).
//!
//! Guarantees:
//! - a change that alters nothing (same package, same resourceVersion) gets no revision
//!   and is not broadcast, so a relist after a dropped watch or a 410 emits only what
//!   really changed, and deletes only what is really gone ([`Hub::reconcile`]);
//! - [`Hub::subscribe`] resumes from a revision when the ring still holds every change
//!   after it and the instance id matches, and otherwise starts with a snapshot; it
//!   subscribes under the same lock that orders changes, so nothing is missed or
//!   repeated between the start and the live changes;
//! - publishing never waits for a subscriber: the broadcast channel is bounded, and a
//!   subscriber that falls behind is told so and resubscribes from a snapshot;
//! - a (re)list is staged as it arrives ([`Hub::stage`]) and applied whole at its end
//!   ([`Hub::commit`]): until then readers see the packages as they were, and the list
//!   is never held as protocol messages beside the packages.

use super::shared::SharedChange;
use super::stored::{Interner, Stored};
// The key lives with how a package is kept (`stored`); re-exported here, where the
// hub's users have always found it.
pub use super::stored::{Key, cmp_str, key_of};
use hoist_proto::v1::{Package, PackageChange, PackageKey, Snapshot, package_change::Change};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// [`key_of`], with the namespace shared through `strings`.
fn stored_key(k: &PackageKey, strings: &mut Interner) -> Key {
    Key {
        scope: k.scope,
        namespace: strings.intern(&k.namespace),
        name: k.name.as_str().into(),
    }
}

/// Whether `new` changes nothing against `old`. Objects from the API server with the
/// same resourceVersion are the same object, so that is compared first (one short
/// string); a full comparison only when there is no resourceVersion (tests, fixtures).
fn unchanged(old: Option<&Stored>, key: &Key, new: &Package) -> bool {
    match old {
        None => false,
        Some(old) if !new.resource_version.is_empty() => {
            old.resource_version() == new.resource_version
        }
        Some(old) => old.to_package(key) == *new,
    }
}

/// Whether a staged package is the one held (see [`unchanged`]).
fn same(old: Option<&Stored>, new: &Stored) -> bool {
    match old {
        None => false,
        Some(old) if !new.resource_version().is_empty() => {
            old.resource_version() == new.resource_version()
        }
        Some(old) => old == new,
    }
}

/// What subscribers receive.
#[derive(Debug, Clone)]
pub enum HubEvent {
    /// Encoded once for every stream ([`SharedChange`]).
    Change(Arc<SharedChange>),
    /// A relist changed more than the ring can hold (or loaded a scope whole): every
    /// stream sends a fresh snapshot.
    Resync,
    /// Something a stream sends besides packages may have changed (status, catalogue,
    /// fleet) or the server stops: each stream reads its own watch channels
    /// (`api::watch`). Sent by [`Hub::control`].
    Control,
    /// Time for a heartbeat on every stream (sent by [`Hub::heartbeat`]).
    Heartbeat(hoist_proto::v1::Heartbeat),
}

/// Where a subscriber starts.
#[derive(Debug)]
pub enum Start {
    Snapshot(Snapshot),
    /// The changes after the requested revision, in order (possibly none).
    Replay(Vec<Arc<SharedChange>>),
}

struct State {
    revision: u64,
    /// Per scope (so a scope's first list becomes its map whole), in key order.
    packages: BTreeMap<i32, BTreeMap<Key, Stored>>,
    /// The strings `packages` share; purged as packages change.
    strings: Interner,
    /// Changes since the last purge of `strings`.
    since_purge: usize,
    ring: VecDeque<Arc<SharedChange>>,
    /// Per scope, the (re)list in progress (see [`Hub::stage`]).
    staging: std::collections::HashMap<i32, Vec<(Key, Stored)>>,
}

/// Single changes between purges of the interner (a relist always purges).
const PURGE_EVERY: usize = 1024;

impl State {
    fn store(&mut self, key: Key, p: &Package) {
        let stored = Stored::new(p, &mut self.strings);
        self.packages
            .entry(key.scope)
            .or_default()
            .insert(key, stored);
        self.changed();
    }

    fn get(&self, key: &Key) -> Option<&Stored> {
        self.packages.get(&key.scope)?.get(key)
    }

    fn changed(&mut self) {
        self.since_purge += 1;
        if self.since_purge >= PURGE_EVERY {
            self.purge();
        }
    }

    fn purge(&mut self) {
        self.since_purge = 0;
        self.strings.purge();
    }
}

pub struct Hub {
    state: Mutex<State>,
    tx: broadcast::Sender<HubEvent>,
    instance_id: String,
    ring_capacity: usize,
}

impl Hub {
    /// A hub with a new random instance id, keeping `ring_capacity` changes to resume
    /// from and buffering `subscriber_buffer` events per subscriber.
    pub fn new(ring_capacity: usize, subscriber_buffer: usize) -> Self {
        Self {
            state: Mutex::new(State {
                revision: 0,
                packages: BTreeMap::new(),
                strings: Interner::default(),
                since_purge: 0,
                ring: VecDeque::new(),
                staging: Default::default(),
            }),
            tx: broadcast::channel(subscriber_buffer.max(1)).0,
            instance_id: uuid::Uuid::new_v4().to_string(),
            ring_capacity: ring_capacity.max(1),
        }
    }

    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn revision(&self) -> u64 {
        self.lock().revision
    }

    pub fn len(&self) -> usize {
        self.lock().packages.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, key: &Key) -> Option<Package> {
        let s = self.lock();
        s.packages
            .get(&key.scope)?
            .get_key_value(key)
            .map(|(k, p)| p.to_package(k))
    }

    /// The keys of the packages installed from `package_name`, without copying the rest.
    pub fn installed(&self, package_name: &str) -> Vec<PackageKey> {
        self.lock()
            .packages
            .values()
            .flatten()
            .filter(|(k, p)| p.package_name(k) == package_name)
            .map(|(k, _)| k.to_package_key())
            .collect()
    }

    /// Every package, in key order, with the revision they reflect.
    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock();
        self.snapshot_of(&s)
    }

    fn snapshot_of(&self, s: &State) -> Snapshot {
        Snapshot {
            instance_id: self.instance_id.clone(),
            revision: s.revision,
            packages: s
                .packages
                .values()
                .flatten()
                .map(|(k, p)| p.to_package(k))
                .collect(),
        }
    }

    fn publish(&self, s: &mut State, change: Change) -> u64 {
        s.revision += 1;
        let c = Arc::new(SharedChange::new(PackageChange {
            revision: s.revision,
            change: Some(change),
        }));
        s.ring.push_back(c.clone());
        while s.ring.len() > self.ring_capacity {
            s.ring.pop_front();
        }
        let _ = self.tx.send(HubEvent::Change(c));
        s.revision
    }

    /// Inserts or replaces a package; `None` when it was already exactly so.
    pub fn upsert(&self, p: Package) -> Option<u64> {
        let mut s = self.lock();
        let key = stored_key(p.key.as_ref()?, &mut s.strings);
        if unchanged(s.get(&key), &key, &p) {
            return None;
        }
        s.store(key, &p);
        Some(self.publish(&mut s, Change::Upsert(p)))
    }

    /// Removes a package; `None` when it was not there.
    pub fn delete(&self, key: &PackageKey) -> Option<u64> {
        let mut s = self.lock();
        let key = key_of(key);
        s.packages.get_mut(&key.scope)?.remove(&key)?;
        s.changed();
        Some(self.publish(&mut s, Change::Delete(key.to_package_key())))
    }

    /// After a (re)list of one scope: upserts what differs and deletes what the list no
    /// longer has. Returns how many changes that made. ([`Hub::begin`], [`Hub::stage`]
    /// for each listed package, then [`Hub::commit`].)
    pub fn reconcile(&self, scope: i32, listed: Vec<Package>) -> usize {
        self.begin(scope);
        for p in &listed {
            self.stage(scope, p);
        }
        drop(listed);
        self.commit(scope)
    }

    /// A (re)list of `scope` begins: what was staged for it before is dropped.
    pub fn begin(&self, scope: i32) {
        self.lock().staging.remove(&scope);
    }

    /// One package of the (re)list of `scope`, kept aside in its compact form until
    /// [`Hub::commit`]: a list of 10k packages is never held as messages too.
    pub fn stage(&self, scope: i32, p: &Package) {
        let mut s = self.lock();
        let Some(k) = p.key.as_ref() else { return };
        let State {
            staging, strings, ..
        } = &mut *s;
        let key = stored_key(k, strings);
        let stored = Stored::new(p, strings);
        staging.entry(scope).or_default().push((key, stored));
    }

    /// The (re)list of `scope` is complete: whatever it did not stage is gone.
    ///
    /// When the changes are more than half the ring (a relist after a long outage), or
    /// this is the scope's first list (before READY, when no stream follows changes),
    /// they are applied as one revision: the ring is emptied, so resuming streams get a
    /// snapshot, and subscribers are told to resync. Cheaper for everyone than
    /// thousands of single changes, and the outcome is the same.
    pub fn commit(&self, scope: i32) -> usize {
        let mut s = self.lock();
        // Collecting sorts the list and builds the map bottom-up, with full nodes: a
        // third of the memory of inserting one by one (measured).
        let listed: BTreeMap<Key, Stored> = s
            .staging
            .remove(&scope)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let held = s.packages.entry(scope).or_default();
        let first = held.is_empty();
        let gone: Vec<Key> = held
            .keys()
            .filter(|k| !listed.contains_key(*k))
            .cloned()
            .collect();
        let changed = listed
            .iter()
            .filter(|(k, p)| !same(held.get(*k), p))
            .count();
        let changes = gone.len() + changed;
        if (first && changes > 0) || changes > self.ring_capacity / 2 {
            // The list becomes the scope's map whole.
            *held = listed;
            s.revision += 1;
            s.ring.clear();
            s.purge();
            let _ = self.tx.send(HubEvent::Resync);
            return changes;
        }
        for k in gone {
            if s.packages
                .get_mut(&scope)
                .and_then(|m| m.remove(&k))
                .is_some()
            {
                self.publish(&mut s, Change::Delete(k.to_package_key()));
            }
        }
        for (k, p) in listed {
            if !same(s.get(&k), &p) {
                let message = p.to_package(&k);
                s.packages.entry(scope).or_default().insert(k, p);
                self.publish(&mut s, Change::Upsert(message));
            }
        }
        s.purge();
        changes
    }

    /// Subscribes: where to start, and the live events after it.
    pub fn subscribe(
        &self,
        instance_id: &str,
        resume_from: u64,
    ) -> (Start, broadcast::Receiver<HubEvent>) {
        let s = self.lock();
        let rx = self.tx.subscribe();
        let oldest_kept = s.ring.front().map_or(s.revision + 1, |c| c.revision());
        let resumable = resume_from > 0
            && instance_id == self.instance_id
            && resume_from <= s.revision
            && resume_from + 1 >= oldest_kept;
        let start = if resumable {
            Start::Replay(
                s.ring
                    .iter()
                    .filter(|c| c.revision() > resume_from)
                    .cloned()
                    .collect(),
            )
        } else {
            Start::Snapshot(self.snapshot_of(&s))
        };
        (start, rx)
    }

    /// A receiver of what is broadcast from now on, without a start: for a stream that
    /// waits for READY (it sees [`HubEvent::Control`]s) before it [`Self::subscribe`]s.
    pub fn signals(&self) -> broadcast::Receiver<HubEvent> {
        self.tx.subscribe()
    }

    /// Tells every stream to re-read its signals ([`HubEvent::Control`]). Never waits.
    pub fn control(&self) {
        let _ = self.tx.send(HubEvent::Control);
    }

    /// Sends every stream a heartbeat carrying the current revision and the time.
    pub fn heartbeat(&self) {
        let beat = hoist_proto::v1::Heartbeat {
            revision: self.revision(),
            server_unix_ms: hoist_kube::reflector::readiness::unix_ms(),
        };
        let _ = self.tx.send(HubEvent::Heartbeat(beat));
    }

    /// Streams subscribed: open `Watch` streams, before READY and after.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_proto::v1::Scope;

    pub fn pkg(name: &str, rv: &str) -> Package {
        Package {
            key: Some(PackageKey {
                scope: Scope::Cluster as i32,
                namespace: String::new(),
                name: name.into(),
            }),
            package_name: name.into(),
            resource_version: rv.into(),
            ..Default::default()
        }
    }

    #[test]
    fn unchanged_upserts_get_no_revision() {
        let hub = Hub::new(10, 10);
        assert_eq!(hub.upsert(pkg("a", "1")), Some(1));
        assert_eq!(hub.upsert(pkg("a", "1")), None);
        assert_eq!(hub.upsert(pkg("a", "2")), Some(2));
    }

    #[test]
    fn reconcile_after_relist_changes_only_what_differs() {
        let hub = Hub::new(10, 10);
        hub.upsert(pkg("a", "1"));
        hub.upsert(pkg("b", "1"));
        let (_, mut rx) = hub.subscribe("", 0);
        assert_eq!(
            hub.reconcile(Scope::Cluster as i32, vec![pkg("a", "1"), pkg("c", "1")]),
            2
        );
        let mut seen = Vec::new();
        while let Ok(HubEvent::Change(c)) = rx.try_recv() {
            seen.push(c.change().change.clone());
        }
        assert!(
            matches!(&seen[0], Some(Change::Delete(k)) if k.name == "b"),
            "{seen:?}"
        );
        assert!(
            matches!(&seen[1], Some(Change::Upsert(p)) if p.package_name == "c"),
            "{seen:?}"
        );
        assert_eq!(seen.len(), 2, "a was not touched");
        assert_eq!(
            hub.reconcile(Scope::Namespaced as i32, vec![]),
            0,
            "another scope is left alone"
        );
    }

    #[test]
    fn a_large_reconcile_is_one_revision_and_a_resync() {
        let hub = Hub::new(4, 10);
        let id = hub.instance_id().to_string();
        hub.upsert(pkg("a", "1"));
        let (_, mut rx) = hub.subscribe(&id, 1);
        let listed: Vec<Package> = (0..10).map(|i| pkg(&format!("p{i}"), "1")).collect();
        assert_eq!(hub.reconcile(Scope::Cluster as i32, listed), 11);
        assert_eq!((hub.revision(), hub.len()), (2, 10));
        assert!(matches!(rx.try_recv(), Ok(HubEvent::Resync)));
        assert!(
            matches!(hub.subscribe(&id, 1).0, Start::Snapshot(_)),
            "the ring cannot replay a bulk change"
        );
    }

    #[test]
    fn a_scopes_first_list_leaves_the_other_scope_and_snapshots_stay_in_key_order() {
        let hub = Hub::new(16, 10);
        let mut ns = pkg("web", "1");
        ns.key = Some(PackageKey {
            scope: Scope::Namespaced as i32,
            namespace: "team-a".into(),
            name: "web".into(),
        });
        assert_eq!(hub.reconcile(Scope::Namespaced as i32, vec![ns.clone()]), 1);
        // Listed out of order, staged one by one as a watcher delivers them.
        hub.begin(Scope::Cluster as i32);
        for name in ["c", "a", "b"] {
            hub.stage(Scope::Cluster as i32, &pkg(name, "1"));
        }
        assert_eq!(hub.commit(Scope::Cluster as i32), 3);
        let names: Vec<String> = hub
            .snapshot()
            .packages
            .into_iter()
            .filter_map(|p| p.key.map(|k| k.name))
            .collect();
        assert_eq!(
            names,
            ["a", "b", "c", "web"],
            "cluster scope first, then by name"
        );
        assert_eq!(hub.get(&key_of(ns.key.as_ref().expect("key"))), Some(ns));
    }

    #[test]
    fn resume_replays_from_the_ring_or_falls_back_to_a_snapshot() {
        let hub = Hub::new(2, 10);
        for i in 0..4 {
            hub.upsert(pkg("a", &i.to_string()));
        }
        let id = hub.instance_id().to_string();
        match hub.subscribe(&id, 3).0 {
            Start::Replay(r) => assert_eq!(r.iter().map(|c| c.revision()).collect::<Vec<_>>(), [4]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(hub.subscribe(&id, 4).0, Start::Replay(r) if r.is_empty()));
        assert!(
            matches!(hub.subscribe(&id, 1).0, Start::Snapshot(_)),
            "revision 2 left the ring"
        );
        assert!(
            matches!(hub.subscribe("other-instance", 3).0, Start::Snapshot(_)),
            "the server restarted"
        );
        assert!(
            matches!(hub.subscribe(&id, 99).0, Start::Snapshot(_)),
            "a revision from the future"
        );
    }
}
