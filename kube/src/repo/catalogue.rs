//! The catalogue loaded from every repository: the adapter over `hoist-core`'s merge
//! (its rules, decision 0006, are documented there).

pub use hoist_core::repo::catalogue::{
    Catalogue, CatalogueEntry, IndexAnswer, LatestVersion, NoVersions, RepositoryState, merge,
};

use super::clientset::{Clientset, RepoClient};
use super::fetch::{FetchError, Freshness};

/// Loads every repository's index (concurrently) and merges them.
pub async fn load(clientset: &Clientset, freshness: Freshness) -> Catalogue {
    let clients = clientset.list();
    let fetches = clients.iter().map(|c| c.index(freshness));
    let results = futures::future::join_all(fetches).await;
    let answers = clients
        .iter()
        .zip(results)
        .map(|(c, r)| {
            let (index, error, age) = match r {
                Ok(f) => (
                    Some(f.value),
                    f.stale.as_ref().map(ToString::to_string),
                    Some(f.age),
                ),
                Err(e) => (None, Some(e.to_string()), None),
            };
            IndexAnswer {
                repository: c.name.clone(),
                url: hoist_core::repo::links::shown_url(c.url()),
                is_default: c.is_default,
                has_credentials: c.has_credentials(),
                problem: c.problem().map(str::to_string),
                index,
                error,
                age,
            }
        })
        .collect();
    merge(answers, super::fetch::unix_ms() as i64)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LatestError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{package} lists no valid version")]
    NoVersions { package: String },
}

/// The latest version of `package` in `client`'s repository, computed from its
/// versions file (see [`LatestVersion`]).
pub async fn latest_version(
    client: &RepoClient,
    package: &str,
    freshness: Freshness,
) -> Result<LatestVersion, LatestError> {
    let versions = client.versions(package, freshness).await?.value;
    LatestVersion::of(package, &versions)
        .map_err(|e| LatestError::NoVersions { package: e.package })
}
