//! A member Cluster's status as its probes ([`Probed`]) and its ledger ([`Record`]s)
//! make it: the four conditions every status carries (`CredentialsValid`, `Reachable`,
//! `Billed`, `Ready`) with their reasons and messages, the `Deleting` condition of a
//! delete in progress, the usage record the status names, when a status that changed
//! only in its probe times is worth a write, and the one billing rule that reads both
//! the probes and the ledger ([`reopen`]).
//!
//! Plain values and Unix seconds: the backend's `fleet/status.rs` turns them into the
//! Cluster's status (RFC 3339 times, each condition's `lastTransitionTime`) and writes it.
//!
//! Guarantees:
//! - [`status`] always has the four conditions, in that order, whatever was probed;
//!   `Ready` is True exactly when `CredentialsValid` and `Reachable` both are.
//! - `Billed` follows the ledger, never the probes: True exactly when one of the
//!   records is open; otherwise its reason says why not, the first that holds of
//!   `Vanished`, `Disabled`, `NotIdentified`.
//! - A kubeconfig the controller refused is said with [`KUBECONFIG_REFUSED`] on
//!   `CredentialsValid` and on `Ready`, whatever an earlier probe said.
//! - [`reopen`] bills a member again only when it is identified, reachable, not
//!   vanished, has no open record, and its probe raised no billing event of its own:
//!   it never doubles an `Identified`, a `Replaced` or a `Returned`, and never reopens
//!   what a `Vanished` stop closed.

use super::Seconds;
use super::ledger::Record;
use super::probe::{Event, Probed};

/// The condition types, as the Cluster's status and every reader of it spell them.
pub const CREDENTIALS_VALID: &str = "CredentialsValid";
pub const REACHABLE: &str = "Reachable";
pub const BILLED: &str = "Billed";
pub const READY: &str = "Ready";
pub const DELETING: &str = "Deleting";

/// The reason for a kubeconfig the controller will not use (issue 20).
pub const KUBECONFIG_REFUSED: &str = "KubeconfigRefused";

/// Probe times, failure counts and error words alone are written at most this often.
pub const PROBE_TIMES_EVERY: Seconds = 300;

/// One condition of a Cluster's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub type_: &'static str,
    /// `None`: Unknown.
    pub status: Option<bool>,
    pub reason: &'static str,
    pub message: String,
}

fn condition(
    type_: &'static str,
    status: Option<bool>,
    reason: &'static str,
    message: &str,
) -> Condition {
    Condition {
        type_,
        status,
        reason,
        message: message.into(),
    }
}

/// What a status's billing part says: the open record, else the latest one (by its
/// number), else none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Billing {
    /// The record's object name.
    pub record: Option<String>,
    pub since: Option<Seconds>,
    /// Its stop, once it has one.
    pub until: Option<Seconds>,
}

/// What a Cluster's status is made of.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// What the probes learnt (after this pass's probe).
    pub probed: &'a Probed,
    /// The Cluster's records, with this pass's changes.
    pub records: &'a [Record],
    /// The Cluster's `spec.billing.enabled`.
    pub billing_enabled: bool,
    /// This pass refused the Cluster's kubeconfig (nothing was sent to the member).
    pub kubeconfig_refused: bool,
}

/// The status's billing part and conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub billing: Billing,
    /// `CredentialsValid`, `Reachable`, `Billed`, `Ready`, in that order.
    pub conditions: Vec<Condition>,
}

/// The status `observed` makes (see the module's guarantees).
pub fn status(observed: &Observed) -> Status {
    Status {
        billing: billing(observed.records),
        conditions: conditions(observed),
    }
}

/// The record a status names: the open one, else the one numbered last.
pub fn billing(records: &[Record]) -> Billing {
    let shown = records
        .iter()
        .find(|r| r.is_open())
        .or_else(|| records.iter().max_by_key(|r| r.seq));
    Billing {
        record: shown.map(Record::name),
        since: shown.map(|r| r.start),
        until: shown.and_then(|r| r.stop.map(|(t, _)| t)),
    }
}

