//! `hoist serve`: the dashboard backend. The port opens first (the web app is served at
//! once); the caches sync behind the readiness gate.

use crate::api::{self, ApiState, dashboard::DashboardService};
use crate::cache::hub::Hub;
use crate::cache::readiness::{Gate, Phase};
use crate::cache::reflectors::{self, KINDS, PAGE_SIZE, Stores};
use crate::metrics::Metrics;
use crate::repo::clientset::Clientset;
use crate::repo::fetch::FetchOptions;
use crate::repo::live::LiveCatalogue;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The namespace Hoist runs in unless told otherwise.
pub const DEFAULT_NAMESPACE: &str = "hoist-system";

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Default `127.0.0.1:8080`. Beyond loopback only with a `token`.
    pub listen: SocketAddr,
    /// Every request must carry it (see [`crate::api::guard`]); required to listen
    /// beyond loopback.
    pub token: Option<String>,
    /// The built web app (`dist/`).
    pub dist: PathBuf,
    pub heartbeat: Duration,
    /// Changes kept for streams to resume from.
    pub ring: usize,
    /// Events buffered per stream subscriber before it is resynchronised.
    pub subscriber_buffer: usize,
    /// Repository fetching: cache lifetime, limits, timeouts.
    pub fetch: FetchOptions,
    /// Hoist's own namespace: repository credentials are read from its Secrets.
    pub namespace: String,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            dist: PathBuf::from("dist"),
            heartbeat: Duration::from_secs(15),
            ring: 4096,
            subscriber_buffer: 1024,
            fetch: FetchOptions::default(),
            namespace: DEFAULT_NAMESPACE.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "refusing to listen on {0} without a token: anyone who can reach it could read and install packages; set HOIST_TOKEN or --token-file (see docs/decisions/0010-token-authentication.md)"
    )]
    NotLoopback(SocketAddr),
    #[error("unusable token: {0}")]
    Token(String),
}

/// A running backend. Dropping it stops everything.
pub struct Running {
    pub addr: SocketAddr,
    pub gate: Arc<Gate>,
    pub hub: Arc<Hub>,
    pub stores: Stores,
    /// One client per PackageRepository, kept in step with the watch.
    pub repositories: Arc<Clientset>,
    /// The merged catalogue, kept current.
    pub catalogue: Arc<LiveCatalogue>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the phase is READY (or DEGRADED).
    pub async fn ready(&self) {
        let mut rx = self.gate.subscribe();
        let _ = rx
            .wait_for(|s| matches!(s.phase, Phase::Ready | Phase::Degraded))
            .await;
    }

    /// Stops serving, ends open streams, and waits for every task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.tasks.abort_all();
    }
}

/// Whether `opts` may be served: beyond loopback only with a token, and a token only if
/// it is usable. Checked before anything is bound or started.
pub fn check(opts: &ServeOptions) -> Result<(), ServeError> {
    if let Some(token) = &opts.token {
        crate::api::guard::check_token(token).map_err(ServeError::Token)?;
    } else if !opts.listen.ip().is_loopback() {
        return Err(ServeError::NotLoopback(opts.listen));
    }
    Ok(())
}

/// Binds, starts the reflectors and serves. Returns once the port is open.
pub async fn start(client: kube::Client, opts: ServeOptions) -> Result<Running, ServeError> {
    check(&opts)?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: opts.listen,
        source,
    })?;
    tracing::info!(%addr, "listening, syncing caches");

    let gate = Arc::new(Gate::new(&KINDS, PAGE_SIZE));
    let hub = Arc::new(Hub::new(opts.ring, opts.subscriber_buffer));
    let metrics = Arc::new(Metrics::new());
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let repositories = Clientset::new(opts.fetch.clone());
    let sinks = reflectors::Sinks {
        hub: hub.clone(),
        repositories: repositories.clone(),
        secrets: repositories.clone(),
        namespace: opts.namespace.clone(),
    };
    let stores = reflectors::start(&client, gate.clone(), metrics.clone(), sinks, &mut tasks);

    // Reload every TTL, but at least every 30 s (free within the TTL, and a failed
    // repository is retried at that pace) and at most every 5 s (a TTL of 0, the
    // `--no-repo-cache` bypass, must not become a busy loop).
    let interval = opts
        .fetch
        .ttl
        .clamp(Duration::from_secs(5), Duration::from_secs(30));
    let catalogue = LiveCatalogue::start(repositories.clone(), interval, &mut tasks);
    let service = DashboardService {
        gate: gate.clone(),
        hub: hub.clone(),
        metrics: metrics.clone(),
        repositories: repositories.clone(),
        catalogue: catalogue.clone(),
        client: client.clone(),
        shutdown: stopped.clone(),
        heartbeat: opts.heartbeat,
        retry_after: Duration::from_secs(1),
    };
    let state = ApiState {
        gate: gate.clone(),
        hub: hub.clone(),
        metrics,
    };
    let guard = crate::api::guard::Guard::new(opts.token.clone());
    let router = api::router(state, service, &opts.dist, guard);
    let mut until = stopped.clone();
    tasks.spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = until.wait_for(|s| *s).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "server failed");
        }
    });

    // Announce READY once, and re-evaluate time-based state every second.
    let (g, url) = (gate.clone(), format!("http://{addr}"));
    let with_token = opts.token.is_some();
    tasks.spawn(async move {
        let mut rx = g.subscribe();
        if rx.wait_for(|s| s.phase == Phase::Ready).await.is_ok() {
            if with_token {
                tracing::info!(url = %url, "dashboard ready at {url} (open it once as {url}/?token=TOKEN)");
            } else {
                tracing::info!(url = %url, "dashboard ready at {url}");
            }
        }
    });
    let g = gate.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            g.tick();
        }
    });
    Ok(Running {
        addr,
        gate,
        hub,
        stores,
        repositories,
        catalogue,
        stop,
        tasks,
    })
}
