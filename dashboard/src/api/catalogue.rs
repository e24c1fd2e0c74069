//! The catalogue's domain types ([`hoist_kube::repo`]) in the dashboard protocol's terms.
//!
//! # Guarantees
//! - Every URL that came from a repository and reaches the browser as a link or an
//!   image (references, icons, manifests) is `http` or `https`; others are left out and
//!   counted in `hidden_links`. A `javascript:` or `data:` URL in a package.yaml never
//!   becomes a link.
//! - No URL shown carries user info (`user:password@`): it is stripped.
//!
//! (The rules are `hoist-core`'s `repo::links`; this module applies them to every URL
//! it hands the protocol.)

use hoist_core::repo::links::{safe_link, shown_url};
use hoist_kube::repo::catalogue::{Catalogue, RepositoryState};
use hoist_kube::repo::resolve::Resolved;
use hoist_proto::v1 as pb;

pub fn repository(r: &RepositoryState) -> pb::Repository {
    pb::Repository {
        name: r.name.clone(),
        url: shown_url(&r.url),
        is_default: r.is_default,
        packages: r.packages as u32,
        error: r.error.clone().unwrap_or_default(),
        age_ms: r.age.map_or(0, |a| a.as_millis() as u64),
        fetched_unix_ms: r.fetched_unix_ms,
        has_credentials: r.has_credentials,
    }
}

pub fn catalogue(c: &Catalogue) -> pb::Catalogue {
    pb::Catalogue {
        repositories: c.repositories.iter().map(repository).collect(),
        entries: c
            .entries
            .iter()
            .map(|e| pb::CatalogueEntry {
                name: e.name.clone(),
                repository: e.repository.clone(),
                also_in: e.also_in.clone(),
                short_description: e.short_description.clone().unwrap_or_default(),
                icon_url: e
                    .icon_url
                    .as_deref()
                    .and_then(safe_link)
                    .unwrap_or_default(),
                scope: e.scope.clone().unwrap_or_default(),
                declared_latest_version: e.declared_latest.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

pub fn details(
    r: &Resolved,
    installed: Vec<pb::PackageKey>,
    conformance: Vec<String>,
) -> pb::PackageDetails {
    let m = &r.manifest;
    let mut hidden = 0u32;
    let mut keep = |url: &str| {
        let safe = safe_link(url);
        hidden += u32::from(safe.is_none());
        safe
    };
    let references = m
        .references
        .iter()
        .filter_map(|x| {
            Some(pb::Reference {
                label: x.label.clone(),
                url: keep(&x.url)?,
            })
        })
        .collect();
    let icon_url = m
        .icon_url
        .as_deref()
        .and_then(&mut keep)
        .unwrap_or_default();
    let manifests = r.manifest_urls.iter().filter_map(|u| keep(u)).collect();
    pb::PackageDetails {
        name: r.name.clone(),
        repository: r.repository.clone(),
        repository_url: shown_url(&r.repository_url),
        also_in: r.also_in.clone(),
        version: r.version.clone(),
        versions: r.versions.clone(),
        latest_version: r.latest.computed.clone(),
        declared_latest_version: r.latest.declared.clone().unwrap_or_default(),
        differs_from_declared: r.latest.differs(),
        short_description: m.short_description.clone().unwrap_or_default(),
        long_description: m.long_description.clone().unwrap_or_default(),
        references,
        icon_url,
        default_namespace: m.default_namespace.clone().unwrap_or_default(),
        scope: m.scope.clone().unwrap_or_default(),
        dependencies: m
            .dependencies
            .iter()
            .map(|d| pb::Dependency {
                name: d.name.clone(),
                range: d.version.clone().unwrap_or_default(),
            })
            .collect(),
        values: m
            .value_definitions
            .iter()
            .map(|(key, v)| pb::ValueDefinition {
                key: key.clone(),
                r#type: v.type_.clone(),
                label: v.label().unwrap_or_default().to_string(),
                description: v.description().unwrap_or_default().to_string(),
                default_value: v.default_value.clone().unwrap_or_default(),
                options: v.options.clone(),
                required: v.required(),
            })
            .collect(),
        manifests,
        helm_chart: m
            .helm
            .as_ref()
            .map(|h| {
                format!(
                    "{} {} from {}",
                    h.chart_name, h.chart_version, h.repository_url
                )
            })
            .unwrap_or_default(),
        installed,
        stale: r.stale.clone().unwrap_or_default(),
        hidden_links: hidden,
        conformance,
    }
}
