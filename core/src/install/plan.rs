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
    /// Values the operator reads when it installs (and follows when they change).
    pub references: Vec<Reference>,
}

/// A value read from elsewhere by the operator: `valueFrom` in the package's spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The value's name (one of the package's `valueDefinitions`).
    pub key: String,
    pub source: Source,
}

/// Where a referenced value is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A key of a ConfigMap; `namespace` `None` is the Package's own.
    ConfigMap {
        namespace: Option<String>,
        name: String,
        key: String,
    },
    /// A key of a Secret; `namespace` `None` is the Package's own.
    Secret {
        namespace: Option<String>,
        name: String,
        key: String,
    },
    /// A value another ClusterPackage sets.
    Package { name: String, value: String },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::ConfigMap { name, key, .. } => format!("ConfigMap {name:?} key {key:?}"),
            Source::Secret { name, key, .. } => format!("Secret {name:?} key {key:?}"),
            Source::Package { name, value } => format!("package {name:?} value {value:?}"),
        }
    }
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
    #[error("value {key:?} is given both as a value and from {source_}: keep one")]
    SetTwice { key: String, source_: String },
    #[error("value {key:?}: {why}")]
    Reference { key: String, why: String },
}

/// The install to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallPlan {
    pub target: InstallRef,
    /// The values checked, only those given (defaults stay the package's).
    pub values: BTreeMap<String, String>,
    /// The references, checked; the Package's own namespace left implicit (`None`).
    pub references: Vec<Reference>,
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
/// package; no namespace given for a namespaced package that declares none; a
/// reference that names no object or key, a value both given and referenced, a
/// Package's reference into another namespace (the operator would refuse it), a
/// ClusterPackage's ConfigMap or Secret reference without a namespace.
pub fn plan(
    package: &str,
    manifest: &PackageManifest,
    asked: &Asked,
) -> Result<InstallPlan, PlanError> {
    if let Some(r) = asked
        .references
        .iter()
        .find(|r| asked.values.iter().any(|(k, _)| *k == r.key))
    {
        return Err(PlanError::SetTwice {
            key: r.key.clone(),
            source_: r.source.describe(),
        });
    }
    let referenced: Vec<String> = asked.references.iter().map(|r| r.key.clone()).collect();
    values::require_known(package, &manifest.value_definitions, referenced.iter())?;
    let given: Vec<(String, String)> = asked
        .values
        .iter()
        .cloned()
        .chain(referenced.iter().map(|k| (k.clone(), String::new())))
        .collect();
    // Referenced values count as given for `required`; their content is checked by
    // the operator when it reads them.
    let mut values =
        values::validate_present(package, &manifest.value_definitions, &given, &referenced)?;
    for k in &referenced {
        values.remove(k);
    }
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
    let references = asked
        .references
        .iter()
        .map(|r| check_reference(r, &target))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InstallPlan {
        target,
        values,
        references,
        dependencies,
        may_create_namespace,
    })
}

