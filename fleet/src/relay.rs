//! The usage relay: closed periods of every record delivered to a usage sink as
//! CloudEvents 1.0 (structured JSON over HTTP POST), at least once.
//!
//! Guarantees:
//! - Each (record, period) is sent with the id `hoist_core::fleet::ledger::event_id`,
//!   the same on every resend, so a sink that drops duplicates by id counts it once.
//! - What the sink acknowledged (a 2xx) is recorded on the record
//!   (`status.exportedThrough`), and only then; a sink that is down for an hour loses
//!   nothing: the watermark stays, and the next rounds send from it.
//! - Periods are closed only after a grace (late stops land first), and sent oldest
//!   first per record; every request has a timeout.

use crate::time;
use hoist_core::fleet::Seconds;
use hoist_core::fleet::ledger::{self, Record};
use hoist_kube::types::UsageRecord;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Where CloudEvents are POSTed.
    pub sink: String,
    /// The length of a billing period (an hour by default).
    pub period: Seconds,
    /// How long after its end a period is closed.
    pub grace: Seconds,
    /// How often the relay looks for closed periods (and retries a failing sink).
    pub every: Duration,
    /// Each delivery's timeout.
    pub timeout: Duration,
}

impl RelayOptions {
    pub fn new(sink: impl Into<String>) -> Self {
        Self {
            sink: sink.into(),
            period: 3600,
            grace: 300,
            every: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The CloudEvent for `record`'s usage in `[from, to)`.
pub fn event(u: &UsageRecord, r: &Record, from: Seconds, to: Seconds) -> serde_json::Value {
    serde_json::json!({
        "specversion": "1.0",
        "id": ledger::event_id(r, from, to),
        "source": format!("hoist://{}", u.spec.cluster_namespace),
        "type": "dev.hoist.fleet.usage",
        "subject": u.spec.cluster_name,
        "time": time::to_rfc3339(to),
        "datacontenttype": "application/json",
        "data": {
            "cluster": u.spec.cluster_name,
            "clusterUID": r.cluster_uid,
            "record": r.name(),
            "periodStart": time::to_rfc3339(from),
            "periodEnd": time::to_rfc3339(to),
            "seconds": r.seconds_in(from, to, to),
        },
    })
}

/// Runs rounds every `opts.every` until dropped.
pub async fn run(client: Client, opts: RelayOptions, metrics: crate::metrics::FleetMetrics) {
    let http = match reqwest::Client::builder().timeout(opts.timeout).build() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "the usage relay cannot make an HTTP client");
            return;
        }
    };
    let mut tick = tokio::time::interval(opts.every);
    loop {
        tick.tick().await;
        match round(&client, &http, &opts, &metrics).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(delivered = n, "usage periods delivered"),
            Err(e) => tracing::warn!(error = %e, "usage relay round failed"),
        }
    }
}

/// One round: every record's closed, unacknowledged periods, oldest first; a record
/// stops at its first failed delivery (its watermark never skips a period). Returns
/// how many were delivered.
pub async fn round(
    client: &Client,
    http: &reqwest::Client,
    opts: &RelayOptions,
    metrics: &crate::metrics::FleetMetrics,
) -> Result<usize, kube::Error> {
    let api: Api<UsageRecord> = Api::all(client.clone());
    let now = time::now();
    let mut delivered = 0;
    for u in api.list(&Default::default()).await?.items {
        let Some(r) = crate::ledger::to_core(&u) else {
            continue;
        };
        let through = u
            .status
            .as_ref()
            .and_then(|s| s.exported_through.as_deref())
            .and_then(time::parse);
        let periods = ledger::periods_to_export(&r, through, now, opts.period, opts.grace, 100);
        let mut acked = None;
        let mut failure = None;
        for (from, to) in periods {
            let sent = http
                .post(&opts.sink)
                .header("content-type", "application/cloudevents+json")
                .body(event(&u, &r, from, to).to_string())
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status().is_success() => {
                    acked = Some(to);
                    delivered += 1;
                }
                Ok(resp) => {
                    failure = Some(format!("the sink answered {}", resp.status()));
                    break;
                }
                Err(e) => {
                    failure = Some(format!("the sink cannot be reached: {e}"));
                    break;
                }
            }
        }
        if failure.is_some() {
            metrics.export_errors.inc();
        }
        if acked.is_none() && failure.is_none() {
            continue;
        }
        let mut status = serde_json::json!({ "lastExportError": failure });
        if let Some(t) = acked {
            status["exportedThrough"] = serde_json::json!(time::to_rfc3339(t));
        }
        api.patch_status(
            &u.name_any(),
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "status": status })),
        )
        .await?;
    }
    Ok(delivered)
}
