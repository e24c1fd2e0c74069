//! The page's package state, and how stream events change it. Pure: no DOM, no I/O.
//!
//! Guarantees: a change at or below the applied revision is ignored (never applied
//! twice); a snapshot replaces everything; the package list is "known" only after a
//! snapshot, so the page never says "no packages" from an unsynced cache.
//!
//! The [`Journal`] says which packages changed, so a view that shows thousands of them
//! (the Installed tables) updates one row per change instead of rereading the list.

use hoist_proto::v1::{self as pb, package_change::Change, watch_event::Event};
use std::collections::{BTreeMap, VecDeque};

pub type Key = (i32, String, String);

fn key(k: &pb::PackageKey) -> Key {
    (k.scope, k.namespace.clone(), k.name.clone())
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub status: Option<pb::Status>,
    /// `None` until the first snapshot.
    pub packages: Option<BTreeMap<Key, pb::Package>>,
    pub instance_id: String,
    pub revision: u64,
    /// The catalogue and repository states; `None` until the server sent them.
    pub catalogue: Option<pb::Catalogue>,
    /// Member clusters and billing; `None` until the server sent them.
    pub fleet: Option<pb::Fleet>,
    /// Which packages each applied change touched, for views that follow them one by one.
    pub journal: Journal,
}

/// The keys of the packages changed, in the order the changes were applied: a reader
/// keeps a cursor ([`Journal::cursor`]) and later asks what changed since
/// ([`Journal::since`]). Many readers may follow it; none drains it.
///
/// Bounded: it keeps the last [`Journal::KEPT`] keys. A reader that fell further behind,
/// or whose cursor is from before the last snapshot, is told to reread everything: the
/// same answer a snapshot gives, so a slow reader is never wrong, only slower.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journal {
    /// The sequence number the next key gets.
    next: u64,
    /// The `next` right after the last snapshot: a cursor below it predates it.
    snapshot_at: u64,
    /// The keys numbered `next - keys.len()` to `next - 1`.
    keys: VecDeque<Key>,
}

impl Journal {
    /// How many keys are kept: far more than a burst between two renders.
    pub const KEPT: usize = 4096;

    /// Where a reader that has seen everything up to now stands.
    pub fn cursor(&self) -> u64 {
        self.next
    }

    /// The keys changed since `cursor` (repeats included, oldest first), or `None` when
    /// the reader must reread every package: a snapshot came, or it fell too far behind.
    pub fn since(&self, cursor: u64) -> Option<impl Iterator<Item = &Key>> {
        let oldest = self.next - self.keys.len() as u64;
        if cursor < self.snapshot_at || cursor < oldest || cursor > self.next {
            return None;
        }
        Some(self.keys.iter().skip((cursor - oldest) as usize))
    }

    fn changed(&mut self, key: Key) {
        if self.keys.len() == Self::KEPT {
            self.keys.pop_front();
        }
        self.keys.push_back(key);
        self.next += 1;
    }

    fn snapshot(&mut self) {
        self.keys.clear();
        // A cursor taken before this snapshot is now below `snapshot_at`.
        self.next += 1;
        self.snapshot_at = self.next;
    }
}

/// What applying an event did, for the caller's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Status,
    Snapshot,
    Change,
    Heartbeat,
    Catalogue,
    Fleet,
    /// A change already applied (or from before the snapshot): ignored.
    Duplicate,
    /// A change that skips revisions: the caller must resubscribe.
    Gap,
}

impl Model {
    pub fn apply(&mut self, event: Event) -> Applied {
        match event {
            Event::Status(s) => {
                self.status = Some(s);
                Applied::Status
            }
            Event::Heartbeat(_) => Applied::Heartbeat,
            Event::Catalogue(c) => {
                self.catalogue = Some(c);
                Applied::Catalogue
            }
            Event::Fleet(f) => {
                self.fleet = Some(f);
                Applied::Fleet
            }
            Event::Snapshot(s) => {
                self.instance_id = s.instance_id;
                self.revision = s.revision;
                self.packages = Some(
                    s.packages
                        .into_iter()
                        .filter_map(|p| Some((key(p.key.as_ref()?), p)))
                        .collect(),
                );
                self.journal.snapshot();
                Applied::Snapshot
            }
            Event::Change(c) => {
                if c.revision <= self.revision {
                    return Applied::Duplicate;
                }
                if c.revision != self.revision + 1 {
                    return Applied::Gap;
                }
                let Some(packages) = self.packages.as_mut() else {
                    return Applied::Gap;
                };
                match c.change {
                    Some(Change::Upsert(p)) => {
                        if let Some(k) = p.key.as_ref().map(key) {
                            packages.insert(k.clone(), p);
                            self.journal.changed(k);
                        }
                    }
                    Some(Change::Delete(k)) => {
                        let k = key(&k);
                        packages.remove(&k);
                        self.journal.changed(k);
                    }
                    None => {}
                }
                self.revision = c.revision;
                Applied::Change
            }
        }
    }

