//! The one place the API server is asked about installs: ClusterPackages and Packages,
//! named by [`InstallRef`] (`namespace: None` is a ClusterPackage, `Some` a Package).
//! Install, upgrade, uninstall, preview, `hoist status`, the API and the CLI read and
//! write installs through [`Installs`]; the choice between the two kinds (and their
//! APIs: cluster-wide or namespaced) is made here and nowhere else.
//!
//! # Guarantees
//! - [`Installs::get`] of an install that does not exist is `Ok(None)`, never an error.
//! - Every other API failure (a missing object for a write or delete included) is
//!   [`Error::Api`] carrying the API server's error unchanged, so callers can tell a
//!   404, 403 or 409 by its code exactly as before.
//! - Writes are single requests with default parameters; nothing is retried here.
//!
//! The operator reconciles through its own `Installable` trait (in `operator`, which
//! builds on this module, never the other way round); [`Install`] reads the spec and
//! status of either kind itself, the same fields.

mod install;
mod retry;
mod switches;

pub use install::Install;
pub use retry::{RetryError, retry};
pub use switches::{SwitchError, auto_update, suspend};

use crate::types::{ClusterPackage, Package, PackageSpec};
use hoist_core::install::InstallRef;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client};

/// What an [`Installs`] call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused the request or could not be reached; its error as is.
    #[error(transparent)]
    Api(#[from] kube::Error),
}

impl From<Error> for kube::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Api(e) => e,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which installs [`Installs::list`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every ClusterPackage.
    Cluster,
    /// The Packages in one namespace.
    Namespace(&'a str),
    /// The Packages in every namespace.
    AllNamespaces,
}

/// ClusterPackages and Packages on one cluster, as [`Install`]s.
#[derive(Clone)]
pub struct Installs {
    client: Client,
}

impl Installs {
    pub fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
        }
    }

    fn clusters(&self) -> Api<ClusterPackage> {
        Api::all(self.client.clone())
    }

    fn packages(&self, namespace: &str) -> Api<Package> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// The install `at` names; `Ok(None)` when it does not exist.
    pub async fn get(&self, at: &InstallRef) -> Result<Option<Install>> {
        Ok(match &at.namespace {
            None => self
                .clusters()
                .get_opt(&at.name)
                .await?
                .map(Install::Cluster),
            Some(ns) => self
                .packages(ns)
                .get_opt(&at.name)
                .await?
                .map(Install::Namespaced),
        })
    }

    /// The installs in `scope` (one LIST), in the API server's order.
    pub async fn list(&self, scope: Scope<'_>) -> Result<Vec<Install>> {
        let lp = ListParams::default();
        Ok(match scope {
            Scope::Cluster => self
                .clusters()
                .list(&lp)
                .await?
                .items
                .into_iter()
                .map(Install::Cluster)
                .collect(),
            Scope::Namespace(ns) => self
                .packages(ns)
                .list(&lp)
                .await?
                .items
                .into_iter()
                .map(Install::Namespaced)
                .collect(),
            Scope::AllNamespaces => Api::<Package>::all(self.client.clone())
                .list(&lp)
                .await?
                .items
                .into_iter()
                .map(Install::Namespaced)
                .collect(),
        })
    }

    /// Every install in the cluster (two LISTs): the ClusterPackages, then the Packages
    /// of every namespace. Fails if either LIST fails.
    pub async fn list_all(&self) -> Result<Vec<Install>> {
        let mut all = self.list(Scope::Cluster).await?;
        all.extend(self.list(Scope::AllNamespaces).await?);
        Ok(all)
    }

    /// Creates the ClusterPackage or Package `at` names with `spec`. One that already
    /// exists is the API server's 409.
    pub async fn create(&self, at: &InstallRef, spec: PackageSpec) -> Result<()> {
        self.create_object(Install::new(at, spec)).await
    }

    /// Creates `object` as it is (annotations included). One that already exists is
    /// the API server's 409.
    pub async fn create_object(&self, object: Install) -> Result<()> {
        let pp = PostParams::default();
        match object {
            Install::Cluster(p) => {
                self.clusters().create(&pp, &p).await?;
            }
            Install::Namespaced(p) => {
                let ns = p.metadata.namespace.clone().unwrap_or_default();
                self.packages(&ns).create(&pp, &p).await?;
            }
        }
        Ok(())
    }

    /// A JSON merge patch of the install `at` names (spec, metadata: whatever `patch`
    /// holds; a `metadata.resourceVersion` in it makes the write conditional, a 409 when
    /// it is stale). A missing install is the API server's 404.
    pub async fn merge_patch(&self, at: &InstallRef, patch: &serde_json::Value) -> Result<()> {
        let pp = PatchParams::default();
        let patch = Patch::Merge(patch);
        match &at.namespace {
            None => {
                self.clusters().patch(&at.name, &pp, &patch).await?;
            }
            Some(ns) => {
                self.packages(ns).patch(&at.name, &pp, &patch).await?;
            }
        }
        Ok(())
    }

    /// Deletes the install `at` names (the operator's finalizer then removes what it
    /// installed). A missing install is the API server's 404.
    pub async fn delete(&self, at: &InstallRef) -> Result<()> {
        let dp = DeleteParams::default();
        match &at.namespace {
            None => {
                self.clusters().delete(&at.name, &dp).await?;
            }
            Some(ns) => {
                self.packages(ns).delete(&at.name, &dp).await?;
            }
        }
        Ok(())
    }

    /// Watches the install `at` names (no polling) until `done` holds for it (`None`
    /// while it does not exist). Each event hands `done` a copy of the object. Ends
    /// early only when the watch fails (its error); otherwise it waits for as long as
    /// it takes: callers bound it with a timeout.
    pub async fn wait_until(
        &self,
        at: &InstallRef,
        done: impl Fn(Option<&Install>) -> bool + Send + 'static,
    ) -> Result<(), kube::runtime::wait::Error> {
        match &at.namespace {
            None => await_condition(
                self.clusters(),
                &at.name,
                move |p: Option<&ClusterPackage>| done(p.cloned().map(Install::Cluster).as_ref()),
            )
            .await
            .map(|_| ()),
            Some(ns) => await_condition(self.packages(ns), &at.name, move |p: Option<&Package>| {
                done(p.cloned().map(Install::Namespaced).as_ref())
            })
            .await
            .map(|_| ()),
        }
    }
}
