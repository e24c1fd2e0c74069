//! The ledger under random interleavings (issue 11): registrations, deletes (made while
//! the controller runs or is down), cleanups repeated, finalizers stripped by hand,
//! sweeps, probes of members that fail, come back or are replaced, controller restarts
//! that lose what was only in memory, probe events delivered twice, and stale second
//! writers of a stop. After every
//! step: at most one open record per cluster and none overlapping, no stop ever moved,
//! billed seconds equal to the sum of the intervals, and a cleaned-up cluster billed no
//! more.

use hoist_core::fleet::Seconds;
use hoist_core::fleet::ledger::{self, Record};
use hoist_core::fleet::probe::{Outcome, Policy, Probed};
use proptest::prelude::*;
use std::collections::BTreeMap;

const CLUSTERS: usize = 3;

#[derive(Debug, Clone)]
enum Step {
    Register(usize),
    Delete(usize),
    Cleanup(usize),
    StripFinalizer(usize),
    Sweep,
    Probe(usize),
    ProbeTwice(usize),
    MemberDown(usize),
    MemberUp(usize),
    ReplaceMember(usize),
    RevokeCredentials(usize),
    ControllerDown,
    ControllerUp,
    /// A second writer (another replica, a retry) stops a record it read while it was
    /// open: the stop must not move.
    StaleStop(usize),
    Tick(Seconds),
}

fn step() -> impl Strategy<Value = Step> {
    let c = 0..CLUSTERS;
    prop_oneof![
        c.clone().prop_map(Step::Register),
        c.clone().prop_map(Step::Delete),
        c.clone().prop_map(Step::Cleanup),
        c.clone().prop_map(Step::StripFinalizer),
        Just(Step::Sweep),
        c.clone().prop_map(Step::Probe),
        c.clone().prop_map(Step::ProbeTwice),
        c.clone().prop_map(Step::MemberDown),
        c.clone().prop_map(Step::MemberUp),
        c.clone().prop_map(Step::ReplaceMember),
        c.clone().prop_map(Step::RevokeCredentials),
        Just(Step::ControllerDown),
        Just(Step::ControllerUp),
        c.clone().prop_map(Step::StaleStop),
        (1i64..5000).prop_map(Step::Tick),
    ]
}

/// One Cluster object (by uid) and the member behind it.
#[derive(Debug, Clone, Default)]
struct Cluster {
    uid: String,
    deleting_at: Option<Seconds>,
    /// What the controller knows (its in-memory part is lost on restart).
    probed: Probed,
}

#[derive(Debug, Default)]
struct World {
    now: Seconds,
    clusters: BTreeMap<usize, Cluster>,
    /// Incarnations, so a re-registered slot is a new Cluster (new uid).
    incarnation: [u32; CLUSTERS],
    member_up: [bool; CLUSTERS],
    member_identity: [u32; CLUSTERS],
    credentials_ok: [bool; CLUSTERS],
    controller_up: bool,
    ledger: Vec<Record>,
    first_stops: BTreeMap<String, (Seconds, ledger::StopSource)>,
    cleaned: Vec<String>,
}

impl World {
    fn probe(&mut self, i: usize, twice: bool) {
        if !self.controller_up {
            return;
        }
        let policy = Policy {
            vanish_after: Some(20_000),
            ..Policy::default()
        };
        let Some(c) = self.clusters.get_mut(&i) else {
            return;
        };
        if c.deleting_at.is_some() {
            return; // a deleting cluster is only cleaned up, never probed
        }
        let outcome = if !self.member_up[i] {
            Outcome::Failed("timeout".into())
        } else if !self.credentials_ok[i] {
            Outcome::Refused("401".into())
        } else {
            Outcome::Ok {
                identity: format!("ks-{i}-{}", self.member_identity[i]),
                version: "v1.32.0".into(),
            }
        };
        let events = c.probed.observe(outcome, self.now, &policy);
        let uid = c.uid.clone();
        for e in &events {
            ledger::on_probe(&mut self.ledger, &uid, e);
            if twice {
                ledger::on_probe(&mut self.ledger, &uid, e);
            }
        }
    }

