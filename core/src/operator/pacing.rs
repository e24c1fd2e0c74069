//! How often a package's status is written while it progresses: a new package's first
//! status waits a moment (most become Ready within it, and are then written once, as
//! Ready), and a progress that only changes its words (messages, object health) is
//! written at most once per [`PROGRESS_WORDS_EVERY`]. Anything else is written at once.
//!
//! Guarantees: only a `Progressing` status is ever held back; a stopping operator
//! never holds back a first status (it writes what it has); a hold is always shorter
//! than the window that caused it, so every status is written in the end.
//!
//! The clock is the caller's: the rules take elapsed times, and the one decision
//! ([`pace`]) asks the caller's [`Waits`] only for the wait it needs, so what the caller
//! remembers (when a package first asked) is touched exactly as before.

use std::time::Duration;

/// The least time between two progress status writes that only change words
/// (messages, object health) of one package.
pub const PROGRESS_WORDS_EVERY: Duration = Duration::from_secs(2);

/// How long a new package may go without a status while it becomes Ready: most are
/// Ready within it, and then their first status is `Ready` (one write, not two). One
/// that is not gets its `Progressing` status when the time is up.
pub const FIRST_STATUS_GRACE: Duration = Duration::from_secs(1);

/// How long the time a new package first asked for its grace is remembered when it
/// never asks again (sixty graces): older memories are dropped.
pub const FIRST_ASK_KEPT: Duration = Duration::from_secs(FIRST_STATUS_GRACE.as_secs() * 60);

/// How much longer a new package's first status may wait, `since_first_ask` after it
/// first asked (see [`FIRST_STATUS_GRACE`]); `None`: write it now.
pub fn first_status_wait(since_first_ask: Duration) -> Option<Duration> {
    FIRST_STATUS_GRACE
        .checked_sub(since_first_ask)
        .filter(|w| !w.is_zero())
}

/// How long until a words-only progress may be written, `since_written` after the
/// last progress status was (`None`: never); `None`: now.
pub fn words_wait(since_written: Option<Duration>) -> Option<Duration> {
    PROGRESS_WORDS_EVERY
        .checked_sub(since_written?)
        .filter(|d| !d.is_zero())
}

/// What a pass knows about the status it is about to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// The pass left the package `Progressing`.
    pub progressing: bool,
    /// The package has no status yet (no conditions).
    pub first: bool,
    /// The operator is stopping: what a pass has is written.
    pub stopping: bool,
    /// The new status only changes the words of the progress the package shows.
    pub words_only: bool,
}

/// The waits a [`Pass`] may be held for, from the caller's memory of the package;
/// each is asked at most once per decision, and only when the pass could be held for it.
pub trait Waits {
    /// How much longer the package's first status may wait (counted from the first
    /// time this is asked for it); `None`: write it now.
    fn first_status(&mut self) -> Option<Duration>;
    /// How long until a words-only progress may be written; `None`: now.
    fn words(&mut self) -> Option<Duration>;
}

/// Whether to write a pass's status now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Write it now; `progress`: it is a progress status, whose time the caller
    /// remembers (it paces the next words-only one).
    Write { progress: bool },
    /// A new package's first status: look again after this long.
    HoldFirst(Duration),
    /// Only words moved and a progress was written a moment ago: look again after this
    /// long (one write at the end of the window, not one per watch event).
    HoldWords(Duration),
}

/// Whether `pass`'s status is written now or held (see the module).
pub fn pace(pass: Pass, waits: &mut impl Waits) -> Pace {
    if !pass.progressing {
        return Pace::Write { progress: false };
    }
    if pass.first
        && !pass.stopping
        && let Some(wait) = waits.first_status()
    {
        return Pace::HoldFirst(wait);
    }
    if pass.words_only
        && let Some(wait) = waits.words()
    {
        return Pace::HoldWords(wait);
    }
    Pace::Write { progress: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn a_first_status_waits_out_the_grace_from_the_first_ask() {
        let cases: &[(Duration, Option<Duration>)] = &[
            (millis(0), Some(FIRST_STATUS_GRACE)),
            (millis(400), Some(FIRST_STATUS_GRACE - millis(400))),
            (FIRST_STATUS_GRACE, None),
            (Duration::from_secs(5), None),
        ];
        for (since, expected) in cases {
            assert_eq!(first_status_wait(*since), *expected, "{since:?}");
        }
    }

    #[test]
    fn words_only_progress_waits_for_the_interval_since_the_last_progress_write() {
        let cases: &[(Option<Duration>, Option<Duration>)] = &[
            (None, None),
            (Some(millis(0)), Some(PROGRESS_WORDS_EVERY)),
            (Some(millis(500)), Some(PROGRESS_WORDS_EVERY - millis(500))),
            (Some(PROGRESS_WORDS_EVERY), None),
            (Some(Duration::from_secs(60)), None),
        ];
        for (since, expected) in cases {
            assert_eq!(words_wait(*since), *expected, "{since:?}");
        }
    }

    /// Answers with fixed waits and counts what it was asked.
    struct Fixed {
        first: Option<Duration>,
        words: Option<Duration>,
        asked: Vec<&'static str>,
    }

    impl Waits for Fixed {
        fn first_status(&mut self) -> Option<Duration> {
            self.asked.push("first");
            self.first
        }
        fn words(&mut self) -> Option<Duration> {
            self.asked.push("words");
            self.words
        }
    }

    #[test]
    fn only_a_progress_is_held_and_only_the_waits_it_could_be_held_for_are_asked() {
        let s = Duration::from_secs(1);
        let pass = |progressing, first, stopping, words_only| Pass {
            progressing,
            first,
            stopping,
            words_only,
        };
        // (the pass, the waits' answers (first, words), the pace, the waits asked, why)
        type Case = (
            Pass,
            (Option<Duration>, Option<Duration>),
            Pace,
            &'static [&'static str],
            &'static str,
        );
        let cases: &[Case] = &[
            (
                pass(false, true, false, true),
                (Some(s), Some(s)),
                Pace::Write { progress: false },
                &[],
                "a status that is not progress is never held",
            ),
            (
                pass(true, true, false, false),
                (Some(s), None),
                Pace::HoldFirst(s),
                &["first"],
                "a new package's first progress waits",
            ),
            (
                pass(true, true, false, false),
                (None, Some(s)),
                Pace::Write { progress: true },
                &["first"],
                "its grace is up; not words only",
            ),
            (
                pass(true, true, true, false),
                (Some(s), None),
                Pace::Write { progress: true },
                &[],
                "a stopping operator writes what it has",
            ),
            (
                pass(true, false, false, true),
                (Some(s), Some(s)),
                Pace::HoldWords(s),
                &["words"],
                "only words moved, a moment after the last write",
            ),
            (
                pass(true, false, false, true),
                (Some(s), None),
                Pace::Write { progress: true },
                &["words"],
                "only words moved, long enough after the last write",
            ),
            (
                pass(true, false, false, false),
                (Some(s), Some(s)),
                Pace::Write { progress: true },
                &[],
                "a progress that is news is written at once",
            ),
            (
                pass(true, true, false, true),
                (None, Some(s)),
                Pace::HoldWords(s),
                &["first", "words"],
                "the grace is up, then the words are paced",
            ),
        ];
        for (pass, (first, words), expected, asked, why) in cases {
            let mut waits = Fixed {
                first: *first,
                words: *words,
                asked: Vec::new(),
            };
            assert_eq!(pace(*pass, &mut waits), *expected, "{why}");
            assert_eq!(waits.asked, *asked, "{why}: asked");
        }
    }
}
