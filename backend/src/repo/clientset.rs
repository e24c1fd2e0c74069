//! The clientset: one repository client per PackageRepository, built from the spec in
//! the reflector's store (zero API reads per lookup) and swapped the moment the watch
//! sees the spec change, or dropped when the repository is deleted.
//!
//! Guarantees: a listing and a fetch read the same [`RepoClient`], which holds the spec
//! it was built from, so they can never disagree about a repository's URL (the seed's
//! stale-URL bug, where clients were rebuilt on a timer); a new client starts with an
//! empty cache, so nothing fetched from the old URL is served for the new one.
//!
//! Caveat: credentials from Secrets (`usernameSecretRef`, …) are not resolved yet; such
//! a repository reports the problem and is fetched without them.

use super::fetch::{Auth, FetchError, FetchOptions, Fetched, Fetcher, Freshness};
use super::format::{Index, PackageManifest, Versions};
use crate::cache::reflectors::Sink;
use crate::types::{DEFAULT_REPOSITORY_ANNOTATION, PackageRepository, PackageRepositorySpec};
use kube::ResourceExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;

/// A client for one repository, as its spec was when the client was built.
pub struct RepoClient {
    pub name: String,
    pub spec: PackageRepositorySpec,
    pub is_default: bool,
    /// Why this repository cannot be used as configured, if it cannot.
    pub problem: Option<String>,
    base: String,
    fetcher: Result<Fetcher, FetchError>,
}

impl RepoClient {
    fn new(repo: &PackageRepository, opts: &FetchOptions) -> Self {
        let spec = repo.spec.clone();
        let mut problem: Option<String> = None;
        let auth = match &spec.auth {
            Some(a) => match (&a.basic, &a.bearer) {
                (Some(b), _)
                    if b.username_secret_ref.is_some() || b.password_secret_ref.is_some() =>
                {
                    problem = Some(
                        "credentials from Secrets are not supported yet; fetching without them"
                            .to_string(),
                    );
                    Auth::None
                }
                (Some(b), _) => Auth::Basic {
                    username: b.username.clone().unwrap_or_default(),
                    password: b.password.clone().unwrap_or_default(),
                },
                (None, Some(t)) if t.token_secret_ref.is_some() => {
                    problem = Some(
                        "credentials from Secrets are not supported yet; fetching without them"
                            .to_string(),
                    );
                    Auth::None
                }
                (None, Some(t)) => Auth::Bearer(t.token.clone().unwrap_or_default()),
                (None, None) => Auth::None,
            },
            None => Auth::None,
        };
        match reqwest::Url::parse(&spec.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(u) => {
                problem = Some(format!(
                    "unsupported URL scheme {:?} (use http or https)",
                    u.scheme()
                ))
            }
            Err(e) => problem = Some(format!("invalid URL: {e}")),
        }
        let fetcher = Fetcher::new(opts.clone(), auth);
        Self {
            name: repo.name_any(),
            is_default: repo
                .annotations()
                .get(DEFAULT_REPOSITORY_ANNOTATION)
                .is_some_and(|v| v == "true"),
            problem,
            base: spec.url.trim_end_matches('/').to_string(),
            spec,
            fetcher,
        }
    }

    pub fn url(&self) -> &str {
        &self.spec.url
    }

    /// The fetcher, or why this repository cannot be fetched at all.
    fn check(&self) -> Result<&Fetcher, FetchError> {
        match &self.problem {
            Some(p) if p.starts_with("invalid URL") || p.starts_with("unsupported URL") => {
                Err(FetchError::InvalidUrl {
                    url: self.spec.url.clone(),
                    reason: p.clone(),
                })
            }
            _ => self.fetcher.as_ref().map_err(Clone::clone),
        }
    }

    pub async fn index(&self, f: Freshness) -> Result<Fetched<Index>, FetchError> {
        self.check()?
            .get(&format!("{}/index.yaml", self.base), "index.yaml", f)
            .await
    }

    pub async fn versions(
        &self,
        package: &str,
        f: Freshness,
    ) -> Result<Fetched<Versions>, FetchError> {
        let file = format!("{package}/versions.yaml");
        self.check()?
            .get(&format!("{}/{file}", self.base), &file, f)
            .await
    }

    pub async fn manifest(
        &self,
        package: &str,
        version: &str,
        f: Freshness,
    ) -> Result<Fetched<PackageManifest>, FetchError> {
        let file = format!("{package}/{version}/package.yaml");
        self.check()?
            .get(&format!("{}/{file}", self.base), &file, f)
            .await
    }

    /// Marks this repository's cached files expired (Refresh).
    pub fn expire(&self) {
        if let Ok(f) = &self.fetcher {
            f.expire();
        }
    }
}

/// Every repository's client, by name.
pub struct Clientset {
    opts: FetchOptions,
    clients: RwLock<BTreeMap<String, Arc<RepoClient>>>,
    listed: Mutex<BTreeSet<String>>,
    /// Bumped on every swap, so callers can wait for one.
    changes: watch::Sender<u64>,
}

impl Clientset {
    pub fn new(opts: FetchOptions) -> Arc<Self> {
        Arc::new(Self {
            opts,
            clients: Default::default(),
            listed: Default::default(),
            changes: watch::channel(0).0,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<RepoClient>>> {
        self.clients.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<RepoClient>>> {
        self.clients.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Arc<RepoClient>> {
        self.read().get(name).cloned()
    }

    /// Every repository, by name.
    pub fn list(&self) -> Vec<Arc<RepoClient>> {
        self.read().values().cloned().collect()
    }

    /// The repository annotated as the default; the only one when there is just one.
    pub fn default_repository(&self) -> Option<Arc<RepoClient>> {
        let clients = self.read();
        clients
            .values()
            .find(|c| c.is_default)
            .cloned()
            .or_else(|| {
                (clients.len() == 1)
                    .then(|| clients.values().next().cloned())
                    .flatten()
            })
    }

    /// Marks every repository's cache expired (the dashboard's Refresh).
    pub fn expire_all(&self) {
        self.read().values().for_each(|c| c.expire());
    }

    /// A receiver that changes whenever a client is added, swapped or removed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn upsert(&self, repo: &PackageRepository) {
        let name = repo.name_any();
        let is_default = repo
            .annotations()
            .get(DEFAULT_REPOSITORY_ANNOTATION)
            .is_some_and(|v| v == "true");
        let current = self.get(&name);
        if current.is_some_and(|c| c.spec == repo.spec && c.is_default == is_default) {
            return;
        }
        let client = Arc::new(RepoClient::new(repo, &self.opts));
        tracing::info!(repository = %name, url = %client.url(), "repository client (re)built");
        self.write().insert(name, client);
        self.changes.send_modify(|n| *n += 1);
    }

    fn remove(&self, name: &str) {
        if self.write().remove(name).is_some() {
            self.changes.send_modify(|n| *n += 1);
        }
    }
}

impl Sink<PackageRepository> for Clientset {
    fn init(&self) {
        self.listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
    fn init_apply(&self, repo: &PackageRepository) {
        self.listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(repo.name_any());
        self.upsert(repo);
    }
    fn init_done(&self) {
        let listed = std::mem::take(&mut *self.listed.lock().unwrap_or_else(|p| p.into_inner()));
        let gone: Vec<String> = self
            .read()
            .keys()
            .filter(|k| !listed.contains(*k))
            .cloned()
            .collect();
        for name in gone {
            self.remove(&name);
        }
    }
    fn apply(&self, repo: &PackageRepository) {
        self.upsert(repo);
    }
    fn delete(&self, repo: &PackageRepository) {
        self.remove(&repo.name_any());
    }
}
