//! From a package's spec to the objects to apply: its package.yaml and manifests
//! through the repository's cache (no download while fresh, timeouts on every fetch),
//! its values checked and applied through their targets, then placed (namespaces,
//! names, labels).

use crate::error::Error;
use crate::inputs::{Lookup, User};
use crate::options::OperatorOptions;
use crate::package::Installable;
use crate::scopes::Scopes;
use hoist_core::operator::placement::{self, Placed, PlacementError, Rendered};
use hoist_core::operator::values;
use hoist_kube::repo::clientset::Clientset;
use hoist_kube::repo::fetch::Freshness;
use hoist_kube::repo::format::PackageManifest;
use kube::ResourceExt;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most warnings an install's status carries.
const MAX_WARNINGS: usize = 20;

/// A package, rendered.
pub struct Render {
    pub manifest: Arc<PackageManifest>,
    /// The repository it came from (its dependencies come from there too).
    pub repository: Arc<hoist_kube::repo::clientset::RepoClient>,
    pub placed: Placed,
    /// The values in force (given over defaults).
    pub values: BTreeMap<String, String>,
    /// What the package says that was not installed as written: fields Hoist does not
    /// know, value targets that matched no object (Glasskube skips both silently).
    pub warnings: Vec<String>,
}

/// What a render reads besides the package: a running operator's
/// [`crate::context::Context`] (its watches), or a preview's [`crate::preview::Planner`]
/// (one-off reads).
pub trait Sources: Sync {
    /// The repositories packages come from.
    fn repositories(&self) -> &Clientset;
    /// Discovery: which kinds are namespaced.
    fn scopes(&self) -> &Scopes;
    /// Tenant rules and the default ServiceAccount.
    fn opts(&self) -> &OperatorOptions;
    /// Where `valueFrom` is read.
    fn lookup(&self) -> &dyn Lookup;
}

impl Sources for crate::context::Context {
    fn repositories(&self) -> &Clientset {
        &self.repositories
    }
    fn scopes(&self) -> &Scopes {
        &self.scopes
    }
    fn opts(&self) -> &OperatorOptions {
        &self.opts
    }
    fn lookup(&self) -> &dyn Lookup {
        &self.inputs
    }
}

pub async fn render<K: Installable>(pkg: &K, ctx: &dyn Sources) -> Result<Render, Error> {
    let info = &pkg.spec().package_info;
    let repo = repository(ctx, info.repository_name.as_deref())?;
    let manifest = repo
        .manifest(&info.name, &info.version, Freshness::Cached)
        .await?
        .value;
    if let Some(why) = manifest.unsupported() {
        return Err(Error::Unsupported(why));
    }
    let own_namespace = pkg.namespace();
    if own_namespace.is_some() && ctx.opts().tenant_rules {
        // A tenant's Package installs only what is namespaced (confinement.rs).
        let namespaced =
            hoist_core::install::Scope::of(&manifest) == hoist_core::install::Scope::Namespaced;
        hoist_core::operator::confinement::check_package(&info.name, namespaced)?;
    }
    if manifest.helm.is_some() {
        crate::helm::check_flux(ctx.scopes()).await?;
    }
    let user = match &own_namespace {
        Some(ns) => User::Namespaced(ns.clone(), pkg.name_any()),
        None => User::Cluster(pkg.name_any()),
    };
    let mut given = Vec::new();
    for (name, v) in &pkg.spec().values {
        if let Some(value) =
            crate::inputs::resolve(ctx.lookup(), name, v, &user, own_namespace.as_deref()).await?
        {
            given.push((name.clone(), value));
        }
    }
    let given = hoist_core::repo::values::validate(&info.name, &manifest.value_definitions, &given)
        .map_err(|e| hide_secret_value(e, &pkg.spec().values))?;
    let values = values::effective(&manifest.value_definitions, &given);
    let install = serde_json::to_value(pkg)?;
    let writes = values::writes(
        &manifest.value_definitions,
        &values,
        &manifest.transformations,
        &install,
    )?;
    let mut rendered = Vec::new();
    for m in &manifest.manifests {
        let docs = repo
            .objects(&info.name, &info.version, &m.url, Freshness::Cached)
            .await?;
        rendered.extend(docs.value.0.iter().cloned().map(|object| Rendered {
            object,
            default_namespace: m.default_namespace.clone(),
        }));
    }
    let owner = pkg.owner(manifest.default_namespace.clone());
    let scope = |g: &str, k: &str| ctx.scopes().namespaced(g, k);
    let namespaces = placement::effective_namespaces(&rendered, &owner, scope);
    let unresolved = values::apply(&writes, &mut rendered, &namespaces)?;
    values::mark_pod_templates(&values, &mut rendered);
    let transitive = &manifest.transitive_resources;
    let mut placed = match placement::place_with(rendered.clone(), &owner, scope, transitive) {
        Err(PlacementError::UnknownKind { .. }) => {
            // A kind installed since discovery last ran: look again, once.
            ctx.scopes().refresh(false).await?;
            let scope = |g: &str, k: &str| ctx.scopes().namespaced(g, k);
            placement::place_with(rendered, &owner, scope, transitive)?
        }
        other => other?,
    };
    let mut warnings: Vec<String> = manifest
        .unknown_fields
        .iter()
        .map(|f| format!("package.yaml: unknown field {f} (not installed)"))
        .collect();
    warnings.extend(unresolved.iter().map(ToString::to_string));
    warnings.truncate(MAX_WARNINGS);
    if let Some(helm) = &manifest.helm {
        let (objects, namespace, other_charts) =
            helm_objects(pkg, ctx, helm, &manifest, &owner, &writes)?;
        warnings.extend(other_charts);
        warnings.truncate(MAX_WARNINGS);
        placed.objects.extend(objects);
        if own_namespace.is_none() && !placed.namespaces.contains(&namespace) {
            placed.namespaces.push(namespace);
        }
    }
    Ok(Render {
        manifest,
        repository: repo,
        placed,
        values,
        warnings,
    })
}

