//! What the fleet controller remembers about each Cluster (by uid) between its passes,
//! in one place behind one lock: what its probes learnt ([`Probed`]), the member client
//! built from its kubeconfig (with the Secret version and context it was built from),
//! and when its next probe is due (for the lateness metric).
//!
//! Every method that reads the clock takes `now` from its caller. A Cluster's cleanup
//! forgets everything about it ([`Memory::forget`]).
//!
//! Caveat: the memory is the process's own; a restarted controller (or a new leader)
//! starts from what each Cluster's status says ([`crate::status::seed`]), builds its
//! member clients again and counts no lateness for each Cluster's first probe.

use hoist_core::fleet::probe::Probed;
use kube::Client;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The controller's memory of its Clusters (see the module).
#[derive(Default)]
pub struct Memory {
    clusters: Mutex<Clusters>,
}

#[derive(Default)]
struct Clusters {
    /// What the probes learnt, by uid.
    probed: HashMap<String, Probed>,
    /// Member clients, by uid.
    members: HashMap<String, Member>,
    /// When each Cluster's next probe was due, by uid.
    due: HashMap<String, Instant>,
}

/// A member client, built from one version of its kubeconfig Secret and one context.
struct Member {
    source: String,
    client: Client,
}

impl Memory {
    fn lock(&self) -> MutexGuard<'_, Clusters> {
        self.clusters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the probes of `uid` learnt, if this process probed it.
    pub fn probed(&self, uid: &str) -> Option<Probed> {
        self.lock().probed.get(uid).cloned()
    }

    /// How late `uid`'s pass is at `now` against the probe it scheduled (once: the due
    /// time is forgotten); `None` before its first scheduled probe.
    pub fn lateness(&self, uid: &str, now: Instant) -> Option<Duration> {
        let due = self.lock().due.remove(uid)?;
        Some(now.saturating_duration_since(due))
    }

    /// A pass over `uid` ended: what its probes learnt, and when it is probed next.
    pub fn remember(&self, uid: String, probed: Probed, due: Instant) {
        let mut clusters = self.lock();
        clusters.probed.insert(uid.clone(), probed);
        clusters.due.insert(uid, due);
    }

    /// The member client of `uid`, if one was built from `source` (its Secret's version,
    /// key and context).
    pub fn member(&self, uid: &str, source: &str) -> Option<Client> {
        self.lock()
            .members
            .get(uid)
            .filter(|m| m.source == source)
            .map(|m| m.client.clone())
    }

    /// Keeps `client`, built from `source`, as `uid`'s member client.
    pub fn keep_member(&self, uid: String, source: String, client: Client) {
        self.lock().members.insert(uid, Member { source, client });
    }

    /// Forgets `uid`'s member client (its kubeconfig was refused: nothing of an earlier
    /// one is used).
    pub fn forget_member(&self, uid: &str) {
        self.lock().members.remove(uid);
    }

    /// Member clients held now (one per Cluster probed).
    pub fn member_clients(&self) -> usize {
        self.lock().members.len()
    }

    /// Forgets every Cluster `present` does not hold: what a pass over a copy of a gone
    /// Cluster left (a member client holds connections and tasks).
    pub fn keep_only(&self, present: impl Fn(&str) -> bool) {
        let mut clusters = self.lock();
        clusters.probed.retain(|uid, _| present(uid));
        clusters.members.retain(|uid, _| present(uid));
        clusters.due.retain(|uid, _| present(uid));
    }

    /// Forgets everything about `uid` (its Cluster is gone).
    pub fn forget(&self, uid: &str) {
        let mut clusters = self.lock();
        clusters.probed.remove(uid);
        clusters.members.remove(uid);
        clusters.due.remove(uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_counted_once_against_the_probe_a_pass_scheduled() {
        let memory = Memory::default();
        let start = Instant::now();
        assert_eq!(memory.lateness("u", start), None, "nothing scheduled yet");
        memory.remember(
            "u".into(),
            Probed::default(),
            start + Duration::from_secs(30),
        );
        assert_eq!(
            memory.lateness("u", start + Duration::from_secs(32)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            memory.lateness("u", start + Duration::from_secs(40)),
            None,
            "once"
        );
        memory.remember(
            "u".into(),
            Probed::default(),
            start + Duration::from_secs(60),
        );
        assert_eq!(
            memory.lateness("u", start),
            Some(Duration::ZERO),
            "early is not late"
        );
    }

    #[test]
    fn a_forgotten_cluster_starts_over() {
        let memory = Memory::default();
        let probed = Probed {
            identity: Some("k".into()),
            ..Probed::default()
        };
        memory.remember("u".into(), probed.clone(), Instant::now());
        assert_eq!(memory.probed("u"), Some(probed));
        memory.forget("u");
        assert_eq!(memory.probed("u"), None);
        assert_eq!(memory.lateness("u", Instant::now()), None);
    }

    #[test]
    fn only_the_clusters_still_present_are_kept() {
        let memory = Memory::default();
        memory.remember("gone".into(), Probed::default(), Instant::now());
        memory.remember("here".into(), Probed::default(), Instant::now());
        memory.keep_only(|uid| uid == "here");
        assert!(memory.probed("gone").is_none());
        assert!(memory.probed("here").is_some());
    }
}
