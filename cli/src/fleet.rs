//! `hoist cluster add|list|remove` and `hoist usage`: member clusters and what they
//! were billed, as the fleet controller and the ledger rules (`hoist_core::fleet`) see
//! them. Each returns what to print; bad input changes nothing.
//!
//! Guarantees:
//! - `cluster add` checks the member kubeconfig with the fleet controller's own rule
//!   ([`hoist_core::fleet::kubeconfig`]: inline credentials only; no file paths,
//!   `exec`, `auth-provider`, `tokenFile` or proxy; plain http and skipped TLS checks
//!   only for loopback) before it asks the API server anything: a refused one is an
//!   error naming the field, and no Namespace, Secret or Cluster is made.

use hoist_core::fleet::ledger::{self, Record};
use hoist_fleet::RemoveError;
use hoist_fleet::time;
use hoist_fleet::usage::Row;
use hoist_kube::types::{Cluster, ClusterSpec, KubeconfigSecretRef, UsageRecord};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};

// Part of the CRD contract (`hoist_kube::types`); re-exported here for the tests that name it so.
pub use hoist_kube::types::MADE_BY;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot read the kubeconfig {path}: {why}")]
    Kubeconfig { path: String, why: String },
    #[error("the kubeconfig {path} is refused: {why}")]
    Refused { path: String, why: String },
    #[error("cluster {0:?} exists already; remove it first or pick another name")]
    Exists(String),
    #[error(
        "cluster {0:?} is still being removed (its billing stop and cleanup); add it again once `hoist cluster list` no longer shows it"
    )]
    BeingRemoved(String),
    #[error(
        "Secret {0:?} exists already and was not made by `hoist cluster add`; pick another name"
    )]
    SecretExists(String),
    #[error("no cluster {0:?} (hoist cluster list shows them)")]
    Unknown(String),
    #[error("not removed: the name typed was not {0:?}")]
    NotConfirmed(String),
    #[error("{0}")]
    Usage(String),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// `cluster add NAME --kubeconfig FILE [--context C]`.
pub async fn add(
    client: &Client,
    namespace: &str,
    name: &str,
    kubeconfig_path: &std::path::Path,
    context: Option<&str>,
) -> Result<String, FleetError> {
    let path = kubeconfig_path.display().to_string();
    let bad = |why: String| FleetError::Kubeconfig {
        path: path.clone(),
        why,
    };
    let text = std::fs::read_to_string(kubeconfig_path).map_err(|e| bad(e.to_string()))?;
    // The controller checks again before each client it builds (a Secret may be
    // written by hand); this is the same rule, said before anything is made.
    use hoist_core::fleet::kubeconfig::{self, KubeconfigError};
    match kubeconfig::check(&text, context) {
        Ok(_) => {}
        Err(KubeconfigError::UnknownContext(c)) => {
            return Err(bad(format!("it has no context {c:?}")));
        }
        Err(KubeconfigError::NoCurrentContext) => {
            return Err(bad(
                "it names no current context; pass --member-context".into()
            ));
        }
        Err(e @ (KubeconfigError::Unreadable(_) | KubeconfigError::TooLarge)) => {
            return Err(bad(e.to_string()));
        }
        Err(e) => {
            return Err(FleetError::Refused {
                path: path.clone(),
                why: e.to_string(),
            });
        }
    }
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), namespace);
    if let Some(existing) = clusters.get_opt(name).await? {
        if existing.metadata.deletion_timestamp.is_some() {
            return Err(FleetError::BeingRemoved(name.into()));
        }
        return Err(FleetError::Exists(name.into()));
    }
    let secret_name = format!("{name}-kubeconfig");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if let Some(s) = secrets.get_opt(&secret_name).await?
        && s.labels().get(MADE_BY.0).map(String::as_str) != Some(MADE_BY.1)
    {
        return Err(FleetError::SecretExists(secret_name));
    }
    // Hoist's namespace, made when missing.
    let nss: Api<Namespace> = Api::all(client.clone());
    if nss.get_opt(namespace).await?.is_none() {
        let mut ns = Namespace::default();
        ns.metadata.name = Some(namespace.into());
        match nss.create(&PostParams::default(), &ns).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut secret = Secret::default();
    secret.metadata.name = Some(secret_name.clone());
    secret.metadata.labels = Some([(MADE_BY.0.to_string(), MADE_BY.1.to_string())].into());
    secret.string_data = Some([("value".to_string(), text)].into());
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {
            secrets
                .replace(&secret_name, &PostParams::default(), &{
                    let mut s = secrets.get(&secret_name).await?;
                    s.string_data = secret.string_data.clone();
                    s
                })
                .await?;
        }
        Err(e) => return Err(e.into()),
    }
    let cluster = Cluster::new(
        name,
        ClusterSpec {
            kubeconfig_secret_ref: KubeconfigSecretRef {
                name: secret_name.clone(),
                key: None,
                context: context.map(String::from),
            },
            billing: Default::default(),
        },
    );
    match clusters.create(&PostParams::default(), &cluster).await {
        Ok(_) => Ok(format!(
            "cluster {name} added (kubeconfig in Secret {namespace}/{secret_name}); the operator probes it and bills it once it answers\n"
        )),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(FleetError::Exists(name.into())),
        Err(e) => Err(e.into()),
    }
}

