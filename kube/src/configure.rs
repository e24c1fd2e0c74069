//! Changing an installed package's values (`hoist configure`, the install page's
//! values form): read the install, apply the changes to its value set, check the
//! whole set again against its version's definitions with the install's own rules
//! ([`hoist_core::install::plan`]: types, constraints, required values, references
//! confined to the Package's namespace), and write only `spec.values` (and the
//! auto-update annotation when asked). The operator does the rest.
//!
//! # Guarantees
//! - Everything is checked before anything is written: an unknown key, a value of
//!   the wrong type, a required value unset, a reference to another namespace, a key
//!   both set and unset: a clear error, nothing changed.
//! - The write is conditional on the install's resourceVersion as read: a change made
//!   meanwhile (by a user or the dashboard) fails the configure with a conflict
//!   instead of being overwritten.
//! - Nothing to change writes nothing ([`Configured::changes`] is empty).
//! - A Secret's *content* is never read here: a `secret:` reference is written as a
//!   reference and shown as one.
//!
//! # Caveats
//! - The version's definitions come through the repository cache, as for an
//!   upgrade; an install whose version the repository no longer offers cannot be
//!   configured (the error says so) until it is upgraded.

use crate::installs::{Install, Installs};
use crate::repo::catalogue::Catalogue;
use crate::repo::clientset::Clientset;
use crate::repo::fetch::Freshness;
use crate::repo::resolve::{self, ResolveError};
use crate::types::{AUTO_UPDATE, ValueConfiguration};
use crate::values::{self, Unreadable};
use hoist_core::install::InstallRef;
use hoist_core::install::plan::{self, Asked, PlanError, Reference};
use kube::Client;
use std::collections::BTreeMap;

/// What to change.
#[derive(Debug, Clone, Default)]
pub struct ConfigureRequest {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// A Package's namespace; `None` for a ClusterPackage.
    pub namespace: Option<String>,
    /// `KEY=VALUE` settings, in order (a later one wins); each replaces a reference.
    pub set: Vec<(String, String)>,
    /// Values read from a ConfigMap, Secret or package; each replaces a literal.
    pub references: Vec<Reference>,
    /// Values removed (the package's default applies again).
    pub unset: Vec<String>,
    /// Turn unattended upgrades on or off; `None` leaves them as they are.
    pub auto_update: Option<bool>,
}

/// Why a configure was refused. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    #[error("{0} is not installed")]
    NotInstalled(InstallRef),
    #[error("{key:?} is both set and unset: keep one")]
    SetAndUnset { key: String },
    #[error("{key:?} is not set on {at}, so it cannot be unset")]
    NotSet { at: InstallRef, key: String },
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The install's rules refused the new value set.
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{0} changed while it was being configured; run the configure again")]
    Conflict(InstallRef),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// One change to a value, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set where it was not.
    Added {
        key: String,
        to: String,
    },
    /// Set to something else.
    Changed {
        key: String,
        from: String,
        to: String,
    },
    /// Removed: the package's default applies.
    Removed {
        key: String,
        from: String,
    },
    AutoUpdate(bool),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Added { key, to } => write!(f, "{key}: set to {to}"),
            Self::Changed { key, from, to } => write!(f, "{key}: {from} -> {to}"),
            Self::Removed { key, from } => write!(f, "{key}: unset (was {from})"),
            Self::AutoUpdate(on) => {
                write!(f, "auto-update: {}", if *on { "on" } else { "off" })
            }
        }
    }
}

/// A configure worked out and checked; written by [`configure`], or shown by a dry run.
#[derive(Debug, Clone)]
pub struct Configured {
    pub resource: InstallRef,
    /// Empty when the request changes nothing.
    pub changes: Vec<Change>,
    /// The install as it is after the change (for `--dry-run -o yaml`).
    pub after: Install,
    resource_version: Option<String>,
    values: BTreeMap<String, ValueConfiguration>,
    removed: Vec<String>,
}

impl std::fmt::Display for Configured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.changes.is_empty() {
            return write!(f, "{}: nothing to change", self.resource);
        }
        writeln!(f, "{}:", self.resource)?;
        for c in &self.changes {
            writeln!(f, "  {c}")?;
        }
        write!(f, "the operator applies it")
    }
}

