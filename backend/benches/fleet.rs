//! Fleet benchmark (issue 11): 1,000 Clusters, ten of them real member devclusters, 890
//! behind ports that refuse connections and 100 behind listeners that accept and never
//! answer. Measured in one run:
//! - the probe lateness of the healthy members (how late each probe started against its
//!   schedule), p99 from the controller's own histogram, once the first round is over;
//! - Cluster status writes per minute at rest (goal: only transitions);
//! - `hoist usage` for a month over 10,000 records, against the floor of one plain LIST
//!   of the same records.
//!
//! Prints a Markdown section for `cargo xtask bench`.

use hoist::fleet::{self, FleetOptions};
use hoist::types::{Cluster, ClusterSpec, KubeconfigSecretRef, UsageRecord, UsageRecordSpec};
use hoist_core::fleet::probe::Policy;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, PostParams};
use std::time::{Duration, Instant};

const NS: &str = "hoist-system";
const REAL: usize = 10;
const REFUSING: usize = 890;
const HUNG: usize = 100;
const INTERVAL: i64 = 5;
const WARMUP: Duration = Duration::from_secs(60);

/// A kubeconfig for an API server at `url` (never contacted when nothing listens).
fn kubeconfig(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {url}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
    )
}

async fn hung_listener() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = listener.accept().await {
            held.push(c);
        }
    });
    format!("http://{addr}")
}

/// A port nothing listens on.
fn refusing() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}")
}

async fn register(client: &Client, name: &str, kubeconfig: String) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let mut s = Secret::default();
    s.metadata.name = Some(format!("{name}-kubeconfig"));
    s.string_data = Some([("value".to_string(), kubeconfig)].into());
    secrets
        .create(&PostParams::default(), &s)
        .await
        .expect("secret");
    Api::<Cluster>::namespaced(client.clone(), NS)
        .create(
            &PostParams::default(),
            &Cluster::new(
                name,
                ClusterSpec {
                    kubeconfig_secret_ref: KubeconfigSecretRef {
                        name: format!("{name}-kubeconfig"),
                        ..Default::default()
                    },
                    billing: Default::default(),
                },
            ),
        )
        .await
        .expect("cluster");
}

