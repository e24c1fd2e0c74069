//! The ledger's writes: UsageRecords created once (by name, `<cluster uid>-<seq>`) and
//! stopped once (a compare-and-set on the resourceVersion read; if another writer got
//! there first, its stop stands). The rules are the core's (`hoist_core::fleet::ledger`);
//! this is where they meet the API server.

use crate::time;
use hoist_core::fleet::Seconds;
use hoist_core::fleet::ledger::{Record, StopSource};
use hoist_kube::types::{Cluster, UsageRecord, UsageRecordSpec};
use kube::ResourceExt;
use kube::api::{Api, Patch, PostParams};
use kube::runtime::reflector::Store;

/// Kept on every record until it is exported and retained (never garbage-collected).
pub const RETAIN: &str = "fleet.hoist.dev/retain";

/// A UsageRecord as the core's record (`None` when it cannot be read as one).
pub fn to_core(u: &UsageRecord) -> Option<Record> {
    let stop = match (&u.spec.stop, &u.spec.stop_source) {
        (Some(t), Some(s)) => Some((time::parse(t)?, StopSource::parse(s)?)),
        (Some(t), None) => Some((time::parse(t)?, StopSource::Orphaned)),
        _ => None,
    };
    Some(Record {
        cluster_uid: u.spec.cluster_uid.clone(),
        seq: u.spec.seq,
        identity: u.spec.identity.clone(),
        start: time::parse(&u.spec.start)?,
        stop,
    })
}

/// The cluster's records, from the watch.
pub fn records_of(store: &Store<UsageRecord>, cluster_uid: &str) -> Vec<Record> {
    store
        .state()
        .iter()
        .filter(|u| u.spec.cluster_uid == cluster_uid)
        .filter_map(|u| to_core(u))
        .collect()
}

/// Writes what the rules changed: records in `after` not in `before` are created, stops
/// that appeared are set once.
pub async fn write_changes(
    api: &Api<UsageRecord>,
    cluster: &Cluster,
    before: &[Record],
    after: &[Record],
    metrics: &crate::metrics::FleetMetrics,
) -> Result<(), kube::Error> {
    for r in after {
        match before.iter().find(|b| b.name() == r.name()) {
            None => create(api, cluster, r).await?,
            Some(b) if b.stop.is_none() => {
                if let Some((at, source)) = r.stop {
                    let stop = stop_once(api, &r.name(), at, source).await?;
                    count_stop(metrics, stop);
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn create(api: &Api<UsageRecord>, cluster: &Cluster, r: &Record) -> Result<(), kube::Error> {
    let mut u = UsageRecord::new(
        &r.name(),
        UsageRecordSpec {
            cluster_uid: r.cluster_uid.clone(),
            cluster_name: cluster.name_any(),
            cluster_namespace: cluster.namespace().unwrap_or_default(),
            identity: r.identity.clone(),
            seq: r.seq,
            start: time::to_rfc3339(r.start),
            stop: r.stop.map(|(t, _)| time::to_rfc3339(t)),
            stop_source: r.stop.map(|(_, s)| s.as_str().to_string()),
        },
    );
    u.metadata.finalizers = Some(vec![RETAIN.into()]);
    match api.create(&PostParams::default(), &u).await {
        Ok(_) => Ok(()),
        // Made before (a retry, or another writer): the first stands.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes an expired record: the delete first (a record being deleted by hand is
/// already), then the retain finalizer goes and the API server removes it. Only the
/// sweep calls this, for records [`hoist_core::fleet::ledger::expired`] allows.
pub async fn release(api: &Api<UsageRecord>, u: &UsageRecord) -> Result<(), kube::Error> {
    let name = u.name_any();
    if u.metadata.deletion_timestamp.is_none() {
        match api.delete(&name, &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    let rest: Vec<String> = u
        .finalizers()
        .iter()
        .filter(|f| f.as_str() != RETAIN)
        .cloned()
        .collect();
    let patch = serde_json::json!({"metadata": {"finalizers": rest}});
    match api
        .patch(
            &name,
            &hoist_kube::types::patch_params(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Counts a stop this writer set (one found set before is not counted again).
pub fn count_stop(metrics: &crate::metrics::FleetMetrics, stop: (Seconds, StopSource, bool)) {
    if stop.2 {
        metrics
            .stops
            .get_or_create(&crate::metrics::SourceLabel {
                source: stop.1.as_str(),
            })
            .inc();
    }
}

/// Stops record `name` at `at` unless it is stopped: a compare-and-set on the
/// resourceVersion read, retried on conflict; returns the stop in force, and whether
/// this call set it.
pub async fn stop_once(
    api: &Api<UsageRecord>,
    name: &str,
    at: Seconds,
    source: StopSource,
) -> Result<(Seconds, StopSource, bool), kube::Error> {
    let mut last = None;
    for _ in 0..5 {
        let u = api.get(name).await?;
        let r = to_core(&u);
        if let Some(Some((t, s))) = r.as_ref().map(|r| r.stop) {
            return Ok((t, s, false));
        }
        let at = r.map_or(at, |r| at.max(r.start));
        let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": u.resource_version()},
            {"op": "add", "path": "/spec/stop", "value": time::to_rfc3339(at)},
            {"op": "add", "path": "/spec/stopSource", "value": source.as_str()},
        ]))
        .map_err(kube::Error::SerdeError)?;
        match api
            .patch(
                name,
                &hoist_kube::types::patch_params(),
                &Patch::<()>::Json(patch),
            )
            .await
        {
            Ok(_) => return Ok((at, source, true)),
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 422 => last = Some(s),
            Err(e) => return Err(e),
        }
    }
    Err(kube::Error::Api(last.unwrap_or_default()))
}
