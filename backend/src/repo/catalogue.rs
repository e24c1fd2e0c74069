//! The catalogue: every repository's index merged into one list of packages, with each
//! repository's state beside it.
//!
//! Rules (decision 0006):
//! - a package offered by several repositories is taken from the default repository,
//!   else from the first repository by name; the others are listed in `also_in`;
//! - one repository failing never hides the others: its error is reported in its
//!   [`RepositoryState`], and if an earlier answer is cached it is still used (stale);
//! - the latest version is computed from `versions.yaml`, not trusted from the index,
//!   and [`LatestVersion::differs`] says when the two disagree.

use super::clientset::{Clientset, RepoClient};
use super::fetch::{FetchError, Fetched, Freshness};
use super::format::Index;
use super::version;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    pub name: String,
    /// The repository this entry is taken from.
    pub repository: String,
    /// Other repositories that offer a package of the same name.
    pub also_in: Vec<String>,
    pub short_description: Option<String>,
    pub icon_url: Option<String>,
    pub scope: Option<String>,
    /// `latestVersion` as the index declares it (may be stale; see [`latest_version`]).
    pub declared_latest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryState {
    pub name: String,
    pub url: String,
    pub is_default: bool,
    /// Packages in its index (the cached one when the last fetch failed).
    pub packages: usize,
    /// The last error, when the index could not be fetched or parsed.
    pub error: Option<String>,
    /// How old the index is.
    pub age: Option<Duration>,
    /// When the index was fetched (Unix ms; 0 when there is none): as `age`, but a
    /// fixed point a client can count from.
    pub fetched_unix_ms: i64,
    /// Whether the repository is fetched with credentials.
    pub has_credentials: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    pub entries: Vec<CatalogueEntry>,
    pub repositories: Vec<RepositoryState>,
}

impl Catalogue {
    /// Equal but for ages and fetch times within a second (which move on every load).
    pub fn same_as(&self, other: &Catalogue) -> bool {
        let close = |a: &RepositoryState, b: &RepositoryState| {
            (a.fetched_unix_ms - b.fetched_unix_ms).abs() < 1000
                && RepositoryState {
                    age: None,
                    fetched_unix_ms: 0,
                    ..a.clone()
                } == RepositoryState {
                    age: None,
                    fetched_unix_ms: 0,
                    ..b.clone()
                }
        };
        self.entries == other.entries
            && self.repositories.len() == other.repositories.len()
            && self
                .repositories
                .iter()
                .zip(&other.repositories)
                .all(|(a, b)| close(a, b))
    }

    /// The entry for `name`, if a repository offers it.
    pub fn entry(&self, name: &str) -> Option<&CatalogueEntry> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }
}

/// Loads every repository's index (concurrently) and merges them.
pub async fn load(clientset: &Clientset, freshness: Freshness) -> Catalogue {
    let clients = clientset.list();
    let fetches = clients.iter().map(|c| c.index(freshness));
    let results = futures::future::join_all(fetches).await;
    merge(
        clients
            .iter()
            .zip(results)
            .map(|(c, r)| (c.clone(), r))
            .collect(),
    )
}

/// One repository's answer to "what is in your index?".
pub type IndexResult = (Arc<RepoClient>, Result<Fetched<Index>, FetchError>);

/// Merges fetched indexes; pure, so the rules are tested without HTTP.
pub fn merge(results: Vec<IndexResult>) -> Catalogue {
    let mut order: Vec<&IndexResult> = results.iter().collect();
    // The default repository first, then by name: the first to offer a name wins it.
    order.sort_by(|a, b| (!a.0.is_default, &a.0.name).cmp(&(!b.0.is_default, &b.0.name)));
    let mut entries: BTreeMap<String, CatalogueEntry> = BTreeMap::new();
    let mut repositories = Vec::new();
    for (client, result) in order {
        let (index, error, age) = match result {
            Ok(f) => (
                Some(f.value.clone()),
                f.stale.as_ref().map(ToString::to_string),
                Some(f.age),
            ),
            Err(e) => (None, Some(e.to_string()), None),
        };
        // Both, when both: "Secret … not found" explains a 401.
        let error = match (client.problem(), error) {
            (Some(p), Some(e)) => Some(format!("{p}: {e}")),
            (p, e) => e.or_else(|| p.map(str::to_string)),
        };
        repositories.push(RepositoryState {
            name: client.name.clone(),
            url: client.url().to_string(),
            is_default: client.is_default,
            packages: index.as_ref().map_or(0, |i| i.packages.len()),
            error,
            fetched_unix_ms: age.map_or(0, |a| {
                crate::cache::readiness::unix_ms() - a.as_millis() as i64
            }),
            age,
            has_credentials: client.has_credentials(),
        });
        for p in index.iter().flat_map(|i| i.packages.iter()) {
            match entries.get_mut(&p.name) {
                Some(existing) => existing.also_in.push(client.name.clone()),
                None => {
                    entries.insert(
                        p.name.clone(),
                        CatalogueEntry {
                            name: p.name.clone(),
                            repository: client.name.clone(),
                            also_in: Vec::new(),
                            short_description: p.short_description.clone(),
                            icon_url: p.icon_url.clone(),
                            scope: p.scope.clone(),
                            declared_latest: p.latest_version.clone(),
                        },
                    );
                }
            }
        }
    }
    repositories.sort_by(|a, b| a.name.cmp(&b.name));
    Catalogue {
        entries: entries.into_values().collect(),
        repositories,
    }
}

/// A package's latest version, computed from its versions file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestVersion {
    /// The highest version listed (semver, build metadata as a numeric revision).
    pub computed: String,
    /// What the file's `latestVersion` says.
    pub declared: Option<String>,
    /// Versions listed that are not valid versions (skipped).
    pub invalid: Vec<String>,
}

impl LatestVersion {
    /// Whether the declared latest version is not the computed one.
    pub fn differs(&self) -> bool {
        self.declared
            .as_deref()
            .is_some_and(|d| d.trim() != self.computed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LatestError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{package} lists no valid version")]
    NoVersions { package: String },
}

pub async fn latest_version(
    client: &RepoClient,
    package: &str,
    freshness: Freshness,
) -> Result<LatestVersion, LatestError> {
    let versions = client.versions(package, freshness).await?.value;
    let (best, invalid) = version::latest(versions.versions.iter().map(|v| v.version.as_str()));
    let best = best.ok_or_else(|| LatestError::NoVersions {
        package: package.into(),
    })?;
    Ok(LatestVersion {
        computed: best.as_str().to_string(),
        declared: versions.latest_version.clone(),
        invalid: invalid.into_iter().map(|e| e.text).collect(),
    })
}
