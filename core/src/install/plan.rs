//! The pure half of an install: from a resolved package and what the user asked, the
//! install to create, or why not. The adapter checks the namespace exists and creates.

use super::target::{InstallRef, Scope};
use crate::repo::format::PackageManifest;
use crate::repo::values::{self, ValueError};
use std::collections::BTreeMap;

/// What the user asked for, beyond the package and version.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    /// The resource's name; the package's name when unset.
    pub name: Option<String>,
    /// For namespaced packages; the package's default namespace when unset.
    pub namespace: Option<String>,
    /// `KEY=VALUE` settings, in order (a later one wins).
    pub values: Vec<(String, String)>,
}

/// Why an install is refused by the rules (before anything is asked of a cluster).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error("{0} is namespaced and declares no default namespace: give a namespace")]
    NoNamespace(String),
    #[error("{0} is cluster-scoped: a namespace does not apply")]
    NamespaceNotApplicable(String),
}

/// The install to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallPlan {
    pub target: InstallRef,
    /// The values checked, only those given (defaults stay the package's).
    pub values: BTreeMap<String, String>,
    /// `NAME RANGE` for each dependency, as declared.
    pub dependencies: Vec<String>,
    /// The target namespace is the package's own home: create it when it is missing.
    /// Any other missing namespace is the user's to create.
    pub may_create_namespace: bool,
}

/// Plans installing `manifest` (package `package`) as `asked`.
///
/// # Errors
/// Values the package does not define or accept; a namespace given for a cluster-scoped
/// package; no namespace given for a namespaced package that declares none.
pub fn plan(
    package: &str,
    manifest: &PackageManifest,
    asked: &Asked,
) -> Result<InstallPlan, PlanError> {
    let values = values::validate(package, &manifest.value_definitions, &asked.values)?;
    let name = asked.name.clone().unwrap_or_else(|| package.to_string());
    let dependencies = manifest
        .dependencies
        .iter()
        .map(|d| match &d.version {
            Some(v) => format!("{} {v}", d.name),
            None => d.name.clone(),
        })
        .collect();
    let (target, may_create_namespace) = match Scope::of(manifest) {
        Scope::Cluster => {
            if asked.namespace.is_some() {
                return Err(PlanError::NamespaceNotApplicable(package.into()));
            }
            (InstallRef::cluster(name), false)
        }
        Scope::Namespaced => {
            let ns = asked
                .namespace
                .clone()
                .or_else(|| manifest.default_namespace.clone())
                .ok_or_else(|| PlanError::NoNamespace(package.into()))?;
            let home = manifest.default_namespace.as_deref() == Some(ns.as_str());
            (InstallRef::namespaced(ns, name), home)
        }
    };
    Ok(InstallPlan {
        target,
        values,
        dependencies,
        may_create_namespace,
    })
}

/// What an install created, as the CLI and the dashboard report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The package's name in the repository.
    pub package: String,
    pub version: String,
    pub repository: String,
    pub target: InstallRef,
    /// `NAME RANGE` for each dependency, as declared.
    pub dependencies: Vec<String>,
    /// The package's default namespace did not exist and was created for it.
    pub created_namespace: bool,
}

impl std::fmt::Display for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} from {} requested as {}; the operator installs it",
            self.package, self.version, self.repository, self.target
        )?;
        if self.created_namespace {
            write!(
                f,
                " (namespace {} created)",
                self.target.namespace_or_empty()
            )?;
        }
        if !self.dependencies.is_empty() {
            write!(f, "\ndepends on: {}", self.dependencies.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::format::parse;

    fn manifest(yaml: &str) -> PackageManifest {
        parse("package.yaml", yaml.as_bytes()).expect("manifest")
    }

    fn asked(namespace: Option<&str>) -> Asked {
        Asked {
            namespace: namespace.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn a_namespaced_package_goes_to_its_home_by_default_and_may_create_it() {
        let m = manifest("name: web\nscope: Namespaced\ndefaultNamespace: web\n");
        let p = plan("web", &m, &asked(None)).expect("planned");
        assert_eq!(p.target, InstallRef::namespaced("web", "web"));
        assert!(p.may_create_namespace);
        let elsewhere = plan("web", &m, &asked(Some("team-a"))).expect("planned");
        assert_eq!(elsewhere.target, InstallRef::namespaced("team-a", "web"));
        assert!(!elsewhere.may_create_namespace, "not the package's home");
    }

    #[test]
    fn scope_rules_refuse_a_namespace_for_cluster_packages_and_none_for_homeless_ones() {
        let cluster = manifest("name: cm\n");
        assert_eq!(
            plan("cm", &cluster, &asked(Some("x"))),
            Err(PlanError::NamespaceNotApplicable("cm".into()))
        );
        assert_eq!(
            plan("cm", &cluster, &asked(None)).expect("planned").target,
            InstallRef::cluster("cm")
        );
        let homeless = manifest("name: w\nscope: Namespaced\n");
        assert_eq!(
            plan("w", &homeless, &asked(None)),
            Err(PlanError::NoNamespace("w".into()))
        );
    }

    #[test]
    fn values_are_checked_before_the_scope_and_dependencies_are_listed() {
        let m = manifest(
            "name: a\ndependencies:\n- name: b\n  version: \">=1.0.0\"\n- name: c\nvalueDefinitions:\n  n: {type: number}\n",
        );
        let bad = Asked {
            namespace: Some("x".into()),
            values: vec![("n".into(), "many".into())],
            ..Default::default()
        };
        assert!(matches!(plan("a", &m, &bad), Err(PlanError::Value(_))));
        let p = plan("a", &m, &asked(None)).expect("planned");
        assert_eq!(p.dependencies, ["b >=1.0.0", "c"]);
    }
}