fn condition(c: &Cluster, t: &str) -> String {
    c.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|x| x.type_ == t))
        .map_or_else(|| "-".to_string(), |x| x.status.to_string())
}

/// `cluster list`: one line per cluster, with "billed now" at the end.
pub async fn list(client: &Client, namespace: &str) -> Result<String, FleetError> {
    let clusters = Api::<Cluster>::namespaced(client.clone(), namespace)
        .list(&Default::default())
        .await?;
    let records = all_records(client).await?;
    let mut out = format!(
        "{:<20} {:<6} {:<10} {:<7} {:<10} {:<22} {}\n",
        "NAME", "READY", "REACHABLE", "BILLED", "VERSION", "BILLED SINCE", "LAST ERROR"
    );
    for c in &clusters.items {
        let s = c.status.clone().unwrap_or_default();
        let deleting = c.metadata.deletion_timestamp.is_some();
        out.push_str(&format!(
            "{:<20} {:<6} {:<10} {:<7} {:<10} {:<22} {}\n",
            c.name_any(),
            if deleting {
                "Deleting".into()
            } else {
                condition(c, "Ready")
            },
            condition(c, "Reachable"),
            condition(c, "Billed"),
            s.identity.map(|i| i.server_version).unwrap_or_default(),
            s.billing.since.unwrap_or_default(),
            s.probe.last_error.unwrap_or_default(),
        ));
    }
    out.push_str(&format!(
        "{} cluster(s); billed now: {}\n",
        clusters.items.len(),
        ledger::billed_now(&records)
    ));
    Ok(out)
}

/// `cluster remove NAME`: `confirm` is the name the user typed (or `None` with --yes).
/// Billing stops at the delete; the controller then removes the Cluster. The dashboard's
/// RemoveCluster takes the same path ([`hoist_fleet::remove`]).
pub async fn remove(
    client: &Client,
    namespace: &str,
    name: &str,
    confirmed: bool,
) -> Result<String, FleetError> {
    Ok(hoist_fleet::remove(client, namespace, name, confirmed).await?)
}

impl From<RemoveError> for FleetError {
    fn from(e: RemoveError) -> Self {
        match e {
            RemoveError::Unknown(name) => FleetError::Unknown(name),
            RemoveError::NotConfirmed(name) => FleetError::NotConfirmed(name),
            RemoveError::Api(e) => FleetError::Api(e),
        }
    }
}

async fn all_records(client: &Client) -> Result<Vec<Record>, FleetError> {
    Ok(Api::<UsageRecord>::all(client.clone())
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter_map(hoist_fleet::ledger::to_core)
        .collect())
}

pub use hoist_fleet::usage::{Format, month_start};

/// `usage [--from T] [--to T] [--format F]`: each record's seconds within the period
/// (default: this month so far), computed by the core's one rule.
pub async fn usage(
    client: &Client,
    from: Option<&str>,
    to: Option<&str>,
    format: Format,
) -> Result<String, FleetError> {
    let now = time::now();
    let (from, to) = hoist_fleet::usage::period(from, to, now).map_err(FleetError::Usage)?;
    let rows: Vec<Row> = Api::<UsageRecord>::all(client.clone())
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter_map(Row::from_record)
        .collect();
    Ok(hoist_fleet::usage::render(rows, from, to, now, format))
}
