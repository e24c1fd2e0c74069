//! Which Services an install's entrypoints lead to ([`hoist_core::entrypoint`] decides,
//! this reads the install, its version's manifest and the Service).

use crate::installs::{Install, Installs};
use crate::repo::catalogue::Catalogue;
use crate::repo::clientset::Clientset;
use crate::repo::fetch::Freshness;
use crate::repo::resolve::{self, ResolveError};
use hoist_core::entrypoint::{self, EntrypointError, ServiceAt};
use hoist_core::install::InstallRef;
use hoist_core::operator::inventory::ObjectRef;
use hoist_core::operator::placement::Owner;
use hoist_core::repo::format::PackageManifest;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Client;
use kube::api::{Api, ListParams};
use std::time::Duration;

/// How long one read of the API server may take here.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Why nothing was opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0} is not installed")]
    NotInstalled(InstallRef),
    #[error(transparent)]
    Entrypoint(#[from] EntrypointError),
    #[error("reading the package's version from its repository: {0}")]
    Resolve(#[from] ResolveError),
    #[error("Service {0} does not exist (yet): is the install Ready?")]
    NoService(ServiceAt),
    #[error("no ready pod behind Service {service} (selector {selector}): is the install Ready?")]
    NoReadyPod {
        service: ServiceAt,
        selector: String,
    },
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
    #[error("the Kubernetes API did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("--port is for one entrypoint; {0} were asked (name one)")]
    PortForMany(usize),
}

/// One entrypoint, resolved to its Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// The install it belongs to.
    pub install: InstallRef,
    /// The entrypoint's name ([`entrypoint::name_of`]).
    pub entrypoint: String,
    pub service: ServiceAt,
    /// The Service's port.
    pub port: u16,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The local port the package suggests (`localPort`).
    pub local_port: Option<u16>,
}

impl Opening {
    /// What a user types to open it from a terminal.
    pub fn command(&self) -> String {
        let ns = self
            .install
            .namespace
            .as_ref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        format!("hoist open {}{ns} {}", self.install.name, self.entrypoint)
    }
}

/// Who placed the install's objects, as [`hoist_core::operator::placement`] names it.
pub fn owner_of(install: &Install, manifest: &PackageManifest) -> Owner {
    let at = install.at();
    match at.namespace {
        Some(namespace) => Owner::Namespaced {
            name: at.name,
            namespace,
        },
        None => Owner::Cluster {
            name: at.name,
            default_namespace: manifest.default_namespace.clone(),
        },
    }
}

/// The install's inventory as core's references.
fn inventory(install: &Install) -> Vec<ObjectRef> {
    install
        .status()
        .map(|s| {
            s.owned_resources
                .iter()
                .map(|o| ObjectRef {
                    group: o.group.to_string(),
                    version: o.version.to_string(),
                    kind: o.kind.to_string(),
                    namespace: o.namespace.clone().unwrap_or_default().to_string(),
                    name: o.name.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The entrypoints `asked` names (all when `None`) of `install`, whose version's
/// package is `manifest`: no reads.
pub fn openings(
    install: &Install,
    manifest: &PackageManifest,
    asked: Option<&str>,
) -> Result<Vec<Opening>, EntrypointError> {
    let at = install.at();
    let owner = owner_of(install, manifest);
    let owned = inventory(install);
    entrypoint::select(&at.name, &manifest.entrypoints, asked)?
        .into_iter()
        .map(|e| {
            Ok(Opening {
                install: at.clone(),
                entrypoint: entrypoint::name_of(e).to_string(),
                service: entrypoint::service_of(&owner, e, &owned),
                port: e.port,
                scheme: entrypoint::scheme(e)?,
                local_port: e.local_port.filter(|p| *p != 0),
            })
        })
        .collect()
}

/// The installed version (the status', else the asked one).
pub fn installed_version(install: &Install) -> String {
    install
        .status()
        .and_then(|s| s.version.clone())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| install.spec().package_info.version.clone())
}

/// Reads the install and its installed version's package, and resolves the entrypoints
/// `asked` names (all when `None`).
pub async fn resolve_openings(
    client: &Client,
    repositories: &Clientset,
    catalogue: &Catalogue,
    at: &InstallRef,
    asked: Option<&str>,
) -> Result<Vec<Opening>, OpenError> {
    let install = timed(Installs::new(client).get(at))
        .await?
        .map_err(kube::Error::from)?
        .ok_or_else(|| OpenError::NotInstalled(at.clone()))?;
    let info = &install.spec().package_info;
    let resolved = resolve::resolve(
        repositories,
        catalogue,
        &info.name,
        info.repository_name.as_deref(),
        Some(&installed_version(&install)),
        Freshness::Cached,
    )
    .await?;
    Ok(openings(&install, &resolved.manifest, asked)?)
}

/// A ready pod behind `opening`'s Service and the pod port its port leads to.
pub async fn ready_pod(client: &Client, opening: &Opening) -> Result<(String, u16), OpenError> {
    let at = &opening.service;
    let services: Api<Service> = Api::namespaced(client.clone(), &at.namespace);
    let service = timed(services.get_opt(&at.name))
        .await??
        .ok_or_else(|| OpenError::NoService(at.clone()))?;
    let service = serde_json::to_value(&service).unwrap_or_default();
    let selector = entrypoint::selector(at, &service)?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &at.namespace);
    let listed = timed(pods.list(&ListParams::default().labels(&selector))).await??;
    let listed: Vec<serde_json::Value> = listed
        .items
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect();
    let pod = entrypoint::pick_pod(&listed).ok_or_else(|| OpenError::NoReadyPod {
        service: at.clone(),
        selector: selector.clone(),
    })?;
    let port = entrypoint::pod_port(at, &service, opening.port, pod)?;
    let name = pod
        .pointer("/metadata/name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok((name, port))
}

/// `fut` within [`READ_TIMEOUT`].
pub(crate) async fn timed<T>(fut: impl std::future::Future<Output = T>) -> Result<T, OpenError> {
    tokio::time::timeout(READ_TIMEOUT, fut)
        .await
        .map_err(|_| OpenError::Timeout(READ_TIMEOUT))
}
