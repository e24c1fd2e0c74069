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

/// Opens a gRPC-web Watch over HTTP/1.1 and returns the socket, past the snapshot.
async fn grpc_web_watch(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = [0u8, 0, 0, 0, 0]; // one frame: an empty WatchRequest
    let head = format!(
        "POST /hoist.v1.Dashboard/Watch HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(&body).await.expect("write");
    s
}

/// Reads until `marker` appears in what the socket delivers. The measuring side must be
/// cheap: only new bytes (and a marker's length before them) are searched, and the
/// buffer never grows past one read.
async fn read_until(s: &mut tokio::net::TcpStream, marker: &[u8], buf: &mut Vec<u8>) {
    let finder = memchr::memmem::Finder::new(marker);
    if finder.find(buf).is_some() {
        buf.clear();
        return;
    }
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "stream closed");
        // Keep the tail that could hold the start of a marker split across reads.
        let keep = buf.len().min(marker.len());
        buf.drain(..buf.len() - keep);
        buf.extend_from_slice(&chunk[..n]);
        if finder.find(buf).is_some() {
            buf.clear();
            return;
        }
    }
}

async fn fan_out(client: &Client, subscribers: usize, events: usize) -> (Duration, Duration) {
    let running = hoist::serve::start(client.clone(), options())
        .await
        .expect("backend");
    running.ready().await;
    let mut sockets = Vec::new();
    for _ in 0..subscribers {
        let mut s = grpc_web_watch(running.addr).await;
        let mut buf = Vec::new();
        read_until(&mut s, b"seed-00000", &mut buf).await; // the snapshot arrived
        sockets.push((s, buf));
    }
    let api: Api<ClusterPackage> = Api::all(client.clone());
    let mut lat = Vec::new();
    for i in 0..events {
        let name = format!("fan-{subscribers}-{i:04}");
        let t = Instant::now();
        let readers = sockets.iter_mut().map(|(s, buf)| {
            let marker = name.clone().into_bytes();
            async move {
                read_until(s, &marker, buf).await;
                t.elapsed()
            }
        });
        let (pp, obj) = (PostParams::default(), package(&name));
        let (_, got) = tokio::join!(api.create(&pp, &obj), futures::future::join_all(readers));
        lat.extend(got);
    }
    running.shutdown().await;
    (pct(&mut lat, 0.5), pct(&mut lat, 0.99))
}

/// The floor for a fan-out on this machine: no hoist, no API server, just the same
/// number of loopback sockets each written a ~300-byte frame holding the marker, by two
/// tasks (one per core). Returns the address readers connect to and a trigger: send a
/// marker, get back when the writes were issued.
async fn floor_server(
    subscribers: usize,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::Sender<(String, tokio::sync::oneshot::Sender<u64>)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, tokio::sync::oneshot::Sender<u64>)>(1);
    tokio::spawn(async move {
        let mut halves: [Vec<tokio::net::TcpStream>; 2] = [Vec::new(), Vec::new()];
        for i in 0..subscribers {
            let (mut s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            let mut head = [0u8; 512];
            let _ = s.read(&mut head).await;
            s.write_all(b"HTTP/1.1 200 OK\r\n\r\nseed-00000")
                .await
                .expect("write");
            halves[i % 2].push(s);
        }
        let halves = halves.map(|h| std::sync::Arc::new(tokio::sync::Mutex::new(h)));
        while let Some((marker, done)) = rx.recv().await {
            let t0 = unix_micros();
            let frame = format!("{:>280}", marker).into_bytes();
            let writes = halves.iter().map(|h| {
                let (h, frame) = (h.clone(), frame.clone());
                tokio::spawn(async move {
                    for s in h.lock().await.iter_mut() {
                        s.write_all(&frame).await.expect("write");
                    }
                })
            });
            for w in writes.collect::<Vec<_>>() {
                w.await.expect("writer");
            }
            let _ = done.send(t0);
        }
    });
    (addr, tx)
}

/// [`floor_server`] measured as [`fan_out_external`] measures hoist.
async fn floor_fan_out(subscribers: usize, events: usize) -> (Duration, Duration, Duration) {
    let (addr, trigger) = floor_server(subscribers).await;
    let mut readers = Readers::start(subscribers, addr).await;
    let mut lat = Vec::new();
    let cpu0 = process_cpu();
    for i in 0..events {
        let name = format!("floor-{subscribers}-{i:04}");
        readers.expect(&name).await;
        let (done, t0) = tokio::sync::oneshot::channel();
        trigger.send((name, done)).await.expect("trigger");
        let t0 = t0.await.expect("t0");
        lat.extend(readers.latencies(t0).await);
    }
    let cpu = process_cpu() - cpu0;
    readers.stop().await;
    (pct(&mut lat, 0.5), pct(&mut lat, 0.99), cpu)
}

