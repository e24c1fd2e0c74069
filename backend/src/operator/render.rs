//! From a package's spec to the objects to apply: its package.yaml and manifests
//! through the repository's cache (no download while fresh, timeouts on every fetch),
//! its values checked and applied through their targets, then placed (namespaces,
//! names, labels).

use super::Context;
use super::error::Error;
use super::inputs::User;
use super::package::Installable;
use crate::repo::fetch::Freshness;
use crate::repo::format::PackageManifest;
use hoist_core::operator::placement::{self, Placed, PlacementError, Rendered};
use hoist_core::operator::values;
use kube::ResourceExt;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most warnings an install's status carries.
const MAX_WARNINGS: usize = 20;

/// A package, rendered.
pub struct Render {
    pub manifest: Arc<PackageManifest>,
    /// The repository it came from (its dependencies come from there too).
    pub repository: Arc<crate::repo::clientset::RepoClient>,
    pub placed: Placed,
    /// The values in force (given over defaults).
    pub values: BTreeMap<String, String>,
    /// What the package says that was not installed as written: fields Hoist does not
    /// know, value targets that matched no object (Glasskube skips both silently).
    pub warnings: Vec<String>,
}

pub async fn render<K: Installable>(pkg: &K, ctx: &Context) -> Result<Render, Error> {
    let info = &pkg.spec().package_info;
    let repo = match &info.repository_name {
        Some(name) => ctx
            .repositories
            .get(name)
            .ok_or_else(|| Error::NoRepository(name.clone()))?,
        None => ctx
            .repositories
            .default_repository()
            .ok_or(Error::NoDefaultRepository)?,
    };
    let manifest = repo
        .manifest(&info.name, &info.version, Freshness::Cached)
        .await?
        .value;
    if let Some(why) = manifest.unsupported() {
        return Err(Error::Unsupported(why));
    }
    if manifest.helm.is_some() {
        super::helm::check_flux(ctx).await?;
    }
    let own_namespace = pkg.namespace();
    let user = match &own_namespace {
        Some(ns) => User::Namespaced(ns.clone(), pkg.name_any()),
        None => User::Cluster(pkg.name_any()),
    };
    let mut given = Vec::new();
    for (name, v) in &pkg.spec().values {
        if let Some(value) = ctx
            .inputs
            .resolve(name, v, &user, own_namespace.as_deref())
            .await?
        {
            given.push((name.clone(), value));
        }
    }
    let given =
        hoist_core::repo::values::validate(&info.name, &manifest.value_definitions, &given)?;
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
    let scope = |g: &str, k: &str| ctx.scopes.namespaced(g, k);
    let namespaces = placement::effective_namespaces(&rendered, &owner, scope);
    let unresolved = values::apply(&writes, &mut rendered, &namespaces)?;
    values::mark_pod_templates(&values, &mut rendered);
    let transitive = &manifest.transitive_resources;
    let mut placed = match placement::place_with(rendered.clone(), &owner, scope, transitive) {
        Err(PlacementError::UnknownKind { .. }) => {
            // A kind installed since discovery last ran: look again, once.
            ctx.scopes.refresh(false).await?;
            let scope = |g: &str, k: &str| ctx.scopes.namespaced(g, k);
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
        // Placed already (named after the install, in its namespace, labelled), so
        // placement never renames them and the release's sourceRef holds.
        let namespace = own_namespace
            .clone()
            .or_else(|| manifest.default_namespace.clone())
            .ok_or_else(|| hoist_core::repo::format::FormatError {
                file: "package.yaml".into(),
                reason:
                    "a Helm package installed cluster-wide needs defaultNamespace for its release"
                        .into(),
            })?;
        let (chart_values, other_charts) = hoist_core::operator::helm::chart_values(helm, &writes)?;
        warnings.extend(other_charts.iter().map(ToString::to_string));
        warnings.truncate(MAX_WARNINGS);
        placed.objects.extend(hoist_core::operator::helm::objects(
            helm,
            &owner,
            &namespace,
            chart_values,
        ));
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
