//! Previews of installs and upgrades (`hoist install --dry-run`, `hoist upgrade
//! --dry-run`, the dashboard's Preview): the request is checked exactly as the real
//! one is ([`crate::install::prepare`], [`crate::upgrade::check`]), then the package
//! as it would be written is planned by the operator's own code
//! ([`crate::operator::preview`]), with the API server's dry run.
//!
//! Guarantees: nothing is written, and a request the real command would refuse is
//! refused here with the same error.

use crate::install::{InstallError, InstallRequest};
use crate::installs::{Install, Installs};
use crate::operator::preview::{self, Action, Plan};
use crate::repo::catalogue::Catalogue;
use crate::repo::clientset::Clientset;
use crate::upgrade::{UpgradeError, UpgradeRequest};
use hoist_core::install::InstallRef;
use kube::Client;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Upgrade(#[from] UpgradeError),
    #[error("{0}")]
    Plan(#[from] crate::operator::Error),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// What installing `req` would do.
pub async fn install(
    client: &Client,
    repositories: Arc<Clientset>,
    catalogue: &Catalogue,
    req: &InstallRequest,
) -> Result<Plan, PreviewError> {
    let prepared = crate::install::prepare(&repositories, catalogue, req).await?;
    let target = prepared.plan.target.clone();
    if exists(client, &target).await? {
        return Err(InstallError::AlreadyExists(target).into());
    }
    let ctx = crate::operator::detached(client.clone(), repositories).await?;
    plan_of(&ctx.context, &Install::new(&target, prepared.spec)).await
}

/// What upgrading as `req` asks would do (to the install as it is now: its inventory
/// says what would be removed).
pub async fn upgrade(
    client: &Client,
    repositories: Arc<Clientset>,
    catalogue: &Catalogue,
    req: &UpgradeRequest,
) -> Result<Plan, PreviewError> {
    let checked = crate::upgrade::check(client, &repositories, catalogue, req).await?;
    let ctx = crate::operator::detached(client.clone(), repositories).await?;
    let missing = || UpgradeError::NotInstalled(checked.resource.clone());
    let mut pkg = Installs::new(client)
        .get(&checked.resource)
        .await
        .map_err(kube::Error::from)?
        .ok_or_else(missing)?;
    pkg.spec_mut().package_info.version = checked.to.clone();
    plan_of(&ctx.context, &pkg).await
}

/// The operator's plan for `pkg`, of either kind.
async fn plan_of(ctx: &crate::operator::Context, pkg: &Install) -> Result<Plan, PreviewError> {
    Ok(match pkg {
        Install::Cluster(p) => preview::plan(ctx, p).await?,
        Install::Namespaced(p) => preview::plan(ctx, p).await?,
    })
}

async fn exists(client: &Client, target: &InstallRef) -> Result<bool, kube::Error> {
    Ok(Installs::new(client).get(target).await?.is_some())
}

/// The plan as the CLI prints it.
pub fn render(plan: &Plan) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "Preview of {} {} (nothing was written):\n",
        plan.package, plan.version
    );
    for p in &plan.packages {
        let _ = writeln!(out, "  {p}");
    }
    for s in &plan.steps {
        let mark = match s.action {
            Action::Create => "+",
            Action::Change => "~",
            Action::Unchanged => "=",
            Action::Remove => "-",
            Action::Refused => "!",
        };
        let _ = writeln!(out, "  {mark} {:<9} {}", s.action.as_str(), s.object);
        for c in &s.changes {
            let _ = writeln!(out, "      {c}");
        }
    }
    let _ = writeln!(
        out,
        "{} to create, {} to change, {} to remove, {} unchanged{}",
        plan.count(Action::Create),
        plan.count(Action::Change),
        plan.count(Action::Remove),
        plan.count(Action::Unchanged),
        match plan.count(Action::Refused) {
            0 => String::new(),
            n => format!("; {n} refused (the install would fail)"),
        }
    );
    out
}
