//! What a cluster's state is, in one word, and where billing and reality may disagree:
//! the one reading of a Cluster's conditions that the metrics, the CLI and the
//! dashboard all use.
//!
//! Guarantees:
//! - [`state`] is total and ordered by what matters most: a delete in progress, then
//!   refused credentials, then unreachability, then readiness;
//! - [`warnings`] names only disagreements the ledger can still act on (billed while
//!   unreachable, nearing the vanish deadline, a delete not yet recorded), each with
//!   when it ends; a cluster not billed has no billing warning.

use super::Seconds;

/// A Cluster as its status and spec say, in plain values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// `deletionTimestamp`, when set.
    pub deleting_since: Option<Seconds>,
    /// The `CredentialsValid` condition: `None` before the first probe.
    pub credentials_valid: Option<bool>,
    /// The `Reachable` condition, and since when it holds.
    pub reachable: Option<bool>,
    pub reachable_since: Option<Seconds>,
    /// The `Ready` condition.
    pub ready: Option<bool>,
    /// An open usage record: billed now.
    pub billed: bool,
    /// The last successful probe.
    pub last_success: Option<Seconds>,
    /// Unreachable this long and billing stops as Vanished; `None`: never.
    pub vanish_after: Option<Seconds>,
}

/// A cluster's state in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Deleting,
    CredentialsRefused,
    Unreachable,
    Ready,
    /// Not probed yet, or probed without a verdict.
    Pending,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Ready,
        State::Unreachable,
        State::CredentialsRefused,
        State::Pending,
        State::Deleting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Deleting => "Deleting",
            State::CredentialsRefused => "CredentialsRefused",
            State::Unreachable => "Unreachable",
            State::Ready => "Ready",
            State::Pending => "Pending",
        }
    }
}

/// The state, most important first (see the module's guarantees).
pub fn state(f: &Facts) -> State {
    if f.deleting_since.is_some() {
        State::Deleting
    } else if f.credentials_valid == Some(false) {
        State::CredentialsRefused
    } else if f.reachable == Some(false) {
        State::Unreachable
    } else if f.ready == Some(true) {
        State::Ready
    } else {
        State::Pending
    }
}

/// The fraction of `vanish_after` after which a silent cluster is "nearing vanish".
pub const NEARING_VANISH: f64 = 0.75;

/// Where billing and reality may disagree, as sentences for a person, at `now`.
pub fn warnings(f: &Facts, now: Seconds) -> Vec<String> {
    let mut out = Vec::new();
    if !f.billed {
        return out;
    }
    if let Some(at) = f.deleting_since {
        out.push(format!(
            "deleted {} ago and still billed: the operator has not recorded the stop yet (it will be the moment of the delete)",
            span(now - at)
        ));
        return out;
    }
    let silent = f.last_success.map(|t| now - t);
    if f.reachable == Some(false) || f.credentials_valid == Some(false) {
        let why = if f.credentials_valid == Some(false) {
            "its credentials are refused"
        } else {
            "unreachable"
        };
        match (f.vanish_after, silent) {
            (Some(limit), Some(s)) if s as f64 >= limit as f64 * NEARING_VANISH => out.push(format!(
                "{why} and billed; no answer for {}: billing stops as Vanished in {} unless it answers",
                span(s),
                span((limit - s).max(0))
            )),
            (Some(_), Some(s)) => out.push(format!("{why} and billed; no answer for {}", span(s))),
            (None, Some(s)) => out.push(format!(
                "{why} and billed; no answer for {} (vanishAfter is 0: billing never stops on its own)",
                span(s)
            )),
            (_, None) => out.push(format!("{why} and billed")),
        }
    }
    out
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`: a duration for a person.
pub fn span(s: Seconds) -> String {
    let s = s.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn billed_ready() -> Facts {
        Facts {
            credentials_valid: Some(true),
            reachable: Some(true),
            ready: Some(true),
            billed: true,
            last_success: Some(1_000),
            vanish_after: Some(86_400),
            ..Default::default()
        }
    }

    #[test]
    fn a_delete_outranks_every_other_state() {
        let f = Facts {
            deleting_since: Some(5),
            credentials_valid: Some(false),
            reachable: Some(false),
            ..billed_ready()
        };
        assert_eq!(state(&f), State::Deleting);
    }

    #[test]
    fn refused_credentials_outrank_unreachability_which_outranks_ready() {
        let refused = Facts {
            credentials_valid: Some(false),
            reachable: Some(false),
            ..billed_ready()
        };
        assert_eq!(state(&refused), State::CredentialsRefused);
        let unreachable = Facts {
            reachable: Some(false),
            ..billed_ready()
        };
        assert_eq!(state(&unreachable), State::Unreachable);
        assert_eq!(state(&billed_ready()), State::Ready);
        assert_eq!(state(&Facts::default()), State::Pending);
    }

    #[test]
    fn a_healthy_billed_cluster_has_no_warning() {
        assert!(warnings(&billed_ready(), 1_010).is_empty());
    }

    #[test]
    fn an_unreachable_billed_cluster_is_a_warning_with_how_long_it_has_been_silent() {
        let f = Facts {
            reachable: Some(false),
            ..billed_ready()
        };
        let w = warnings(&f, 1_000 + 3_600);
        assert_eq!(
            w,
            vec!["unreachable and billed; no answer for 1h 0m".to_string()]
        );
    }

    #[test]
    fn nearing_the_vanish_deadline_says_when_billing_stops() {
        let f = Facts {
            reachable: Some(false),
            ..billed_ready()
        };
        let w = warnings(&f, 1_000 + 20 * 3600);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("billing stops as Vanished in 4h 0m"), "{w:?}");
    }

    #[test]
    fn without_a_vanish_deadline_the_warning_says_billing_never_stops_on_its_own() {
        let f = Facts {
            reachable: Some(false),
            vanish_after: None,
            ..billed_ready()
        };
        assert!(warnings(&f, 90_000)[0].contains("never stops on its own"));
    }

    #[test]
    fn a_delete_not_yet_recorded_is_a_warning_and_a_recorded_one_is_not() {
        let f = Facts {
            deleting_since: Some(2_000),
            ..billed_ready()
        };
        assert!(warnings(&f, 2_030)[0].contains("deleted 30s ago and still billed"));
        let recorded = Facts { billed: false, ..f };
        assert!(warnings(&recorded, 2_030).is_empty());
    }

    #[test]
    fn an_unbilled_cluster_has_no_billing_warning_even_when_unreachable() {
        let f = Facts {
            reachable: Some(false),
            billed: false,
            ..billed_ready()
        };
        assert!(warnings(&f, 100_000).is_empty());
    }

    #[test]
    fn spans_read_like_a_person_would_say_them() {
        assert_eq!(span(12), "12s");
        assert_eq!(span(250), "4m 10s");
        assert_eq!(span(7_500), "2h 5m");
        assert_eq!(span(273_600), "3d 4h");
        assert_eq!(span(-5), "0s");
    }
}
