//! The fleet's gauges, every 5 s, from the watches (clusters by state, billed clusters,
//! open records, the export lag); the rules that count are the core's
//! (`hoist_core::fleet::view`, `hoist_core::fleet::ledger`).

use crate::context::Context;
use crate::{facts, ledger, metrics, relay, time};
use hoist_core::fleet::Seconds;
use hoist_core::fleet::ledger::{self as rules, Record};
use hoist_kube::types::Cluster;
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Every 5 s: the gauges, from `clusters` and the context's records.
pub(super) async fn run(
    ctx: Arc<Context>,
    clusters: Store<Cluster>,
    relay: Option<relay::RelayOptions>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let mut counts: HashMap<&'static str, i64> = HashMap::new();
        let all = clusters.state();
        // What the memory holds of Clusters gone (a pass over a stale copy) goes.
        let uids: std::collections::HashSet<String> = all.iter().filter_map(|c| c.uid()).collect();
        ctx.memory.keep_only(|uid| uids.contains(uid));
        ctx.metrics
            .member_clients
            .set(i64::try_from(ctx.memory.member_clients()).unwrap_or(i64::MAX));
        for c in all {
            // Billing is not part of the state word.
            let state = hoist_core::fleet::view::state(&facts::facts(&c, false)).as_str();
            *counts.entry(state).or_default() += 1;
        }
        for state in hoist_core::fleet::view::State::ALL.map(|s| s.as_str()) {
            ctx.metrics
                .clusters
                .get_or_create(&metrics::StateLabel { state })
                .set(counts.get(state).copied().unwrap_or(0));
        }
        let records: Vec<(Option<Seconds>, Record)> = ctx
            .records
            .state()
            .iter()
            .filter_map(|u| {
                let through = u
                    .status
                    .as_ref()
                    .and_then(|s| s.exported_through.as_deref())
                    .and_then(time::parse);
                ledger::to_core(u).map(|r| (through, r))
            })
            .collect();
        let core: Vec<Record> = records.iter().map(|(_, r)| r.clone()).collect();
        ctx.metrics.billed.set(rules::billed_now(&core) as i64);
        ctx.metrics
            .open_records
            .set(rules::billed_now(&core) as i64);
        if let Some(r) = &relay {
            let now = time::now();
            let lag = records
                .iter()
                .filter_map(|(through, rec)| {
                    rules::periods_to_export(rec, *through, now, r.period, r.grace, 1)
                        .first()
                        .map(|(_, to)| now - to)
                })
                .max()
                .unwrap_or(0);
            ctx.metrics.export_lag_seconds.set(lag);
        }
    }
}