fn conditions(o: &Observed) -> Vec<Condition> {
    let p = o.probed;
    let error = p.last_error.as_deref().unwrap_or_default();
    let refused = o.kubeconfig_refused;
    let ready = p.credentials_valid == Some(true) && p.reachable == Some(true);
    vec![
        match p.credentials_valid {
            _ if refused => condition(CREDENTIALS_VALID, Some(false), KUBECONFIG_REFUSED, error),
            Some(false) => condition(CREDENTIALS_VALID, Some(false), "Refused", error),
            Some(true) => condition(CREDENTIALS_VALID, Some(true), "Accepted", ""),
            None => condition(CREDENTIALS_VALID, None, "NotProbed", ""),
        },
        match p.reachable {
            Some(false) => condition(REACHABLE, Some(false), "ProbeFailed", error),
            Some(true) => condition(REACHABLE, Some(true), "ProbeSucceeded", ""),
            None => condition(REACHABLE, None, "NotProbed", error),
        },
        if o.records.iter().any(Record::is_open) {
            condition(BILLED, Some(true), "Open", "")
        } else if p.vanished {
            condition(
                BILLED,
                Some(false),
                "Vanished",
                "unreachable past vanishAfter",
            )
        } else if !o.billing_enabled {
            condition(BILLED, Some(false), "Disabled", "")
        } else {
            condition(BILLED, Some(false), "NotIdentified", "")
        },
        condition(
            READY,
            Some(ready),
            match () {
                _ if ready => "Ready",
                _ if refused => KUBECONFIG_REFUSED,
                _ => "NotReady",
            },
            error,
        ),
    ]
}

/// The condition a Cluster being deleted carries until its finalizer goes: billing
/// stops at `stop` (its `deletionTimestamp`, as the status shows times).
pub fn deleting(stop: &str) -> Condition {
    condition(
        DELETING,
        Some(true),
        "StoppingBilling",
        &format!("recording billing's stop at {stop} (the delete), then releasing the finalizer"),
    )
}

/// Whether a status is written at `now`: always when something visible changed
/// (`visible_change`: anything but probe times, failure counts and error words), else
/// only when the probe times last written (`times_written_at`) are
/// [`PROBE_TIMES_EVERY`] old or were never written.
pub fn write_due(visible_change: bool, times_written_at: Option<Seconds>, now: Seconds) -> bool {
    let fresh = times_written_at.is_some_and(|t| now - t < PROBE_TIMES_EVERY);
    visible_change || !fresh
}

