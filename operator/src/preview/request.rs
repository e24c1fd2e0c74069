//! Previews of installs, upgrades and configures (`hoist install --dry-run`, `hoist
//! upgrade --dry-run`, the dashboard's Preview): the request is checked exactly as the real
//! one is ([`hoist_kube::install::prepare`], [`hoist_kube::upgrade::check`]), then the package
//! as it would be written is planned by the operator's own code
//! (the planner of [`super`]), with the API server's dry run.
//!
//! Guarantees: nothing is written, and a request the real command would refuse is
//! refused here with the same error. No watch is started: the installs are read
//! through [`Reads`] (the dashboard's caches, or one LIST each for the CLI:
//! [`Listed`]), the rest once as the plan needs it.

use super::{Action, Plan, Planner, Reads};
use futures::future::BoxFuture;
use hoist_core::install::InstallRef;
use hoist_core::operator::dependencies::Existing;
use hoist_kube::install::{InstallError, InstallRequest};
use hoist_kube::installs::{Install, Installs, Scope};
use hoist_kube::repo::catalogue::Catalogue;
use hoist_kube::repo::clientset::Clientset;
use hoist_kube::types::ValueConfiguration;
use hoist_kube::upgrade::{UpgradeError, UpgradeRequest};
use kube::Client;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Upgrade(#[from] UpgradeError),
    #[error(transparent)]
    Configure(#[from] hoist_kube::configure::ConfigureError),
    #[error("{0}")]
    Plan(#[from] crate::error::Error),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// What installing `req` would do. The installs are read through `reads` (the
/// dashboard's caches, or [`Listed`]).
pub async fn install(
    client: &Client,
    repositories: Arc<Clientset>,
    catalogue: &Catalogue,
    reads: &dyn Reads,
    req: &InstallRequest,
) -> Result<Plan, PreviewError> {
    let prepared = hoist_kube::install::prepare(&repositories, catalogue, req).await?;
    let target = prepared.plan.target.clone();
    if exists(client, &target).await? {
        return Err(InstallError::AlreadyExists(target).into());
    }
    let planner = Planner::new(client, repositories, reads).await?;
    plan_of(&planner, &Install::new(&target, prepared.spec)).await
}

/// What upgrading as `req` asks would do (to the install as it is now: its inventory
/// says what would be removed). The installs are read through `reads`, as for
/// [`install`].
pub async fn upgrade(
    client: &Client,
    repositories: Arc<Clientset>,
    catalogue: &Catalogue,
    reads: &dyn Reads,
    req: &UpgradeRequest,
) -> Result<Plan, PreviewError> {
    let checked = hoist_kube::upgrade::check(client, &repositories, catalogue, req).await?;
    let missing = || UpgradeError::NotInstalled(checked.resource.clone());
    let mut pkg = Installs::new(client)
        .get(&checked.resource)
        .await
        .map_err(kube::Error::from)?
        .ok_or_else(missing)?;
    pkg.spec_mut().package_info.version = checked.to.clone();
    let planner = Planner::new(client, repositories, reads).await?;
    plan_of(&planner, &pkg).await
}

/// What configuring as `req` asks would do: the install with its new values, planned
/// against what it applied. Checked as [`hoist_kube::configure::configure`] checks.
pub async fn configure(
    client: &Client,
    repositories: Arc<Clientset>,
    catalogue: &Catalogue,
    reads: &dyn Reads,
    req: &hoist_kube::configure::ConfigureRequest,
) -> Result<Plan, PreviewError> {
    let checked = hoist_kube::configure::check(client, &repositories, catalogue, req).await?;
    let planner = Planner::new(client, repositories, reads).await?;
    plan_of(&planner, &checked.after).await
}

/// The operator's plan for `pkg`, of either kind.
async fn plan_of(planner: &Planner<'_>, pkg: &Install) -> Result<Plan, PreviewError> {
    Ok(match pkg {
        Install::Cluster(p) => super::plan(planner, p).await?,
        Install::Namespaced(p) => super::plan(planner, p).await?,
    })
}

async fn exists(client: &Client, target: &InstallRef) -> Result<bool, kube::Error> {
    Ok(Installs::new(client).get(target).await?.is_some())
}

/// [`Reads`] for a process without caches (the CLI): one LIST of ClusterPackages and
/// one of Packages in every namespace, made on first use and kept for the preview (a
/// package with no dependency and no package reference costs none). No watch.
///
/// Caveat: a kind the caller may not list (403, e.g. a tenant's Packages of other
/// namespaces) counts as having no installs, as the watches that served previews
/// before found nothing then either (after waiting for them).
pub struct Listed {
    installs: Installs,
    listed: tokio::sync::OnceCell<Vec<Install>>,
}

impl Listed {
    pub fn new(client: &Client) -> Self {
        Self {
            installs: Installs::new(client),
            listed: tokio::sync::OnceCell::new(),
        }
    }

    async fn all(&self) -> Result<&[Install], kube::Error> {
        let all = self
            .listed
            .get_or_try_init(|| async {
                let mut all = self.visible(Scope::Cluster).await?;
                all.extend(self.visible(Scope::AllNamespaces).await?);
                Ok::<_, kube::Error>(all)
            })
            .await?;
        Ok(all)
    }

    /// The installs in `scope`; none when the caller may not list them.
    async fn visible(&self, scope: Scope<'_>) -> Result<Vec<Install>, kube::Error> {
        match self.installs.list(scope).await.map_err(kube::Error::from) {
            Err(kube::Error::Api(s)) if s.code == 403 => {
                tracing::warn!(?scope, "may not list installs; the preview counts none");
                Ok(Vec::new())
            }
            other => other,
        }
    }
}

impl Reads for Listed {
    fn installs(&self) -> BoxFuture<'_, Result<Vec<Existing>, kube::Error>> {
        Box::pin(async move {
            let all = self.all().await?;
            let cluster = all.iter().filter_map(|i| match i {
                Install::Cluster(p) => Some(p),
                Install::Namespaced(_) => None,
            });
            let namespaced = all.iter().filter_map(|i| match i {
                Install::Namespaced(p) => Some(p),
                Install::Cluster(_) => None,
            });
            Ok(crate::dependencies::existing_of(cluster, namespaced))
        })
    }

    fn cluster_package_values<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, ValueConfiguration>>, kube::Error>> {
        Box::pin(async move {
            let all = self.all().await?;
            Ok(all.iter().find_map(|i| match i {
                Install::Cluster(p) if p.metadata.name.as_deref() == Some(name) => {
                    Some(p.spec.values.clone())
                }
                _ => None,
            }))
        })
    }
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
