//! What a tenant's Package may install: Hoist's own rules of confinement (issue 20,
//! decision 0028), checked before anything is written so the error is clear.
//!
//! A `Package` lives in one namespace and is created by whoever may create Packages
//! there: a tenant. A `ClusterPackage` is created by an admin. So a Package installs
//! - only a package whose `scope` is `Namespaced` ([`check_package`]);
//! - only namespaced objects, only into its own namespace ([`check_objects`]): no
//!   ClusterRole, no ClusterRoleBinding, no CRD, no Namespace, whatever its package says;
//! - never a ClusterPackage for a dependency: a cluster-wide dependency must already be
//!   installed by an admin ([`ConfinementError::ClusterDependency`]).
//!
//! Guarantees: these are pure functions of the package's manifest and its placed
//! objects; an error names the object or package and the rule it broke, never a value.
//!
//! Caveats: this is the *second* line. The first is the API server: every write for a
//! Package is made impersonating a ServiceAccount of its namespace (the backend's
//! `operator/identity.rs`), so even without these rules the cluster's RBAC refuses what
//! the tenant's account may not do. These rules exist so the tenant reads why.

use super::inventory::ObjectRef;

/// A rule of confinement a Package broke. Terminal: the package (or where it is
/// installed) is wrong, and retrying changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfinementError {
    #[error(
        "{package} is a cluster-wide package (its scope is not Namespaced): a Package installs only namespaced packages; an admin installs it as a ClusterPackage"
    )]
    ClusterScopedPackage { package: String },
    #[error(
        "{object} is cluster-scoped: a Package installs only namespaced objects into its own namespace; an admin installs this package as a ClusterPackage"
    )]
    ClusterScopedObject { object: String },
    #[error(
        "{object} would go to namespace {namespace:?}: a Package installs only into its own namespace {own:?}"
    )]
    OtherNamespace {
        object: String,
        namespace: String,
        own: String,
    },
    #[error(
        "the dependency {package} is installed cluster-wide and is not installed yet: a Package never installs a ClusterPackage; an admin installs it (hoist install {package}), then this package goes on"
    )]
    ClusterDependency { package: String },
}

impl ConfinementError {
    /// The condition reason a package is shown with.
    pub const REASON: &'static str = "NotPermitted";
}

/// Whether a Package may install a package of this scope (`namespaced`: the
/// manifest says `scope: Namespaced`).
pub fn check_package(package: &str, namespaced: bool) -> Result<(), ConfinementError> {
    if namespaced {
        Ok(())
    } else {
        Err(ConfinementError::ClusterScopedPackage {
            package: package.to_string(),
        })
    }
}

/// Whether every placed object of a Package in `own` is namespaced and in `own`. An
/// object without a namespace is cluster-scoped (placement removes the namespace of
/// cluster-scoped kinds and sets it on every namespaced one).
pub fn check_objects<'a>(
    own: &str,
    objects: impl IntoIterator<Item = &'a ObjectRef>,
) -> Result<(), ConfinementError> {
    for r in objects {
        if r.namespace.is_empty() {
            return Err(ConfinementError::ClusterScopedObject {
                object: r.describe(),
            });
        }
        if r.namespace != own {
            return Err(ConfinementError::OtherNamespace {
                object: r.describe(),
                namespace: r.namespace.clone(),
                own: own.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(group: &str, kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_package_installs_only_namespaced_objects_in_its_own_namespace() {
        let fine = [
            obj("apps", "Deployment", "team-a", "web"),
            obj("", "ConfigMap", "team-a", "web"),
        ];
        assert_eq!(check_objects("team-a", &fine), Ok(()));
        let binding = obj(
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            "",
            "take-over",
        );
        let e = check_objects("team-a", [&fine[0], &binding]).expect_err("cluster-scoped");
        assert!(
            e.to_string()
                .contains("ClusterRoleBinding take-over is cluster-scoped"),
            "{e}"
        );
        let elsewhere = obj("", "Secret", "kube-system", "x");
        let e = check_objects("team-a", [&elsewhere]).expect_err("another namespace");
        assert!(e.to_string().contains("\"kube-system\""), "{e}");
        assert!(e.to_string().contains("own namespace \"team-a\""), "{e}");
    }

    #[test]
    fn a_package_installs_only_namespaced_packages() {
        assert_eq!(check_package("kv", true), Ok(()));
        let e = check_package("cert-manager", false).expect_err("cluster-wide");
        assert!(
            e.to_string()
                .contains("cert-manager is a cluster-wide package")
        );
    }
}
