//! Resolving a package: which repository, which version, and its manifest. What a
//! detail page shows and what an install needs, read through the clientset and the
//! fetch cache only, so it makes no Kubernetes API request.
//!
//! Rules: without a repository, the catalogue's choice for the name (decision 0006);
//! with one, that repository, which must offer the name. Without a version, the
//! highest in `versions.yaml` (computed, not the hand-written `latestVersion`); with
//! one, it must be listed.

use super::catalogue::{Catalogue, LatestVersion};
use super::clientset::Clientset;
use super::fetch::{FetchError, Freshness};
use super::format::PackageManifest;
use super::version;
use std::sync::Arc;

/// A package resolved to one repository and one version.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub repository: String,
    pub repository_url: String,
    /// Other repositories that offer the name.
    pub also_in: Vec<String>,
    /// The version resolved.
    pub version: String,
    /// Every valid version, newest first.
    pub versions: Vec<String>,
    pub latest: LatestVersion,
    pub manifest: Arc<PackageManifest>,
    /// `manifests[].url`, relative ones resolved next to package.yaml.
    pub manifest_urls: Vec<String>,
    /// Set when the repository could not be asked and cached files were used.
    pub stale: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no repository offers a package named {0:?}")]
    UnknownPackage(String),
    #[error("no repository named {0:?}")]
    UnknownRepository(String),
    #[error("repository {repository:?} does not offer {package:?}")]
    NotInRepository { package: String, repository: String },
    #[error("{package} has no version {version:?}; available: {available}")]
    UnknownVersion {
        package: String,
        version: String,
        available: String,
    },
    #[error("{0} lists no valid version")]
    NoVersions(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

impl ResolveError {
    /// Whether the request named something that does not exist (vs. a repository
    /// that could not be read).
    pub fn is_not_found(&self) -> bool {
        !matches!(self, ResolveError::Fetch(_))
    }

    pub fn metric_label(&self) -> &'static str {
        match self {
            ResolveError::UnknownPackage(_) => "unknown_package",
            ResolveError::UnknownRepository(_) => "unknown_repository",
            ResolveError::NotInRepository { .. } => "not_in_repository",
            ResolveError::UnknownVersion { .. } => "unknown_version",
            ResolveError::NoVersions(_) => "no_versions",
            ResolveError::Fetch(e) => e.metric_label(),
        }
    }
}

/// Resolves `name` (optionally in `repository`, at `version`) against `catalogue`.
pub async fn resolve(
    clientset: &Clientset,
    catalogue: &Catalogue,
    name: &str,
    repository: Option<&str>,
    version: Option<&str>,
    freshness: Freshness,
) -> Result<Resolved, ResolveError> {
    let entry = catalogue
        .entry(name)
        .ok_or_else(|| ResolveError::UnknownPackage(name.into()))?;
    let repo_name = match repository.filter(|r| !r.is_empty()) {
        None => entry.repository.as_str(),
        Some(r) if r == entry.repository || entry.also_in.iter().any(|a| a == r) => r,
        Some(r) if clientset.get(r).is_none() => {
            return Err(ResolveError::UnknownRepository(r.into()));
        }
        Some(r) => {
            return Err(ResolveError::NotInRepository {
                package: name.into(),
                repository: r.into(),
            });
        }
    };
    let client = clientset
        .get(repo_name)
        .ok_or_else(|| ResolveError::UnknownRepository(repo_name.into()))?;
    let versions_file = client.versions(name, freshness).await?;
    let mut stale = versions_file.stale.as_ref().map(ToString::to_string);
    let listed = &versions_file.value;
    let sorted = version::sorted(listed.versions.iter().map(|v| v.version.as_str()));
    let (best, invalid) = version::latest(listed.versions.iter().map(|v| v.version.as_str()));
    let best = best.ok_or_else(|| ResolveError::NoVersions(name.into()))?;
    let versions: Vec<String> = sorted.iter().map(|v| v.as_str().to_string()).collect();
    let chosen = match version.map(str::trim).filter(|v| !v.is_empty()) {
        None => best.as_str().to_string(),
        Some(v) => versions
            .iter()
            .find(|have| *have == v || have.trim_start_matches('v') == v.trim_start_matches('v'))
            .cloned()
            .ok_or_else(|| ResolveError::UnknownVersion {
                package: name.into(),
                version: v.into(),
                available: versions.join(", "),
            })?,
    };
    let manifest = client.manifest(name, &chosen, freshness).await?;
    if stale.is_none() {
        stale = manifest.stale.as_ref().map(ToString::to_string);
    }
    let dir = format!("{}/{name}/{chosen}/", client.url().trim_end_matches('/'));
    let base = reqwest::Url::parse(&dir).ok();
    let manifest_urls = manifest
        .value
        .manifests
        .iter()
        .map(|m| {
            base.as_ref()
                .and_then(|b| b.join(&m.url).ok())
                .map_or_else(|| m.url.clone(), |u| u.to_string())
        })
        .collect();
    Ok(Resolved {
        name: name.into(),
        repository: repo_name.into(),
        repository_url: client.url().into(),
        also_in: std::iter::once(entry.repository.clone())
            .chain(entry.also_in.iter().cloned())
            .filter(|r| r != repo_name)
            .collect(),
        version: chosen,
        versions,
        latest: LatestVersion {
            computed: best.as_str().to_string(),
            declared: listed.latest_version.clone(),
            invalid: invalid.into_iter().map(|e| e.text).collect(),
        },
        manifest: manifest.value,
        manifest_urls,
        stale,
    })
}

