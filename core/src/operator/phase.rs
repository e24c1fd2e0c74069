//! Where a pass that applied a package leaves it, from its objects' health: the worst
//! object decides (kstatus' order: Failed, then InProgress, then Terminating, then
//! Current), and the message names the first object holding the package back.

use super::conditions::Phase;
use super::health::{Health, Status};
use super::inventory::ObjectRef;

/// The package's phase after a pass applied `objects` (each with its health, in apply
/// order) and could not yet delete `failed_prunes` objects that left it: `Failed` when
/// an object failed, `Progressing` while one is not there yet or is being deleted,
/// else `Ready` (with or without objects).
pub fn from_health<'a>(
    objects: impl IntoIterator<Item = (&'a ObjectRef, &'a Health)>,
    failed_prunes: usize,
) -> Phase {
    let mut applied = 0;
    let mut worst = Status::Current;
    let mut first: Option<(&ObjectRef, &Health)> = None;
    let mut not_current = 0;
    for (reference, health) in objects {
        applied += 1;
        worst = worst.max(health.status);
        if health.status != Status::Current {
            not_current += 1;
            first.get_or_insert((reference, health));
        }
    }
    let summary = match (first, not_current) {
        (None, _) => String::new(),
        (Some((r, h)), 1) => format!("{}: {}", r.describe(), h.message),
        (Some((r, h)), n) => format!("{}: {} (and {} more)", r.describe(), h.message, n - 1),
    };
    match worst {
        Status::Failed => Phase::Failed {
            reason: "HealthCheckFailed".into(),
            message: summary,
        },
        Status::InProgress | Status::Terminating => Phase::Progressing {
            reason: "Progressing".into(),
            message: format!("waiting for {summary}"),
        },
        Status::Current => {
            let mut message = format!("{applied} objects applied and healthy");
            if failed_prunes > 0 {
                message.push_str(&format!(
                    "; {failed_prunes} objects that left the package could not be deleted yet"
                ));
            }
            Phase::Ready { message }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            group: if kind == "Deployment" { "apps" } else { "" }.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: if kind == "Namespace" { "" } else { "team" }.into(),
            name: name.into(),
        }
    }

    fn health(status: Status, message: &str) -> Health {
        Health {
            status,
            message: message.into(),
        }
    }

    fn progressing(message: &str) -> Phase {
        Phase::Progressing {
            reason: "Progressing".into(),
            message: message.into(),
        }
    }

    fn ready(message: &str) -> Phase {
        Phase::Ready {
            message: message.into(),
        }
    }

    #[test]
    fn the_worst_object_decides_the_phase_and_the_first_held_back_names_it() {
        use Status::*;
        // (why, each object's health, prunes that failed, the phase)
        type Case = (&'static str, Vec<(Status, &'static str)>, usize, Phase);
        let cases: Vec<Case> = vec![
            (
                "nothing applied",
                vec![],
                0,
                ready("0 objects applied and healthy"),
            ),
            (
                "all current",
                vec![(Current, "ok"), (Current, "ok")],
                0,
                ready("2 objects applied and healthy"),
            ),
            (
                "all current, prunes pending",
                vec![(Current, "ok")],
                3,
                ready(
                    "1 objects applied and healthy; 3 objects that left the package could not be deleted yet",
                ),
            ),
            (
                "one in progress",
                vec![(Current, "ok"), (InProgress, "Ready: 0/3")],
                0,
                progressing("waiting for apps/Deployment team/o1: Ready: 0/3"),
            ),
            (
                "several held back: the first named, the rest counted",
                vec![
                    (InProgress, "Ready: 0/3"),
                    (Terminating, "being deleted"),
                    (InProgress, "Ready: 1/3"),
                ],
                0,
                progressing("waiting for apps/Deployment team/o0: Ready: 0/3 (and 2 more)"),
            ),
            (
                "terminating alone is progress",
                vec![(Terminating, "being deleted")],
                0,
                progressing("waiting for apps/Deployment team/o0: being deleted"),
            ),
            (
                "a failure beats progress; the message names the first held back",
                vec![(InProgress, "Ready: 0/3"), (Failed, "deadline exceeded")],
                2,
                Phase::Failed {
                    reason: "HealthCheckFailed".into(),
                    message: "apps/Deployment team/o0: Ready: 0/3 (and 1 more)".into(),
                },
            ),
        ];
        for (why, healths, failed_prunes, expected) in cases {
            let objects: Vec<(ObjectRef, Health)> = healths
                .iter()
                .enumerate()
                .map(|(i, (s, m))| (object("Deployment", &format!("o{i}")), health(*s, m)))
                .collect();
            let phase = from_health(objects.iter().map(|(r, h)| (r, h)), failed_prunes);
            assert_eq!(phase, expected, "{why}");
        }
    }

    #[test]
    fn objects_are_named_as_messages_name_them() {
        let ns = object("Namespace", "web");
        let phase = from_health([(&ns, &health(Status::InProgress, "not yet"))], 0);
        assert_eq!(phase, progressing("waiting for Namespace web: not yet"));
    }
}
