//! The page's package state, and how stream events change it. Pure: no DOM, no I/O.
//!
//! Guarantees: a change at or below the applied revision is ignored (never applied
//! twice); a snapshot replaces everything; the package list is "known" only after a
//! snapshot, so the page never says "no packages" from an unsynced cache.

use hoist_proto::v1::{self as pb, package_change::Change, watch_event::Event};
use std::collections::BTreeMap;

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
                            packages.insert(k, p);
                        }
                    }
                    Some(Change::Delete(k)) => {
                        packages.remove(&key(&k));
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
}
