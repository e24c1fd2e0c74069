//! `hoist cluster add|list|remove` and `hoist usage`: member clusters and what they
//! were billed, as the fleet controller and the ledger rules (`hoist_core::fleet`) see
//! them. Each returns what to print; bad input changes nothing.

use crate::fleet::time;
use crate::types::{Cluster, ClusterSpec, KubeconfigSecretRef, UsageRecord};
use hoist_core::fleet::Seconds;
use hoist_core::fleet::ledger::{self, Record};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, ResourceExt};

/// Marks a kubeconfig Secret `hoist cluster add` made (and `remove` may delete).
pub const MADE_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "hoist-cluster-add");

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot read the kubeconfig {path}: {why}")]
    Kubeconfig { path: String, why: String },
    #[error("cluster {0:?} exists already; remove it first or pick another name")]
    Exists(String),
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
    let kc = kube::config::Kubeconfig::from_yaml(&text).map_err(|e| bad(e.to_string()))?;
    let wanted = context
        .map(String::from)
        .or_else(|| kc.current_context.clone());
    match &wanted {
        Some(c) if kc.contexts.iter().any(|x| &x.name == c) => {}
        Some(c) => return Err(bad(format!("it has no context {c:?}"))),
        None => return Err(bad("it names no current context; pass --context".into())),
    }
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), namespace);
    if clusters.get_opt(name).await?.is_some() {
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
        .map_or_else(|| "-".to_string(), |x| x.status.clone())
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
/// Billing stops at the delete; the controller then removes the Cluster.
pub async fn remove(
    client: &Client,
    namespace: &str,
    name: &str,
    confirmed: bool,
) -> Result<String, FleetError> {
    if !confirmed {
        return Err(FleetError::NotConfirmed(name.into()));
    }
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), namespace);
    let Some(c) = clusters.get_opt(name).await? else {
        return Err(FleetError::Unknown(name.into()));
    };
    clusters.delete(name, &DeleteParams::default()).await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = &c.spec.kubeconfig_secret_ref.name;
    if let Some(s) = secrets.get_opt(secret).await?
        && s.labels().get(MADE_BY.0).map(String::as_str) == Some(MADE_BY.1)
    {
        let _ = secrets.delete(secret, &DeleteParams::default()).await;
    }
    Ok(format!(
        "cluster {name} removed: billing stops now (the record keeps the second it was asked)\n"
    ))
}

async fn all_records(client: &Client) -> Result<Vec<Record>, FleetError> {
    Ok(Api::<UsageRecord>::all(client.clone())
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter_map(crate::fleet::ledger::to_core)
        .collect())
}

/// How `hoist usage` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Jsonl,
    Cloudevents,
}

/// The start of the current month, UTC.
pub fn month_start(now: Seconds) -> Seconds {
    use chrono::Datelike;
    let t = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    chrono::NaiveDate::from_ymd_opt(t.year(), t.month(), 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |d| d.and_utc().timestamp())
}

/// `usage [--from T] [--to T] [--format F]`: each record's seconds within the period
/// (default: this month so far), computed by the core's one rule.
pub async fn usage(
    client: &Client,
    from: Option<&str>,
    to: Option<&str>,
    format: Format,
) -> Result<String, FleetError> {
    let now = time::now();
    let parse = |s: &str| {
        time::parse(s).ok_or_else(|| FleetError::Usage(format!("{s:?} is not an RFC 3339 time")))
    };
    let from = from
        .map(parse)
        .transpose()?
        .unwrap_or_else(|| month_start(now));
    let to = to.map(parse).transpose()?.unwrap_or(now);
    if to <= from {
        return Err(FleetError::Usage("--to must be after --from".into()));
    }
    let records: Vec<UsageRecord> = Api::<UsageRecord>::all(client.clone())
        .list(&Default::default())
        .await?
        .items;
    let mut rows: Vec<(UsageRecord, Record)> = records
        .into_iter()
        .filter_map(|u| crate::fleet::ledger::to_core(&u).map(|r| (u, r)))
        // Every record that overlaps the period (one that just opened counts too).
        .filter(|(_, r)| r.start <= to && r.stop.is_none_or(|(t, _)| t >= from))
        .collect();
    rows.sort_by_key(|(u, r)| (u.spec.cluster_name.clone(), r.start));
    let total: Seconds = rows.iter().map(|(_, r)| r.seconds_in(from, to, now)).sum();
    let json = |u: &UsageRecord, r: &Record| {
        serde_json::json!({
            "cluster": u.spec.cluster_name,
            "clusterUID": r.cluster_uid,
            "record": r.name(),
            "start": time::to_rfc3339(r.start),
            "stop": r.stop.map(|(t, _)| time::to_rfc3339(t)),
            "stopSource": r.stop.map(|(_, s)| s.as_str()),
            "seconds": r.seconds_in(from, to, now),
        })
    };
    let mut out = String::new();
    match format {
        Format::Jsonl => {
            for (u, r) in &rows {
                out.push_str(&json(u, r).to_string());
                out.push('\n');
            }
        }
        Format::Cloudevents => {
            for (u, r) in &rows {
                let event = serde_json::json!({
                    "specversion": "1.0",
                    "id": ledger::event_id(r, from, to),
                    "source": format!("hoist://{}", u.spec.cluster_namespace),
                    "type": "dev.hoist.fleet.usage",
                    "subject": u.spec.cluster_name,
                    "time": time::to_rfc3339(to.min(now)),
                    "datacontenttype": "application/json",
                    "data": json(u, r),
                });
                out.push_str(&event.to_string());
                out.push('\n');
            }
        }
        Format::Csv => {
            out.push_str("cluster,clusterUID,record,start,stop,stopSource,seconds\n");
            for (u, r) in &rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{}\n",
                    u.spec.cluster_name,
                    r.cluster_uid,
                    r.name(),
                    time::to_rfc3339(r.start),
                    r.stop.map(|(t, _)| time::to_rfc3339(t)).unwrap_or_default(),
                    r.stop.map(|(_, s)| s.as_str()).unwrap_or_default(),
                    r.seconds_in(from, to, now)
                ));
            }
        }
        Format::Table => {
            out.push_str(&format!(
                "Usage from {} to {}\n{:<20} {:<22} {:<22} {:<9} {:>10}\n",
                time::to_rfc3339(from),
                time::to_rfc3339(to),
                "CLUSTER",
                "START",
                "STOP",
                "SOURCE",
                "HOURS"
            ));
            for (u, r) in &rows {
                out.push_str(&format!(
                    "{:<20} {:<22} {:<22} {:<9} {:>10.2}\n",
                    u.spec.cluster_name,
                    time::to_rfc3339(r.start),
                    r.stop
                        .map(|(t, _)| time::to_rfc3339(t))
                        .unwrap_or_else(|| "(billed now)".into()),
                    r.stop.map(|(_, s)| s.as_str()).unwrap_or(""),
                    r.seconds_in(from, to, now) as f64 / 3600.0
                ));
            }
            out.push_str(&format!(
                "{} cluster-hours in the period\n",
                format_args!("{:.2}", total as f64 / 3600.0)
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_starts_on_its_first_at_midnight_utc() {
        let t = time::parse("2026-11-30T10:00:00Z").expect("time");
        assert_eq!(
            month_start(t),
            time::parse("2026-11-01T00:00:00Z").expect("time")
        );
    }
}