    fn apply(&mut self, s: Step) {
        match s {
            Step::Register(i) => {
                if !self.clusters.contains_key(&i) {
                    self.incarnation[i] += 1;
                    self.member_up[i] = true;
                    self.credentials_ok[i] = true;
                    self.clusters.insert(
                        i,
                        Cluster {
                            uid: format!("cluster-{i}-{}", self.incarnation[i]),
                            ..Default::default()
                        },
                    );
                }
            }
            Step::Delete(i) => {
                if let Some(c) = self.clusters.get_mut(&i)
                    && c.deleting_at.is_none()
                {
                    // The API server's clock; the controller need not be running.
                    c.deleting_at = Some(self.now);
                }
            }
            Step::Cleanup(i) => {
                if !self.controller_up {
                    return;
                }
                if let Some(c) = self.clusters.get(&i)
                    && let Some(at) = c.deleting_at
                {
                    let uid = c.uid.clone();
                    ledger::on_deleted(&mut self.ledger, &uid, at);
                    // A retry of the cleanup changes nothing.
                    ledger::on_deleted(&mut self.ledger, &uid, self.now);
                    self.clusters.remove(&i);
                    self.cleaned.push(uid);
                }
            }
            Step::StripFinalizer(i) => {
                if self
                    .clusters
                    .get(&i)
                    .is_some_and(|c| c.deleting_at.is_some())
                {
                    self.clusters.remove(&i);
                }
            }
            Step::Sweep => {
                if self.controller_up {
                    let existing: Vec<String> =
                        self.clusters.values().map(|c| c.uid.clone()).collect();
                    let refs: Vec<&str> = existing.iter().map(String::as_str).collect();
                    ledger::sweep(&mut self.ledger, &refs, self.now);
                }
            }
            Step::Probe(i) => self.probe(i, false),
            Step::ProbeTwice(i) => self.probe(i, true),
            Step::MemberDown(i) => self.member_up[i] = false,
            Step::MemberUp(i) => self.member_up[i] = true,
            Step::ReplaceMember(i) => self.member_identity[i] += 1,
            Step::RevokeCredentials(i) => self.credentials_ok[i] = !self.credentials_ok[i],
            Step::ControllerDown => self.controller_up = false,
            Step::ControllerUp => {
                if !self.controller_up {
                    self.controller_up = true;
                    // A restart keeps what the Cluster's status holds (identity, last
                    // success, whether it vanished) and loses the counters.
                    for c in self.clusters.values_mut() {
                        c.probed = Probed {
                            identity: c.probed.identity.clone(),
                            version: c.probed.version.clone(),
                            first_seen: c.probed.first_seen,
                            last_success: c.probed.last_success,
                            vanished: c.probed.vanished,
                            ..Default::default()
                        };
                    }
                }
            }
            Step::StaleStop(i) => {
                let prefix = format!("cluster-{i}-");
                if let Some(r) = self
                    .ledger
                    .iter_mut()
                    .filter(|r| r.cluster_uid.starts_with(&prefix))
                    .max_by_key(|r| (r.cluster_uid.clone(), r.seq))
                    && !r.is_open()
                {
                    r.stop(self.now, ledger::StopSource::Orphaned);
                }
            }
            Step::Tick(dt) => self.now += dt,
        }
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let v = ledger::violations(&self.ledger);
        prop_assert!(v.is_empty(), "{v:?}");
        for r in &self.ledger {
            if let Some(stop) = r.stop {
                let first = *self.first_stops.entry(r.name()).or_insert(stop);
                prop_assert_eq!(first, stop, "the stop of {} moved", r.name());
            }
        }
        let by_hand: Seconds = self
            .ledger
            .iter()
            .map(|r| r.stop.map_or(self.now, |(t, _)| t) - r.start)
            .sum();
        prop_assert_eq!(
            ledger::seconds(&self.ledger, 0, Seconds::MAX, self.now),
            by_hand
        );
        for uid in &self.cleaned {
            prop_assert!(
                !self
                    .ledger
                    .iter()
                    .any(|r| &r.cluster_uid == uid && r.is_open()),
                "{uid} was cleaned up and is still billed"
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_holds_under_any_interleaving(steps in proptest::collection::vec(step(), 1..120)) {
        let mut w = World { controller_up: true, ..Default::default() };
        for s in steps {
            w.apply(s);
            w.check()?;
        }
        // At the end, a sweep leaves nothing billed for a cluster that is gone.
        w.controller_up = true;
        w.apply(Step::Sweep);
        w.check()?;
        let existing: Vec<&str> = w.clusters.values().map(|c| c.uid.as_str()).collect();
        prop_assert!(w
            .ledger
            .iter()
            .filter(|r| r.is_open())
            .all(|r| existing.contains(&r.cluster_uid.as_str())));
    }
}