    /// How many packages in the cluster are installed from `package_name`.
    pub fn installed_count(&self, package_name: &str) -> usize {
        self.packages.as_ref().map_or(0, |m| {
            m.values()
                .filter(|p| p.package_name == package_name)
                .count()
        })
    }

    /// The package with this key, if installed.
    pub fn package(&self, k: &Key) -> Option<&pb::Package> {
        self.packages.as_ref()?.get(k)
    }

    /// The keys of one scope's packages, in key order (a range of the map: no scan).
    pub fn keys_of_scope(&self, scope: pb::Scope) -> impl Iterator<Item = &Key> {
        let scope = scope as i32;
        let from = (scope, String::new(), String::new());
        let to = (scope + 1, String::new(), String::new());
        self.packages
            .iter()
            .flat_map(move |m| m.range(from.clone()..to.clone()).map(|(k, _)| k))
    }

    /// Packages of one scope, in key order.
    pub fn of_scope(&self, scope: pb::Scope) -> Vec<pb::Package> {
        self.packages
            .as_ref()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.0 == scope as i32)
                    .map(|(_, p)| p.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str) -> pb::Package {
        pb::Package {
            key: Some(pb::PackageKey {
                scope: pb::Scope::Cluster as i32,
                namespace: String::new(),
                name: name.into(),
            }),
            ..Default::default()
        }
    }

    fn upsert(rev: u64, name: &str) -> Event {
        Event::Change(pb::PackageChange {
            revision: rev,
            change: Some(Change::Upsert(pkg(name))),
        })
    }

    #[test]
    fn nothing_is_known_before_a_snapshot() {
        let mut m = Model::default();
        assert_eq!(m.packages, None);
        assert_eq!(m.apply(upsert(1, "a")), Applied::Gap);
        m.apply(Event::Snapshot(pb::Snapshot {
            instance_id: "i".into(),
            revision: 3,
            packages: vec![],
        }));
        assert_eq!(m.packages.as_ref().map(|p| p.len()), Some(0));
    }

    #[test]
    fn changes_apply_once_in_order_and_gaps_are_reported() {
        let mut m = Model::default();
        m.apply(Event::Snapshot(pb::Snapshot {
            instance_id: "i".into(),
            revision: 1,
            packages: vec![pkg("a")],
        }));
        assert_eq!(m.apply(upsert(2, "b")), Applied::Change);
        assert_eq!(m.apply(upsert(2, "b")), Applied::Duplicate);
        assert_eq!(m.apply(upsert(4, "c")), Applied::Gap);
        let del = Event::Change(pb::PackageChange {
            revision: 3,
            change: Some(Change::Delete(pkg("a").key.unwrap_or_default())),
        });
        assert_eq!(m.apply(del), Applied::Change);
        assert_eq!(
            m.of_scope(pb::Scope::Cluster)
                .iter()
                .map(|p| p.key.clone().unwrap_or_default().name)
                .collect::<Vec<_>>(),
            ["b"]
        );
    }

    fn names<'a>(keys: impl Iterator<Item = &'a Key>) -> Vec<&'a str> {
        keys.map(|k| k.2.as_str()).collect()
    }

    #[test]
    fn the_journal_names_each_change_since_a_cursor_and_a_snapshot_resets_readers() {
        let mut m = Model::default();
        let before_snapshot = m.journal.cursor();
        m.apply(Event::Snapshot(pb::Snapshot {
            instance_id: "i".into(),
            revision: 1,
            packages: vec![pkg("a")],
        }));
        assert!(m.journal.since(before_snapshot).is_none(), "reread all");
        let cursor = m.journal.cursor();
        assert_eq!(m.journal.since(cursor).map(names), Some(vec![]));
        m.apply(upsert(2, "b"));
        m.apply(upsert(3, "a"));
        m.apply(upsert(3, "a")); // a duplicate: not applied, not journalled
        assert_eq!(m.journal.since(cursor).map(names), Some(vec!["b", "a"]));
        let later = m.journal.cursor();
        assert_eq!(m.journal.since(later).map(names), Some(vec![]));
        assert_eq!(names(m.keys_of_scope(pb::Scope::Cluster)), ["a", "b"]);
        assert!(names(m.keys_of_scope(pb::Scope::Namespaced)).is_empty());
    }

    #[test]
    fn a_reader_that_fell_behind_the_kept_keys_rereads_everything() {
        let mut m = Model::default();
        m.apply(Event::Snapshot(pb::Snapshot {
            instance_id: "i".into(),
            revision: 0,
            packages: vec![],
        }));
        let cursor = m.journal.cursor();
        for rev in 1..=Journal::KEPT as u64 {
            m.apply(upsert(rev, "a"));
        }
        assert_eq!(
            m.journal.since(cursor).map(Iterator::count),
            Some(Journal::KEPT)
        );
        m.apply(upsert(Journal::KEPT as u64 + 1, "b"));
        assert!(m.journal.since(cursor).is_none());
        assert_eq!(
            m.journal.since(cursor + 1).map(Iterator::count),
            Some(Journal::KEPT)
        );
    }
}
