//! A member cluster's probes, as rules: each result updates the cluster's [`Probed`]
//! state and may raise billing [`Event`]s; [`Policy::next_in`] says when to probe again.
//!
//! The rules (research: Cluster API's remote health checks, Open Cluster Management's
//! lease grace):
//! - 401 or 403 makes `CredentialsValid` false at once (a rotated or revoked
//!   credential is not a network blip); any success makes it true again.
//! - `Reachable` turns false only after [`Policy::failures`] failures in a row *and*
//!   [`Policy::grace`] since the last success, so one lost packet never flips it.
//! - The identity is the member's `kube-system` namespace UID: the first one seen opens
//!   billing; a different one later means another cluster answers at that address
//!   (closed as Replaced at the old one's last success, a new record opened).
//! - Unreachable for longer than `vanish_after` (when set) closes billing as Vanished at
//!   the last success; a later success opens it again.
//! - Probing: every `interval` with ±20 % jitter, sooner after a change, backing off ×2
//!   per failure up to `max_backoff`.

use super::Seconds;

/// One probe's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `kube-system`'s UID and the server's version.
    Ok { identity: String, version: String },
    /// 401 or 403: the credential is refused.
    Refused(String),
    /// No answer in time, a connection error, a 5xx.
    Failed(String),
}

/// What probing does and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub interval: Seconds,
    pub failures: u32,
    pub grace: Seconds,
    pub max_backoff: Seconds,
    /// `None`: never vanish.
    pub vanish_after: Option<Seconds>,
}

impl Default for Policy {
    /// 30 s; unreachable after 3 failures and 60 s; back-off to 5 min; vanished after 24 h.
    fn default() -> Self {
        Self {
            interval: 30,
            failures: 3,
            grace: 60,
            max_backoff: 300,
            vanish_after: Some(24 * 3600),
        }
    }
}

/// What the probes have learnt about one member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probed {
    pub identity: Option<String>,
    pub version: Option<String>,
    pub first_seen: Option<Seconds>,
    pub last_success: Option<Seconds>,
    pub last_attempt: Option<Seconds>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// `None` until a probe said.
    pub credentials_valid: Option<bool>,
    pub reachable: Option<bool>,
    /// Billing was closed as Vanished and not reopened yet.
    pub vanished: bool,
}

/// Billing consequences of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The first identity: billing opens at `at`.
    Identified { identity: String, at: Seconds },
    /// Another cluster answers: close the open record as Replaced at `stop`, open a new
    /// one at `at`.
    Replaced {
        old: String,
        new: String,
        stop: Seconds,
        at: Seconds,
    },
    /// Gone too long: close as Vanished at `stop`.
    Vanished { stop: Seconds },
    /// Back after vanishing: open a new record at `at`.
    Returned { at: Seconds },
}

impl Probed {
    /// Takes one probe result at `now`; returns the billing events it raises.
    pub fn observe(&mut self, outcome: Outcome, now: Seconds, policy: &Policy) -> Vec<Event> {
        self.last_attempt = Some(now);
        let mut events = Vec::new();
        match outcome {
            Outcome::Ok { identity, version } => {
                match self.identity.clone() {
                    None => {
                        self.first_seen = Some(now);
                        events.push(Event::Identified {
                            identity: identity.clone(),
                            at: now,
                        });
                    }
                    Some(old) if old != identity => {
                        events.push(Event::Replaced {
                            old,
                            new: identity.clone(),
                            stop: self.last_success.unwrap_or(now),
                            at: now,
                        });
                        self.vanished = false;
                    }
                    Some(_) if self.vanished => {
                        events.push(Event::Returned { at: now });
                        self.vanished = false;
                    }
                    Some(_) => {}
                }
                self.identity = Some(identity);
                self.version = Some(version);
                self.last_success = Some(now);
                self.consecutive_failures = 0;
                self.last_error = None;
                self.credentials_valid = Some(true);
                self.reachable = Some(true);
            }
            Outcome::Refused(why) => {
                self.consecutive_failures += 1;
                self.last_error = Some(why);
                self.credentials_valid = Some(false);
                // The server answered: it is reachable, it refuses.
                self.reachable = Some(true);
            }
            Outcome::Failed(why) => {
                self.consecutive_failures += 1;
                self.last_error = Some(why);
                let since = now - self.last_success.or(self.first_seen).unwrap_or(now);
                if self.consecutive_failures >= policy.failures
                    && (self.last_success.is_none() || since >= policy.grace)
                {
                    self.reachable = Some(false);
                }
            }
        }
        if let (Some(after), Some(last), false) =
            (policy.vanish_after, self.last_success, self.vanished)
            && self.reachable == Some(false)
            && now - last >= after
            && after > 0
        {
            self.vanished = true;
            events.push(Event::Vanished { stop: last });
        }
        events
    }
}

