//! The clientset: one repository client per PackageRepository, built from the spec in
//! the reflector's store (zero API reads per lookup) and swapped the moment the watch
//! sees the spec change, or dropped when the repository is deleted.
//!
//! Guarantees: a listing and a fetch read the same [`RepoClient`], which holds the spec
//! it was built from, so they can never disagree about a repository's URL (the seed's
//! stale-URL bug, where clients were rebuilt on a timer); a new client starts with an
//! empty cache, so nothing fetched from the old URL is served for the new one.
//!
//! Credentials from Secrets (`usernameSecretRef`, `passwordSecretRef`, `tokenSecretRef`)
//! are read from the Secrets of Hoist's own namespace, which a reflector keeps in
//! memory (this type is also its [`Sink`]): no API request per fetch. When a referenced
//! Secret is created, changed or deleted, every client whose credentials it changes is
//! rebuilt at once, as on a spec change.
//!
//! Only the keys some repository references are held: a Secret's other keys (Helm
//! releases, TLS keys, other tokens in Hoist's namespace) are dropped as the watch
//! delivers them. When a repository comes to reference a key that was dropped, the
//! Secrets are listed again ([`Clientset::secret_relists`]), once.
//!
//! How credentials are resolved, and what is reported wrong with them, is the
//! `credentials` module's.

pub use super::credentials::secret_refs;
use super::credentials::{SecretData, Secrets, keep, resolve_auth, secret_names, wanted};
use super::fetch::{Auth, FetchError, FetchOptions, Fetched, Fetcher, Freshness, SharedHttp};
use super::format::{Documents, Index, PackageManifest, Versions};
use crate::sink::Sink;
use crate::types::{PackageRepository, PackageRepositorySpec};
use hoist_core::repo::destinations::{package_segment, version_segment};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;

/// A client for one repository, as its spec was when the client was built.
pub struct RepoClient {
    pub name: String,
    pub spec: PackageRepositorySpec,
    pub is_default: bool,
    /// Set when the URL cannot be fetched at all.
    invalid_url: Option<String>,
    /// What is wrong with the credentials (a Secret missing, unreadable, …).
    auth_problem: Option<String>,
    /// The credentials as resolved when the client was built.
    auth: Auth,
    base: String,
    fetcher: Fetcher,
    /// For manifests on another origin than the repository's: never sent its
    /// credentials.
    foreign: Fetcher,
    /// Which hosts may be reached at private addresses.
    destinations: Arc<crate::repo::fetch::Destinations>,
}

impl RepoClient {
    /// `resolved`: the credentials and any problem with them ([`resolve_auth`]).
    fn new(
        repo: &PackageRepository,
        opts: &FetchOptions,
        http: &SharedHttp,
        resolved: (Auth, Option<String>),
    ) -> Self {
        let spec = repo.spec.clone();
        let (auth, auth_problem) = resolved;
        let invalid_url = match reqwest::Url::parse(&spec.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => None,
            Ok(u) => Some(format!(
                "unsupported URL scheme {:?} (use http or https)",
                u.scheme()
            )),
            Err(e) => Some(format!("invalid URL: {e}")),
        };
        let fetcher = Fetcher::with_client(opts.clone(), auth.clone(), http.clone());
        let foreign = Fetcher::with_client(opts.clone(), Auth::None, http.clone());
        Self {
            destinations: http.destinations().clone(),
            name: repo.name_any(),
            is_default: repo.is_default(),
            auth_problem,
            invalid_url,
            auth,
            base: spec.url.trim_end_matches('/').to_string(),
            spec,
            fetcher,
            foreign,
        }
    }

    /// Why this repository cannot be used as configured, if it cannot.
    pub fn problem(&self) -> Option<&str> {
        self.invalid_url.as_deref().or(self.auth_problem.as_deref())
    }

    /// Whether the client uses credentials (never which).
    pub fn has_credentials(&self) -> bool {
        self.auth != Auth::None
    }