/// The repository named `name`, or the default one when `None`.
fn repository(
    ctx: &dyn Sources,
    name: Option<&str>,
) -> Result<Arc<hoist_kube::repo::clientset::RepoClient>, Error> {
    match name {
        Some(name) => ctx
            .repositories()
            .get(name)
            .ok_or_else(|| Error::NoRepository(name.to_string())),
        None => ctx
            .repositories()
            .default_repository()
            .ok_or(Error::NoDefaultRepository),
    }
}

/// A Helm package's Flux objects (placed already: named after the install, in its
/// namespace, labelled, so placement never renames them and the release's sourceRef
/// holds), the namespace its release goes into, and the warnings of value targets that
/// name other charts.
fn helm_objects<K: Installable>(
    pkg: &K,
    ctx: &dyn Sources,
    helm: &hoist_core::repo::format::Helm,
    manifest: &PackageManifest,
    owner: &placement::Owner,
    writes: &[values::Write<'_>],
) -> Result<(Vec<serde_json::Value>, String, Vec<String>), Error> {
    let own_namespace = pkg.namespace();
    let namespace = own_namespace
        .clone()
        .or_else(|| manifest.default_namespace.clone())
        .ok_or_else(|| hoist_core::repo::format::FormatError {
            file: "package.yaml".into(),
            reason: "a Helm package installed cluster-wide needs defaultNamespace for its release"
                .into(),
        })?;
    let (chart_values, other_charts) = hoist_core::operator::helm::chart_values(helm, writes)?;
    let mut helm_objects =
        hoist_core::operator::helm::objects(helm, owner, &namespace, chart_values);
    // helm-controller installs the chart as the account the Package's own writes
    // are made as, not with its own rights.
    let acting = crate::identity::Acting::for_package(
        own_namespace.as_deref(),
        pkg.service_account(),
        ctx.opts().default_service_account.as_deref(),
    );
    if let crate::identity::Acting::ServiceAccount { name, .. } = &acting {
        for o in &mut helm_objects {
            if o.get("kind").and_then(serde_json::Value::as_str) == Some("HelmRelease")
                && let Some(spec) = o.get_mut("spec").and_then(serde_json::Value::as_object_mut)
            {
                spec.insert("serviceAccountName".into(), name.clone().into());
            }
        }
    }
    let other_charts = other_charts.iter().map(ToString::to_string).collect();
    Ok((helm_objects, namespace, other_charts))
}

/// The names of the values that are (or may be) read from a Secret: a `secretRef`, or
/// a `packageRef` (the other package may read it from one). Their text is never shown.
pub fn secret_sourced(
    values: &BTreeMap<String, hoist_kube::types::ValueConfiguration>,
) -> std::collections::BTreeSet<String> {
    values
        .iter()
        .filter(|(_, v)| {
            v.value.is_none()
                && v.value_from
                    .as_ref()
                    .is_some_and(|f| f.secret_ref.is_some() || f.package_ref.is_some())
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// A value error as it may be shown: the text of a value that came from a Secret (or
/// through another package, which may have read it from one) is never quoted in a
/// status, an Event or a log; the error names the key.
fn hide_secret_value(
    e: hoist_core::repo::values::ValueError,
    values: &BTreeMap<String, hoist_kube::types::ValueConfiguration>,
) -> hoist_core::repo::values::ValueError {
    use hoist_core::repo::values::ValueError;
    match e {
        ValueError::Invalid {
            key,
            expected,
            given: _,
        } if secret_sourced(values).contains(&key) => ValueError::Invalid {
            key,
            expected,
            given: "(read from a Secret or another package; not shown)".into(),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_core::repo::values::ValueError;
    use hoist_kube::types::{ValueConfiguration, ValueReference, ValueSource};

    #[test]
    fn a_value_from_a_secret_is_never_quoted_in_its_error() {
        let invalid = |key: &str| ValueError::Invalid {
            key: key.into(),
            expected: "a number".into(),
            given: "hunter2".into(),
        };
        let values = BTreeMap::from([
            (
                "password".to_string(),
                ValueConfiguration {
                    value: None,
                    value_from: Some(ValueSource {
                        secret_ref: Some(ValueReference {
                            name: "db".into(),
                            namespace: None,
                            key: "password".into(),
                        }),
                        ..Default::default()
                    }),
                },
            ),
            (
                "typed".to_string(),
                ValueConfiguration {
                    value: Some("hunter2".into()),
                    value_from: None,
                },
            ),
        ]);
        let hidden = hide_secret_value(invalid("password"), &values).to_string();
        assert!(!hidden.contains("hunter2"), "{hidden}");
        assert!(hidden.contains("\"password\""), "{hidden}");
        // What the user typed into the Package is theirs to see again.
        let shown = hide_secret_value(invalid("typed"), &values).to_string();
        assert!(shown.contains("hunter2"), "{shown}");
    }
}
