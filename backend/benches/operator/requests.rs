//! The operator's requests, counted by devcluster per user: per new package from create
//! to Ready, and per unchanged package at rest (issue 23, goal 4; decision 0039).

use super::{
    NAMESPACE, PACKAGES, add_repository, all_ready, cluster, create_packages, metric_sum,
    operator_account, serve_repository, start_operator_with,
};
use futures::StreamExt;
use hoist::types::Package;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::BTreeMap;
use std::time::Duration;

/// The user the operator is in the [`As::Account`] and [`As::Impersonating`] runs.
pub const OPERATOR_USER: &str = "system:serviceaccount:hoist-system:hoist-operator";

/// `user`'s requests so far on `c`.
pub fn requests_of(c: &devcluster::DevCluster, user: &str) -> BTreeMap<String, u64> {
    c.counters()
        .snapshot_by_user()
        .remove(user)
        .unwrap_or_default()
}

/// Requests per unchanged package at rest: the operator (a ServiceAccount of its own, so
/// that its requests are told apart) installs [`PACKAGES`] packages with every package
/// looked at again each `RESYNC`; from all Ready, while each package has at least one
/// more pass, its requests are counted. Returns (requests, passes) per package in that
/// window, and the requests by `"verb resource"`.
pub async fn at_rest() -> (f64, f64, BTreeMap<String, u64>) {
    const RESYNC: Duration = Duration::from_secs(3);
    let (c, client) = cluster().await;
    add_repository(&client, "bench", serve_repository().await, true).await;
    let operator_client = operator_account(&c, &client).await;
    let (running, _watch) = start_operator_with(&operator_client, None, RESYNC).await;
    let api: Api<Package> = Api::namespaced(client.clone(), NAMESPACE);
    let mut ready = watcher::watcher(api.clone(), Default::default())
        .applied_objects()
        .boxed();
    create_packages(&api, 0..PACKAGES).await;
    all_ready(&mut ready, PACKAGES).await;
    let passes = |m: &hoist::operator::metrics::Metrics| {
        metric_sum(m, "controller_runtime_reconcile_total{")
    };
    // The window opens when the last pass that made Ready is done: nothing is running.
    let m = running.context.metrics.clone();
    let active =
        |m: &hoist::operator::metrics::Metrics| metric_sum(m, "controller_runtime_active_workers");
    while active(&m) > 0.0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = requests_of(&c, OPERATOR_USER);
    let passes_before = passes(&m);
    // Every package passes again within a resync (with jitter: 1.1 of it); two resyncs'
    // worth of passes, so each package is looked at at least once more.
    while passes(&m) < passes_before + 2.0 * PACKAGES as f64 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = requests_of(&c, OPERATOR_USER);
    let window_passes = passes(&m) - passes_before;
    running.shutdown(Duration::from_secs(5)).await;
    let mut made = BTreeMap::new();
    for (what, n) in after {
        let n = n - before.get(&what).copied().unwrap_or(0);
        if n > 0 {
            made.insert(what, n);
        }
    }
    let total: u64 = made.values().sum();
    (
        total as f64 / PACKAGES as f64,
        window_passes / PACKAGES as f64,
        made,
    )
}

/// `"verb resource" → n` over all packages, as `n/package verb resource` per package,
/// largest first.
pub fn per_package(requests: &BTreeMap<String, u64>) -> String {
    let mut all: Vec<_> = requests.iter().collect();
    all.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    all.iter()
        .map(|(what, n)| format!("{:.2} {what}", **n as f64 / PACKAGES as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The request rows: per new package (`requests`: the operator's, create to Ready, over
/// [`PACKAGES`]), time per request (`operator` and `floor`: the first row's times), and
/// at rest (`rest`: [`at_rest`]'s).
pub fn rows(
    requests: &BTreeMap<String, u64>,
    operator: Duration,
    floor: Duration,
    rest: (f64, f64, BTreeMap<String, u64>),
) -> Vec<String> {
    let made: u64 = requests.values().sum();
    let made = made as f64 / PACKAGES as f64;
    let floor_made = 5.0;
    let (rest_requests, rest_passes, rest_made) = rest;
    vec![
        format!(
            "| requests per new package, create to Ready (the operator as a ServiceAccount; every request it made, its start's lists and watches included; goal ≤ 9) | **{made:.2}**: {} |",
            per_package(requests)
        ),
        format!(
            "| time per request, create to Ready: operator / floor (the first row's times over the requests: the operator's as counted above, the floor's {floor_made:.0} per package, one apply per object; goal ≤ 1.15×) | ({:.0} ms / {made:.2}) / ({:.0} ms / {floor_made:.0}) = **{:.2}×** |",
            operator.as_secs_f64() * 1000.0,
            floor.as_secs_f64() * 1000.0,
            (operator.as_secs_f64() / made) / (floor.as_secs_f64() / floor_made)
        ),
        format!(
            "| requests per unchanged package at rest: every package looked at again ({rest_passes:.1} passes each, resync 3 s), counted from all Ready (goal 0) | **{rest_requests:.2}**{} |",
            if rest_made.is_empty() {
                String::new()
            } else {
                format!(": {}", per_package(&rest_made))
            }
        ),
        "| the same counted in the anchors' code, not run here (decision 0039): Flux kustomize-controller with `wait` / Glasskube's package operator | new package ≈ 44 / ≈ 49; at rest 30 per interval / 11 per minute |".to_string(),
    ]
}