/// The "identified but no open record" rule: a member the probes know, reachable now
/// and not vanished, with no open record (its create failed, the controller restarted,
/// billing was just enabled) is billed again from `now`, unless this probe raised
/// billing events of its own (`raised`), which the ledger applies instead.
pub fn reopen(
    probed: &Probed,
    records: &[Record],
    raised: &[Event],
    now: Seconds,
) -> Option<Event> {
    let identity = probed.identity.as_ref()?;
    let missing = !probed.vanished
        && !records.iter().any(Record::is_open)
        && raised.is_empty()
        && probed.reachable == Some(true);
    missing.then(|| Event::Identified {
        identity: identity.clone(),
        at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::ledger::StopSource;

    fn record(seq: u32, start: Seconds, stop: Option<Seconds>) -> Record {
        Record {
            cluster_uid: "u".into(),
            seq,
            identity: "k".into(),
            start,
            stop: stop.map(|t| (t, StopSource::Vanished)),
        }
    }

    fn probed(credentials_valid: Option<bool>, reachable: Option<bool>) -> Probed {
        Probed {
            identity: Some("k".into()),
            credentials_valid,
            reachable,
            last_error: Some("boom".into()),
            ..Probed::default()
        }
    }

    /// (type, status, reason, message) of each condition.
    fn words(s: &Status) -> Vec<(&'static str, Option<bool>, &'static str, String)> {
        s.conditions
            .iter()
            .map(|c| (c.type_, c.status, c.reason, c.message.clone()))
            .collect()
    }

    fn of(p: &Probed, records: &[Record], billing_enabled: bool, refused: bool) -> Status {
        status(&Observed {
            probed: p,
            records,
            billing_enabled,
            kubeconfig_refused: refused,
        })
    }

    fn find(s: &Status, type_: &str) -> (Option<bool>, &'static str, String) {
        let c = s.conditions.iter().find(|c| c.type_ == type_).expect(type_);
        (c.status, c.reason, c.message.clone())
    }

    #[test]
    fn every_status_has_the_four_conditions_in_order() {
        for p in [
            Probed::default(),
            probed(Some(true), Some(true)),
            probed(Some(false), None),
        ] {
            for refused in [false, true] {
                let types: Vec<_> = of(&p, &[], true, refused)
                    .conditions
                    .iter()
                    .map(|c| c.type_)
                    .collect();
                assert_eq!(types, [CREDENTIALS_VALID, REACHABLE, BILLED, READY]);
            }
        }
    }

    #[test]
    fn ready_only_when_the_credentials_are_accepted_and_the_member_answers() {
        // (why, credentials, reachable, refused kubeconfig,
        //  CredentialsValid, Reachable, Ready as (status, reason))
        type Word = (Option<bool>, &'static str);
        type Case = (
            &'static str,
            Option<bool>,
            Option<bool>,
            bool,
            Word,
            Word,
            Word,
        );
        let cases: [Case; 6] = [
            (
                "never probed",
                None,
                None,
                false,
                (None, "NotProbed"),
                (None, "NotProbed"),
                (Some(false), "NotReady"),
            ),
            (
                "accepted and answering",
                Some(true),
                Some(true),
                false,
                (Some(true), "Accepted"),
                (Some(true), "ProbeSucceeded"),
                (Some(true), "Ready"),
            ),
            (
                "a 401: refused, yet it answered",
                Some(false),
                Some(true),
                false,
                (Some(false), "Refused"),
                (Some(true), "ProbeSucceeded"),
                (Some(false), "NotReady"),
            ),
            (
                "accepted before, unreachable now",
                Some(true),
                Some(false),
                false,
                (Some(true), "Accepted"),
                (Some(false), "ProbeFailed"),
                (Some(false), "NotReady"),
            ),
            (
                "kubeconfig refused after the member was ready",
                Some(true),
                Some(true),
                true,
                (Some(false), KUBECONFIG_REFUSED),
                (Some(true), "ProbeSucceeded"),
                (Some(true), "Ready"),
            ),
            (
                "kubeconfig refused, as the controller leaves the probes",
                Some(false),
                None,
                true,
                (Some(false), KUBECONFIG_REFUSED),
                (None, "NotProbed"),
                (Some(false), KUBECONFIG_REFUSED),
            ),
        ];
        for (why, credentials, reachable, refused, cv, r, ready) in cases {
            let s = of(&probed(credentials, reachable), &[], true, refused);
            let got = |t| {
                let (status, reason, _) = find(&s, t);
                (status, reason)
            };
            assert_eq!(got(CREDENTIALS_VALID), cv, "{why}: CredentialsValid");
            assert_eq!(got(REACHABLE), r, "{why}: Reachable");
            assert_eq!(got(READY), ready, "{why}: Ready");
        }
    }

    #[test]
    fn the_last_error_is_said_where_something_is_wrong_and_not_on_billing() {
        let s = of(&probed(Some(false), Some(false)), &[], true, false);
        assert_eq!(
            words(&s),
            [
                (CREDENTIALS_VALID, Some(false), "Refused", "boom".into()),
                (REACHABLE, Some(false), "ProbeFailed", "boom".into()),
                (BILLED, Some(false), "NotIdentified", String::new()),
                (READY, Some(false), "NotReady", "boom".into()),
            ]
        );
        let unknown = of(&probed(None, None), &[], true, false);
        assert_eq!(
            find(&unknown, REACHABLE),
            (None, "NotProbed", "boom".into()),
            "a failing probe says why before Reachable turns"
        );
        assert_eq!(find(&unknown, CREDENTIALS_VALID).2, "");
        let fine = Probed {
            last_error: None,
            ..probed(Some(true), Some(true))
        };
        assert!(
            of(&fine, &[], true, false)
                .conditions
                .iter()
                .all(|c| c.message.is_empty())
        );
    }

    #[test]
    fn billed_follows_the_ledger_and_says_why_not() {
        // (why, records, vanished, billing enabled, Billed)
        type Case = (
            &'static str,
            Vec<Record>,
            bool,
            bool,
            (Option<bool>, &'static str),
        );
        let cases: [Case; 6] = [
            (
                "an open record",
                vec![record(1, 0, None)],
                false,
                true,
                (Some(true), "Open"),
            ),
            (
                "an open record, billing disabled since",
                vec![record(1, 0, None)],
                false,
                false,
                (Some(true), "Open"),
            ),
            (
                "vanished",
                vec![record(1, 0, Some(50))],
                true,
                true,
                (Some(false), "Vanished"),
            ),
            (
                "vanished beats disabled",
                vec![record(1, 0, Some(50))],
                true,
                false,
                (Some(false), "Vanished"),
            ),
            ("disabled", vec![], false, false, (Some(false), "Disabled")),
            (
                "enabled, nothing open",
                vec![record(1, 0, Some(50))],
                false,
                true,
                (Some(false), "NotIdentified"),
            ),
        ];
        for (why, records, vanished, enabled, expected) in cases {
            let p = Probed {
                vanished,
                ..probed(Some(true), Some(true))
            };
            let (status, reason, message) = find(&of(&p, &records, enabled, false), BILLED);
            assert_eq!((status, reason), expected, "{why}");
            let said = if vanished && reason == "Vanished" {
                "unreachable past vanishAfter"
            } else {
                ""
            };
            assert_eq!(message, said, "{why}");
        }
    }

    #[test]
    fn the_status_names_the_open_record_else_the_one_numbered_last() {
        assert_eq!(billing(&[]), Billing::default());
        let closed = [record(2, 200, Some(300)), record(1, 0, Some(100))];
        assert_eq!(
            billing(&closed),
            Billing {
                record: Some("u-2".into()),
                since: Some(200),
                until: Some(300),
            }
        );
        let open = [
            record(1, 0, Some(100)),
            record(2, 150, None),
            record(3, 0, Some(1)),
        ];
        assert_eq!(
            billing(&open),
            Billing {
                record: Some("u-2".into()),
                since: Some(150),
                until: None,
            },
            "the open one, though another is numbered later"
        );
    }

    #[test]
    fn an_identified_reachable_member_without_an_open_record_is_billed_again() {
        let identified = Event::Identified {
            identity: "k".into(),
            at: 500,
        };
        let reachable = probed(Some(true), Some(true));
        // (why, probed, records, events the probe raised, reopened)
        type Case = (&'static str, Probed, Vec<Record>, Vec<Event>, bool);
        let cases: [Case; 7] = [
            ("no record at all", reachable.clone(), vec![], vec![], true),
            (
                "its last record stopped",
                reachable.clone(),
                vec![record(1, 0, Some(9))],
                vec![],
                true,
            ),
            (
                "an open record",
                reachable.clone(),
                vec![record(1, 0, None)],
                vec![],
                false,
            ),
            (
                "never identified",
                Probed {
                    identity: None,
                    ..reachable.clone()
                },
                vec![],
                vec![],
                false,
            ),
            (
                "vanished: only a Returned reopens",
                Probed {
                    vanished: true,
                    ..reachable.clone()
                },
                vec![],
                vec![],
                false,
            ),
            (
                "not reachable now",
                probed(Some(true), None),
                vec![],
                vec![],
                false,
            ),
            (
                "the probe raised its own event",
                reachable.clone(),
                vec![],
                vec![identified.clone()],
                false,
            ),
        ];
        for (why, p, records, raised, reopened) in cases {
            let got = reopen(&p, &records, &raised, 500);
            assert_eq!(got, reopened.then(|| identified.clone()), "{why}");
        }
    }

    #[test]
    fn probe_times_alone_are_written_at_most_every_probe_times_every() {
        // (why, visible change, probe times written at, due at 1000)
        let cases = [
            ("a visible change", true, Some(999), true),
            ("times only, written a moment ago", false, Some(999), false),
            (
                "times only, just short of the period",
                false,
                Some(1000 - PROBE_TIMES_EVERY + 1),
                false,
            ),
            (
                "times only, a period ago",
                false,
                Some(1000 - PROBE_TIMES_EVERY),
                true,
            ),
            ("times never written", false, None, true),
        ];
        for (why, visible, written_at, due) in cases {
            assert_eq!(write_due(visible, written_at, 1000), due, "{why}");
        }
    }

    #[test]
    fn a_delete_in_progress_names_the_stop_it_records() {
        let c = deleting("2025-01-01T00:00:00Z");
        assert_eq!(
            (c.type_, c.status, c.reason),
            (DELETING, Some(true), "StoppingBilling")
        );
        assert!(
            c.message.contains("stop at 2025-01-01T00:00:00Z"),
            "{}",
            c.message
        );
    }
}
