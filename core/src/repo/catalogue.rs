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

use super::format::{Index, Versions};
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
    /// `latestVersion` as the index declares it (may be stale; see [`LatestVersion`]).
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

/// One repository's answer to "what is in your index?", as the merge needs it.
#[derive(Debug, Clone, Default)]
pub struct IndexAnswer {
    pub repository: String,
    pub url: String,
    pub is_default: bool,
    pub has_credentials: bool,
    /// A problem with the repository's set-up (a credential that cannot be read).
    pub problem: Option<String>,
    /// The index, fresh or the last good one.
    pub index: Option<Arc<Index>>,
    /// Why the index could not be fetched now (with `index` set: it is stale).
    pub error: Option<String>,
    /// How old `index` is.
    pub age: Option<Duration>,
}

/// Merges fetched indexes at `now_unix_ms`; pure, so the rules are tested without HTTP.
pub fn merge(answers: Vec<IndexAnswer>, now_unix_ms: i64) -> Catalogue {
    let mut order: Vec<&IndexAnswer> = answers.iter().collect();
    // The default repository first, then by name: the first to offer a name wins it.
    order.sort_by(|a, b| (!a.is_default, &a.repository).cmp(&(!b.is_default, &b.repository)));
    let mut entries: BTreeMap<String, CatalogueEntry> = BTreeMap::new();
    let mut repositories = Vec::new();
    for a in order {
        // Both, when both: "Secret … not found" explains a 401.
        let error = match (&a.problem, &a.error) {
            (Some(p), Some(e)) => Some(format!("{p}: {e}")),
            (p, e) => e.clone().or_else(|| p.clone()),
        };
        repositories.push(RepositoryState {
            name: a.repository.clone(),
            url: a.url.clone(),
            is_default: a.is_default,
            packages: a.index.as_ref().map_or(0, |i| i.packages.len()),
            error,
            fetched_unix_ms: a.age.map_or(0, |age| now_unix_ms - age.as_millis() as i64),
            age: a.age,
            has_credentials: a.has_credentials,
        });
        for p in a.index.iter().flat_map(|i| i.packages.iter()) {
            match entries.get_mut(&p.name) {
                Some(existing) => existing.also_in.push(a.repository.clone()),
                None => {
                    entries.insert(
                        p.name.clone(),
                        CatalogueEntry {
                            name: p.name.clone(),
                            repository: a.repository.clone(),
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{package} lists no valid version")]
pub struct NoVersions {
    pub package: String,
}

impl LatestVersion {
    /// The highest valid version `versions` lists for `package`.
    pub fn of(package: &str, versions: &Versions) -> Result<Self, NoVersions> {
        let (best, invalid) = version::latest(versions.versions.iter().map(|v| v.version.as_str()));
        let best = best.ok_or_else(|| NoVersions {
            package: package.into(),
        })?;
        Ok(Self {
            computed: best.as_str().to_string(),
            declared: versions.latest_version.clone(),
            invalid: invalid.into_iter().map(|e| e.text).collect(),
        })
    }

    /// Whether the declared latest version is not the computed one.
    pub fn differs(&self) -> bool {
        self.declared
            .as_deref()
            .is_some_and(|d| d.trim() != self.computed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::format::IndexEntry;

    fn answer(name: &str, default: bool, packages: &[&str]) -> IndexAnswer {
        IndexAnswer {
            repository: name.into(),
            url: format!("https://{name}.example/"),
            is_default: default,
            index: Some(Arc::new(Index {
                unknown_fields: vec![],
                packages: packages
                    .iter()
                    .map(|p| IndexEntry {
                        name: p.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            })),
            age: Some(Duration::from_secs(2)),
            ..Default::default()
        }
    }

    #[test]
    fn the_default_repository_wins_a_name_even_when_another_sorts_first() {
        let c = merge(
            vec![
                answer("a-extra", false, &["cert-manager", "velero"]),
                answer("main", true, &["cert-manager"]),
            ],
            10_000,
        );
        let cm = c.entry("cert-manager").expect("offered");
        assert_eq!(cm.repository, "main");
        assert_eq!(cm.also_in, ["a-extra"]);
        assert_eq!(c.repositories[0].fetched_unix_ms, 8_000);
    }

    #[test]
    fn a_failed_repository_keeps_its_stale_index_and_says_why_with_its_problem() {
        let mut down = answer("down", false, &["velero"]);
        down.error = Some("500 Internal Server Error".into());
        down.problem = Some("Secret \"t\" not found".into());
        let c = merge(vec![down], 0);
        assert_eq!(
            c.entries.len(),
            1,
            "the stale index still offers its packages"
        );
        assert_eq!(
            c.repositories[0].error.as_deref(),
            Some("Secret \"t\" not found: 500 Internal Server Error")
        );
    }

    #[test]
    fn the_latest_version_is_computed_and_a_stale_declaration_is_flagged() {
        let v: Versions = crate::repo::format::parse(
            "versions.yaml",
            b"latestVersion: v1.1.0+1\nversions:\n- version: v1.1.0+1\n- version: v1.1.0+2\n- version: junk\n",
        )
        .expect("versions");
        let l = LatestVersion::of("hello", &v).expect("one valid");
        assert_eq!(l.computed, "v1.1.0+2");
        assert!(l.differs());
        assert_eq!(l.invalid, ["junk"]);
        let empty = Versions::default();
        assert_eq!(
            LatestVersion::of("x", &empty)
                .expect_err("none")
                .to_string(),
            "x lists no valid version"
        );
    }
}
