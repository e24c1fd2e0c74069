//! `hoist list [QUERY]` and `hoist show PACKAGE`: the catalogue from the command line,
//! read from the repositories themselves (one LIST of PackageRepositories per command).
//! (`hoist list --installed` is [`crate::installed`].)

use super::repo::fresh_catalogue;
use hoist_kube::repo::catalogue::{self, Catalogue};
use hoist_kube::repo::fetch::Freshness;
use hoist_kube::repo::resolve::{self, ResolveError};
use kube::Client;
use std::fmt::Write;

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
    #[error("no package matches {0:?}")]
    NoMatch(String),
}

/// Which packages `hoist list` shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A substring of the name or the description (case-insensitive).
    pub query: Option<String>,
    pub repository: Option<String>,
    /// `Cluster` or `Namespaced`.
    pub scope: Option<String>,
}

impl Filter {
    fn keeps(&self, e: &catalogue::CatalogueEntry) -> bool {
        let q = self.query.as_deref().map(str::to_lowercase);
        q.is_none_or(|q| {
            e.name.to_lowercase().contains(&q)
                || e.short_description
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(&q))
        }) && self
            .repository
            .as_deref()
            .is_none_or(|r| e.repository == r || e.also_in.iter().any(|a| a == r))
            && self.scope.as_deref().is_none_or(|s| {
                e.scope
                    .as_deref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(s))
            })
    }
}

/// Formats the catalogue as `hoist list` prints it; pure, for tests.
pub fn format_list(cat: &Catalogue, filter: &Filter) -> Result<String, CatalogueError> {
    let rows: Vec<_> = cat.entries.iter().filter(|e| filter.keeps(e)).collect();
    let mut out = String::new();
    if rows.is_empty() && filter.query.is_some() {
        return Err(CatalogueError::NoMatch(
            filter.query.clone().unwrap_or_default(),
        ));
    }
    let _ = writeln!(
        out,
        "{:<24} {:<14} {:<18} {:<11} DESCRIPTION",
        "NAME", "LATEST", "REPOSITORY", "SCOPE"
    );
    for e in rows {
        let repo = if e.also_in.is_empty() {
            e.repository.clone()
        } else {
            format!("{} (+{})", e.repository, e.also_in.len())
        };
        let _ = writeln!(
            out,
            "{:<24} {:<14} {:<18} {:<11} {}",
            e.name,
            e.declared_latest.as_deref().unwrap_or("-"),
            repo,
            e.scope.as_deref().unwrap_or("-"),
            e.short_description.as_deref().unwrap_or("")
        );
    }
    for r in cat.repositories.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            out,
            "warning: repository {}: {}",
            r.name,
            r.error.as_deref().unwrap_or_default()
        );
    }
    Ok(out)
}

/// `hoist list [QUERY] [--repository R] [--scope S]`.
pub async fn list(
    client: &Client,
    namespace: &str,
    filter: &Filter,
) -> Result<String, CatalogueError> {
    let (_, cat) = fresh_catalogue(client, namespace).await?;
    if cat.repositories.is_empty() {
        return Ok("(no repositories; add one with `hoist repo add NAME URL`)\n".into());
    }
    format_list(&cat, filter)
}

/// `hoist show PACKAGE [--version V] [--repository R]`.
pub async fn show(
    client: &Client,
    namespace: &str,
    package: &str,
    version: Option<&str>,
    repository: Option<&str>,
) -> Result<String, CatalogueError> {
    let (set, cat) = fresh_catalogue(client, namespace).await?;
    let r = resolve::resolve(&set, &cat, package, repository, version, Freshness::Cached).await?;
    let mut out = String::new();
    write_summary(&mut out, &r);
    write_details(&mut out, &r);
    let conformance = resolve::conformance(&set, &r, Freshness::Cached).await;
    if !conformance.is_empty() {
        let _ = writeln!(out, "\nNot installed exactly as written:");
        for c in &conformance {
            let _ = writeln!(out, "  {c}");
        }
    }
    if let Some(s) = &r.stale {
        let _ = writeln!(out, "\nwarning: shown from the cache: {s}");
    }
    Ok(out)
}

/// `hoist show`'s head: name and version, description, then where the package comes
/// from, its versions, scope and default namespace.
fn write_summary(out: &mut String, r: &resolve::Resolved) {
    let m = &r.manifest;
    let _ = writeln!(out, "{} {}", r.name, r.version);
    if let Some(d) = &m.short_description {
        let _ = writeln!(out, "{d}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Repository:  {} ({})",
        r.repository,
        hoist_core::repo::links::shown_url(&r.repository_url)
    );
    if !r.also_in.is_empty() {
        let _ = writeln!(out, "Also in:     {}", r.also_in.join(", "));
    }
    let latest = if r.latest.differs() {
        format!(
            "{} (versions.yaml declares {}, which is not the highest)",
            r.latest.computed,
            r.latest.declared.as_deref().unwrap_or_default()
        )
    } else {
        r.latest.computed.clone()
    };
    let _ = writeln!(out, "Latest:      {latest}");
    let _ = writeln!(out, "Versions:    {}", r.versions.join(", "));
    let _ = writeln!(
        out,
        "Scope:       {}",
        m.scope
            .as_deref()
            .unwrap_or("Cluster (not set: the format's default)")
    );
    if let Some(ns) = &m.default_namespace {
        let _ = writeln!(out, "Namespace:   {ns} (default)");
    }
}

/// `hoist show`'s body, from the manifest: the long description, dependencies, values,
/// manifest files, Helm chart and references, each section only when it has entries.
fn write_details(out: &mut String, r: &resolve::Resolved) {
    let m = &r.manifest;
    if let Some(d) = &m.long_description {
        let _ = writeln!(out, "\n{}", d.trim_end());
    }
    if !m.dependencies.is_empty() {
        let _ = writeln!(out, "\nDependencies:");
        for d in &m.dependencies {
            let _ = writeln!(
                out,
                "  {} {}",
                d.name,
                d.version.as_deref().unwrap_or("(any version)")
            );
        }
    }
    if !m.value_definitions.is_empty() {
        let _ = writeln!(out, "\nValues:");
        for (k, v) in &m.value_definitions {
            let default = v
                .default_value
                .as_deref()
                .map(|d| format!(" = {d}"))
                .unwrap_or_default();
            let options = if v.options.is_empty() {
                String::new()
            } else {
                format!(" [{}]", v.options.join(", "))
            };
            let _ = writeln!(out, "  {k} ({}){default}{options}", v.type_);
        }
    }
    if !r.manifest_urls.is_empty() {
        let _ = writeln!(out, "\nManifests:");
        for u in &r.manifest_urls {
            let _ = writeln!(out, "  {}", hoist_core::repo::links::shown_url(u));
        }
    }
    if let Some(h) = &m.helm {
        let _ = writeln!(
            out,
            "\nHelm chart:  {} {} from {}",
            h.chart_name, h.chart_version, h.repository_url
        );
    }
    if !m.references.is_empty() {
        let _ = writeln!(out, "\nReferences:");
        for x in &m.references {
            let _ = writeln!(out, "  {}: {}", x.label, x.url);
        }
    }
}
