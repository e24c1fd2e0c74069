//! What the operator remembers about each package between its passes, in one place
//! behind one lock: its run of failures (the backoff), the status it last wrote until
//! the package's watch delivers it, when a new package first came out of a pass still
//! progressing, when its progress words were last written, and who waits on it
//! (dependencies and components).
//!
//! Every rule that reads the clock takes `now` from its caller, so each is tested
//! without waiting. A package's uninstall forgets everything about it ([`Memory::forget`]).
//!
//! Caveat: the memory is the process's own; a restarted operator (or a new leader)
//! starts empty, which costs at most one more status write per package and a fresh
//! backoff, never a wrong status.

use crate::inputs::User;
use crate::objects::CREATED_TRUSTED_FOR;
use hoist_core::install::InstallRef;
use hoist_core::operator::pacing;
use hoist_kube::types::PackageStatus;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

// The pacing's windows are the core's rules (`hoist_core::operator::pacing`).
pub use hoist_core::operator::pacing::{FIRST_STATUS_GRACE, PROGRESS_WORDS_EVERY};

/// What identifies a run of failures of one package (see
/// [`hoist_kube::types::RETRY_ANNOTATION`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RetryKey {
    pub uid: String,
    pub generation: i64,
    pub token: String,
}

/// One package's pacing waits at one instant (see [`Memory::waits`]).
pub struct Waits<'a> {
    memory: &'a Memory,
    uid: &'a str,
    now: Instant,
}

impl pacing::Waits for Waits<'_> {
    fn first_status(&mut self) -> Option<Duration> {
        self.memory.first_status_wait(self.uid, self.now)
    }

    fn words(&mut self) -> Option<Duration> {
        self.memory.progress_words_wait(self.uid, self.now)
    }
}

/// The operator's memory of its packages (see the module).
#[derive(Default)]
pub struct Memory {
    packages: Mutex<Packages>,
}

#[derive(Default)]
struct Packages {
    /// Failures in a row, by uid; a new generation or retry token starts over.
    failures: HashMap<String, (RetryKey, u32)>,
    /// The status last written to each package (by uid), until its watch delivers it.
    written: HashMap<String, Written>,
    /// When each new package (by uid) first came out of a pass still progressing.
    first_progress: HashMap<String, Instant>,
    /// When each package (by uid) last had a progress status written.
    progress_written: HashMap<String, Instant>,
    /// Who waits on which install (dependencies, components).
    dependents: HashMap<InstallRef, BTreeSet<User>>,
}

struct Written {
    resource_version: String,
    status: PackageStatus,
    at: Instant,
}

