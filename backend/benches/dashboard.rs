//! Dashboard benchmarks, run by `cargo xtask bench` (which writes docs/BENCHMARKS.md).
//! Prints a Markdown section. Every figure is a ratio or count within this one run.

use futures::{StreamExt, TryStreamExt};
use hoist::serve::ServeOptions;
use hoist::types::{ClusterPackage, PackageInfoTemplate, PackageSpec};
use hoist_testkit::stats::{median, ms, percentile as pct};
use kube::api::PostParams;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "dashboard/fanout.rs"]
mod fanout;
#[path = "dashboard/processes.rs"]
mod processes;
use fanout::*;
use processes::*;

fn package(name: &str) -> ClusterPackage {
    let spec = PackageSpec {
        package_info: PackageInfoTemplate {
            name: name.into(),
            version: "v1.0.0+1".into(),
            repository_name: Some("bench".into()),
        },
        ..Default::default()
    };
    ClusterPackage::new(name, spec)
}

async fn seed(client: &Client, n: usize, prefix: &str) -> Result<(), kube::Error> {
    let api: Api<ClusterPackage> = Api::all(client.clone());
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            let name = format!("{prefix}-{i:05}");
            async move { api.create(&PostParams::default(), &package(&name)).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

fn options() -> ServeOptions {
    ServeOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        dist: std::env::temp_dir(),
        ..Default::default()
    }
}

/// A bare kube-rs watcher over ClusterPackages, until its first list is done.
async fn bare_sync(client: &Client) -> Duration {
    let t = Instant::now();
    let api: Api<ClusterPackage> = Api::all(client.clone());
    let mut s = std::pin::pin!(watcher::watcher(
        api,
        watcher::Config::default().page_size(500)
    ));
    while let Some(ev) = s.next().await {
        if matches!(ev, Ok(Event::InitDone)) {
            break;
        }
    }
    t.elapsed()
}

/// Bare kube-rs reflectors over the same six kinds hoist caches, concurrently, until
/// every first list is done: what hoist adds on top of kube-rs alone.
async fn bare_sync_all(client: &Client) -> Duration {
    use hoist::types::{Cluster, Package, PackageInfo, PackageRepository, UsageRecord};
    use k8s_openapi::api::core::v1::{Namespace, Secret};
    async fn one<K>(api: Api<K>)
    where
        K: kube::Resource<DynamicType = ()>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned
            + Send
            + Sync
            + 'static,
    {
        let (_reader, writer) = kube::runtime::reflector::store();
        let stream = watcher::watcher(api, watcher::Config::default().page_size(500));
        let mut s = std::pin::pin!(kube::runtime::reflector(writer, stream));
        while let Some(ev) = s.next().await {
            if matches!(ev, Ok(Event::InitDone)) {
                break;
            }
        }
    }
    let t = Instant::now();
    tokio::join!(
        one(Api::<ClusterPackage>::all(client.clone())),
        one(Api::<Package>::all(client.clone())),
        one(Api::<PackageInfo>::all(client.clone())),
        one(Api::<PackageRepository>::all(client.clone())),
        one(Api::<Namespace>::all(client.clone())),
        one(Api::<Secret>::namespaced(
            client.clone(),
            hoist::serve::DEFAULT_NAMESPACE
        )),
        one(Api::<Cluster>::namespaced(
            client.clone(),
            hoist::serve::DEFAULT_NAMESPACE
        )),
        one(Api::<UsageRecord>::all(client.clone())),
    );
    t.elapsed()
}

async fn hoist_sync(client: &Client) -> Duration {
    let t = Instant::now();
    let running = hoist::serve::start(client.clone(), options())
        .await
        .expect("backend");
    let started = t.elapsed();
    running.ready().await;
    let d = t.elapsed();
    if std::env::var_os("HOIST_BENCH_DETAIL").is_some() {
        let st = running.gate.status();
        let per_kind: Vec<String> = st
            .kinds
            .iter()
            .map(|(k, v)| format!("{k}={:?}", v.sync_time.unwrap_or_default()))
            .collect();
        eprintln!(
            "started after {started:?}, ready after {d:?}: {}",
            per_kind.join(" ")
        );
    }
    running.shutdown().await;
    d
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--readers") {
        let n: usize = args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or("--readers N ADDR")?;
        let addr: std::net::SocketAddr = args
            .get(i + 2)
            .and_then(|v| v.parse().ok())
            .ok_or("--readers N ADDR")?;
        readers(n, addr).await;
        return Ok(());
    }
    let mut rows = Vec::new();
    // HOIST_BENCH_ONLY=ready|fanout|memory|idle runs one part (for profiling);
    // `external` runs only the fan-out to another process and its floor.
    let only = std::env::var("HOIST_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "idle" {
        rows.push(idle_streams(10_000).await?);
        if only == "idle" {
            print_rows(rows);
            return Ok(());
        }
    }
    if only.is_empty() || only == "memory" {
        rows.push(memory_per_package(10_000).await?);
        if only == "memory" {
            print_rows(rows);
            return Ok(());
        }
    }
    let sizes: &[usize] = if only == "fanout" || only == "external" {
        &[]
    } else {
        &[1_000, 10_000]
    };
    for &n in sizes {
        let cluster = devcluster::DevCluster::start(Default::default()).await?;
        let client = cluster.client()?;
        hoist::demo::install_crds(&client).await?;
        seed(&client, n, "seed").await?;
        let (mut bare, mut bare_all, mut full) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..7 {
            bare.push(bare_sync(&client).await);
            bare_all.push(bare_sync_all(&client).await);
            full.push(hoist_sync(&client).await);
        }
        let (b, ba, h) = (median(bare), median(bare_all), median(full));
        let ratio = |x: Duration| h.as_secs_f64() / x.as_secs_f64();
        rows.push(format!(
            "| time to READY, {n} packages: hoist / one bare kube reflector (ClusterPackage) | {} / {} = **{:.2}×** |",
            ms(h),
            ms(b),
            ratio(b)
        ));
        rows.push(format!(
            "| time to READY, {n} packages: hoist / bare kube reflectors over the same {} kinds | {} / {} = **{:.2}×** |",
            hoist::cache::reflectors::KINDS.len(),
            ms(h),
            ms(ba),
            ratio(ba)
        ));
        cluster.shutdown().await;
    }

    if only == "ready" {
        print_rows(rows);
        return Ok(());
    }
    // API requests a page load costs once READY: the static files, the stream up to its
    // snapshot, and a unary list.
    let cluster = devcluster::DevCluster::start(Default::default()).await?;
    let client = cluster.client()?;
    hoist::demo::install_crds(&client).await?;
    seed(&client, 10, "seed").await?;
    let running = hoist::serve::start(client.clone(), options()).await?;
    running.ready().await;
    // READY comes with each kind's list; its watch request follows. Count from when all
    // six watches are open, so that only the page load is measured.
    let watches = || {
        cluster
            .counters()
            .snapshot()
            .iter()
            .filter(|(k, _)| k.starts_with("watch "))
            .map(|(_, v)| *v)
            .sum::<u64>()
    };
    while watches() < hoist::cache::reflectors::KINDS.len() as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before: u64 = cluster.counters().snapshot().values().sum();
    let mut s = grpc_web_watch(running.addr).await;
    read_until(&mut s, b"seed-00009", &mut Vec::new()).await;
    let mut g = tokio::net::TcpStream::connect(running.addr).await?;
    g.write_all(
        format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            running.addr
        )
        .as_bytes(),
    )
    .await?;
    let mut sink = Vec::new();
    g.read_to_end(&mut sink).await?;
    let after: u64 = cluster.counters().snapshot().values().sum();
    rows.push(format!(
        "| API requests per page load after READY (devcluster counters) | **{}** |",
        after - before
    ));
    drop(s);
    running.shutdown().await;

    let same_process: &[(usize, usize)] = if only == "external" {
        &[]
    } else {
        &[(1, 200), (1000, 20)]
    };
    for &(subs, events) in same_process {
        let (p50, p99) = fan_out(&client, subs, events).await;
        rows.push(format!("| API write → change bytes on the gRPC-web socket, {subs} subscriber(s) in the same process: p50 / p99 | {} / {} |", ms(p50), ms(p99)));
    }
    let (p50, p99, _) = fan_out_external(&cluster, 1, 200, 0).await;
    rows.push(format!("| API write → change bytes on the gRPC-web socket, 1 subscriber in another process: p50 / p99 | {} / {} |", ms(p50), ms(p99)));
    // Hoist and the floor in turn, three times: the machine's noise moves both, and
    // the median of the three ratios is what is compared.
    let (subs, events) = (1000usize, 50usize);
    let writes = (subs * events) as f64;
    let (mut hoist_runs, mut floor_runs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..3 {
        let h = fan_out_external(&cluster, subs, events, round).await;
        let f = floor_fan_out(subs, events).await;
        ratios.push(h.2.as_secs_f64() / f.2.as_secs_f64());
        hoist_runs.push(h);
        floor_runs.push(f);
    }
    let med = |v: &[(Duration, Duration, Duration)],
               k: fn(&(Duration, Duration, Duration)) -> Duration| {
        median(v.iter().map(k).collect())
    };
    let (h50, h99, hcpu) = (
        med(&hoist_runs, |r| r.0),
        med(&hoist_runs, |r| r.1),
        med(&hoist_runs, |r| r.2),
    );
    let (f50, f99, fcpu) = (
        med(&floor_runs, |r| r.0),
        med(&floor_runs, |r| r.1),
        med(&floor_runs, |r| r.2),
    );
    rows.push(format!("| API write → change bytes on the gRPC-web socket, {subs} subscribers in another process (median of 3 runs): p50 / p99 | {} / {} |", ms(h50), ms(h99)));
    rows.push(format!("| floor: ~300 bytes written to {subs} loopback sockets (2 writer tasks, no hoist), readers in another process (median of 3 runs, each after a hoist run): p50 / p99 | {} / {} |", ms(f50), ms(f99)));
    rows.push(format!(
        "| write → bytes p99, {subs} subscribers: hoist (with the API write and watch) / floor | {} / {} = **{:.2}×** |",
        ms(h99),
        ms(f99),
        h99.as_secs_f64() / f99.as_secs_f64()
    ));
    ratios.sort_by(f64::total_cmp);
    rows.push(format!(
        "| server CPU per stream per change, {subs} subscribers (CPU time of the serving process / writes; `hoist serve` in its own process, the API server not counted): hoist / floor, median of 3 runs | {:.1} µs / {:.1} µs = **{:.2}×** (runs: {}) |",
        hcpu.as_secs_f64() * 1e6 / writes,
        fcpu.as_secs_f64() * 1e6 / writes,
        ratios[1],
        ratios.iter().map(|r| format!("{r:.2}×")).collect::<Vec<_>>().join(", ")
    ));
    cluster.shutdown().await;
    print_rows(rows);
    Ok(())
}

fn print_rows(rows: Vec<String>) {
    println!("## dashboard backend\n");
    println!(
        "devcluster in-process, kube-rs over loopback; subscribers are raw HTTP/1.1 gRPC-web streams."
    );
    println!(
        "The write → bytes figure includes the API write itself (the create call), the watch, the hub and the stream.\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!();
}