/// The cumulative buckets of the healthy members' lateness histogram, from the text.
fn buckets(text: &str, series: &str) -> Vec<(f64, u64)> {
    let mut buckets: Vec<(f64, u64)> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("hoist_fleet_probe_lateness_seconds_bucket{") else {
            continue;
        };
        if !rest.contains(series) {
            continue;
        }
        let le = rest
            .split("le=\"")
            .nth(1)
            .and_then(|x| x.split('"').next())
            .unwrap_or("+Inf");
        let count: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        buckets.push((bound, count));
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

/// The p99 (a bucket bound) of the samples between two snapshots, and their count.
fn p99_between(before: &[(f64, u64)], after: &[(f64, u64)]) -> (f64, u64) {
    let counts: Vec<(f64, u64)> = after
        .iter()
        .map(|(le, n)| {
            let was = before.iter().find(|(b, _)| b == le).map_or(0, |(_, c)| *c);
            (*le, n - was)
        })
        .collect();
    let total = counts.last().map_or(0, |b| b.1);
    let want = (total as f64 * 0.99).ceil() as u64;
    let bound = counts
        .iter()
        .find(|(_, c)| *c >= want)
        .map_or(f64::INFINITY, |b| b.0);
    (bound, total)
}

/// What the Cluster status writes changed, by what (`Reachable: False→True`,
/// `probe.lastError`), counted.
type Changed = std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>;

/// Watches the Clusters from now on and counts what each status change changed.
async fn what_changes(clusters: Api<Cluster>, changed: Changed) {
    use futures::StreamExt;
    use kube::runtime::watcher;
    let mut last: std::collections::HashMap<String, serde_json::Value> = Default::default();
    let mut events = watcher::watcher(clusters, watcher::Config::default()).boxed();
    let mut listed = false;
    while let Some(Ok(event)) = events.next().await {
        let c = match event {
            watcher::Event::InitDone => {
                listed = true;
                continue;
            }
            watcher::Event::InitApply(c) | watcher::Event::Apply(c) => c,
            _ => continue,
        };
        let name = kube::ResourceExt::name_any(&c);
        let now = serde_json::to_value(&c.status).unwrap_or_default();
        let before = last.insert(name, now.clone());
        let (Some(before), true) = (before, listed) else {
            continue;
        };
        let mut what = Vec::new();
        for (field, v) in now
            .get("probe")
            .and_then(|p| p.as_object())
            .into_iter()
            .flatten()
        {
            if before.pointer(&format!("/probe/{field}")) != Some(v) {
                what.push(format!("probe.{field}"));
            }
        }
        let said = |s: &serde_json::Value, t: &str| {
            s.get("conditions")
                .and_then(|c| c.as_array())
                .and_then(|c| c.iter().find(|x| x["type"] == t))
                .map(|x| {
                    format!(
                        "{} {}",
                        x["status"].as_str().unwrap_or(""),
                        x["reason"].as_str().unwrap_or("")
                    )
                })
                .unwrap_or_default()
        };
        for t in ["CredentialsValid", "Reachable", "Billed", "Ready"] {
            let (b, n) = (said(&before, t), said(&now, t));
            if b != n {
                what.push(format!("{t}: {b} → {n}"));
            }
        }
        if before.get("billing") != now.get("billing") {
            what.push("billing".into());
        }
        if what.is_empty() {
            what.push("nothing compared here".into());
        }
        let mut counted = changed.lock().unwrap_or_else(|p| p.into_inner());
        for w in what {
            *counted.entry(w).or_default() += 1;
        }
    }
}

#[tokio::main]
async fn main() {
    let management = devcluster::DevCluster::start(Default::default())
        .await
        .expect("management");
    let client = management.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    hoist::demo::seed::namespace(&client, NS)
        .await
        .expect("namespace");
    let mut members = Vec::new();
    for i in 0..REAL {
        let m = devcluster::DevCluster::start(Default::default())
            .await
            .expect("member");
        register(&client, &format!("real-{i}"), m.kubeconfig()).await;
        members.push(m);
    }
    for i in 0..HUNG {
        register(
            &client,
            &format!("hung-{i}"),
            kubeconfig(&hung_listener().await),
        )
        .await;
    }
    for i in 0..REFUSING {
        register(&client, &format!("gone-{i}"), kubeconfig(&refusing())).await;
    }
    let (metrics, fleet_metrics) = hoist::app::operator::metrics();
    let _fleet = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            policy: Policy {
                interval: INTERVAL,
                // Unreachable after 3 failures and 10 s: every transition lands in
                // the first minute, before the measured one.
                grace: 10,
                ..Policy::default()
            },
            metrics: Some(fleet_metrics.clone()),
            ..Default::default()
        },
    )
    .await;
    // The first minute (every cluster new, the hung ones not yet known as failing),
    // then until every failing one is Unreachable and every real one Ready: at rest.
    tokio::time::sleep(WARMUP).await;
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), NS);
    let settle = Instant::now();
    loop {
        let all = clusters.list(&Default::default()).await.expect("list");
        let says = |c: &Cluster, t: &str, v: &str| {
            c.status
                .as_ref()
                .is_some_and(|s| s.conditions.iter().any(|x| x.type_ == t && x.status == v))
        };
        let failing = all
            .items
            .iter()
            .filter(|c| says(c, "Reachable", "False"))
            .count();
        let ready = all
            .items
            .iter()
            .filter(|c| says(c, "Ready", "True"))
            .count();
        if failing == REFUSING + HUNG && ready == REAL {
            break;
        }
        assert!(
            settle.elapsed() < Duration::from_secs(900),
            "never at rest: {failing} unreachable, {ready} ready"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let settled_after = WARMUP + settle.elapsed();
    let warm = buckets(&metrics.encode(), "member=\"healthy\"");
    let writes_before = management
        .counters()
        .get("patch", "clusters.fleet.hoist.dev");
    let measured = Duration::from_secs(60);
    let changed = Changed::default();
    let watching = tokio::spawn(what_changes(clusters.clone(), changed.clone()));
    tokio::time::sleep(measured).await;
    watching.abort();
    let writes = management
        .counters()
        .get("patch", "clusters.fleet.hoist.dev")
        - writes_before;
    let (late, count) = p99_between(&warm, &buckets(&metrics.encode(), "member=\"healthy\""));
    // A month's report over 10,000 records, against one LIST of them.
    let records: Api<UsageRecord> = Api::all(client.clone());
    let month = 30 * 86400;
    let start = hoist::fleet::time::parse("2026-10-01T00:00:00Z").expect("time");
    for i in 0..10_000u32 {
        let r = UsageRecord::new(
            &format!("bench-{i}"),
            UsageRecordSpec {
                cluster_uid: format!("c-{}", i / 10),
                cluster_name: format!("c-{}", i / 10),
                cluster_namespace: NS.into(),
                identity: "ks".into(),
                seq: i % 10 + 1,
                start: hoist::fleet::time::to_rfc3339(start + i64::from(i % 10) * 86400),
                stop: Some(hoist::fleet::time::to_rfc3339(
                    start + i64::from(i % 10) * 86400 + 3600,
                )),
                stop_source: Some("Deleted".into()),
            },
        );
        records
            .create(&PostParams::default(), &r)
            .await
            .expect("record");
    }
    let from = "2026-10-01T00:00:00Z";
    let to = hoist::fleet::time::to_rfc3339(start + month);
    let t = Instant::now();
    let _ = records.list(&Default::default()).await.expect("list");
    let floor = t.elapsed();
    let t = Instant::now();
    let report = hoist::cli::fleet::usage(
        &client,
        Some(from),
        Some(&to),
        hoist::cli::fleet::Format::Jsonl,
    )
    .await
    .expect("report");
    let took = t.elapsed();
    let lines = report.lines().count();

    println!("## fleet\n");
    println!(
        "1,000 Clusters: {REAL} real member devclusters, {REFUSING} behind closed ports, {HUNG} behind listeners that accept and never answer; probes every {INTERVAL} s (±20 %), default pools and deadlines; measured over {} s once at rest (every failing one Unreachable, every real one Ready: after {} s).\n",
        measured.as_secs(),
        settled_after.as_secs()
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| probe lateness of the healthy members, p99 (bucket bound; {count} probes measured) | **{late:.2} s** |"
    );
    println!(
        "| Cluster status writes per minute at rest (1,000 Clusters, no transitions) | **{:.1}** |",
        writes as f64 * 60.0 / measured.as_secs_f64()
    );
    println!(
        "| `hoist usage` for a month over 10,000 records ({lines} lines) / one LIST of them | {:.0} ms / {:.0} ms = **{:.2}×** |",
        took.as_secs_f64() * 1000.0,
        floor.as_secs_f64() * 1000.0,
        took.as_secs_f64() / floor.as_secs_f64()
    );
    // Should a write at rest ever be measured again, it says what it changed.
    let changed = changed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if !changed.is_empty() {
        let said: Vec<String> = changed
            .iter()
            .map(|(what, n)| format!("{what} ×{n}"))
            .collect();
        println!(
            "\nWhat the status writes at rest changed: {}.",
            said.join(", ")
        );
    }
    println!();
    drop(members);
}
