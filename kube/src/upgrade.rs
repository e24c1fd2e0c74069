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

use crate::installs::Installs;
use crate::repo::catalogue::Catalogue;
use crate::repo::clientset::Clientset;
use crate::repo::fetch::Freshness;
use crate::repo::resolve::{self, ResolveError};
use crate::types::PackageSpec;
use hoist_core::install::InstallRef;
use hoist_core::install::upgrade::{self as rule, UpgradeRuleError};
use kube::{Client, ResourceExt};

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
    Ok(Installs::new(client).get(at).await?.map(|p| {
        let (spec, _, meta) = p.into_parts();
        (spec, meta.resource_version)
    }))
}

/// Checks and changes the install's version. See the module doc.
/// An upgrade worked out and checked, not yet written.
pub struct Checked {
    pub resource: InstallRef,
    pub from: String,
    pub to: String,
    resource_version: Option<String>,
}

/// Reads the install and checks the move (everything [`upgrade`] checks before it
/// writes).
pub async fn check(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &UpgradeRequest,
) -> Result<Checked, UpgradeError> {
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
    Ok(Checked {
        resource,
        from: package_info.version,
        to: r.version,
        resource_version,
    })
}

/// Checks and writes the upgrade. See the module doc.
pub async fn upgrade(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &UpgradeRequest,
) -> Result<Upgraded, UpgradeError> {
    let Checked {
        resource,
        from,
        to,
        resource_version,
    } = check(client, repositories, catalogue, req).await?;
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": resource_version},
        "spec": {"packageInfo": {"version": to}},
    });
    let result = Installs::new(client)
        .merge_patch(&resource, &patch)
        .await
        .map_err(kube::Error::from);
    match result {
        Ok(()) => Ok(Upgraded { resource, from, to }),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(UpgradeError::Conflict(resource)),
        Err(e) => Err(e.into()),
    }
}

/// One install, as unattended upgrades see it.
#[derive(Debug, Clone)]
pub struct Install {
    pub at: InstallRef,
    pub package: String,
    pub version: String,
    pub repository: Option<String>,
    /// A component is moved by its parent's version, never on its own.
    pub component: bool,
}

impl Install {
    /// For the operator, which reads its own stores.
    pub fn of_cluster(p: &crate::types::ClusterPackage) -> Self {
        Self::new(InstallRef::cluster(p.name_any()), &p.spec, p.annotations())
    }

    /// For the operator, which reads its own stores.
    pub fn of_namespaced(p: &crate::types::Package) -> Self {
        Self::new(
            InstallRef::new(p.namespace().as_deref(), p.name_any()),
            &p.spec.spec,
            p.annotations(),
        )
    }

    pub fn of(p: &crate::installs::Install) -> Self {
        let annotations = p.metadata().annotations.clone().unwrap_or_default();
        Self::new(p.at(), p.spec(), &annotations)
    }

    fn new(
        at: InstallRef,
        spec: &PackageSpec,
        annotations: &std::collections::BTreeMap<String, String>,
    ) -> Self {
        Self {
            at,
            package: spec.package_info.name.clone(),
            version: spec.package_info.version.clone(),
            repository: spec.package_info.repository_name.clone(),
            component: annotations.contains_key(crate::types::COMPONENT_OF),
        }
    }
}

/// Why an install is left where it is by an unattended upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    Component,
    UpToDate,
    /// The newest version is out of these dependents' ranges (`install: range`).
    HeldBy(Vec<String>),
    Unknown(String),
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Component => f.write_str("a component: its parent's version decides"),
            Self::UpToDate => f.write_str("up to date"),
            Self::HeldBy(by) => write!(f, "held by {}", by.join(", ")),
            Self::Unknown(why) => f.write_str(why),
        }
    }
}

/// The version `me` should move to unattended (`hoist upgrade --all`, auto-update):
/// the newest its repository offers that every install depending on it accepts
/// (`hoist_core::install::upgrade::newest_within`), or why it stays.
pub async fn unattended_target(
    repositories: &Clientset,
    all: &[Install],
    me: &Install,
) -> Result<String, Hold> {
    if me.component {
        return Err(Hold::Component);
    }
    let client_of = |i: &Install| match &i.repository {
        Some(name) => repositories.get(name),
        None => repositories.default_repository(),
    };
    let repo =
        client_of(me).ok_or_else(|| Hold::Unknown("its repository is not registered".into()))?;
    let offered: Vec<String> = repo
        .versions(&me.package, Freshness::Cached)
        .await
        .map_err(|e| Hold::Unknown(e.to_string()))?
        .value
        .versions
        .iter()
        .map(|v| v.version.clone())
        .collect();
    let mut ranges: Vec<(String, String)> = Vec::new();
    for other in all.iter().filter(|o| o.at != me.at && me.at.serves(&o.at)) {
        let Some(r) = client_of(other) else { continue };
        let Ok(m) = r
            .manifest(&other.package, &other.version, Freshness::Cached)
            .await
        else {
            continue;
        };
        for d in &m.value.dependencies {
            if d.name == me.package
                && let Some(range) = &d.version
            {
                ranges.push((other.at.to_string(), range.clone()));
            }
        }
    }
    let held: Vec<&str> = ranges.iter().map(|(_, r)| r.as_str()).collect();
    match rule::newest_within(&me.version, &offered, &held) {
        Some(v) => Ok(v),
        None if rule::newest_within(&me.version, &offered, &[]).is_some() => Err(Hold::HeldBy(
            ranges.iter().map(|(at, r)| format!("{at} ({r})")).collect(),
        )),
        None => Err(Hold::UpToDate),
    }
}

/// What `hoist upgrade --all` did.
#[derive(Debug, Default)]
pub struct UpgradedAll {
    pub upgraded: Vec<Upgraded>,
    pub held: Vec<(InstallRef, Hold)>,
    pub failed: Vec<(InstallRef, UpgradeError)>,
}

impl std::fmt::Display for UpgradedAll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for u in &self.upgraded {
            writeln!(f, "{u}")?;
        }
        for (at, why) in &self.held {
            writeln!(f, "{at}: {why}")?;
        }
        for (at, e) in &self.failed {
            writeln!(f, "{at}: not upgraded: {e}")?;
        }
        write!(
            f,
            "{} upgraded, {} left as they are, {} failed",
            self.upgraded.len(),
            self.held.len(),
            self.failed.len()
        )
    }
}

/// Upgrades every install (in `namespace` only, when given: its Packages) to its
/// [`unattended_target`], each through [`upgrade`] (same checks, same conflict rule).
/// One install's failure does not stop the others.
pub async fn upgrade_all(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    namespace: Option<&str>,
) -> Result<UpgradedAll, kube::Error> {
    let all: Vec<Install> = Installs::new(client)
        .list_all()
        .await?
        .iter()
        .map(Install::of)
        .collect();
    let mut out = UpgradedAll::default();
    let chosen: Vec<&Install> = all
        .iter()
        .filter(|i| namespace.is_none_or(|ns| i.at.namespace.as_deref() == Some(ns)))
        .collect();
    for me in chosen {
        match unattended_target(repositories, &all, me).await {
            Err(hold) => out.held.push((me.at.clone(), hold)),
            Ok(version) => {
                let req = UpgradeRequest {
                    name: me.at.name.clone(),
                    namespace: me.at.namespace.clone(),
                    version: Some(version),
                };
                match upgrade(client, repositories, catalogue, &req).await {
                    Ok(u) => out.upgraded.push(u),
                    Err(e) => out.failed.push((me.at.clone(), e)),
                }
            }
        }
    }
    Ok(out)
}
