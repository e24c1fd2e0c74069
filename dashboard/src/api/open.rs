//! Open: the dashboard forwards a local port to an install's entrypoint
//! ([`hoist_kube::forward`]) and answers the address; GetInstall lists each
//! entrypoint with its `hoist open` command.
//!
//! # Guarantees
//! - Forwards only when the dashboard serves the user's own machine (loopback, no
//!   token): in a cluster, a forward would listen inside the dashboard's pod, where the
//!   user's browser cannot reach it, so the page shows the command instead.
//! - Each forward listens on a port of its own (never the dashboard's): the package's
//!   page is another origin and cannot script the dashboard; its writes to the
//!   dashboard carry a foreign `Origin` and are refused by the guard.
//! - One forward per entrypoint: opening again answers the running one. At most
//!   [`MAX_FORWARDS`] at once; they stop with the dashboard.
//!
//! # Caveats
//! - The forward uses the dashboard's own identity (as every dashboard call does, see
//!   [`super::guard`]): on the user's machine that is the user's kubeconfig.

use hoist_core::install::InstallRef;
use hoist_kube::forward::{Forward, OpenError, Opening, target};
use hoist_kube::installs::Install;
use hoist_kube::repo::catalogue::Catalogue;
use hoist_kube::repo::clientset::Clientset;
use hoist_kube::repo::fetch::Freshness;
use hoist_proto::v1 as pb;
use std::collections::BTreeMap;
use tokio::sync::Mutex;
use tonic::{Code, Status};

/// Forwards open at once.
pub const MAX_FORWARDS: usize = 32;

/// The dashboard's running forwards.
pub struct Forwards {
    can_open: bool,
    open: Mutex<BTreeMap<(InstallRef, String), Forward>>,
}

impl Forwards {
    /// `can_open`: the dashboard serves loopback without a token.
    pub fn new(can_open: bool) -> Self {
        Self {
            can_open,
            open: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn can_open(&self) -> bool {
        self.can_open
    }

    /// The address `opening` is forwarded at, if it is.
    async fn url_of(&self, opening: &Opening) -> Option<String> {
        let open = self.open.lock().await;
        open.get(&(opening.install.clone(), opening.entrypoint.clone()))
            .filter(|f| f.is_running())
            .map(Forward::url)
    }

    /// Open: see the module doc.
    pub async fn open(
        &self,
        client: &kube::Client,
        repositories: &Clientset,
        catalogue: &Catalogue,
        req: pb::OpenRequest,
    ) -> Result<pb::OpenResponse, Status> {
        let key = req.key.unwrap_or_default();
        let at = super::installs::target(&key);
        let asked = (!req.entrypoint.is_empty()).then_some(req.entrypoint.as_str());
        let openings = target::resolve_openings(client, repositories, catalogue, &at, asked)
            .await
            .map_err(open_status)?;
        let [opening] = openings.as_slice() else {
            return Err(Status::invalid_argument(
                "name the entrypoint to open (the package has several)",
            ));
        };
        if !self.can_open {
            return Err(Status::failed_precondition(format!(
                "the dashboard runs in the cluster, not on your machine: run `{}`",
                opening.command()
            )));
        }
        let key = (at, opening.entrypoint.clone());
        let mut open = self.open.lock().await;
        open.retain(|_, f| f.is_running());
        if let Some(f) = open.get(&key) {
            return Ok(pb::OpenResponse {
                url: f.url(),
                pod: String::new(),
            });
        }
        if open.len() >= MAX_FORWARDS {
            return Err(Status::resource_exhausted(format!(
                "{MAX_FORWARDS} entrypoints are open already: restart the dashboard to close them"
            )));
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let started =
            |port| Forward::start(client.clone(), opening.clone(), port, Some(tx.clone()));
        let forward = match opening.local_port {
            Some(p) => match started(p).await {
                Err(OpenError::Bind { .. }) => started(0).await,
                other => other,
            },
            None => started(0).await,
        }
        .map_err(open_status)?;
        let pod = match rx.try_recv() {
            Ok(hoist_kube::forward::ForwardEvent::Pod { name, .. }) => name,
            _ => String::new(),
        };
        let entry = opening.entrypoint.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                tracing::info!(entrypoint = %entry, event = ?e, "forward");
            }
        });
        let url = forward.url();
        tracing::info!(%url, service = %opening.service, "entrypoint opened from the dashboard");
        open.insert(key, forward);
        Ok(pb::OpenResponse { url, pod })
    }

    /// Each entrypoint of `install` for the install page (none when its version's
    /// package cannot be read: the rest of the page does not depend on it).
    pub async fn entrypoints(
        &self,
        repositories: &Clientset,
        install: &Install,
    ) -> Vec<pb::Entrypoint> {
        let info = &install.spec().package_info;
        let repo = match &info.repository_name {
            Some(n) => repositories.get(n),
            None => repositories.default_repository(),
        };
        let Some(repo) = repo else { return Vec::new() };
        let version = target::installed_version(install);
        let Ok(manifest) = repo.manifest(&info.name, &version, Freshness::Cached).await else {
            return Vec::new();
        };
        let Ok(openings) = target::openings(install, &manifest.value, None) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(openings.len());
        for o in openings {
            out.push(pb::Entrypoint {
                url: self.url_of(&o).await.unwrap_or_default(),
                name: o.entrypoint.clone(),
                service: o.service.to_string(),
                port: u32::from(o.port),
                command: o.command(),
            });
        }
        out
    }
}

/// The gRPC status for a refused Open.
fn open_status(e: OpenError) -> Status {
    let code = match &e {
        OpenError::NotInstalled(_) => Code::NotFound,
        OpenError::Entrypoint(hoist_core::entrypoint::EntrypointError::Unknown { .. })
        | OpenError::Entrypoint(hoist_core::entrypoint::EntrypointError::None { .. }) => {
            Code::NotFound
        }
        OpenError::Entrypoint(_) | OpenError::PortForMany(_) => Code::InvalidArgument,
        OpenError::Resolve(r) if r.is_not_found() => Code::NotFound,
        OpenError::Api(kube::Error::Api(s)) if s.code == 403 => Code::PermissionDenied,
        OpenError::Resolve(_)
        | OpenError::NoService(_)
        | OpenError::NoReadyPod { .. }
        | OpenError::Api(_)
        | OpenError::Timeout(_)
        | OpenError::Bind { .. } => Code::Unavailable,
    };
    Status::new(code, e.to_string())
}