/// The reader process ([`readers`]) seen from the measuring side.
struct Readers {
    child: tokio::process::Child,
    to_child: tokio::process::ChildStdin,
    from_child: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Readers {
    /// Starts `subscribers` streams against `addr` in a process of their own; returns
    /// once every one is open.
    async fn start(subscribers: usize, addr: std::net::SocketAddr) -> Self {
        use tokio::io::AsyncBufReadExt;
        let exe = std::env::current_exe().expect("own path");
        let mut child = tokio::process::Command::new(exe)
            .args(["--readers", &subscribers.to_string(), &addr.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("reader process");
        let to_child = child.stdin.take().expect("stdin");
        let mut from_child =
            tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        assert_eq!(
            from_child.next_line().await.expect("read").as_deref(),
            Some("ready")
        );
        Self {
            child,
            to_child,
            from_child,
        }
    }

    /// Tells every stream which marker to wait for next.
    async fn expect(&mut self, marker: &str) {
        self.to_child
            .write_all(format!("{marker}\n").as_bytes())
            .await
            .expect("marker");
    }

    /// When each stream saw the marker, counted from `t0` (Unix µs).
    async fn latencies(&mut self, t0: u64) -> Vec<Duration> {
        let line = self
            .from_child
            .next_line()
            .await
            .expect("read")
            .expect("a line per event");
        line.split(' ')
            .filter_map(|v| v.parse::<u64>().ok())
            .map(|t| Duration::from_micros(t.saturating_sub(t0)))
            .collect()
    }

    async fn stop(mut self) {
        drop(self.to_child);
        let _ = self.child.wait().await;
    }
}

/// CPU time this process has used, user and system (from /proc, in clock ticks of
/// 10 ms: use over a run long enough to make that small).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The reading side of the fan-out benchmark, in a process of its own (so the clients do
/// not share the server's runtime): opens `n` gRPC-web streams to `addr`, says `ready`,
/// then for each marker read on stdin prints the Unix µs at which each stream delivered it.
async fn readers(n: usize, addr: std::net::SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let mut sockets = Vec::new();
    for _ in 0..n {
        let mut s = grpc_web_watch(addr).await;
        let mut buf = Vec::new();
        read_until(&mut s, b"seed-00000", &mut buf).await;
        sockets.push((s, buf));
    }
    println!("ready");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(marker)) = lines.next_line().await {
        let reads = sockets.iter_mut().map(|(s, buf)| {
            let marker = marker.clone().into_bytes();
            async move {
                read_until(s, &marker, buf).await;
                unix_micros()
            }
        });
        let times = futures::future::join_all(reads).await;
        println!(
            "{}",
            times
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}

/// Write → bytes with the subscribers in another process.
async fn fan_out_external(
    client: &Client,
    subscribers: usize,
    events: usize,
) -> (Duration, Duration, Duration) {
    let running = hoist::serve::start(client.clone(), options())
        .await
        .expect("backend");
    running.ready().await;
    let mut readers = Readers::start(subscribers, running.addr).await;
    let api: Api<ClusterPackage> = Api::all(client.clone());
    let mut lat = Vec::new();
    let cpu0 = process_cpu();
    for i in 0..events {
        let name = format!("ext-{subscribers}-{i:04}");
        readers.expect(&name).await;
        let t0 = unix_micros();
        api.create(&PostParams::default(), &package(&name))
            .await
            .expect("create");
        lat.extend(readers.latencies(t0).await);
    }
    let cpu = process_cpu() - cpu0;
    readers.stop().await;
    running.shutdown().await;
    (pct(&mut lat, 0.5), pct(&mut lat, 0.99), cpu)
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
    // HOIST_BENCH_ONLY=ready|fanout|memory|idle runs one part (for profiling).
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
    let sizes: &[usize] = if only == "fanout" {
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
    let mut per_write = Duration::ZERO;
    for (subs, events) in [(1usize, 200), (1000, 50)] {
        let (p50, p99, cpu) = fan_out_external(&client, subs, events).await;
        rows.push(format!("| API write → change bytes on the gRPC-web socket, {subs} subscriber(s) in another process: p50 / p99 | {} / {} |", ms(p50), ms(p99)));
        per_write = cpu / (subs * events) as u32;
    }
    let (f50, f99, fcpu) = floor_fan_out(1000, 50).await;
    rows.push(format!("| floor: ~300 bytes written to 1000 loopback sockets (2 writer tasks, no hoist), readers in another process: p50 / p99 | {} / {} |", ms(f50), ms(f99)));
    let floor_write = fcpu / (1000 * 50) as u32;
    rows.push(format!(
        "| server CPU per stream per change, 1000 subscribers (process CPU time / writes): hoist / floor | {:.1} µs / {:.1} µs = **{:.2}×** |",
        per_write.as_secs_f64() * 1e6,
        floor_write.as_secs_f64() * 1e6,
        per_write.as_secs_f64() / floor_write.as_secs_f64()
    ));
    cluster.shutdown().await;
    print_rows(rows);
    Ok(())
}

/// `hoist serve` as a user runs it (its own process) against devcluster holding `n`
/// packages: resident memory once READY, minus the same with no package, per byte of
/// the packages' JSON as the API server returns them in a LIST.
async fn memory_per_package(n: usize) -> Result<String, Box<dyn std::error::Error>> {
    async fn serve_rss(
        cluster: &devcluster::DevCluster,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        use tokio::io::AsyncBufReadExt;
        let kubeconfig =
            std::env::temp_dir().join(format!("hoist-bench-kc-{}", std::process::id()));
        std::fs::write(&kubeconfig, cluster.kubeconfig())?;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args(["serve", "--listen", "127.0.0.1:0", "--dist"])
            .arg(std::env::temp_dir())
            .env("KUBECONFIG", &kubeconfig)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or("no pid")?;
        let mut lines = tokio::io::BufReader::new(child.stderr.take().ok_or("stderr")?).lines();
        // "dashboard ready at" is logged once, at READY.
        while let Some(line) = lines.next_line().await? {
            if line.contains("dashboard ready at") {
                break;
            }
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or("no VmRSS")?;
        child.kill().await?;
        Ok(kb * 1024)
    }
    let empty = devcluster::DevCluster::start(Default::default()).await?;
    hoist::demo::install_crds(&empty.client()?).await?;
    let full = devcluster::DevCluster::start(Default::default()).await?;
    let client = full.client()?;
    hoist::demo::install_crds(&client).await?;
    seed(&client, n, "memory").await?;
    let list = axum::http::Request::get("/apis/packages.hoist.dev/v1alpha1/clusterpackages")
        .body(Vec::new())?;
    let json = client.request_text(list).await?.len();
    // Median of three of each: resident memory moves a little with allocator timing.
    let (mut base, mut with) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        base.push(serve_rss(&empty).await?);
        with.push(serve_rss(&full).await?);
    }
    base.sort();
    with.sort();
    let (base, with) = (base[1], with[1]);
    let per = with.saturating_sub(base) as f64 / n as f64;
    let json_per = json as f64 / n as f64;
    empty.shutdown().await;
    full.shutdown().await;
    Ok(format!(
        "| memory per cached package, {n} packages (`hoist serve` resident memory with them minus without, per package): RSS / JSON from the API server | {:.0} B / {:.0} B = **{:.2}×** |",
        per,
        json_per,
        per / json_per
    ))
}

/// `hoist serve` (its own process) holding `n` idle Watch streams, each past its
/// snapshot, opened by a reader process: resident memory with them minus before them,
/// per stream. Issue 23's goal: at most 50 KiB each.
async fn idle_streams(n: usize) -> Result<String, Box<dyn std::error::Error>> {
    use tokio::io::AsyncBufReadExt;
    let cluster = devcluster::DevCluster::start(Default::default()).await?;
    let client = cluster.client()?;
    hoist::demo::install_crds(&client).await?;
    seed(&client, 1, "seed").await?;
    let kubeconfig = std::env::temp_dir().join(format!("hoist-bench-idle-{}", std::process::id()));
    std::fs::write(&kubeconfig, cluster.kubeconfig())?;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["serve", "--listen", "127.0.0.1:0", "--dist"])
        .arg(std::env::temp_dir())
        .args(["--max-connections", &(n + 16).to_string()])
        .env("KUBECONFIG", &kubeconfig)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("no pid")?;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().ok_or("stderr")?).lines();
    let mut addr = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(rest) = line.split("dashboard ready at http://").nth(1) {
            addr = rest.split_whitespace().next().and_then(|a| a.parse().ok());
            break;
        }
    }
    let addr: std::net::SocketAddr = addr.ok_or("no address in the ready line")?;
    // Keep reading its log, so a full pipe never blocks it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let rss = || -> Result<u64, Box<dyn std::error::Error>> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or("no VmRSS")?;
        Ok(kb * 1024)
    };
    // One stream first, so what every stream shares (the snapshot's encoding, the
    // hub's first subscriber) is in the baseline.
    let warm = Readers::start(1, addr).await;
    let before = rss()?;
    let readers = Readers::start(n, addr).await;
    let with = rss()?;
    readers.stop().await;
    warm.stop().await;
    child.kill().await?;
    cluster.shutdown().await;
    let per = with.saturating_sub(before) as f64 / n as f64;
    Ok(format!(
        "| memory per idle Watch stream, {n} streams (`hoist serve` resident memory with them minus without, per stream; goal ≤ 50 KiB) | **{:.1} KiB** |",
        per / 1024.0
    ))
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
