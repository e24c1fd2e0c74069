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
use crate::repo::values::{self, ValueError};
use crate::repo::version::PackageVersion;
use crate::types::{ClusterPackage, Package, PackageSpec};
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
    NotInstalled(String),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("{resource} is at {version}, the newest {package} its repository offers")]
    UpToDate {
        resource: String,
        package: String,
        version: String,
    },
    #[error("{resource} is already at {version}")]
    AlreadyAt { resource: String, version: String },
    #[error("{resource}'s values do not fit {version}: {error}; change them first")]
    Values {
        resource: String,
        version: String,
        error: ValueError,
    },
    #[error("{0} changed while it was being upgraded; run the upgrade again")]
    Conflict(String),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    pub resource: String,
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

/// Checks and changes the install's version. See the module doc.
pub async fn upgrade(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &UpgradeRequest,
) -> Result<Upgraded, UpgradeError> {
    let (resource, spec, resource_version) = match &req.namespace {
        None => {
            let resource = format!("ClusterPackage {}", req.name);
            let api: Api<ClusterPackage> = Api::all(client.clone());
            let p = api
                .get_opt(&req.name)
                .await?
                .ok_or_else(|| UpgradeError::NotInstalled(resource.clone()))?;
            (resource, p.spec, p.metadata.resource_version)
        }
        Some(ns) => {
            let resource = format!("Package {ns}/{}", req.name);
            let api: Api<Package> = Api::namespaced(client.clone(), ns);
            let p = api
                .get_opt(&req.name)
                .await?
                .ok_or_else(|| UpgradeError::NotInstalled(resource.clone()))?;
            (resource, p.spec.spec, p.metadata.resource_version)
        }
    };
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
    if req.version.is_none() {
        let newer = match (
            PackageVersion::parse(&r.version),
            PackageVersion::parse(&package_info.version),
        ) {
            (Ok(newest), Ok(have)) => newest > have,
            // An install at a version that does not parse: any valid one is better.
            (Ok(_), Err(_)) => true,
            _ => false,
        };
        if !newer {
            return Err(UpgradeError::UpToDate {
                resource,
                package: r.name,
                version: package_info.version,
            });
        }
    }
    if r.version == package_info.version {
        return Err(UpgradeError::AlreadyAt {
            resource,
            version: r.version,
        });
    }
    // Literal values are checked in full; values from ConfigMaps or Secrets by key.
    let defs = &r.manifest.value_definitions;
    let literal: Vec<(String, String)> = set
        .iter()
        .filter_map(|(k, v)| v.value.clone().map(|value| (k.clone(), value)))
        .collect();
    let check = values::validate(&r.name, defs, &literal)
        .and_then(|_| values::require_known(&r.name, defs, set.keys()));
    if let Err(error) = check {
        return Err(UpgradeError::Values {
            resource,
            version: r.version,
            error,
        });
    }
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": resource_version},
        "spec": {"packageInfo": {"version": r.version}},
    });
    let params = PatchParams::default();
    let result = match &req.namespace {
        None => Api::<ClusterPackage>::all(client.clone())
            .patch(&req.name, &params, &Patch::Merge(&patch))
            .await
            .map(|_| ()),
        Some(ns) => Api::<Package>::namespaced(client.clone(), ns)
            .patch(&req.name, &params, &Patch::Merge(&patch))
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
