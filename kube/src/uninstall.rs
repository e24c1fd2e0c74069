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

use crate::installs::Installs;
use crate::repo::catalogue::Catalogue;
use crate::repo::clientset::Clientset;
use crate::repo::fetch::Freshness;
use crate::repo::resolve;
use crate::types::PackageInfoTemplate;
use hoist_core::install::InstallRef;
use hoist_core::install::dependents::{self, Install};
use kube::Client;

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
        what: InstallRef,
        installed: Vec<String>,
    },
    #[error("{what} is still needed by {}; uninstall those first, or pass --force", .by.join(", "))]
    Needed { what: InstallRef, by: Vec<String> },
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
    pub resource: InstallRef,
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

/// Every install in the cluster with what it installs (two LISTs).
pub async fn list_installs(
    client: &Client,
) -> Result<Vec<(Install, PackageInfoTemplate)>, kube::Error> {
    Ok(Installs::new(client)
        .list_all()
        .await?
        .into_iter()
        .map(|p| {
            let at = p.at();
            let info = p.into_parts().0.package_info;
            let install = Install {
                at,
                package: info.name.clone(),
            };
            (install, info)
        })
        .collect())
}

/// Deletes the install `req` names, after the dependency check. See the module doc.
pub async fn uninstall(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &UninstallRequest,
) -> Result<Uninstalled, UninstallError> {
    let mut all = list_installs(client).await?;
    let resource = InstallRef::new(req.namespace.as_deref(), req.name.clone());
    let Some(at) = all.iter().position(|(i, _)| i.at == resource) else {
        // The same kind, in the same namespace (cluster-scoped: namespace "").
        let installed = all
            .iter()
            .filter(|(i, _)| i.at.namespace == resource.namespace)
            .map(|(i, _)| i.at.name.clone())
            .collect();
        return Err(UninstallError::NotInstalled {
            what: resource,
            installed,
        });
    };
    let (target, _) = all.swap_remove(at);
    let others: Vec<Install> = all.iter().map(|(i, _)| i.clone()).collect();
    let mut unchecked = Vec::new();
    if !req.force {
        let package = &target.package;
        let mut by = Vec::new();
        for dependent in dependents::to_check(&target, &others) {
            let Some((_, info)) = all.iter().find(|(i, _)| i.at == dependent.at) else {
                continue;
            };
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
                Ok(r) => by.extend(dependents::needs(&dependent.at, &r.manifest, package)),
                Err(e) => unchecked.push(format!("{} needs {package}: {e}", dependent.at)),
            }
        }
        if !by.is_empty() {
            return Err(UninstallError::Needed { what: resource, by });
        }
    }
    Installs::new(client)
        .delete(&resource)
        .await
        .map_err(kube::Error::from)?;
    Ok(Uninstalled {
        resource,
        unchecked,
    })
}
