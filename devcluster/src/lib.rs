//! # devcluster
//!
//! A Kubernetes API server for development, demos and tests. It speaks the real REST
//! list/watch protocol over HTTP, so kube-rs, kubectl and the Python client work against
//! it unchanged; its contract is `shared/specs/kube-api-subset.md`, and each point of
//! that contract is pinned by a test in `devcluster/tests/`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = devcluster::DevCluster::start(devcluster::Options::default()).await?;
//! let client = cluster.client()?;                  // a kube::Client for it
//! cluster.faults().add(devcluster::Fault::new(     // make LISTs slow
//!     devcluster::FaultAction::Latency { millis: 300 }).verb("list"));
//! let lists = cluster.counters().get("list", "configmaps");
//! cluster.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Guarantees: binds only the address it is given (127.0.0.1 by default); every error is
//! a `Status` object; a rejected request changes nothing; with a state file the store
//! survives a restart, and a corrupt file is an error at start.
//!
//! It plays the controllers and the kubelet as kwok does ([`workloads`]): Deployments,
//! StatefulSets and DaemonSets get Running pods and a ready status, Jobs complete; and
//! `pods/portforward` reaches a loopback address configured per image
//! ([`Options::forwards`]) or per pod ([`FORWARD_ANNOTATION`]), see [`portforward`].
//!
//! Caveats (see `docs/decisions/0002-devcluster-fidelity.md` and `0014`): no
//! authentication or RBAC; schemas drop unknown fields (`fieldValidation`) but check no
//! types, formats or CEL rules; strategic merge knows the built-in merge keys from a
//! table; server-side apply treats lists as atomic fields; protobuf is decoded for the
//! kinds kubectl's `create` subcommands send, and answers are JSON only (no protobuf or
//! YAML responses: a client that accepts JSON too gets JSON, one that does not gets 406).
//!
//! Reads are served in the forms `Accept` asks for ([`negotiate`]): the objects,
//! `meta.k8s.io` Tables ([`table`], `kubectl get`), or metadata only
//! (`PartialObjectMetadata`/`PartialObjectMetadataList`, [`partial`]: kube-rs'
//! `get_metadata`, `list_metadata`, `watch_metadata`, so a Secret's data is not sent
//! to a client that asked for its metadata), of built-in and custom kinds alike.

#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod auth;
pub mod counters;
pub mod crd;
pub mod error;
pub mod events;
pub mod faults;
pub mod fields;
pub mod forwards;
pub mod identity;
pub mod kubeconfig;
pub mod meta;
pub mod negotiate;
pub mod openapi;
pub mod partial;
pub mod patch;
pub mod persist;
pub mod portforward;
pub mod protobuf;
pub mod request;
pub mod resources;
pub mod respond;
pub mod route;
pub mod selector;
pub mod server;
pub mod store;
pub mod table;
pub mod verbs;
pub mod workloads;

pub use counters::Counters;
pub use error::{ApiError, StartError};
pub use faults::{Fault, FaultAction, Faults, WatchEnding};
pub use forwards::{FORWARD_ANNOTATION, Forward};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// [`Options::history_window`]'s default: kube-apiserver's etcd compaction interval.
pub const HISTORY_WINDOW: Duration = Duration::from_secs(300);

/// How to start a devcluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free one. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Keep the store in this file across restarts; memory only when unset.
    pub state_file: Option<PathBuf>,
    /// Events kept per kind for watches to resume from (the compaction window).
    pub history_limit: usize,
    /// How long an event is kept for resumes at most, whatever the count: etcd's
    /// compaction as kube-apiserver runs it (`--etcd-compaction-interval`, 5 minutes by
    /// default), older resourceVersions getting 410. `None`: the count alone.
    pub history_window: Option<Duration>,
    /// How often watches that allow bookmarks receive one.
    pub bookmark_interval: Duration,
    /// Largest request body.
    pub body_limit: usize,
    /// Play the workload controllers ([`workloads`]): a Deployment, StatefulSet or
    /// DaemonSet becomes ready, a Job completes, this long after each change. `None`:
    /// workloads keep whatever status their writers give them.
    pub workloads: Option<Duration>,
    /// Authenticate and authorize every request as kube-apiserver does (bearer tokens,
    /// RBAC); `None`: every request may do everything (issue 19 makes this the default).
    pub auth: Option<AuthOptions>,
    /// Where `pods/portforward` sends a pod port's bytes, by container image (see
    /// [`portforward`]); a pod's [`FORWARD_ANNOTATION`] wins over these. Each target
    /// must be a loopback address ([`StartError::Forward`] otherwise). Default: none.
    pub forwards: Vec<Forward>,
}

