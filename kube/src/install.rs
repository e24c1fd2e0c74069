//! Installing a package: resolve it in the catalogue (repository, version, manifest),
//! check the values against its definitions, and create the ClusterPackage or Package
//! the operator installs. The CLI (`hoist install`) and the dashboard's `Install` call
//! both come here, each with the catalogue it already has.
//!
//! # Guarantees
//! - Bad input (an unknown package or version, a value the package does not define or
//!   of the wrong type, a namespace that does not exist, a name already taken) is
//!   reported before anything is written: nothing is created.
//! - A namespaced package installed into its own default namespace gets that namespace
//!   created when it is missing (the package declares it as its home); any other
//!   missing namespace is refused.
//! - Repositories are read through the clientset's cache: no PackageRepository is read
//!   from the API server. The writes are one Namespace GET (namespaced packages) and
//!   the create.
//!
//! # Caveats
//! - Dependencies are listed, not installed: resolving and installing them is the
//!   operator's job.
//! - A namespace created for a package stays if the Package create then fails (the
//!   API refused): nothing else is left behind.

use crate::repo::catalogue::Catalogue;
use crate::repo::clientset::Clientset;
use crate::repo::fetch::Freshness;
use crate::repo::resolve::{self, ResolveError};
use crate::types::{PackageInfoTemplate, PackageSpec};
use hoist_core::install::InstallRef;
use hoist_core::install::plan::{self, Asked, PlanError};
use kube::api::PostParams;
use kube::{Api, Client};

pub use hoist_core::install::plan::Installed;

/// What to install.
#[derive(Debug, Clone, Default)]
pub struct InstallRequest {
    pub package: String,
    /// The newest version when unset.
    pub version: Option<String>,
    /// The repository the catalogue takes the name from when unset.
    pub repository: Option<String>,
    /// The resource's name; the package's name when unset.
    pub name: Option<String>,
    /// For namespaced packages; the package's default namespace when unset.
    pub namespace: Option<String>,
    /// `KEY=VALUE` settings, in order (a later one wins).
    pub values: Vec<(String, String)>,
    /// Values the operator reads from a ConfigMap, a Secret or another package.
    pub references: Vec<hoist_core::install::plan::Reference>,
    /// Created with unattended upgrades on (the auto-update annotation).
    pub auto_update: bool,
}

/// Why an install was refused. Nothing was created in any case.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The install's rules refused it (values, scope).
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("namespace {0:?} does not exist; create it first (kubectl create namespace {0})")]
    MissingNamespace(String),
    #[error("{0} already exists; remove it first or install under another name")]
    AlreadyExists(InstallRef),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

impl InstallError {
    /// A short, stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Resolve(e) => e.metric_label(),
            Self::Plan(PlanError::Value(_)) => "invalid_value",
            Self::Plan(_) => "namespace",
            Self::MissingNamespace(_) => "missing_namespace",
            Self::AlreadyExists(_) => "already_exists",
            Self::Api(_) => "api",
        }
    }
}

/// An install worked out and checked, not yet written.
pub struct Prepared {
    pub resolved: resolve::Resolved,
    pub plan: plan::InstallPlan,
    pub spec: PackageSpec,
}

/// Resolves and checks `req` (everything [`install`] checks before it writes).
pub async fn prepare(
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &InstallRequest,
) -> Result<Prepared, InstallError> {
    let r = resolve::resolve(
        repositories,
        catalogue,
        &req.package,
        req.repository.as_deref(),
        req.version.as_deref(),
        Freshness::Cached,
    )
    .await?;
    let asked = Asked {
        name: req.name.clone(),
        namespace: req.namespace.clone(),
        values: req.values.clone(),
        references: req.references.clone(),
    };
    let plan = plan::plan(&r.name, &r.manifest, &asked)?;
    let spec = PackageSpec {
        package_info: PackageInfoTemplate {
            name: r.name.clone(),
            version: r.version.clone(),
            repository_name: Some(r.repository.clone()),
        },
        values: crate::values::of_plan(&plan),
        suspend: false,
        prune_durable: false,
    };
    Ok(Prepared {
        resolved: r,
        plan,
        spec,
    })
}

/// Resolves `req` in `catalogue` and creates the resource. See the module doc.
pub async fn install(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &InstallRequest,
) -> Result<Installed, InstallError> {
    let Prepared {
        resolved: r,
        plan,
        spec,
    } = prepare(repositories, catalogue, req).await?;
    let created_namespace = match &plan.target.namespace {
        Some(ns) => ensure_namespace(client, ns, plan.may_create_namespace).await?,
        None => false,
    };
    let mut object = crate::installs::Install::new(&plan.target, spec);
    if req.auto_update {
        object.set_annotation(crate::types::AUTO_UPDATE, Some("true".into()));
    }
    create(client, &plan.target, object).await?;
    Ok(Installed {
        package: r.name,
        version: r.version,
        repository: r.repository,
        target: plan.target,
        dependencies: plan.dependencies,
        created_namespace,
    })
}

/// Checks `ns` exists; creates it when it does not and `may_create` (the package's own
/// home). Returns whether it was created.
async fn ensure_namespace(
    client: &Client,
    ns: &str,
    may_create: bool,
) -> Result<bool, InstallError> {
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    if nss.get_opt(ns).await?.is_some() {
        return Ok(false);
    }
    if !may_create {
        return Err(InstallError::MissingNamespace(ns.into()));
    }
    let mut new = k8s_openapi::api::core::v1::Namespace::default();
    new.metadata.name = Some(ns.into());
    match nss.create(&PostParams::default(), &new).await {
        Ok(_) => Ok(true),
        // Created by someone else meanwhile: as good.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// Creates the ClusterPackage or Package `target` names.
async fn create(
    client: &Client,
    target: &InstallRef,
    object: crate::installs::Install,
) -> Result<(), InstallError> {
    let created = crate::installs::Installs::new(client)
        .create_object(object)
        .await
        .map_err(kube::Error::from);
    created.map_err(|e| match &e {
        kube::Error::Api(s) if s.code == 409 => InstallError::AlreadyExists(target.clone()),
        _ => InstallError::Api(e),
    })
}
