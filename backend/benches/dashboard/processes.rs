//! `hoist serve` in its own process, as a user runs it: what is measured of the
//! process itself (resident memory per package, per idle stream; CPU in the fan-out).

use super::*;

/// `hoist serve` as a user runs it (its own process) against devcluster holding `n`
/// packages: resident memory once READY, minus the same with no package, per byte of
/// the packages' JSON as the API server returns them in a LIST.
pub(super) async fn memory_per_package(n: usize) -> Result<String, Box<dyn std::error::Error>> {
    async fn serve_rss(
        cluster: &devcluster::DevCluster,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        let serve = ServeProcess::start(cluster, 1024).await?;
        let rss = serve.rss();
        serve.stop().await;
        rss
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

/// `hoist serve` as a user runs it: its own process, against a devcluster of this one.
pub(super) struct ServeProcess {
    child: tokio::process::Child,
    pub(super) pid: u32,
    pub(super) addr: std::net::SocketAddr,
    kubeconfig: std::path::PathBuf,
}

impl ServeProcess {
    /// Starts it and returns once it says READY (its log's "dashboard ready" line).
    pub(super) async fn start(
        cluster: &devcluster::DevCluster,
        max_connections: usize,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        use tokio::io::AsyncBufReadExt;
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let kubeconfig = std::env::temp_dir().join(format!(
            "hoist-bench-serve-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::write(&kubeconfig, cluster.kubeconfig())?;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args(["serve", "--listen", "127.0.0.1:0", "--dist"])
            .arg(std::env::temp_dir())
            .args(["--max-connections", &max_connections.to_string()])
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
        let addr = addr.ok_or("no address in the ready line")?;
        // Keep reading its log, so a full pipe never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            pid,
            addr,
            kubeconfig,
        })
    }

    /// Its resident memory.
    pub(super) fn rss(&self) -> Result<u64, Box<dyn std::error::Error>> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or("no VmRSS")?;
        Ok(kb * 1024)
    }

    /// The CPU time it has used, user and system.
    pub(super) fn cpu(&self) -> Duration {
        cpu_of(&format!("/proc/{}/stat", self.pid))
    }

    pub(super) async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

/// `hoist serve` (its own process) holding `n` idle Watch streams, each past its
/// snapshot, opened by a reader process: resident memory with them minus before them,
/// per stream. Issue 23's goal: at most 50 KiB each.
pub(super) async fn idle_streams(n: usize) -> Result<String, Box<dyn std::error::Error>> {
    let cluster = devcluster::DevCluster::start(Default::default()).await?;
    let client = cluster.client()?;
    hoist::demo::install_crds(&client).await?;
    seed(&client, 1, "seed").await?;
    let serve = ServeProcess::start(&cluster, n + 16).await?;
    // One stream first, so what every stream shares (the snapshot's encoding, the
    // hub's first subscriber) is in the baseline.
    let warm = Readers::start(1, serve.addr).await;
    let before = serve.rss()?;
    let readers = Readers::start(n, serve.addr).await;
    let with = serve.rss()?;
    readers.stop().await;
    warm.stop().await;
    serve.stop().await;
    cluster.shutdown().await;
    let per = with.saturating_sub(before) as f64 / n as f64;
    Ok(format!(
        "| memory per idle Watch stream, {n} streams (`hoist serve` resident memory with them minus without, per stream; goal ≤ 50 KiB) | **{:.1} KiB** |",
        per / 1024.0
    ))
}