/// How a value is shown: a literal as is, a reference by its source (never the
/// content it names).
fn shown(v: &ValueConfiguration) -> String {
    match (&v.value, v.value_from.as_ref().and_then(values::reference)) {
        (Some(value), _) => value.clone(),
        (None, Some(source)) => format!("from {}", as_flag(&source)),
        (None, None) => "(unreadable)".into(),
    }
}

/// A source in `--set-from`'s own syntax (`secret:[NS/]NAME/KEY`…).
fn as_flag(s: &hoist_core::install::plan::Source) -> String {
    use hoist_core::install::plan::Source;
    let object = |kind: &str, namespace: &Option<String>, name: &str, key: &str| match namespace {
        Some(ns) => format!("{kind}:{ns}/{name}/{key}"),
        None => format!("{kind}:{name}/{key}"),
    };
    match s {
        Source::ConfigMap {
            namespace,
            name,
            key,
        } => object("configmap", namespace, name, key),
        Source::Secret {
            namespace,
            name,
            key,
        } => object("secret", namespace, name, key),
        Source::Package { name, value } => format!("package:{name}/{value}"),
    }
}

/// Reads the install and checks the new value set (everything [`configure`] checks
/// before it writes).
pub async fn check(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &ConfigureRequest,
) -> Result<Configured, ConfigureError> {
    let resource = InstallRef::new(req.namespace.as_deref(), req.name.clone());
    if let Some(key) = req.unset.iter().find(|k| {
        req.set.iter().any(|(s, _)| s == *k) || req.references.iter().any(|r| &r.key == *k)
    }) {
        return Err(ConfigureError::SetAndUnset { key: key.clone() });
    }
    let install = Installs::new(client)
        .get(&resource)
        .await
        .map_err(kube::Error::from)?
        .ok_or_else(|| ConfigureError::NotInstalled(resource.clone()))?;
    let spec = install.spec().clone();
    let before = spec.values.clone();
    let (mut literal, mut references) = values::asked(&before)?;
    for key in &req.unset {
        if !before.contains_key(key) {
            return Err(ConfigureError::NotSet {
                at: resource.clone(),
                key: key.clone(),
            });
        }
        literal.retain(|(k, _)| k != key);
        references.retain(|r| &r.key != key);
    }
    for (key, value) in &req.set {
        references.retain(|r| &r.key != key);
        literal.retain(|(k, _)| k != key);
        literal.push((key.clone(), value.clone()));
    }
    for r in &req.references {
        literal.retain(|(k, _)| *k != r.key);
        references.retain(|x| x.key != r.key);
        references.push(r.clone());
    }
    let info = &spec.package_info;
    let resolved = resolve::resolve(
        repositories,
        catalogue,
        &info.name,
        info.repository_name.as_deref(),
        Some(&info.version),
        Freshness::Cached,
    )
    .await?;
    let asked = Asked {
        name: Some(resource.name.clone()),
        namespace: resource.namespace.clone(),
        values: literal,
        references,
    };
    let checked = plan::plan(&resolved.name, &resolved.manifest, &asked)?;
    let after_values = values::of_plan(&checked);
    let mut changes = diff(&before, &after_values);
    let auto_update_now = install
        .metadata()
        .annotations
        .as_ref()
        .and_then(|a| a.get(AUTO_UPDATE))
        .is_some_and(|v| v == "true");
    let auto_update = req.auto_update.filter(|on| *on != auto_update_now);
    if let Some(on) = auto_update {
        changes.push(Change::AutoUpdate(on));
    }
    let removed = before
        .keys()
        .filter(|k| !after_values.contains_key(*k))
        .cloned()
        .collect();
    let resource_version = install.metadata().resource_version.clone();
    let mut after = install;
    after.spec_mut().values = after_values.clone();
    if let Some(on) = auto_update {
        after.set_annotation(AUTO_UPDATE, on.then(|| "true".to_string()));
    }
    Ok(Configured {
        resource,
        changes,
        after,
        resource_version,
        values: after_values,
        removed,
    })
}

/// The changes from `before` to `after`, by key.
fn diff(
    before: &BTreeMap<String, ValueConfiguration>,
    after: &BTreeMap<String, ValueConfiguration>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (key, v) in after {
        match before.get(key) {
            None => out.push(Change::Added {
                key: key.clone(),
                to: shown(v),
            }),
            Some(old) if old != v => out.push(Change::Changed {
                key: key.clone(),
                from: shown(old),
                to: shown(v),
            }),
            Some(_) => {}
        }
    }
    for (key, old) in before {
        if !after.contains_key(key) {
            out.push(Change::Removed {
                key: key.clone(),
                from: shown(old),
            });
        }
    }
    out
}

