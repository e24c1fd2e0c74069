//! Uninstalling a package: delete its ClusterPackage or Package (the operator removes
//! what it installed), unless another installed package still needs it.
//!
//! # Guarantees
//! - A package another install depends on is not deleted (unless forced): the error
//!   names each dependent and the range it asks for. "Depends on" is read from the
//!   dependent's manifest at its installed version, through the clientset's cache (no
//!   PackageRepository is read from the API server). A dependency is served by an
//!   install of that package name that is cluster-scoped or in the dependent's
//!   namespace; a package is needed only while it is the last install serving someone.
//! - Nothing is deleted when the answer is an error.
//!
//! # Caveats
//! - A dependent whose manifest cannot be read (its repository down and nothing
//!   cached) cannot be checked; it is named in [`Uninstalled::unchecked`] and does not
//!   block the uninstall, so one broken repository cannot pin every package.

use crate::repo::catalogue::Catalogue;
use crate::repo::clientset::Clientset;
use crate::repo::fetch::Freshness;
use crate::repo::resolve;
use crate::types::{ClusterPackage, Package, PackageSpec};
use kube::api::DeleteParams;
use kube::{Api, Client, ResourceExt};

/// What to uninstall.
#[derive(Debug, Clone, Default)]
pub struct UninstallRequest {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// A Package's namespace; `None` for a ClusterPackage.
    pub namespace: Option<String>,
    /// Delete even if other installs need it.
    pub force: bool,
}

/// Why an uninstall was refused. Nothing was deleted in any case.
#[derive(Debug, thiserror::Error)]
pub enum UninstallError {
    #[error("{what} is not installed{}", installed_hint(.installed))]
    NotInstalled {
        what: String,
        installed: Vec<String>,
    },
    #[error("{what} is still needed by {}; uninstall those first, or pass --force", .by.join(", "))]
    Needed { what: String, by: Vec<String> },
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

fn installed_hint(installed: &[String]) -> String {
    if installed.is_empty() {
        String::new()
    } else {
        format!(" (installed there: {})", installed.join(", "))
    }
}

/// What was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uninstalled {
    /// `ClusterPackage NAME` or `Package NAMESPACE/NAME`.
    pub resource: String,
    /// Installs whose dependencies could not be read, with why.
    pub unchecked: Vec<String>,
}

impl std::fmt::Display for Uninstalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} deleted; the operator removes what it installed",
            self.resource
        )?;
        for u in &self.unchecked {
            write!(f, "\nwarning: could not check whether {u}")?;
        }
        Ok(())
    }
}

/// One install as the dependency check sees it.
struct Install {
    resource: String,
    name: String,
    /// Empty for cluster-scoped installs.
    namespace: String,
    spec: PackageSpec,
}

impl Install {
    fn serves(&self, dependent: &Install) -> bool {
        self.namespace.is_empty() || self.namespace == dependent.namespace
    }
}

/// Deletes the install `req` names, after the dependency check. See the module doc.
pub async fn uninstall(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &UninstallRequest,
) -> Result<Uninstalled, UninstallError> {
    let clusters: Api<ClusterPackage> = Api::all(client.clone());
    let namespaced: Api<Package> = Api::all(client.clone());
    let mut all: Vec<Install> = clusters
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .map(|p| Install {
            resource: format!("ClusterPackage {}", p.name_any()),
            name: p.name_any(),
            namespace: String::new(),
            spec: p.spec,
        })
        .collect();
    all.extend(
        namespaced
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .map(|p| {
                let ns = p.namespace().unwrap_or_default();
                Install {
                    resource: format!("Package {ns}/{}", p.name_any()),
                    name: p.name_any(),
                    namespace: ns,
                    spec: p.spec.spec,
                }
            }),
    );
    let resource = match &req.namespace {
        None => format!("ClusterPackage {}", req.name),
        Some(ns) => format!("Package {ns}/{}", req.name),
    };
    let Some(at) = all.iter().position(|i| i.resource == resource) else {
        // The same kind, in the same namespace (cluster-scoped: namespace "").
        let namespace = req.namespace.as_deref().unwrap_or_default();
        let installed = all
            .iter()
            .filter(|i| i.namespace == namespace)
            .map(|i| i.name.clone())
            .collect();
        return Err(UninstallError::NotInstalled {
            what: resource,
            installed,
        });
    };
    let target = all.swap_remove(at);
    let mut unchecked = Vec::new();
    if !req.force {
        let package = &target.spec.package_info.name;
        let mut by = Vec::new();
        for dependent in &all {
            // Still served by another install of the same package: not needed.
            let served = all
                .iter()
                .any(|i| i.spec.package_info.name == *package && i.serves(dependent));
            if served || !target.serves(dependent) {
                continue;
            }
            let info = &dependent.spec.package_info;
            let resolved = resolve::resolve(
                repositories,
                catalogue,
                &info.name,
                info.repository_name.as_deref(),
                Some(&info.version),
                Freshness::Cached,
            )
            .await;
            match resolved {
                Ok(r) => {
                    if let Some(d) = r.manifest.dependencies.iter().find(|d| d.name == *package) {
                        by.push(match &d.version {
                            Some(range) => {
                                format!("{} (needs {package} {range})", dependent.resource)
                            }
                            None => format!("{} (needs {package})", dependent.resource),
                        });
                    }
                }
                Err(e) => unchecked.push(format!("{} needs {package}: {e}", dependent.resource)),
            }
        }
        if !by.is_empty() {
            return Err(UninstallError::Needed { what: resource, by });
        }
    }
    let name = &req.name;
    match &req.namespace {
        None => {
            clusters.delete(name, &DeleteParams::default()).await?;
        }
        Some(ns) => {
            Api::<Package>::namespaced(client.clone(), ns)
                .delete(name, &DeleteParams::default())
                .await?;
        }
    }
    Ok(Uninstalled {
        resource,
        unchecked,
    })
}