    pub fn url(&self) -> &str {
        &self.spec.url
    }

    /// The fetcher, or why this repository cannot be fetched at all.
    fn check(&self) -> Result<&Fetcher, FetchError> {
        match &self.invalid_url {
            Some(reason) => Err(FetchError::InvalidUrl {
                url: self.spec.url.clone(),
                reason: reason.clone(),
            }),
            None => Ok(&self.fetcher),
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
        let package = self.segment(package_segment(package))?;
        let file = format!("{package}/versions.yaml");
        self.check()?
            .get(&format!("{}/{file}", self.base), &file, f)
            .await
    }

    /// Where a version's package.yaml is read from.
    pub fn manifest_url(&self, package: &str, version: &str) -> String {
        format!("{}/{package}/{version}/package.yaml", self.base)
    }

    pub async fn manifest(
        &self,
        package: &str,
        version: &str,
        f: Freshness,
    ) -> Result<Fetched<PackageManifest>, FetchError> {
        let package = self.segment(package_segment(package))?;
        let version = self.segment(version_segment(version))?;
        let file = format!("{package}/{version}/package.yaml");
        self.check()?
            .get(&format!("{}/{file}", self.base), &file, f)
            .await
    }

    /// One of a package version's manifest files, `url` as its package.yaml gives it:
    /// relative to package.yaml, or absolute.
    ///
    /// Guarantees: cached like every repository file (no re-download while fresh);
    /// the repository's credentials go only to its own origin (scheme, host, port), so
    /// a manifest hosted elsewhere never receives them; only http(s).
    pub async fn objects(
        &self,
        package: &str,
        version: &str,
        url: &str,
        f: Freshness,
    ) -> Result<Fetched<Documents>, FetchError> {
        let fetcher = self.check()?;
        let invalid = |reason: String| FetchError::InvalidUrl {
            url: hoist_core::repo::links::shown_url(url),
            reason,
        };
        let package = self.segment(package_segment(package))?;
        let version = self.segment(version_segment(version))?;
        let package_yaml = format!("{}/{package}/{version}/package.yaml", self.base);
        let base = reqwest::Url::parse(&package_yaml).map_err(|e| invalid(e.to_string()))?;
        let target = base.join(url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(target.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "unsupported URL scheme {:?} (use http or https)",
                target.scheme()
            )));
        }
        hoist_core::repo::destinations::check_manifest_url(
            &base,
            &target,
            self.destinations
                .may_be_private(target.host_str().unwrap_or("")),
        )
        .map_err(|e| invalid(e.to_string()))?;
        let same_origin = target.origin() == base.origin();
        let file = if same_origin {
            format!("{package}/{version}/{url}")
        } else {
            hoist_core::repo::links::shown_url(target.as_str())
        };
        let fetcher = if same_origin { fetcher } else { &self.foreign };
        fetcher.get(target.as_str(), &file, f).await
    }

    /// A name or version as a path segment, or the error that names the repository.
    fn segment<'a>(
        &self,
        checked: Result<&'a str, hoist_core::repo::destinations::DestinationError>,
    ) -> Result<&'a str, FetchError> {
        checked.map_err(|e| FetchError::InvalidUrl {
            url: hoist_core::repo::links::shown_url(&self.spec.url),
            reason: e.to_string(),
        })
    }

    /// Marks this repository's cached files expired (Refresh).
    pub fn expire(&self) {
        self.fetcher.expire();
        self.foreign.expire();
    }

    /// Forgets this repository's cached files (in memory), once fetches in flight end.
    pub async fn clear(&self) {
        self.fetcher.clear().await;
        self.foreign.clear().await;
    }
}

