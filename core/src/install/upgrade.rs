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

#[cfg(test)]
mod tests {
    use super::*;

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
