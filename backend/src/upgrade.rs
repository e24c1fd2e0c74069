//! Upgrading (or moving to any version of) an installed package: check the version in
//! the catalogue and the install's values against that version's definitions, then
//! change `spec.packageInfo.version`; the operator does the rest.
//!
//! # Guarantees
//! - Without a version, the newest the repository offers (computed from versions.yaml)
//!   and only if it is newer: an install is never downgraded by accident. A version
//!   given explicitly may be older (a rollback).
//! - Values set on the install that the new version does not define or accept are
//!   reported by key before anything is written; nothing is changed.
//! - The write carries the install's resourceVersion: if someone changed it since it
//!   was read, the upgrade fails with a conflict instead of overwriting their change.

use crate::repo::catalogue::Catalogue;
use crate::repo::clientset::Clientset;
use crate::repo::fetch::Freshness;
use crate::repo::resolve::{self, ResolveError};
use crate::types::{ClusterPackage, Package, PackageSpec};
use hoist_core::install::InstallRef;
use hoist_core::install::upgrade::{self as rule, UpgradeRuleError};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};

/// What to upgrade.
#[derive(Debug, Clone, Default)]
pub struct UpgradeRequest {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// A Package's namespace; `None` for a ClusterPackage.
    pub namespace: Option<String>,
    /// The version to move to; the newest when unset.
    pub version: Option<String>,
}

/// Why an upgrade was refused. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error("{0} is not installed")]
    NotInstalled(InstallRef),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Rule(#[from] UpgradeRuleError),
    #[error("{0} changed while it was being upgraded; run the upgrade again")]
    Conflict(InstallRef),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    pub resource: InstallRef,
    pub from: String,
    pub to: String,
}

impl std::fmt::Display for Upgraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} moves from {} to {}; the operator installs it",
            self.resource, self.from, self.to
        )
    }
}

/// The install's spec and resourceVersion, or `None` when it does not exist.
async fn read(
    client: &Client,
    at: &InstallRef,
) -> Result<Option<(PackageSpec, Option<String>)>, kube::Error> {
    Ok(match &at.namespace {
        None => Api::<ClusterPackage>::all(client.clone())
            .get_opt(&at.name)
            .await?
            .map(|p| (p.spec, p.metadata.resource_version)),
        Some(ns) => Api::<Package>::namespaced(client.clone(), ns)
            .get_opt(&at.name)
            .await?
            .map(|p| (p.spec.spec, p.metadata.resource_version)),
    })
}

/// Checks and changes the install's version. See the module doc.
pub async fn upgrade(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &UpgradeRequest,
) -> Result<Upgraded, UpgradeError> {
    let resource = InstallRef::new(req.namespace.as_deref(), req.name.clone());
    let (spec, resource_version) = read(client, &resource)
        .await?
        .ok_or_else(|| UpgradeError::NotInstalled(resource.clone()))?;
    let PackageSpec {
        package_info,
        values: set,
        ..
    } = spec;
    let r = resolve::resolve(
        repositories,
        catalogue,
        &package_info.name,
        package_info.repository_name.as_deref(),
        req.version.as_deref(),
        Freshness::Cached,
    )
    .await?;
    // Literal values are checked in full; values from ConfigMaps or Secrets by key.
    let current = rule::Current {
        resource: &resource,
        version: &package_info.version,
        literal: set
            .iter()
            .filter_map(|(k, v)| v.value.clone().map(|value| (k.clone(), value)))
            .collect(),
        keys: set.keys().collect(),
    };
    rule::check(
        &current,
        &r.name,
        &r.version,
        req.version.is_some(),
        &r.manifest.value_definitions,
    )?;
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": resource_version},
        "spec": {"packageInfo": {"version": r.version}},
    });
    let params = PatchParams::default();
    let result = match &resource.namespace {
        None => Api::<ClusterPackage>::all(client.clone())
            .patch(&resource.name, &params, &Patch::Merge(&patch))
            .await
            .map(|_| ()),
        Some(ns) => Api::<Package>::namespaced(client.clone(), ns)
            .patch(&resource.name, &params, &Patch::Merge(&patch))
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(Upgraded {
            resource,
            from: package_info.version,
            to: r.version,
        }),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(UpgradeError::Conflict(resource)),
        Err(e) => Err(e.into()),
    }
}
