//! `hoist install PACKAGE`: resolves the package in the catalogue (repository, version,
//! manifest), checks the values against its definitions, and creates the ClusterPackage
//! or Package for the operator to install. Bad input changes nothing.
//!
//! API requests: one LIST of PackageRepositories (and of Hoist's Secrets when a
//! repository needs one), then the create. No PackageRepository is read per lookup.

use super::repo::fresh_catalogue;
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
    pub version: Option<String>,
    pub repository: Option<String>,
    /// The resource's name; the package's name when unset.
    pub name: Option<String>,
    /// For namespaced packages; the package's default namespace when unset.
    pub namespace: Option<String>,
    /// `--set KEY=VALUE`, in order.
    pub values: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error("{0} is namespaced and declares no default namespace: give --namespace")]
    NoNamespace(String),
    #[error("{0} is cluster-scoped: --namespace does not apply")]
    NamespaceNotApplicable(String),
    #[error("namespace {0:?} does not exist; create it first (kubectl create namespace {0})")]
    MissingNamespace(String),
    #[error("{0} already exists; remove it first or install under another --name")]
    AlreadyExists(String),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// Parses `KEY=VALUE`.
pub fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE, e.g. replicas=3")),
    }
}

pub async fn install(
    client: &Client,
    hoist_namespace: &str,
    req: &InstallRequest,
) -> Result<String, InstallError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let r = resolve::resolve(
        &set,
        &cat,
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
                (
                    k,
                    ValueConfiguration {
                        value: Some(v),
                        value_from: None,
                    },
                )
            })
            .collect(),
        suspend: false,
    };
    let name = req.name.clone().unwrap_or_else(|| r.name.clone());
    let pp = PostParams::default();
    let exists = |what: String| {
        move |e: kube::Error| match &e {
            kube::Error::Api(s) if s.code == 409 => InstallError::AlreadyExists(what),
            _ => InstallError::Api(e),
        }
    };
    // As in Glasskube's format: a package is cluster-scoped unless it says Namespaced.
    let cluster_scoped = r.manifest.scope.as_deref() != Some("Namespaced");
    let installed_as = if cluster_scoped {
        if req.namespace.is_some() {
            return Err(InstallError::NamespaceNotApplicable(r.name));
        }
        let api: Api<ClusterPackage> = Api::all(client.clone());
        let what = format!("ClusterPackage {name}");
        api.create(&pp, &ClusterPackage::new(&name, spec))
            .await
            .map_err(exists(what.clone()))?;
        what
    } else {
        let ns = req
            .namespace
            .clone()
            .or_else(|| r.manifest.default_namespace.clone())
            .ok_or_else(|| InstallError::NoNamespace(r.name.clone()))?;
        let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        if nss.get_opt(&ns).await?.is_none() {
            return Err(InstallError::MissingNamespace(ns));
        }
        let api: Api<Package> = Api::namespaced(client.clone(), &ns);
        let what = format!("Package {ns}/{name}");
        api.create(&pp, &Package::new(&name, NamespacedPackageSpec { spec }))
            .await
            .map_err(exists(what.clone()))?;
        what
    };
    let mut out = format!(
        "{} {} from {} requested as {installed_as}; the operator installs it",
        r.name, r.version, r.repository
    );
    if !r.manifest.dependencies.is_empty() {
        let deps: Vec<String> = r
            .manifest
            .dependencies
            .iter()
            .map(|d| match &d.version {
                Some(v) => format!("{} {v}", d.name),
                None => d.name.clone(),
            })
            .collect();
        out.push_str(&format!("\ndepends on: {}", deps.join(", ")));
    }
    out.push('\n');
    Ok(out)
}