impl Memory {
    fn lock(&self) -> MutexGuard<'_, Packages> {
        self.packages.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one more failure of the package and returns how many in a row (a new
    /// generation or retry token of `key` starts a new run).
    pub fn count_failure(&self, key: &RetryKey) -> u32 {
        let mut packages = self.lock();
        let entry = packages
            .failures
            .entry(key.uid.clone())
            .or_insert((key.clone(), 0));
        if entry.0 != *key {
            *entry = (key.clone(), 0);
        }
        entry.1 += 1;
        entry.1
    }

    /// Failures in a row of the package with `uid` in its current run (0 when none).
    pub fn failures(&self, uid: &str) -> u32 {
        self.lock().failures.get(uid).map_or(0, |(_, n)| *n)
    }

    /// A pass over `uid` succeeded: its run of failures ends.
    pub fn clear_failures(&self, uid: &str) {
        self.lock().failures.remove(uid);
    }

    /// Remembers that `status` was just written to `uid`, making resourceVersion `rv`
    /// (see [`Self::fresher`]).
    pub fn remember_written(&self, uid: &str, rv: String, status: &PackageStatus, now: Instant) {
        let mut packages = self.lock();
        packages
            .written
            .retain(|_, w| now.saturating_duration_since(w.at) < CREATED_TRUSTED_FOR);
        packages.written.insert(
            uid.to_string(),
            Written {
                resource_version: rv,
                status: status.clone(),
                at: now,
            },
        );
    }

    /// The status this operator last wrote to `uid`, when the package as its watch shows
    /// it (at resourceVersion `rv`, with status `shown`) has not caught up with that
    /// write; `None` when it is current. Passes are triggered by the events of what a
    /// package applied too, and those can come before the package's own: judged against
    /// the older status, a pass would write the same status twice.
    ///
    /// Caveat: a write is trusted for [`CREATED_TRUSTED_FOR`] at most; the status
    /// subresource is written by this operator only, so a newer object with another
    /// status is not expected within that time. The memory of a write goes once the
    /// watch delivers it.
    pub fn fresher(
        &self,
        uid: &str,
        rv: Option<&str>,
        shown: Option<&PackageStatus>,
        now: Instant,
    ) -> Option<PackageStatus> {
        let mut packages = self.lock();
        let w = packages.written.get(uid)?;
        if rv == Some(w.resource_version.as_str())
            || now.saturating_duration_since(w.at) >= CREATED_TRUSTED_FOR
        {
            packages.written.remove(uid);
            return None;
        }
        if shown == Some(&w.status) {
            return None;
        }
        Some(w.status.clone())
    }

    /// How long the first (progressing) status of the new package `uid` may still wait
    /// (see [`FIRST_STATUS_GRACE`]), counted from the first time it is asked; `None`:
    /// write it now.
    pub fn first_status_wait(&self, uid: &str, now: Instant) -> Option<Duration> {
        let mut packages = self.lock();
        let first = &mut packages.first_progress;
        first.retain(|_, at| now.saturating_duration_since(*at) < pacing::FIRST_ASK_KEPT);
        let at = *first.entry(uid.to_string()).or_insert(now);
        let wait = pacing::first_status_wait(now.saturating_duration_since(at));
        if wait.is_none() {
            first.remove(uid);
        }
        wait
    }

    /// Remembers that a progress status of `uid` is being written at `now`.
    pub fn wrote_progress(&self, uid: &str, now: Instant) {
        self.lock().progress_written.insert(uid.to_string(), now);
    }

    /// How long until a words-only progress update of `uid` may be written (at most one
    /// per [`PROGRESS_WORDS_EVERY`]); `None`: now.
    pub fn progress_words_wait(&self, uid: &str, now: Instant) -> Option<Duration> {
        let last = self.lock().progress_written.get(uid).copied();
        pacing::words_wait(last.map(|at| now.saturating_duration_since(at)))
    }

    /// The pacing's waits of the package with `uid` at `now`, as the core's
    /// [`pacing::pace`] asks for them.
    pub fn waits<'a>(&'a self, uid: &'a str, now: Instant) -> Waits<'a> {
        Waits {
            memory: self,
            uid,
            now,
        }
    }

    /// Remembers that `user` waits on the install at `at` (a dependency or component).
    pub fn remember_dependency(&self, at: &InstallRef, user: &User) {
        self.lock()
            .dependents
            .entry(at.clone())
            .or_default()
            .insert(user.clone());
    }

    /// Who waits on the install at `at`.
    pub fn dependents_of(&self, at: &InstallRef) -> Vec<User> {
        self.lock()
            .dependents
            .get(at)
            .map(|u| u.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets everything about the package with `uid` (the user `as_user` of its
    /// dependencies): its uninstall is done. Who waits on it stays remembered: they
    /// still wait, and its reinstall must move them on.
    pub fn forget(&self, uid: &str, as_user: &User) {
        let mut packages = self.lock();
        packages.failures.remove(uid);
        packages.written.remove(uid);
        packages.first_progress.remove(uid);
        packages.progress_written.remove(uid);
        packages.dependents.retain(|_, users| {
            users.remove(as_user);
            !users.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(uid: &str, generation: i64, token: &str) -> RetryKey {
        RetryKey {
            uid: uid.into(),
            generation,
            token: token.into(),
        }
    }

    fn status(message: &str) -> PackageStatus {
        PackageStatus {
            warnings: vec![message.into()],
            ..Default::default()
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn millis(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn failures_count_up_in_a_run_and_start_over_for_a_new_generation_or_retry_token() {
        // (the failures in order as (uid, generation, retry token), the count the last
        // one returns)
        type Failure = (&'static str, i64, &'static str);
        let cases: &[(&[Failure], u32)] = &[
            (&[("u", 1, "")], 1),
            (&[("u", 1, ""), ("u", 1, ""), ("u", 1, "")], 3),
            (&[("u", 1, ""), ("u", 1, ""), ("u", 2, "")], 1),
            (&[("u", 1, ""), ("u", 1, ""), ("u", 1, "retry-1")], 1),
            (&[("u", 1, ""), ("v", 1, ""), ("u", 1, "")], 2),
        ];
        for (failures, expected) in cases {
            let memory = Memory::default();
            let mut last = 0;
            for (uid, generation, token) in failures.iter() {
                last = memory.count_failure(&key(uid, *generation, token));
            }
            assert_eq!(last, *expected, "{failures:?}");
        }
        let memory = Memory::default();
        memory.count_failure(&key("u", 1, ""));
        memory.count_failure(&key("u", 1, ""));
        assert_eq!(memory.failures("u"), 2);
        memory.clear_failures("u");
        assert_eq!(memory.failures("u"), 0, "a success ends the run");
        assert_eq!(memory.count_failure(&key("u", 1, "")), 1);
    }

    #[test]
    fn a_written_status_stands_in_for_the_shown_one_until_the_watch_delivers_it() {
        // (the watch's resourceVersion, the status it shows, time since the write,
        // what the pass should read instead, whether the memory is kept, why); the
        // write made resourceVersion 7 with status "new"
        type Case = (
            &'static str,
            Option<&'static str>,
            Duration,
            Option<&'static str>,
            bool,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "5",
                Some("old"),
                millis(10),
                Some("new"),
                true,
                "the watch is behind",
            ),
            (
                "5",
                None,
                millis(10),
                Some("new"),
                true,
                "the watch has no status yet",
            ),
            (
                "7",
                Some("new"),
                millis(10),
                None,
                false,
                "the watch delivered the write",
            ),
            (
                "5",
                Some("new"),
                millis(10),
                None,
                true,
                "the same status shown at another version",
            ),
            (
                "5",
                Some("old"),
                CREATED_TRUSTED_FOR,
                None,
                false,
                "the write is too old to trust",
            ),
        ];
        for (rv, shown, since, expected, kept, why) in cases {
            let memory = Memory::default();
            let t0 = Instant::now();
            memory.remember_written("u", "7".into(), &status("new"), t0);
            let shown = shown.map(status);
            let got = memory.fresher("u", Some(rv), shown.as_ref(), t0 + *since);
            assert_eq!(got, expected.map(status), "{why}");
            assert_eq!(
                memory.lock().written.contains_key("u"),
                *kept,
                "{why}: kept"
            );
            assert_eq!(memory.fresher("v", Some(rv), None, t0 + *since), None);
        }
    }

    #[test]
    fn old_writes_are_dropped_when_another_is_remembered() {
        let memory = Memory::default();
        let t0 = Instant::now();
        memory.remember_written("u", "1".into(), &status("a"), t0);
        memory.remember_written("v", "2".into(), &status("b"), t0 + CREATED_TRUSTED_FOR);
        let written = &memory.lock().written;
        assert!(!written.contains_key("u") && written.contains_key("v"));
    }

    #[test]
    fn a_new_packages_first_status_waits_out_the_grace_counted_from_its_first_ask() {
        // (when it is asked, after the first ask; the wait returned)
        let cases: &[(&[Duration], Option<Duration>)] = &[
            (&[millis(0)], Some(FIRST_STATUS_GRACE)),
            (
                &[millis(0), millis(400)],
                Some(FIRST_STATUS_GRACE - millis(400)),
            ),
            (&[millis(0), FIRST_STATUS_GRACE], None),
            (&[millis(0), secs(5)], None),
            // Once it was written, a later progress starts a new grace.
            (&[millis(0), secs(5), secs(6)], Some(FIRST_STATUS_GRACE)),
            // A memory older than sixty graces is dropped (a package that never asked again).
            (
                &[millis(0), FIRST_STATUS_GRACE * 61],
                Some(FIRST_STATUS_GRACE),
            ),
        ];
        for (asks, expected) in cases {
            let memory = Memory::default();
            let t0 = Instant::now();
            let mut last = None;
            for at in asks.iter() {
                last = memory.first_status_wait("u", t0 + *at);
            }
            assert_eq!(last, *expected, "{asks:?}");
        }
    }

    #[test]
    fn words_only_progress_is_written_at_most_once_per_interval() {
        // (a progress written that long before, the wait)
        let cases: &[(Option<Duration>, Option<Duration>)] = &[
            (None, None),
            (Some(millis(0)), Some(PROGRESS_WORDS_EVERY)),
            (Some(millis(500)), Some(PROGRESS_WORDS_EVERY - millis(500))),
            (Some(PROGRESS_WORDS_EVERY), None),
            (Some(secs(60)), None),
        ];
        for (since, expected) in cases {
            let memory = Memory::default();
            let t0 = Instant::now();
            if since.is_some() {
                memory.wrote_progress("u", t0);
            }
            let now = t0 + since.unwrap_or_default();
            assert_eq!(memory.progress_words_wait("u", now), *expected, "{since:?}");
            assert_eq!(memory.progress_words_wait("v", now), None);
        }
    }

    #[test]
    fn dependents_are_remembered_per_install_once_each() {
        let memory = Memory::default();
        let db = InstallRef::new(None, "postgres");
        let a = User::Cluster("a".into());
        let b = User::Namespaced("team".into(), "b".into());
        memory.remember_dependency(&db, &a);
        memory.remember_dependency(&db, &b);
        memory.remember_dependency(&db, &a);
        assert_eq!(memory.dependents_of(&db), vec![a, b]);
        assert!(
            memory
                .dependents_of(&InstallRef::new(None, "redis"))
                .is_empty()
        );
    }

    #[test]
    fn forgetting_a_package_drops_everything_about_it_and_nothing_else() {
        let memory = Memory::default();
        let t0 = Instant::now();
        let db = InstallRef::new(None, "postgres");
        let me = InstallRef::new(Some("team"), "web");
        let (web, other) = (
            User::Namespaced("team".into(), "web".into()),
            User::Cluster("other".into()),
        );
        for uid in ["u", "o"] {
            memory.count_failure(&key(uid, 1, ""));
            memory.remember_written(uid, "7".into(), &status("new"), t0);
            memory.first_status_wait(uid, t0);
            memory.wrote_progress(uid, t0);
        }
        memory.remember_dependency(&db, &web);
        memory.remember_dependency(&db, &other);
        memory.remember_dependency(&InstallRef::new(None, "redis"), &web);
        memory.remember_dependency(&me, &other);

        memory.forget("u", &web);

        let packages = memory.lock();
        for (what, has_u, has_o) in [
            (
                "failures",
                packages.failures.contains_key("u"),
                packages.failures.contains_key("o"),
            ),
            (
                "written",
                packages.written.contains_key("u"),
                packages.written.contains_key("o"),
            ),
            (
                "first progress",
                packages.first_progress.contains_key("u"),
                packages.first_progress.contains_key("o"),
            ),
            (
                "progress written",
                packages.progress_written.contains_key("u"),
                packages.progress_written.contains_key("o"),
            ),
        ] {
            assert!(!has_u, "{what} of the uninstalled package kept");
            assert!(has_o, "{what} of another package dropped");
        }
        let waits: Vec<(&InstallRef, Vec<&User>)> = {
            let mut w: Vec<_> = packages
                .dependents
                .iter()
                .map(|(at, users)| (at, users.iter().collect()))
                .collect();
            w.sort_by_key(|(at, _)| at.to_string());
            w
        };
        assert_eq!(
            waits,
            vec![(&db, vec![&other]), (&me, vec![&other])],
            "its own waits go (redis, waited on by it alone, too); who waits on it stays"
        );
    }
}
