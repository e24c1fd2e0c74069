//! `hoist serve`: the dashboard backend. The port opens first (the web app is served at
//! once); the caches sync behind the readiness gate.
//!
//! # Guarantees
//! - [`Running::shutdown`] stops taking connections, ends open streams, lets in-flight
//!   unary calls finish within [`ServeOptions::drain`], then stops every task.

use crate::api::{self, ApiState, dashboard::DashboardService};
use crate::cache::hub::Hub;
use crate::cache::reflectors::{self, KINDS};
use crate::metrics::Metrics;
use hoist_kube::reflector::driver::PAGE_SIZE;
use hoist_kube::reflector::readiness::{Gate, Phase};
use hoist_kube::repo::clientset::Clientset;
use hoist_kube::repo::fetch::FetchOptions;
use hoist_kube::repo::live::LiveCatalogue;
use hoist_kube::runtime::{Drained, Supervisor};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The namespace Hoist runs in unless told otherwise.
pub const DEFAULT_NAMESPACE: &str = "hoist-system";

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Default `127.0.0.1:8080`. Beyond loopback only with a `token`.
    pub listen: SocketAddr,
    /// Every request must carry it (see [`crate::api::guard`]); required to listen
    /// beyond loopback. Never printed (`Debug` shows it redacted).
    pub token: Option<secrecy::SecretString>,
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
    /// The address users reach the dashboard at (`--external-url`), e.g. behind a
    /// TLS-terminating proxy; an `https://` one makes the token cookie `Secure`.
    pub external_url: Option<String>,
    /// Connections: header-read timeout and cap.
    pub limits: crate::api::listener::Limits,
    /// The longest a unary call may take before it is answered DEADLINE_EXCEEDED.
    pub unary_timeout: Duration,
    /// How long in-flight calls get to finish when the server stops.
    pub drain: Duration,
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
            external_url: None,
            limits: Default::default(),
            // Above the repository fetch timeout (20 s), so a slow repository is
            // reported as such by the call, not cut short by this limit.
            unary_timeout: Duration::from_secs(30),
            drain: hoist_kube::runtime::DEFAULT_DRAIN,
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
    #[error("the external URL must be an http:// or https:// address, not {0:?}")]
    ExternalUrl(String),
}

/// A running backend. Dropping it stops everything.
pub struct Running {
    pub addr: SocketAddr,
    pub gate: Arc<Gate>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    /// One client per PackageRepository, kept in step with the watch.
    pub repositories: Arc<Clientset>,
    /// The merged catalogue, kept current.
    pub catalogue: Arc<LiveCatalogue>,
    drain: Duration,
    tasks: Supervisor,
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

    /// Stops taking connections, ends open streams, waits up to the drain deadline for
    /// in-flight calls, then stops every task.
    pub async fn shutdown(self) -> Drained {
        self.tasks.shutdown(self.drain).await
    }
}

/// Whether `opts` may be served: beyond loopback only with a token, and a token only if
/// it is usable. Checked before anything is bound or started.
pub fn check(opts: &ServeOptions) -> Result<(), ServeError> {
    if let Some(url) = &opts.external_url {
        let lower = url.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
            return Err(ServeError::ExternalUrl(url.clone()));
        }
    }
    if let Some(token) = &opts.token {
        use secrecy::ExposeSecret;
        crate::api::guard::check_token(token.expose_secret()).map_err(ServeError::Token)?;
    } else if !opts.listen.ip().is_loopback() {
        return Err(ServeError::NotLoopback(opts.listen));
    }
    Ok(())
}

/// Binds, starts the reflectors and serves. Returns once the port is open.
pub async fn start(client: kube::Client, opts: ServeOptions) -> Result<Running, ServeError> {
    check(&opts)?;
    let (listener, addr) = bind(opts.listen).await?;
    tracing::info!(%addr, "listening, syncing caches");
    let mut tasks = Supervisor::new();
    let service = start_caches(client, &opts, &mut tasks);
    let gate = service.gate.clone();
    let hub = service.hub.clone();
    let metrics = service.metrics.clone();
    let repositories = service.repositories.clone();
    let catalogue = service.catalogue.clone();
    serve_api(listener, service, &opts, &mut tasks);
    spawn_gate_tasks(&gate, addr, opts.token.is_some(), &mut tasks);
    Ok(Running {
        addr,
        gate,
        hub,
        metrics,
        repositories,
        catalogue,
        drain: opts.drain,
        tasks,
    })
}

