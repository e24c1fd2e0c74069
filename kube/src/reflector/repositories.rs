//! The PackageRepositories and the Secrets of Hoist's namespace, kept in the
//! repository clientset: by the dashboard's caches beside its other kinds
//! ([`spawn`]), and on their own by a process without the dashboard (`hoist operator`:
//! [`watch_repositories`]).

use super::driver::{Ctx, PAGE_SIZE, run};
use super::readiness::{Gate, Phase};
use crate::repo::clientset::Clientset;
use crate::runtime::Supervisor;
use crate::sink::Sink;
use crate::types::PackageRepository;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use std::sync::Arc;

/// The PackageRepository watch and the (optional) Secret watch of `namespace`, on
/// `tasks`, reporting to `ctx`.
pub fn spawn(
    client: &Client,
    ctx: Ctx,
    repositories: Arc<dyn Sink<PackageRepository>>,
    secrets: Arc<dyn Sink<Secret>>,
    secret_relists: Option<tokio::sync::watch::Receiver<u64>>,
    namespace: &str,
    tasks: &mut Supervisor,
) {
    tasks.spawn_watched(
        "the PackageRepository reflector",
        run::<PackageRepository>(
            Api::all(client.clone()),
            "PackageRepository",
            ctx.clone(),
            Some(repositories),
            false,
            None,
        ),
    );
    // Optional: without leave to read Secrets, only repositories that need
    // credentials suffer; the dashboard still becomes READY.
    tasks.spawn_watched(
        "the Secret reflector",
        run(
            Api::<Secret>::namespaced(client.clone(), namespace),
            "Secret",
            ctx,
            Some(secrets),
            true,
            secret_relists,
        ),
    );
}

/// Only the PackageRepositories and the Secrets of Hoist's namespace, feeding their
/// sinks (the repository clientset). `secret_relists` changes when the Secrets must be
/// listed again. The returned gate says when both have synced.
pub fn start(
    client: &Client,
    repositories: Arc<dyn Sink<PackageRepository>>,
    secrets: Arc<dyn Sink<Secret>>,
    secret_relists: Option<tokio::sync::watch::Receiver<u64>>,
    namespace: &str,
    tasks: &mut Supervisor,
) -> Arc<Gate> {
    let gate = Arc::new(Gate::new(&["PackageRepository", "Secret"], PAGE_SIZE));
    let ctx = Ctx {
        gate: gate.clone(),
        on_error: None,
    };
    spawn(
        client,
        ctx,
        repositories,
        secrets,
        secret_relists,
        namespace,
        tasks,
    );
    gate
}

/// The repositories' clients, kept in step with the PackageRepositories and the
/// Secrets of Hoist's namespace, for an operator running without the dashboard (which
/// keeps its own). Stops when dropped.
pub struct RepositoryWatch {
    pub clientset: Arc<Clientset>,
    gate: Arc<Gate>,
    tasks: Supervisor,
}

impl RepositoryWatch {
    /// Whether its watches still run (for the `/livez` of the process holding it).
    pub fn liveness(&self) -> crate::runtime::Liveness {
        self.tasks.liveness()
    }

    /// Waits until the repositories (and, if readable, the Secrets) are listed.
    pub async fn synced(&self) {
        let mut rx = self.gate.subscribe();
        let _ = rx
            .wait_for(|s| matches!(s.phase, Phase::Ready | Phase::Degraded))
            .await;
    }
}

/// Starts watching the repositories (see [`RepositoryWatch`]).
pub fn watch_repositories(
    client: &Client,
    fetch: crate::repo::fetch::FetchOptions,
    namespace: &str,
) -> RepositoryWatch {
    let clientset = Clientset::new(fetch);
    let mut tasks = Supervisor::new();
    let gate = start(
        client,
        clientset.clone(),
        clientset.clone(),
        Some(clientset.secret_relists()),
        namespace,
        &mut tasks,
    );
    RepositoryWatch {
        clientset,
        gate,
        tasks,
    }
}
