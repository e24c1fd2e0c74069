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
use crate::repo::values::{self, ValueError};
use crate::types::{
    ClusterPackage, NamespacedPackageSpec, Package, PackageInfoTemplate, PackageSpec,
    ValueConfiguration,
};
use kube::api::PostParams;
use kube::{Api, Client};

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
}

/// Why an install was refused. Nothing was created in any case.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error("{0} is namespaced and declares no default namespace: give a namespace")]
    NoNamespace(String),
    #[error("{0} is cluster-scoped: a namespace does not apply")]
    NamespaceNotApplicable(String),
    #[error("namespace {0:?} does not exist; create it first (kubectl create namespace {0})")]
    MissingNamespace(String),
    #[error("{0} already exists; remove it first or install under another name")]
    AlreadyExists(String),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

impl InstallError {
    /// A short, stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Resolve(e) => e.metric_label(),
            Self::Value(_) => "invalid_value",
            Self::NoNamespace(_) | Self::NamespaceNotApplicable(_) => "namespace",
            Self::MissingNamespace(_) => "missing_namespace",
            Self::AlreadyExists(_) => "already_exists",
            Self::Api(_) => "api",
        }
    }
}

/// What was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The package's name in the repository.
    pub package: String,
    pub version: String,
    pub repository: String,
    /// Empty for a ClusterPackage.
    pub namespace: String,
    /// The created resource's name.
    pub name: String,
    /// `NAME RANGE` for each dependency, as declared.
    pub dependencies: Vec<String>,
    /// The package's default namespace did not exist and was created for it.
    pub created_namespace: bool,
}

impl Installed {
    /// `ClusterPackage NAME` or `Package NAMESPACE/NAME`.
    pub fn resource(&self) -> String {
        if self.namespace.is_empty() {
            format!("ClusterPackage {}", self.name)
        } else {
            format!("Package {}/{}", self.namespace, self.name)
        }
    }
}

impl std::fmt::Display for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} from {} requested as {}; the operator installs it",
            self.package,
            self.version,
            self.repository,
            self.resource()
        )?;
        if self.created_namespace {
            write!(f, " (namespace {} created)", self.namespace)?;
        }
        if !self.dependencies.is_empty() {
            write!(f, "\ndepends on: {}", self.dependencies.join(", "))?;
        }
        Ok(())
    }
}

/// Resolves `req` in `catalogue` and creates the resource. See the module doc.
pub async fn install(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    req: &InstallRequest,
) -> Result<Installed, InstallError> {
    let r = resolve::resolve(
        repositories,
        catalogue,
        &req.package,
        req.repository.as_deref(),
        req.version.as_deref(),
        Freshness::Cached,
    )
    .await?;
    let checked = values::validate(&r.name, &r.manifest.value_definitions, &req.values)?;
    let spec = PackageSpec {
        package_info: PackageInfoTemplate {
            name: r.name.clone(),
            version: r.version.clone(),
            repository_name: Some(r.repository.clone()),
        },
        values: checked
            .into_iter()
            .map(|(k, v)| {
                let value = ValueConfiguration {
                    value: Some(v),
                    value_from: None,
                };
                (k, value)
            })
            .collect(),
        suspend: false,
    };
    let name = req.name.clone().unwrap_or_else(|| r.name.clone());
    let dependencies = r
        .manifest
        .dependencies
        .iter()
        .map(|d| match &d.version {
            Some(v) => format!("{} {v}", d.name),
            None => d.name.clone(),
        })
        .collect();
    let mut installed = Installed {
        package: r.name.clone(),
        version: r.version.clone(),
        repository: r.repository.clone(),
        namespace: String::new(),
        name: name.clone(),
        dependencies,
        created_namespace: false,
    };
    let pp = PostParams::default();
    let exists = |what: String| {
        move |e: kube::Error| match &e {
            kube::Error::Api(s) if s.code == 409 => InstallError::AlreadyExists(what),
            _ => InstallError::Api(e),
        }
    };
    // As in Glasskube's format: a package is cluster-scoped unless it says Namespaced.
    let cluster_scoped = r.manifest.scope.as_deref() != Some("Namespaced");
    if cluster_scoped {
        if req.namespace.is_some() {
            return Err(InstallError::NamespaceNotApplicable(r.name));
        }
        let api: Api<ClusterPackage> = Api::all(client.clone());
        api.create(&pp, &ClusterPackage::new(&name, spec))
            .await
            .map_err(exists(installed.resource()))?;
    } else {
        let ns = req
            .namespace
            .clone()
            .or_else(|| r.manifest.default_namespace.clone())
            .ok_or_else(|| InstallError::NoNamespace(r.name.clone()))?;
        let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        if nss.get_opt(&ns).await?.is_none() {
            // The package's own home is created for it, as the package asks to live
            // there; any other namespace is the user's to create.
            if r.manifest.default_namespace.as_deref() != Some(ns.as_str()) {
                return Err(InstallError::MissingNamespace(ns));
            }
            let mut new = k8s_openapi::api::core::v1::Namespace::default();
            new.metadata.name = Some(ns.clone());
            match nss.create(&pp, &new).await {
                Ok(_) => {}
                // Created by someone else meanwhile: as good.
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
            installed.created_namespace = true;
        }
        installed.namespace = ns;
        let api: Api<Package> = Api::namespaced(client.clone(), &installed.namespace);
        api.create(&pp, &Package::new(&name, NamespacedPackageSpec { spec }))
            .await
            .map_err(exists(installed.resource()))?;
    }
    Ok(installed)
}