/// Opens the port: the listener and the address it is bound to (the port chosen when
/// `listen` asks for port 0).
async fn bind(listen: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), ServeError> {
    let bind_error = |source| ServeError::Bind {
        addr: listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    Ok((listener, addr))
}

/// Starts what the dashboard reads from, as `tasks`' background tasks: the fleet view,
/// the reflectors (into the hub, the clientset and the fleet view, behind the readiness
/// gate) and the live catalogue. Returns the dashboard service over them.
fn start_caches(
    client: kube::Client,
    opts: &ServeOptions,
    tasks: &mut Supervisor,
) -> DashboardService {
    let gate = Arc::new(Gate::new(&KINDS, PAGE_SIZE));
    let hub = Arc::new(Hub::new(opts.ring, opts.subscriber_buffer));
    let metrics = Arc::new(Metrics::new());
    let stopped = tasks.stopped();
    let repositories = Clientset::new(opts.fetch.clone());
    let fleet_view = crate::cache::fleet::FleetView::new();
    let (fleet_tx, fleet) = tokio::sync::watch::channel(None);
    tasks.spawn_watched(
        "the fleet view's publisher",
        crate::cache::fleet::publish(fleet_view.clone(), fleet_tx),
    );
    let sinks = reflectors::Sinks {
        hub: hub.clone(),
        repositories: repositories.clone(),
        secrets: repositories.clone(),
        secret_relists: Some(repositories.secret_relists()),
        namespace: opts.namespace.clone(),
        fleet: fleet_view.clone(),
    };
    reflectors::start(&client, gate.clone(), metrics.clone(), sinks, tasks);

    // Reload every TTL, but at least every 30 s (free within the TTL, and a failed
    // repository is retried at that pace) and at most every 5 s (a TTL of 0, the
    // `--no-repo-cache` bypass, must not become a busy loop).
    let interval = opts
        .fetch
        .ttl
        .clamp(Duration::from_secs(5), Duration::from_secs(30));
    let catalogue = LiveCatalogue::start(repositories.clone(), interval, tasks);
    let signals = crate::api::watch_signals::Signals {
        status: gate.subscribe(),
        catalogue: catalogue.subscribe(),
        fleet: fleet.clone(),
        stop: stopped.clone(),
    };
    tasks.spawn_watched(
        "the Watch streams' signals",
        crate::api::watch_signals::run(hub.clone(), signals, opts.heartbeat),
    );
    DashboardService {
        gate,
        hub,
        metrics,
        repositories,
        catalogue,
        client,
        shutdown: stopped,
        retry_after: Duration::from_secs(1),
        fleet,
        fleet_view,
        namespace: opts.namespace.clone(),
        // Forwards are for the user's own machine: loopback, no token.
        forwards: Arc::new(crate::api::open::Forwards::new(opts.token.is_none())),
    }
}

/// Serves the API and the web app on `listener` behind the token guard, as a draining
/// task of `tasks` (it stops taking connections when they stop).
fn serve_api(
    listener: tokio::net::TcpListener,
    service: DashboardService,
    opts: &ServeOptions,
    tasks: &mut Supervisor,
) {
    let state = ApiState {
        live: tasks.liveness(),
        gate: service.gate.clone(),
        hub: service.hub.clone(),
        metrics: service.metrics.clone(),
        fleet: service.fleet_view.clone(),
    };
    let (metrics, stopped) = (service.metrics.clone(), service.shutdown.clone());
    let guard = crate::api::guard::Guard::new(opts.token.clone())
        .with_external_url(opts.external_url.as_deref());
    let router = api::router(state, service, &opts.dist, guard, opts.unary_timeout);
    tasks.spawn_draining(crate::api::listener::serve(
        listener,
        router,
        opts.limits.clone(),
        metrics,
        stopped,
    ));
}

/// Announces READY once (with how to open the dashboard), and re-evaluates the gate's
/// time-based state every second.
fn spawn_gate_tasks(gate: &Arc<Gate>, addr: SocketAddr, with_token: bool, tasks: &mut Supervisor) {
    let (g, url) = (gate.clone(), format!("http://{addr}"));
    tasks.background().spawn(async move {
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
    tasks.spawn_watched("the readiness gate's ticker", async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            g.tick();
        }
    });
}