/// Checks and writes the change. See the module doc.
pub async fn configure(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &ConfigureRequest,
) -> Result<Configured, ConfigureError> {
    let configured = check(client, repositories, catalogue, req).await?;
    if configured.changes.is_empty() {
        return Ok(configured);
    }
    let result = Installs::new(client)
        .merge_patch(&configured.resource, &patch(&configured))
        .await
        .map_err(kube::Error::from);
    match result {
        Ok(()) => Ok(configured),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            Err(ConfigureError::Conflict(configured.resource))
        }
        Err(e) => Err(e.into()),
    }
}

/// The merge patch: every value written whole (a literal replacing a reference must
/// clear `valueFrom`, and the other way round), removed ones as `null`, the
/// resourceVersion read, and the annotation when it changes.
fn patch(c: &Configured) -> serde_json::Value {
    let mut values = serde_json::Map::new();
    for (key, v) in &c.values {
        values.insert(
            key.clone(),
            serde_json::json!({"value": v.value, "valueFrom": v.value_from}),
        );
    }
    for key in &c.removed {
        values.insert(key.clone(), serde_json::Value::Null);
    }
    let mut metadata = serde_json::json!({"resourceVersion": c.resource_version});
    if let Some(on) = c.changes.iter().find_map(|ch| match ch {
        Change::AutoUpdate(on) => Some(*on),
        _ => None,
    }) {
        metadata["annotations"] =
            serde_json::json!({AUTO_UPDATE: if on { Some("true") } else { None }});
    }
    serde_json::json!({"metadata": metadata, "spec": {"values": values}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{PackageSpec, ValueReference, ValueSource};

    fn literal(v: &str) -> ValueConfiguration {
        ValueConfiguration {
            value: Some(v.into()),
            value_from: None,
        }
    }

    fn secret(name: &str, key: &str) -> ValueConfiguration {
        ValueConfiguration {
            value: None,
            value_from: Some(ValueSource {
                secret_ref: Some(ValueReference {
                    name: name.into(),
                    namespace: None,
                    key: key.into(),
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn the_diff_names_each_key_added_changed_or_removed_and_shows_secrets_by_reference() {
        let before = BTreeMap::from([
            ("replicas".to_string(), literal("2")),
            ("greeting".to_string(), literal("hi")),
            ("password".to_string(), literal("plain")),
        ]);
        let after = BTreeMap::from([
            ("replicas".to_string(), literal("3")),
            ("password".to_string(), secret("db", "pw")),
            ("color".to_string(), literal("blue")),
        ]);
        let changes: Vec<String> = diff(&before, &after)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            changes,
            vec![
                "color: set to blue",
                "password: plain -> from secret:db/pw",
                "replicas: 2 -> 3",
                "greeting: unset (was hi)",
            ]
        );
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn the_patch_clears_the_other_half_of_a_value_and_nulls_what_was_removed() {
        let at = InstallRef::namespaced("team-a", "web");
        let values = BTreeMap::from([
            ("replicas".to_string(), literal("3")),
            ("password".to_string(), secret("db", "pw")),
        ]);
        let mut after = Install::new(&at, PackageSpec::default());
        after.spec_mut().values = values.clone();
        let c = Configured {
            resource: at,
            changes: vec![Change::AutoUpdate(false)],
            after,
            resource_version: Some("42".into()),
            values,
            removed: vec!["greeting".into()],
        };
        let p = patch(&c);
        assert_eq!(p["metadata"]["resourceVersion"], "42");
        assert!(p["metadata"]["annotations"][AUTO_UPDATE].is_null());
        assert!(
            p["metadata"]["annotations"]
                .as_object()
                .is_some_and(|a| a.contains_key(AUTO_UPDATE))
        );
        let v = &p["spec"]["values"];
        assert_eq!(v["replicas"]["value"], "3");
        assert!(v["replicas"]["valueFrom"].is_null());
        assert!(v["password"]["value"].is_null());
        assert_eq!(v["password"]["valueFrom"]["secretRef"]["name"], "db");
        assert!(v["greeting"].is_null());
        assert!(v.as_object().is_some_and(|o| o.contains_key("greeting")));
    }
}