impl Probed {
    /// Takes a probe that was not made at `now`: the member's kubeconfig was refused
    /// (`why`), so nothing was sent. Nothing is learnt of the member and no billing
    /// event is raised (billing is left as it was); the attempt counts as a failure,
    /// the credentials as refused, and reachability is unknown again.
    pub fn not_asked(&mut self, why: String, now: Seconds) {
        self.last_attempt = Some(now);
        self.consecutive_failures += 1;
        self.last_error = Some(why);
        self.credentials_valid = Some(false);
        self.reachable = None;
    }
}

impl Policy {
    /// Seconds until the next probe: `interval` ±20 % (`jitter` in `[0, 1)`), doubled
    /// per failure in a row up to `max_backoff`.
    pub fn next_in(&self, state: &Probed, jitter: f64) -> Seconds {
        let doublings = state.consecutive_failures.min(16);
        let base = self
            .interval
            .saturating_mul(1i64 << doublings)
            .min(self.max_backoff.max(self.interval));
        let spread = (base as f64) * 0.2 * (jitter.clamp(0.0, 1.0) * 2.0 - 1.0);
        ((base as f64) + spread).round().max(1.0) as Seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(id: &str) -> Outcome {
        Outcome::Ok {
            identity: id.into(),
            version: "v1.32.0".into(),
        }
    }

    fn fail() -> Outcome {
        Outcome::Failed("timeout".into())
    }

    #[test]
    fn the_first_identity_opens_billing_and_a_new_one_is_a_replacement() {
        let p = Policy::default();
        let mut s = Probed::default();
        assert_eq!(
            s.observe(ok("a"), 100, &p),
            [Event::Identified {
                identity: "a".into(),
                at: 100
            }]
        );
        assert!(s.observe(ok("a"), 130, &p).is_empty());
        assert_eq!(
            s.observe(ok("b"), 160, &p),
            [Event::Replaced {
                old: "a".into(),
                new: "b".into(),
                stop: 130,
                at: 160
            }]
        );
    }

    #[test]
    fn refused_credentials_flip_at_once_and_unreachable_waits_for_failures_and_grace() {
        let p = Policy::default();
        let mut s = Probed::default();
        s.observe(ok("a"), 0, &p);
        s.observe(Outcome::Refused("401".into()), 30, &p);
        assert_eq!(s.credentials_valid, Some(false));
        assert_eq!(s.reachable, Some(true));
        s.observe(ok("a"), 60, &p);
        assert_eq!(s.credentials_valid, Some(true));
        for t in [90, 100, 110] {
            s.observe(fail(), t, &p);
        }
        assert_eq!(
            s.reachable,
            Some(true),
            "three failures, but within the grace"
        );
        s.observe(fail(), 125, &p);
        assert_eq!(s.reachable, Some(false));
    }

    #[test]
    fn gone_past_vanish_after_closes_billing_once_and_a_return_reopens_it() {
        let p = Policy {
            vanish_after: Some(1000),
            ..Policy::default()
        };
        let mut s = Probed::default();
        s.observe(ok("a"), 0, &p);
        let mut events = Vec::new();
        for t in (100..=1200).step_by(100) {
            events.extend(s.observe(fail(), t, &p));
        }
        assert_eq!(events, [Event::Vanished { stop: 0 }]);
        assert_eq!(s.observe(ok("a"), 1300, &p), [Event::Returned { at: 1300 }]);
        let never = Policy {
            vanish_after: None,
            ..Policy::default()
        };
        let mut t = Probed::default();
        t.observe(ok("a"), 0, &never);
        assert!((1..100).all(|i| t.observe(fail(), i * 3600, &never).is_empty()));
    }

    #[test]
    fn a_probe_not_asked_learns_nothing_and_keeps_billing_as_it_was() {
        let p = Policy::default();
        let mut s = Probed::default();
        s.observe(ok("a"), 0, &p);
        let before = s.clone();
        s.not_asked("the kubeconfig is refused".into(), 30);
        assert_eq!(
            s,
            Probed {
                last_attempt: Some(30),
                consecutive_failures: 1,
                last_error: Some("the kubeconfig is refused".into()),
                credentials_valid: Some(false),
                reachable: None,
                ..before
            }
        );
    }

    #[test]
    fn probes_back_off_when_failing_and_spread_with_jitter() {
        let p = Policy::default();
        let mut s = Probed::default();
        assert_eq!(p.next_in(&s, 0.5), 30);
        assert_eq!(p.next_in(&s, 0.0), 24);
        assert_eq!(p.next_in(&s, 0.999_999), 36);
        s.consecutive_failures = 2;
        assert_eq!(p.next_in(&s, 0.5), 120);
        s.consecutive_failures = 30;
        assert_eq!(p.next_in(&s, 0.5), 300, "capped");
    }
}