/// What the resolved version says that Hoist would not install as written, found
/// before anyone installs it: `hoist repo lint`'s rules on this one version (unknown
/// fields, unsupported parts, targets that match no object, defaults that break their
/// constraints, entrypoints without their Service), each as one line. Its manifests
/// come through the repository's cache, as the operator reads them.
///
/// Caveat: rules about other packages (dependencies, components) are left to `hoist
/// repo lint`, which sees the whole index; a manifest that cannot be fetched now is
/// said as such, not guessed at.
pub async fn conformance(clientset: &Clientset, r: &Resolved, freshness: Freshness) -> Vec<String> {
    use hoist_core::lint::{self, ManifestFile, PackageFiles, Release, Repository, Severity};
    use hoist_core::repo::format::{Index, IndexEntry, VersionEntry, Versions};
    let Some(client) = clientset.get(&r.repository) else {
        return Vec::new();
    };
    let mut manifests = Vec::new();
    for (m, url) in r.manifest.manifests.iter().zip(&r.manifest_urls) {
        manifests.push(
            match client.objects(&r.name, &r.version, &m.url, freshness).await {
                Ok(docs) => ManifestFile::Read {
                    file: url.clone(),
                    documents: (*docs.value).clone(),
                },
                Err(e) => ManifestFile::Unavailable {
                    reason: e.to_string(),
                },
            },
        );
    }
    let repo = Repository {
        index: Ok(Index {
            packages: vec![IndexEntry {
                name: r.name.clone(),
                scope: r.manifest.scope.clone(),
                ..Default::default()
            }],
            unknown_fields: Vec::new(),
        }),
        packages: [(
            r.name.clone(),
            PackageFiles {
                versions: Ok(Versions {
                    latest_version: Some(r.version.clone()),
                    versions: vec![VersionEntry {
                        version: r.version.clone(),
                    }],
                    unknown_fields: Vec::new(),
                }),
                releases: [(
                    r.version.clone(),
                    Ok(Release {
                        manifest: (*r.manifest).clone(),
                        manifests,
                    }),
                )]
                .into(),
            },
        )]
        .into(),
    };
    lint::lint(&repo)
        .into_iter()
        .filter(|f| f.severity != Severity::Note)
        .filter(|f| f.version.as_deref() == Some(r.version.as_str()))
        .filter(|f| {
            !f.field
                .as_deref()
                .is_some_and(|x| x.starts_with("dependencies") || x.starts_with("components"))
        })
        .map(|f| match &f.field {
            Some(field) if !field.is_empty() => format!("{field}: {}", f.message),
            _ => f.message,
        })
        .collect()
}