/// How a devcluster with authentication and RBAC is set up.
#[derive(Debug, Clone, Default)]
pub struct AuthOptions {
    /// Let requests without credentials in as `system:anonymous` (`--anonymous-auth`).
    pub anonymous: bool,
    /// Extra static users, kube-apiserver's CSV (`--token-file`).
    pub token_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_file: None,
            history_limit: 10_000,
            history_window: Some(HISTORY_WINDOW),
            bookmark_interval: Duration::from_secs(5),
            body_limit: 3 * 1024 * 1024,
            workloads: Some(Duration::from_millis(100)),
            // As a real cluster: who asks is authenticated, what they do authorized.
            auth: Some(AuthOptions::default()),
            forwards: Vec::new(),
        }
    }
}

/// A running devcluster. Dropping it stops the server; [`DevCluster::shutdown`] also
/// waits for it and flushes the state file.
pub struct DevCluster {
    addr: SocketAddr,
    /// The CA (PEM, DER) when serving HTTPS (with [`AuthOptions`]).
    ca: Option<(String, Vec<u8>)>,
    app: app::Shared,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DevCluster {
    /// Binds, restores the state file if any, and serves in the background.
    pub async fn start(opts: Options) -> Result<Self, StartError> {
        for f in &opts.forwards {
            f.check().map_err(|e| StartError::Forward {
                image: f.image.clone(),
                reason: e.to_string(),
            })?;
        }
        let store = store::Store::new(opts.history_limit, opts.history_window);
        if let Some(path) = &opts.state_file
            && let Some((rv, objects)) = persist::load(path)?
        {
            store
                .lock()
                .restore(rv, objects)
                .map_err(|reason| StartError::CorruptState {
                    path: path.display().to_string(),
                    reason,
                })?;
        }
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: opts.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: opts.listen.to_string(),
            source,
        })?;
        // With a state file, who the server is (CA, admin token, signing key) is kept too.
        let kept = match (&opts.state_file, &opts.auth) {
            (Some(state), Some(_)) => Some(identity::load_or_create(&identity::path_for(state))?),
            _ => None,
        };
        let gate = match &opts.auth {
            None => None,
            Some(a) => {
                let token_file =
                    match &a.token_file {
                        Some(path) => Some(auth::authn::TokenFile::load(path).map_err(|e| {
                            StartError::Auth {
                                reason: e.to_string(),
                            }
                        })?),
                        None => None,
                    };
                if let Some(tf) = &token_file {
                    for w in tf.warnings() {
                        tracing::warn!(warning = %w, "token file");
                    }
                }
                let authn = auth::authn::Authenticator::new(auth::authn::AuthnConfig {
                    anonymous: a.anonymous,
                    token_file,
                    admin_token: kept.as_ref().map(|k| k.admin_token.clone()),
                    signing_key: kept.as_ref().map(|k| k.signing_key.clone()),
                    ..Default::default()
                })
                .map_err(|e| StartError::Auth {
                    reason: e.to_string(),
                })?;
                auth::gate::seed(&store).map_err(|e| StartError::Auth {
                    reason: format!("cannot create the bootstrap roles: {e}"),
                })?;
                Some(auth::gate::Gate::new(authn))
            }
        };
        let (stop, stopped) = watch::channel(false);
        let app = Arc::new(app::App {
            gate,
            store,
            faults: Faults::default(),
            counters: Counters::default(),
            settings: app::Settings {
                bookmark_interval: opts.bookmark_interval,
                body_limit: opts.body_limit,
                default_watch_timeout: Duration::from_secs(1800),
                loopback_only: addr.ip().is_loopback(),
                forwards: opts.forwards.clone(),
            },
            shutdown: stopped.clone(),
        });
        let mut tasks = Vec::new();
        let router = server::router(app.clone());
        let mut until = stopped.clone();
        let mut ca = None;
        if app.gate.is_some() {
            // Tokens go over TLS only: client-go sends none over plain http.
            let identity = match &kept {
                Some(k) => auth::tls::identity_with_ca(&k.ca),
                None => auth::tls::identity(),
            }
            .map_err(|e| StartError::Auth {
                reason: e.to_string(),
            })?;
            ca = Some((identity.ca_pem.clone(), identity.ca_der.clone()));
            let listener =
                auth::tls::TlsListener::new(listener, identity.acceptor).map_err(|e| {
                    StartError::Bind {
                        addr: opts.listen.to_string(),
                        source: e,
                    }
                })?;
            tasks.push(tokio::spawn(async move {
                let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                    let _ = until.wait_for(|s| *s).await;
                });
                if let Err(e) = serve.await {
                    tracing::error!(error = %e, "devcluster server failed");
                }
            }));
        } else {
            tasks.push(tokio::spawn(async move {
                let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                    let _ = until.wait_for(|s| *s).await;
                });
                if let Err(e) = serve.await {
                    tracing::error!(error = %e, "devcluster server failed");
                }
            }));
        }
        let ticker_app = app.clone();
        let mut until = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(ticker_app.settings.bookmark_interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => ticker_app.store.lock().broadcast_progress(),
                    _ = until.wait_for(|s| *s) => break,
                }
            }
        }));
        if let Some(delay) = opts.workloads {
            tasks.push(tokio::spawn(workloads::run(
                app.clone(),
                delay,
                stopped.clone(),
            )));
        }
        if let Some(path) = opts.state_file.clone() {
            tasks.push(tokio::spawn(persist::writer(
                app.clone(),
                path,
                Duration::from_millis(100),
            )));
        }
        Ok(Self {
            addr,
            ca,
            app,
            stop,
            tasks,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://` when it authenticates.
    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The CA a client must trust (PEM), when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(|(pem, _)| pem.as_str())
    }

    /// The same CA, DER (kube-rs' `Config::root_cert`).
    pub fn ca_der(&self) -> Option<&[u8]> {
        self.ca.as_ref().map(|(_, der)| der.as_slice())
    }

    /// A kube client for this server, default namespace `default`.
    pub fn client(&self) -> Result<kube::Client, StartError> {
        let config = self.config()?;
        kube::Client::try_from(config).map_err(|e| StartError::Client {
            url: self.url(),
            reason: e.to_string(),
        })
    }

    /// The kube configuration of [`Self::client`] (for a caller that builds its own
    /// client stack).
    pub fn config(&self) -> Result<kube::Config, StartError> {
        let url = self.url();
        let uri = url
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| StartError::Client {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let mut config = kube::Config::new(uri);
        if let Some(token) = self.admin_token() {
            config.auth_info.token = Some(token.to_string().into());
        }
        if let Some((_, der)) = &self.ca {
            config.root_cert = Some(vec![der.clone()]);
        }
        Ok(config)
    }

    /// The kubeconfig for this server (with the admin token when it authenticates).
    pub fn kubeconfig(&self) -> String {
        kubeconfig::render(&self.url(), self.admin_token(), self.ca_pem())
    }

    /// The admin's bearer token (user `devcluster-admin`, group `system:masters`), when
    /// this server authenticates.
    pub fn admin_token(&self) -> Option<&str> {
        self.app
            .gate
            .as_ref()
            .map(|g| g.authenticator().admin_token())
    }

    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }

    pub fn counters(&self) -> &Counters {
        &self.app.counters
    }

    /// Forgets the watch history: watches from older resourceVersions get 410.
    pub fn compact(&self) {
        self.app.store.lock().compact();
    }

    /// Every object of `(group, plural)` as stored, read directly (no request, no faults,
    /// not counted): what tests compare a client's view against.
    pub fn objects(&self, group: &str, plural: &str) -> Vec<serde_json::Value> {
        let key = resources::StoreKey {
            group: group.into(),
            plural: plural.into(),
        };
        self.app
            .store
            .lock()
            .objects_of(&key)
            .iter()
            .map(|o| (**o).clone())
            .collect()
    }

    /// How many times each object came into existence since start (see
    /// [`store::State::creations`]); also `GET /devcluster/counters/creations`.
    pub fn creations(&self) -> std::collections::BTreeMap<String, u64> {
        self.app.store.lock().creations()
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.app.store.lock().resource_version()
    }

    /// Stops serving, ends open watches, waits, and saves the state file.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