/// Every repository's client, by name.
pub struct Clientset {
    opts: FetchOptions,
    /// One HTTP client for every repository, built on the first fetch.
    http: SharedHttp,
    clients: RwLock<BTreeMap<String, Arc<RepoClient>>>,
    /// The PackageRepository objects the clients were built from, to rebuild on a
    /// Secret change.
    specs: Mutex<BTreeMap<String, PackageRepository>>,
    listed: Mutex<BTreeSet<String>>,
    secrets: RwLock<Secrets>,
    secrets_listed: Mutex<SecretData>,
    /// Bumped on every swap, so callers can wait for one.
    changes: watch::Sender<u64>,
    /// Bumped when a repository references a Secret key that was dropped: the Secret
    /// watch lists again to read it.
    secret_relists: watch::Sender<u64>,
}

impl Clientset {
    pub fn new(opts: FetchOptions) -> Arc<Self> {
        Arc::new(Self {
            http: SharedHttp::new(&opts),
            opts,
            clients: Default::default(),
            specs: Default::default(),
            listed: Default::default(),
            secrets: Default::default(),
            secrets_listed: Default::default(),
            changes: watch::channel(0).0,
            secret_relists: watch::channel(0).0,
        })
    }

    /// A clientset from one list of repositories and of Hoist's Secrets (a one-shot
    /// command's): repositories first, so the Secrets' referenced keys are known when
    /// they are read.
    pub fn from_lists(
        opts: FetchOptions,
        repositories: &[PackageRepository],
        secrets: &[Secret],
    ) -> Arc<Self> {
        let set = Self::new(opts);
        Sink::<PackageRepository>::init(&*set);
        repositories.iter().for_each(|r| set.init_apply(r));
        Sink::<PackageRepository>::init_done(&*set);
        Sink::<Secret>::init(&*set);
        secrets.iter().for_each(|s| set.init_apply(s));
        Sink::<Secret>::init_done(&*set);
        set
    }

    /// Whether any of `repositories` takes credentials from a Secret.
    pub fn needs_secrets(repositories: &[PackageRepository]) -> bool {
        repositories
            .iter()
            .any(|r| secret_refs(&r.spec).next().is_some())
    }

    /// Changes when the Secrets must be listed again (see the module doc).
    pub fn secret_relists(&self) -> watch::Receiver<u64> {
        self.secret_relists.subscribe()
    }

    /// The Secret keys some repository references, by Secret.
    fn wanted(&self) -> BTreeMap<String, BTreeSet<String>> {
        wanted(lock(&self.specs).values())
    }

    /// The keys held (with their values) of each Secret, for tests and debugging.
    pub fn held_secret_keys(&self) -> BTreeMap<String, Vec<String>> {
        self.secrets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .data
            .iter()
            .map(|(name, k)| (name.clone(), k.values.keys().cloned().collect()))
            .collect()
    }

    /// What to keep of `secret`: the names of its keys, the values of wanted ones.
    fn keep(&self, secret: &Secret) -> super::credentials::SecretKeys {
        keep(secret, self.wanted().get(&secret.name_any()))
    }

