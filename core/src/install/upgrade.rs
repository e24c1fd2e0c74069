//! The pure half of an upgrade: whether an install may move to a resolved version.

use super::target::InstallRef;
use crate::repo::format::ValueDefinition;
use crate::repo::values::{self, ValueError};
use crate::repo::version::PackageVersion;
use std::collections::BTreeMap;

/// Why an upgrade is refused by the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeRuleError {
    #[error("{resource} is at {version}, the newest {package} its repository offers")]
    UpToDate {
        resource: InstallRef,
        package: String,
        version: String,
    },
    #[error("{resource} is already at {version}")]
    AlreadyAt {
        resource: InstallRef,
        version: String,
    },
    #[error("{resource}'s values do not fit {version}: {error}; change them first")]
    Values {
        resource: InstallRef,
        version: String,
        error: Box<ValueError>,
    },
}

/// The install as it is.
#[derive(Debug, Clone)]
pub struct Current<'a> {
    pub resource: &'a InstallRef,
    pub version: &'a str,
    /// Values given literally, checked in full.
    pub literal: Vec<(String, String)>,
    /// Every value key set (literal or from a ConfigMap or Secret), checked by name.
    pub keys: Vec<&'a String>,
}

/// Checks moving `current` to `to` of `package` (with `defs`, that version's value
/// definitions). `explicit`: the user named the version (then it may be older: a
/// rollback); otherwise `to` is the newest offered and must be newer.
pub fn check(
    current: &Current<'_>,
    package: &str,
    to: &str,
    explicit: bool,
    defs: &BTreeMap<String, ValueDefinition>,
) -> Result<(), UpgradeRuleError> {
    let resource = current.resource.clone();
    if !explicit {
        let newer = match (
            PackageVersion::parse(to),
            PackageVersion::parse(current.version),
        ) {
            (Ok(newest), Ok(have)) => newest > have,
            // An install at a version that does not parse: any valid one is better.
            (Ok(_), Err(_)) => true,
            _ => false,
        };
        if !newer {
            return Err(UpgradeRuleError::UpToDate {
                resource,
                package: package.into(),
                version: current.version.into(),
            });
        }
    }
    if to == current.version {
        return Err(UpgradeRuleError::AlreadyAt {
            resource,
            version: to.into(),
        });
    }
    values::validate(package, defs, &current.literal)
        .and_then(|_| values::require_known(package, defs, current.keys.iter().copied()))
        .map(|_| ())
        .map_err(|error| UpgradeRuleError::Values {
            resource,
            version: to.into(),
            error: Box::new(error),
        })
}

/// The version an unattended upgrade (`hoist upgrade --all`, auto-update) moves an
/// install to: the newest of `offered` that every range in `held_by` accepts (the
/// ranges of the packages that depend on it), if newer than `current`. `None` when
/// there is none: the install is as new as it may be. A range that does not parse
/// holds the install where it is (never guess past a constraint).
pub fn newest_within(current: &str, offered: &[String], held_by: &[&str]) -> Option<String> {
    let ranges: Vec<crate::repo::version::Range> = held_by
        .iter()
        .map(|r| crate::repo::version::Range::parse(r))
        .collect::<Result<_, _>>()
        .ok()?;
    let have = PackageVersion::parse(current).ok();
    crate::repo::version::sorted(offered.iter().map(String::as_str))
        .into_iter()
        .find(|v| ranges.iter().all(|r| v.matches(r)))
        .filter(|v| have.as_ref().is_none_or(|h| v > h))
        .map(|v| v.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unattended_upgrades_stay_within_what_dependents_accept() {
        let offered: Vec<String> = ["v1.2.0", "v1.4.1+2", "v2.0.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            newest_within("v1.2.0", &offered, &[]),
            Some("v2.0.0".into())
        );
        assert_eq!(
            newest_within("v1.2.0", &offered, &["1.x.x"]),
            Some("v1.4.1+2".into())
        );
        assert_eq!(
            newest_within("v1.4.1+2", &offered, &["1.x.x", ">=1.0.0"]),
            None,
            "as new as its dependents allow"
        );
        assert_eq!(newest_within("v2.0.0", &offered, &[]), None);
        assert_eq!(newest_within("v1.2.0", &offered, &["not a range"]), None);
    }

    fn defs() -> BTreeMap<String, ValueDefinition> {
        serde_json::from_value(serde_json::json!({"replicas": {"type": "number"}}))
            .expect("definitions")
    }

    #[test]
    fn without_a_version_only_a_newer_one_is_taken_and_an_explicit_one_may_be_older() {
        let at = InstallRef::cluster("a");
        let current = Current {
            resource: &at,
            version: "v1.1.0+1",
            literal: vec![],
            keys: vec![],
        };
        assert!(check(&current, "a", "v1.1.0+2", false, &defs()).is_ok());
        assert!(matches!(
            check(&current, "a", "v1.0.0+1", false, &defs()),
            Err(UpgradeRuleError::UpToDate { .. })
        ));
        assert!(
            check(&current, "a", "v1.0.0+1", true, &defs()).is_ok(),
            "a rollback"
        );
        assert_eq!(
            check(&current, "a", "v1.1.0+1", true, &defs())
                .expect_err("same")
                .to_string(),
            "ClusterPackage a is already at v1.1.0+1"
        );
    }

    #[test]
    fn values_that_the_new_version_does_not_define_refuse_the_move() {
        let at = InstallRef::namespaced("ns", "a");
        let key = "colour".to_string();
        let current = Current {
            resource: &at,
            version: "v1.0.0",
            literal: vec![],
            keys: vec![&key],
        };
        let e = check(&current, "a", "v2.0.0", false, &defs()).expect_err("unknown key");
        assert!(
            e.to_string()
                .starts_with("Package ns/a's values do not fit v2.0.0"),
            "{e}"
        );
    }
}
