//! `hoist list --installed [QUERY] [-o wide|json]`: what the cluster has installed,
//! with the dashboard's status words and the newer version the repositories offer.
//! Two LISTs for the installs; versions come through the repository cache.

use super::catalogue::CatalogueError;
use super::repo::fresh_catalogue;
use hoist_kube::installs::{Install, Installs};
use hoist_kube::repo::fetch::Freshness;
use hoist_kube::repo::resolve;
use hoist_kube::repo::version::PackageVersion;
use hoist_kube::types::AUTO_UPDATE;
use kube::Client;
use std::fmt::Write;

/// How the installs are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listing {
    /// The table: where, what, which version, its status, any update.
    #[default]
    Table,
    /// The table with the repository, the switches and the operator's reason and message.
    Wide,
    /// A JSON array, one object per install, for scripts.
    Json,
}

impl std::str::FromStr for Listing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wide" => Ok(Self::Wide),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?}: expected wide or json")),
        }
    }
}

/// One install, as listed.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    /// Empty for a ClusterPackage.
    namespace: String,
    name: String,
    package: String,
    version: String,
    installed_version: String,
    repository: String,
    status: String,
    reason: String,
    message: String,
    suspended: bool,
    auto_update: bool,
    /// The newer version the repository offers; empty when none.
    update: String,
}

impl Row {
    fn of(install: &Install) -> Self {
        use hoist_dashboard::cache::convert;
        let p = match install {
            Install::Cluster(p) => convert::from_cluster_package(p),
            Install::Namespaced(p) => convert::from_package(p),
        };
        let key = p.key.clone().unwrap_or_default();
        Self {
            namespace: key.namespace,
            name: key.name,
            package: p.package_name,
            version: p.version,
            installed_version: p.installed_version,
            repository: p.repository,
            status: p.state,
            reason: p.reason,
            message: p.message,
            suspended: p.suspended,
            auto_update: install
                .metadata()
                .annotations
                .as_ref()
                .and_then(|a| a.get(AUTO_UPDATE))
                .is_some_and(|v| v == "true"),
            update: String::new(),
        }
    }
}

/// See the module doc.
pub async fn installed(
    client: &Client,
    namespace: &str,
    query: Option<&str>,
    listing: Listing,
) -> Result<String, CatalogueError> {
    let mut rows: Vec<Row> = Installs::new(client)
        .list_all()
        .await
        .map_err(kube::Error::from)?
        .iter()
        .map(Row::of)
        .collect();
    let q = query.map(str::to_lowercase);
    rows.retain(|r| {
        q.as_deref().is_none_or(|q| {
            r.package.to_lowercase().contains(q) || r.name.to_lowercase().contains(q)
        })
    });
    if rows.is_empty() && listing != Listing::Json {
        return Ok(match query {
            Some(q) => format!("(no installed package matches {q:?})\n"),
            None => "(nothing installed; `hoist list` shows what can be)\n".into(),
        });
    }
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let (set, cat) = fresh_catalogue(client, namespace).await?;
    for r in &mut rows {
        let repository = (!r.repository.is_empty()).then_some(r.repository.as_str());
        let newest =
            resolve::resolve(&set, &cat, &r.package, repository, None, Freshness::Cached).await;
        r.update = match newest {
            Ok(n) => match (
                PackageVersion::parse(&n.version),
                PackageVersion::parse(&r.version),
            ) {
                (Ok(newest), Ok(have)) if newest > have => n.version.clone(),
                _ => String::new(),
            },
            Err(e) => format!("? ({})", e.metric_label().replace('_', " ")),
        };
    }
    Ok(match listing {
        Listing::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        ),
        Listing::Table | Listing::Wide => table(&rows, listing == Listing::Wide),
    })
}

fn table(rows: &[Row], wide: bool) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{:<14} {:<20} {:<18} {:<12} {:<12} {:<10} {:<10}",
        "NAMESPACE", "NAME", "PACKAGE", "VERSION", "INSTALLED", "STATUS", "UPDATE"
    );
    if wide {
        let _ = write!(
            out,
            " {:<18} {:<9} {:<11} {:<20} MESSAGE",
            "REPOSITORY", "SUSPENDED", "AUTO-UPDATE", "REASON"
        );
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    for r in rows {
        let _ = write!(
            out,
            "{:<14} {:<20} {:<18} {:<12} {:<12} {:<10} {:<10}",
            if r.namespace.is_empty() {
                "(cluster)"
            } else {
                &r.namespace
            },
            r.name,
            r.package,
            r.version,
            dash(&r.installed_version),
            r.status,
            r.update
        );
        if wide {
            let yes_no = |b: bool| if b { "yes" } else { "no" };
            let _ = write!(
                out,
                " {:<18} {:<9} {:<11} {:<20} {}",
                dash(&r.repository),
                yes_no(r.suspended),
                yes_no(r.auto_update),
                dash(&r.reason),
                r.message
            );
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    }
    out
}
