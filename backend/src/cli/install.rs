//! `hoist install PACKAGE`, `hoist upgrade NAME` and `hoist uninstall NAME`: load the
//! catalogue once and hand the request to [`crate::install`], [`crate::upgrade`] or
//! [`crate::uninstall`], which check everything before they write. Bad input changes
//! nothing.
//!
//! API requests: one LIST of PackageRepositories (and of Hoist's Secrets when a
//! repository needs one), then the create. No PackageRepository is read per lookup.

use super::repo::fresh_catalogue;
pub use crate::install::{InstallError, InstallRequest};
pub use crate::uninstall::{UninstallError, UninstallRequest};
pub use crate::upgrade::{UpgradeError, UpgradeRequest};
use kube::Client;

/// Parses `KEY=VALUE`.
pub fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE, e.g. replicas=3")),
    }
}

/// Installs; returns what to print and what was created (for `--wait`).
pub async fn install(
    client: &Client,
    hoist_namespace: &str,
    req: &InstallRequest,
) -> Result<(String, hoist_core::install::InstallRef), InstallError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let installed = crate::install::install(client, &set, &cat, req).await?;
    Ok((format!("{installed}\n"), installed.target))
}

/// `upgrade --all`: every install moved to the newest version its dependents accept.
pub async fn upgrade_all(
    client: &Client,
    hoist_namespace: &str,
    namespace: Option<&str>,
) -> Result<crate::upgrade::UpgradedAll, kube::Error> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    crate::upgrade::upgrade_all(client, &set, &cat, namespace).await
}

/// `install --dry-run`: the plan, printed; nothing is written.
pub async fn preview_install(
    client: &Client,
    hoist_namespace: &str,
    req: &InstallRequest,
) -> Result<String, crate::preview::PreviewError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace)
        .await
        .map_err(crate::preview::PreviewError::Api)?;
    let plan = crate::preview::install(client, set, &cat, req).await?;
    Ok(crate::preview::render(&plan))
}

/// `upgrade --dry-run`: the plan, printed; nothing is written.
pub async fn preview_upgrade(
    client: &Client,
    hoist_namespace: &str,
    req: &UpgradeRequest,
) -> Result<String, crate::preview::PreviewError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace)
        .await
        .map_err(crate::preview::PreviewError::Api)?;
    let plan = crate::preview::upgrade(client, set, &cat, req).await?;
    Ok(crate::preview::render(&plan))
}

/// Uninstalls and returns what to print.
pub async fn uninstall(
    client: &Client,
    hoist_namespace: &str,
    req: &UninstallRequest,
) -> Result<String, UninstallError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let done = crate::uninstall::uninstall(client, &set, &cat, req).await?;
    Ok(format!("{done}\n"))
}

/// Upgrades and returns what to print.
pub async fn upgrade(
    client: &Client,
    hoist_namespace: &str,
    req: &UpgradeRequest,
) -> Result<String, UpgradeError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let done = crate::upgrade::upgrade(client, &set, &cat, req).await?;
    Ok(format!("{done}\n"))
}
