//! devcluster benchmarks, run by `cargo xtask bench` (which writes docs/BENCHMARKS.md).
//!
//! Prints a Markdown section on stdout. Figures are medians over repeated runs within
//! one process; read them as ratios and orders of magnitude, not as absolutes.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use std::time::{Duration, Instant};

fn cm(name: &str) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.to_string());
    c.metadata.labels = Some([("app".to_string(), "bench".to_string())].into());
    c.data = Some([("payload".to_string(), "x".repeat(200))].into());
    c
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let cluster = devcluster::DevCluster::start(devcluster::Options::default()).await?;
    let client = cluster.client()?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    let n = 10_000;
    let started = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &cm(&format!("cm-{i:05}")))
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let create_time = started.elapsed();
    let create_rate = n as f64 / create_time.as_secs_f64();

    // The same objects again, by server-side apply (new names, so each is an apply
    // that creates and records its field manager), then applied a second time (the
    // usual steady state of a controller: compare, nothing changed).
    let apply_of = |name: String| {
        let mut c = cm(&name);
        c.metadata.namespace = None;
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": c.metadata, "data": c.data})
    };
    let ssa = PatchParams::apply("bench");
    let run_apply = |prefix: &'static str| {
        let (api, ssa) = (api.clone(), ssa.clone());
        async move {
            let t = Instant::now();
            futures::stream::iter(0..n)
                .map(|i| {
                    let (api, ssa) = (api.clone(), ssa.clone());
                    let name = format!("{prefix}-{i:05}");
                    let body = apply_of(name.clone());
                    async move { api.patch(&name, &ssa, &Patch::Apply(body)).await }
                })
                .buffer_unordered(16)
                .try_collect::<Vec<_>>()
                .await?;
            Ok::<_, kube::Error>(t.elapsed())
        }
    };
    let apply_time = run_apply("ssa").await?;
    let reapply_time = run_apply("ssa").await?;
    // Delete them again, so the LIST figures below stay over 10k objects.
    for i in 0..n {
        api.delete(&format!("ssa-{i:05}"), &Default::default())
            .await?;
    }

    let mut full = Vec::new();
    let mut paged = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let list = api.list(&ListParams::default()).await?;
        full.push(t.elapsed());
        assert_eq!(list.items.len(), n);
        let t = Instant::now();
        let mut token: Option<String> = None;
        let mut seen = 0;
        loop {
            let mut lp = ListParams::default().limit(500);
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = api.list(&lp).await?;
            seen += page.items.len();
            token = page.metadata.continue_.filter(|c| !c.is_empty());
            if token.is_none() {
                break;
            }
        }
        paged.push(t.elapsed());
        assert_eq!(seen, n);
    }

    // One event fanned out to many watches: time from the write's answer to each
    // watcher's receipt of the event, over 20 writes.
    let watchers = 100;
    let rv = api
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut streams = Vec::new();
    for _ in 0..watchers {
        streams.push(
            api.watch(&WatchParams::default().timeout(280), &rv)
                .await?
                .boxed(),
        );
    }
    let mut latencies = Vec::new();
    let fan_api = api.clone();
    for i in 0..20 {
        let name = format!("fan-{i}");
        let t = Instant::now();
        fan_api.create(&PostParams::default(), &cm(&name)).await?;
        let waits = streams.iter_mut().map(|s| {
            let name = name.clone();
            async move {
                while let Some(ev) = s.try_next().await? {
                    if let WatchEvent::Added(o) = ev
                        && o.metadata.name.as_deref() == Some(name.as_str())
                    {
                        return Ok::<_, kube::Error>(t.elapsed());
                    }
                }
                Ok(Duration::MAX)
            }
        });
        latencies.extend(futures::future::try_join_all(waits).await?);
    }

    println!("## devcluster\n");
    println!(
        "10,000 ConfigMaps of ~300 bytes each, kube-rs client over loopback HTTP, in one process.\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| create (16 in flight) | {create_rate:.0} objects/s |");
    println!(
        "| server-side apply of the same 10k, creating (managedFields recorded) / plain create | {} / {} = **{:.2}×** |",
        ms(apply_time),
        ms(create_time),
        apply_time.as_secs_f64() / create_time.as_secs_f64()
    );
    println!(
        "| server-side apply of the same 10k again, nothing changed / plain create | {} / {} = **{:.2}×** |",
        ms(reapply_time),
        ms(create_time),
        reapply_time.as_secs_f64() / create_time.as_secs_f64()
    );
    println!(
        "| LIST 10k, one request (median of 7) | {} |",
        ms(median(full))
    );
    println!(
        "| LIST 10k, 20 pages of 500 as kube-rs' watcher pages (median of 7) | {} |",
        ms(median(paged))
    );
    println!(
        "| one event to 100 watches, p50 | {} |",
        ms(pct(&mut latencies, 0.50))
    );
    println!(
        "| one event to 100 watches, p99 | {} |",
        ms(pct(&mut latencies, 0.99))
    );
    println!();
    cluster.shutdown().await;
    Ok(())
}