    /// The HTTP client every repository shares, built now rather than by the first
    /// fetch (see [`SharedHttp`]).
    pub fn http(&self) -> &SharedHttp {
        &self.http
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

    /// Drops every cached repository file, in memory and on disk: the next lookups go
    /// to the repositories. Returns how many files were removed from disk.
    pub async fn clear_all(&self) -> std::io::Result<usize> {
        for client in self.list() {
            client.clear().await;
        }
        match self.opts.disk.clone() {
            // File system calls block: off the async workers.
            Some(dir) => tokio::task::spawn_blocking(move || super::fetch::clear_disk(&dir))
                .await
                .map_err(std::io::Error::other)?,
            None => Ok(0),
        }
    }

    /// Counts client additions, swaps and removals.
    pub fn generation(&self) -> u64 {
        *self.changes.borrow()
    }

    /// A receiver that changes whenever a client is added, swapped or removed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The configured repositories' hosts are the ones their content may reach at a
    /// private address (see [`crate::repo::fetch::Destinations`]).
    fn refresh_repository_hosts(&self) {
        let hosts: Vec<String> = lock(&self.specs)
            .values()
            .filter_map(|r| {
                reqwest::Url::parse(&r.spec.url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
            })
            .collect();
        self.http.destinations().set_repository_hosts(hosts);
    }

    fn upsert(&self, repo: &PackageRepository) {
        let name = repo.name_any();
        lock(&self.specs).insert(name.clone(), repo.clone());
        self.refresh_repository_hosts();
        // A key this spec needs that the Secret has but was not kept: read it again.
        let dropped = self
            .secrets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .dropped_key(&repo.spec);
        if dropped {
            self.secret_relists.send_modify(|n| *n += 1);
        }
        let resolved = resolve_auth(
            &repo.spec,
            &self.secrets.read().unwrap_or_else(|p| p.into_inner()),
        );
        let current = self.get(&name);
        if current.is_some_and(|c| {
            c.spec == repo.spec
                && c.is_default == repo.is_default()
                && c.auth == resolved.0
                && c.auth_problem == resolved.1
        }) {
            return;
        }
        let client = Arc::new(RepoClient::new(repo, &self.opts, &self.http, resolved));
        tracing::info!(repository = %name, url = %hoist_core::repo::links::shown_url(client.url()), "repository client (re)built");
        self.write().insert(name, client);
        self.changes.send_modify(|n| *n += 1);
    }

    fn remove(&self, name: &str) {
        lock(&self.specs).remove(name);
        self.refresh_repository_hosts();
        // Keys only this repository referenced are not held any longer.
        let wanted = self.wanted();
        for (secret, keys) in &mut self.secrets.write().unwrap_or_else(|p| p.into_inner()).data {
            keys.values
                .retain(|k, _| wanted.get(secret).is_some_and(|w| w.contains(k)));
        }
        if self.write().remove(name).is_some() {
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// Rebuilds the clients whose credentials come from `secret` (or from any Secret).
    fn secrets_changed(&self, secret: Option<&str>) {
        let affected: Vec<PackageRepository> = lock(&self.specs)
            .values()
            .filter(|r| secret.is_none_or(|s| secret_names(&r.spec).any(|n| n == s)))
            .cloned()
            .collect();
        for repo in affected {
            self.upsert(&repo);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The Secrets of Hoist's namespace, for repository credentials.
impl Sink<Secret> for Clientset {
    fn init(&self) {
        lock(&self.secrets_listed).clear();
    }
    fn init_apply(&self, secret: &Secret) {
        let kept = self.keep(secret);
        lock(&self.secrets_listed).insert(secret.name_any(), kept);
    }
    fn init_done(&self) {
        let listed = std::mem::take(&mut *lock(&self.secrets_listed));
        *self.secrets.write().unwrap_or_else(|p| p.into_inner()) = Secrets {
            data: listed,
            unreadable: None,
        };
        self.secrets_changed(None);
    }
    fn apply(&self, secret: &Secret) {
        let name = secret.name_any();
        let kept = self.keep(secret);
        self.secrets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .data
            .insert(name.clone(), kept);
        self.secrets_changed(Some(&name));
    }
    fn unavailable(&self, why: &str) {
        self.secrets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .unreadable = Some(why.to_string());
        self.secrets_changed(None);
    }
    fn delete(&self, secret: &Secret) {
        let name = secret.name_any();
        self.secrets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .data
            .remove(&name);
        self.secrets_changed(Some(&name));
    }
}

impl Sink<PackageRepository> for Clientset {
    fn init(&self) {
        lock(&self.listed).clear();
    }
    fn init_apply(&self, repo: &PackageRepository) {
        lock(&self.listed).insert(repo.name_any());
        self.upsert(repo);
    }
    fn init_done(&self) {
        let listed = std::mem::take(&mut *lock(&self.listed));
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