fn check_reference(r: &Reference, target: &InstallRef) -> Result<Reference, PlanError> {
    let bad = |why: &str| PlanError::Reference {
        key: r.key.clone(),
        why: why.to_string(),
    };
    let own = target.namespace.as_deref();
    let source = match &r.source {
        Source::ConfigMap {
            namespace,
            name,
            key,
        }
        | Source::Secret {
            namespace,
            name,
            key,
        } => {
            if name.trim().is_empty() || key.trim().is_empty() {
                return Err(bad(
                    "a ConfigMap or Secret reference needs its name and key",
                ));
            }
            let namespace = match (own, namespace.as_deref().filter(|n| !n.is_empty())) {
                (Some(_), None) => None,
                (Some(own), Some(ns)) if ns == own => None,
                (Some(own), Some(ns)) => {
                    return Err(bad(&format!(
                        "a Package in {own:?} may only read values from its own namespace, not {ns:?}"
                    )));
                }
                (None, Some(ns)) => Some(ns.to_string()),
                (None, None) => {
                    return Err(bad(
                        "a cluster package's ConfigMap or Secret reference must name its namespace",
                    ));
                }
            };
            let (name, key) = (name.clone(), key.clone());
            if matches!(r.source, Source::ConfigMap { .. }) {
                Source::ConfigMap {
                    namespace,
                    name,
                    key,
                }
            } else {
                Source::Secret {
                    namespace,
                    name,
                    key,
                }
            }
        }
        Source::Package { name, value } => {
            if name.trim().is_empty() || value.trim().is_empty() {
                return Err(bad(
                    "a package reference needs the package's name and its value's name",
                ));
            }
            r.source.clone()
        }
    };
    Ok(Reference {
        key: r.key.clone(),
        source,
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

    const WITH_VALUES: &str = "name: web\nscope: Namespaced\ndefaultNamespace: web\nvalueDefinitions:\n  password:\n    type: text\n    constraints:\n      required: true\n  replicas:\n    type: number\n";

    fn secret(namespace: Option<&str>) -> Reference {
        Reference {
            key: "password".into(),
            source: Source::Secret {
                namespace: namespace.map(str::to_string),
                name: "db".into(),
                key: "pw".into(),
            },
        }
    }

    #[test]
    fn a_reference_satisfies_a_required_value_and_keeps_its_own_namespace_implicit() {
        let m = manifest(WITH_VALUES);
        assert!(matches!(
            plan("web", &m, &asked(None)),
            Err(PlanError::Value(ValueError::Missing { .. }))
        ));
        let p = plan(
            "web",
            &m,
            &Asked {
                references: vec![secret(Some("web"))],
                ..asked(None)
            },
        )
        .expect("planned");
        assert_eq!(p.references, vec![secret(None)]);
        assert!(p.values.is_empty(), "a reference is not a literal value");
    }

    #[test]
    fn references_into_another_namespace_unknown_keys_and_values_set_twice_are_refused() {
        let m = manifest(WITH_VALUES);
        let with = |references: Vec<Reference>, values: Vec<(String, String)>| {
            plan(
                "web",
                &m,
                &Asked {
                    references,
                    values,
                    ..asked(None)
                },
            )
        };
        assert!(matches!(
            with(vec![secret(Some("other"))], vec![]),
            Err(PlanError::Reference { why, .. }) if why.contains("own namespace")
        ));
        let unknown = Reference {
            key: "nope".into(),
            ..secret(None)
        };
        assert!(matches!(
            with(vec![unknown], vec![]),
            Err(PlanError::Value(ValueError::Unknown { .. }))
        ));
        assert!(matches!(
            with(vec![secret(None)], vec![("password".into(), "x".into())]),
            Err(PlanError::SetTwice { .. })
        ));
        let nameless = Reference {
            key: "password".into(),
            source: Source::ConfigMap {
                namespace: None,
                name: " ".into(),
                key: "k".into(),
            },
        };
        assert!(matches!(
            with(vec![nameless], vec![]),
            Err(PlanError::Reference { .. })
        ));
    }

    #[test]
    fn a_cluster_packages_object_reference_must_name_its_namespace_and_a_package_value_need_not() {
        let m = manifest("name: cm\nvalueDefinitions:\n  password:\n    type: text\n");
        let refs = |r: Reference| Asked {
            references: vec![r],
            ..Default::default()
        };
        assert!(matches!(
            plan("cm", &m, &refs(secret(None))),
            Err(PlanError::Reference { why, .. }) if why.contains("must name its namespace")
        ));
        assert!(plan("cm", &m, &refs(secret(Some("vault")))).is_ok());
        let from_package = Reference {
            key: "password".into(),
            source: Source::Package {
                name: "vault".into(),
                value: "rootToken".into(),
            },
        };
        assert!(plan("cm", &m, &refs(from_package)).is_ok());
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
