//! The sweep, every [`crate::options::FleetOptions::sweep_interval`]: open records whose Cluster
//! is gone without its cleanup (its finalizer stripped by hand) are stopped as
//! Orphaned, and stopped records past their retention (and acknowledged by the usage
//! sink, when there is one) are released.

use crate::context::Context;
use crate::{error::Error, ledger, time};
use hoist_core::fleet::ledger::{self as rules, StopSource};
use hoist_kube::types::{Cluster, UsageRecord};
use kube::ResourceExt;
use kube::api::Api;
use std::sync::Arc;
use std::time::Duration;

/// Every `every`: one [`sweep`], its result logged.
pub(super) async fn run(ctx: Arc<Context>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match sweep(&ctx).await {
            Ok(stopped) if !stopped.is_empty() => {
                tracing::info!(
                    ?stopped,
                    "usage records of vanished Clusters stopped as Orphaned"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "usage sweep failed"),
        }
    }
}

/// One sweep (see the module): stops orphaned records and releases expired ones;
/// returns the records it stopped. The Clusters are listed from the API server, not
/// taken from a watch: "gone" must never be read off a cache that has not listed yet.
pub async fn sweep(ctx: &Context) -> Result<Vec<String>, Error> {
    let existing: Vec<String> = Api::<Cluster>::all(ctx.client.clone())
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter_map(|c| c.uid())
        .collect();
    let api: Api<UsageRecord> = Api::all(ctx.client.clone());
    let now = time::now();
    let mut stopped = Vec::new();
    for u in api.list(&Default::default()).await?.items {
        if u.spec.stop.is_none() && !existing.contains(&u.spec.cluster_uid) {
            let stop = ledger::stop_once(&api, &u.name_any(), now, StopSource::Orphaned).await?;
            ledger::count_stop(&ctx.metrics, stop);
            stopped.push(u.name_any());
        } else if let Some(retention) = ctx.opts.retention
            && let Some(r) = ledger::to_core(&u)
        {
            let through = u
                .status
                .as_ref()
                .and_then(|s| s.exported_through.as_deref())
                .and_then(time::parse);
            if rules::expired(&r, ctx.opts.relay.is_some(), through, now, retention) {
                ledger::release(&api, &u).await?;
            }
        }
    }
    Ok(stopped)
}
