//! A spec's `values` and the core's install plan, both ways: what a checked plan
//! writes (literal `value`s and `valueFrom` references), and what a written spec asks
//! for, to be checked again (`hoist configure` re-plans the whole set).
//!
//! # Guarantees
//! - [`asked`] of [`of_plan`] gives back the plan's values and references (the
//!   round trip is tested), so re-planning an unchanged spec changes nothing.
//! - A `valueFrom` naming no source, or more than one, is [`Unreadable`] rather than
//!   guessed at.

use crate::types::{PackageValueReference, ValueConfiguration, ValueReference, ValueSource};
use hoist_core::install::plan::{InstallPlan, Reference, Source};
use std::collections::BTreeMap;

/// A spec value that names no source, or several.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "value {0:?} has neither a value nor exactly one valueFrom source; fix it with kubectl edit"
)]
pub struct Unreadable(pub String);

/// The spec's `values` for a checked plan: its literal values and its references.
pub fn of_plan(plan: &InstallPlan) -> BTreeMap<String, ValueConfiguration> {
    let literal = plan.values.iter().map(|(k, v)| {
        let value = ValueConfiguration {
            value: Some(v.clone()),
            value_from: None,
        };
        (k.clone(), value)
    });
    let referenced = plan.references.iter().map(|r| {
        let value = ValueConfiguration {
            value: None,
            value_from: Some(source(&r.source)),
        };
        (r.key.clone(), value)
    });
    literal.chain(referenced).collect()
}

/// Literal `KEY=VALUE`s and references, as [`hoist_core::install::plan::Asked`] takes them.
pub type Parts = (Vec<(String, String)>, Vec<Reference>);

/// What a written spec's `values` ask for: literal `KEY=VALUE`s and references.
pub fn asked(values: &BTreeMap<String, ValueConfiguration>) -> Result<Parts, Unreadable> {
    let mut literal = Vec::new();
    let mut references = Vec::new();
    for (key, v) in values {
        match (&v.value, &v.value_from) {
            (Some(value), None) => literal.push((key.clone(), value.clone())),
            (None, Some(from)) => references.push(Reference {
                key: key.clone(),
                source: reference(from).ok_or_else(|| Unreadable(key.clone()))?,
            }),
            _ => return Err(Unreadable(key.clone())),
        }
    }
    Ok((literal, references))
}

/// A checked reference as the spec's `valueFrom`.
pub fn source(s: &Source) -> ValueSource {
    match s {
        Source::ConfigMap {
            namespace,
            name,
            key,
        } => ValueSource {
            config_map_ref: Some(ValueReference {
                name: name.clone(),
                namespace: namespace.clone(),
                key: key.clone(),
            }),
            ..Default::default()
        },
        Source::Secret {
            namespace,
            name,
            key,
        } => ValueSource {
            secret_ref: Some(ValueReference {
                name: name.clone(),
                namespace: namespace.clone(),
                key: key.clone(),
            }),
            ..Default::default()
        },
        Source::Package { name, value } => ValueSource {
            package_ref: Some(PackageValueReference {
                name: name.clone(),
                value: value.clone(),
            }),
            ..Default::default()
        },
    }
}

/// A `valueFrom` as the core's source; `None` unless it names exactly one.
pub fn reference(v: &ValueSource) -> Option<Source> {
    match (&v.config_map_ref, &v.secret_ref, &v.package_ref) {
        (Some(r), None, None) => Some(Source::ConfigMap {
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            key: r.key.clone(),
        }),
        (None, Some(r), None) => Some(Source::Secret {
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            key: r.key.clone(),
        }),
        (None, None, Some(r)) => Some(Source::Package {
            name: r.name.clone(),
            value: r.value.clone(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_core::install::InstallRef;

    #[test]
    fn a_plan_written_and_read_back_asks_for_the_same_values_and_references() {
        let references = vec![
            Reference {
                key: "password".into(),
                source: Source::Secret {
                    namespace: None,
                    name: "db".into(),
                    key: "pw".into(),
                },
            },
            Reference {
                key: "host".into(),
                source: Source::ConfigMap {
                    namespace: Some("infra".into()),
                    name: "endpoints".into(),
                    key: "db".into(),
                },
            },
            Reference {
                key: "token".into(),
                source: Source::Package {
                    name: "vault".into(),
                    value: "rootToken".into(),
                },
            },
        ];
        let plan = InstallPlan {
            target: InstallRef::namespaced("team-a", "web"),
            values: BTreeMap::from([("replicas".to_string(), "3".to_string())]),
            references: references.clone(),
            dependencies: vec![],
            may_create_namespace: false,
        };
        let (literal, mut back) = asked(&of_plan(&plan)).expect("readable");
        assert_eq!(literal, vec![("replicas".to_string(), "3".to_string())]);
        back.sort_by(|a, b| a.key.cmp(&b.key));
        let mut want = references;
        want.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(back, want);
    }

    #[test]
    fn a_value_with_no_source_or_two_is_unreadable_not_guessed() {
        let both = ValueConfiguration {
            value: Some("1".into()),
            value_from: Some(ValueSource::default()),
        };
        let empty_from = ValueConfiguration {
            value: None,
            value_from: Some(ValueSource::default()),
        };
        for v in [both, empty_from, ValueConfiguration::default()] {
            let values = BTreeMap::from([("k".to_string(), v)]);
            assert_eq!(asked(&values), Err(Unreadable("k".into())));
        }
    }
}
