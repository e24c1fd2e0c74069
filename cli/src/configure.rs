//! Day-two verbs on an install: `hoist configure` (values and auto-update), `hoist
//! suspend|resume`, `hoist get -o yaml|json`, and the objects `--dry-run -o yaml|json`
//! prints for install, upgrade and configure. Each checks what
//! [`hoist_kube::configure`], [`hoist_kube::installs`] or [`hoist_kube::install`] check
//! for the dashboard too; bad input changes nothing.

use super::output::{Output, render};
use super::repo::fresh_catalogue;
use hoist_core::install::InstallRef;
pub use hoist_kube::configure::{ConfigureError, ConfigureRequest, Configured};
use hoist_kube::install::{InstallError, InstallRequest};
use hoist_kube::installs::{Install, Installs, SwitchError};
use hoist_kube::types::AUTO_UPDATE;
use hoist_kube::upgrade::{UpgradeError, UpgradeRequest};
use kube::Client;

/// `configure NAME [--set …] [--set-from …] [--unset …] [--auto-update=BOOL]`; with
/// `dry_run` nothing is written. Returns what to print: the changes, or with `output`
/// the install as it is (or would be) after them.
pub async fn configure(
    client: &Client,
    hoist_namespace: &str,
    req: &ConfigureRequest,
    dry_run: bool,
    output: Option<Output>,
) -> Result<String, ConfigureError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let done = if dry_run {
        hoist_kube::configure::check(client, &set, &cat, req).await?
    } else {
        hoist_kube::configure::configure(client, &set, &cat, req).await?
    };
    Ok(match output {
        Some(o) => render(&done.after.to_manifest(), o),
        None if dry_run && !done.changes.is_empty() => {
            format!("{done}\n(dry run: nothing was written)\n")
        }
        None => format!("{done}\n"),
    })
}

/// Why `get` printed nothing.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error("{0} is not installed")]
    NotInstalled(InstallRef),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// `get NAME [-n NS] -o yaml|json`: the ClusterPackage or Package as the API server
/// has it (status included, managedFields left out).
pub async fn get(client: &Client, at: &InstallRef, output: Output) -> Result<String, GetError> {
    let install = Installs::new(client)
        .get(at)
        .await
        .map_err(kube::Error::from)?
        .ok_or_else(|| GetError::NotInstalled(at.clone()))?;
    Ok(render(&install.to_manifest(), output))
}

/// `suspend` (`true`) or `resume` (`false`).
pub async fn suspend(client: &Client, at: &InstallRef, on: bool) -> Result<String, SwitchError> {
    Ok(format!(
        "{}\n",
        hoist_kube::installs::suspend(client, at, on).await?
    ))
}

/// `install --dry-run -o yaml|json`: the ClusterPackage or Package exactly as the
/// install would create it (everything checked as for the install; nothing written).
pub async fn install_object(
    client: &Client,
    hoist_namespace: &str,
    req: &InstallRequest,
    output: Output,
) -> Result<String, InstallError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let prepared = hoist_kube::install::prepare(&set, &cat, req).await?;
    let mut object = Install::new(&prepared.plan.target, prepared.spec);
    if req.auto_update {
        object.set_annotation(AUTO_UPDATE, Some("true".into()));
    }
    Ok(render(&object.to_manifest(), output))
}

/// `upgrade --dry-run -o yaml|json`: the install as the upgrade would leave it.
pub async fn upgrade_object(
    client: &Client,
    hoist_namespace: &str,
    req: &UpgradeRequest,
    output: Output,
) -> Result<String, UpgradeError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let checked = hoist_kube::upgrade::check(client, &set, &cat, req).await?;
    let mut install = Installs::new(client)
        .get(&checked.resource)
        .await
        .map_err(kube::Error::from)?
        .ok_or_else(|| UpgradeError::NotInstalled(checked.resource.clone()))?;
    install.spec_mut().package_info.version = checked.to.clone();
    Ok(render(&install.to_manifest(), output))
}
