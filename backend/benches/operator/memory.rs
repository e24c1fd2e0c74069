//! The operator's memory: `hoist operator` (the real binary) as a process over installed
//! packages, its RSS read from /proc, held against the JSON of what it manages (issue
//! 23, goal 3; decision 0039), and with labelled clutter beside them.

use super::{CONCURRENCY, NAMESPACE, PACKAGES, all_ready, create_packages, start_operator};
use futures::{StreamExt, TryStreamExt};
use hoist::types::Package;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use std::time::{Duration, Instant};

/// Resident memory of a process, from /proc.
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The median of three [`operator_rss_once`]: one process's RSS over the same cluster
/// moves by a fifth from run to run (where glibc's arenas end up), so one run is not
/// a measure.
pub async fn operator_rss(cluster: &devcluster::DevCluster, passes: usize) -> u64 {
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(operator_rss_once(cluster, passes).await);
    }
    runs.sort_unstable();
    runs[1]
}

/// `hoist operator` (the real binary) against `cluster`, until it has made `passes`
/// passes and is idle; returns its RSS.
pub async fn operator_rss_once(cluster: &devcluster::DevCluster, passes: usize) -> u64 {
    let kubeconfig =
        std::env::temp_dir().join(format!("hoist-bench-op-kc-{}-{passes}", std::process::id()));
    std::fs::write(&kubeconfig, cluster.kubeconfig()).expect("kubeconfig");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // HOIST_BENCH_HEAPTRACK=FILE (with `-- memory`): the run over the packages under
    // heaptrack, killed when settled so that what it holds shows as "leaked".
    let heaptrack = std::env::var("HOIST_BENCH_HEAPTRACK")
        .ok()
        .filter(|_| passes > 0);
    let mut command = match &heaptrack {
        Some(file) => {
            let mut c = tokio::process::Command::new("heaptrack");
            c.args(["-o", file, env!("CARGO_BIN_EXE_hoist")]);
            c
        }
        None => tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist")),
    };
    let mut child = command
        .args([
            "operator",
            "--leader-elect=false",
            // The benchmark reads the counters; who may read them is not measured.
            "--metrics-auth=none",
            "--probes-listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("hoist operator");
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let http = reqwest::Client::new();
    let done = |text: &str| {
        let sum = |prefix: &str| -> f64 {
            text.lines()
                .filter(|l| l.starts_with(prefix))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        sum("controller_runtime_reconcile_total{") >= passes as f64
            && sum("controller_runtime_active_workers") == 0.0
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = match http.get(&metrics).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if !text.is_empty() && done(&text) {
            break;
        }
        assert!(Instant::now() < deadline, "the operator never settled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rss = rss_bytes(child.id().expect("pid"));
    if heaptrack.is_some() {
        let _ = std::process::Command::new("pkill")
            .args(["-KILL", "-f", "target/release/hoist operator"])
            .status();
        let _ = child.wait().await;
    }
    let _ = child.kill().await;
    let _ = std::fs::remove_file(&kubeconfig);
    rss
}

/// The JSON of the installed packages and the objects they applied, as the API server
/// serves them: (bytes with `managedFields`, bytes without), over every package.
/// What the operator's memory per package is measured against (issue 23's goal 3).
pub async fn installed_json(client: &Client) -> (usize, usize) {
    use hoist_core::operator::placement::MANAGED_BY;
    use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
    async fn sizes<K>(api: Api<K>, selector: Option<&str>) -> (usize, usize)
    where
        K: kube::Resource + Clone + std::fmt::Debug + serde::Serialize,
        K: serde::de::DeserializeOwned,
    {
        let mut lp = kube::api::ListParams::default();
        if let Some(s) = selector {
            lp = lp.labels(s);
        }
        let list = api.list(&lp).await.expect("list");
        list.items
            .into_iter()
            .fold((0, 0), |(with, without), mut o| {
                let full = serde_json::to_vec(&o).expect("json").len();
                o.meta_mut().managed_fields = None;
                let lean = serde_json::to_vec(&o).expect("json").len();
                (with + full, without + lean)
            })
    }
    let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    let selector = Some(selector.as_str());
    let parts = [
        sizes(Api::<Package>::namespaced(client.clone(), NAMESPACE), None).await,
        sizes(
            Api::<ServiceAccount>::namespaced(client.clone(), NAMESPACE),
            selector,
        )
        .await,
        sizes(
            Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE),
            selector,
        )
        .await,
        sizes(
            Api::<Secret>::namespaced(client.clone(), NAMESPACE),
            selector,
        )
        .await,
        sizes(
            Api::<Service>::namespaced(client.clone(), NAMESPACE),
            selector,
        )
        .await,
        sizes(
            Api::<Deployment>::namespaced(client.clone(), NAMESPACE),
            selector,
        )
        .await,
    ];
    parts
        .iter()
        .fold((0, 0), |(a, b), (with, without)| (a + with, b + without))
}

/// Labelled ConfigMaps no package lists, for the clutter measure.
pub const CLUTTER: usize = 1000;

/// Creates `n` ConfigMaps of 900 KiB in the namespace, labelled as the installed
/// packages' (managed by Hoist, naming `app-{i}`), which no inventory lists; their bytes.
pub async fn clutter(client: &Client, n: usize) -> usize {
    use hoist_core::operator::placement::{MANAGED_BY, PACKAGE_LABEL, PACKAGE_NAMESPACE_LABEL};
    let filler = "x".repeat(900 * 1024);
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), NAMESPACE);
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            let cm: k8s_openapi::api::core::v1::ConfigMap =
                serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("clutter-{i}"), "labels": {
                        MANAGED_BY.0: MANAGED_BY.1,
                        PACKAGE_LABEL: format!("app-{}", i % PACKAGES),
                        PACKAGE_NAMESPACE_LABEL: NAMESPACE,
                    }},
                    "data": {"filler": filler},
                }))
                .expect("a ConfigMap");
            async move { api.create(&PostParams::default(), &cm).await.map(|_| ()) }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await
        .expect("clutter created");
    n * filler.len()
}

/// Installs [`PACKAGES`] more packages (`app-{PACKAGES}`… ) on a cluster that has the
/// first [`PACKAGES`], with an operator that stops when they are Ready (for the
/// memory's slope: RSS over twice as many packages).
pub async fn install_more(client: &Client) {
    let (running, _watch) = start_operator(client).await;
    let api: Api<Package> = Api::namespaced(client.clone(), NAMESPACE);
    let mut ready = watcher::watcher(api.clone(), Default::default())
        .applied_objects()
        .boxed();
    create_packages(&api, PACKAGES..2 * PACKAGES).await;
    all_ready(&mut ready, 2 * PACKAGES).await;
    running.shutdown(Duration::from_secs(5)).await;
}

/// The memory rows' measures (see [`Measured::measure`]).
pub struct Measured {
    rss_none: u64,
    rss_all: u64,
    rss_double: u64,
    json_with: usize,
    json_without: usize,
    clutter_bytes: usize,
    rss_cluttered: u64,
}

impl Measured {
    /// The real binary over none, over `installed`'s [`PACKAGES`] and over `spare`'s
    /// [`PACKAGES`] and as many more (installed here); then `installed` with labelled
    /// clutter added (so it is measured last there).
    pub async fn measure(
        installed: &devcluster::DevCluster,
        installed_client: &Client,
        spare: &devcluster::DevCluster,
        spare_client: &Client,
    ) -> Self {
        let (empty, empty_client) = super::cluster().await;
        super::add_repository(
            &empty_client,
            "bench",
            super::serve_repository().await,
            true,
        )
        .await;
        let rss_none = operator_rss(&empty, 0).await;
        drop((empty, empty_client));
        let rss_all = operator_rss(installed, PACKAGES).await;
        let (json_with, json_without) = installed_json(installed_client).await;
        install_more(spare_client).await;
        let rss_double = operator_rss(spare, 2 * PACKAGES).await;
        // Clutter: large ConfigMaps labelled as the installed packages' that no
        // inventory lists (what a tenant can make in its own namespace).
        let clutter_bytes = clutter(installed_client, CLUTTER).await;
        let rss_cluttered = operator_rss(installed, PACKAGES).await;
        Self {
            rss_none,
            rss_all,
            rss_double,
            json_with,
            json_without,
            clutter_bytes,
            rss_cluttered,
        }
    }

    pub fn rows(&self) -> Vec<String> {
        let mib = |b: u64| b as f64 / 1048576.0;
        let per = self.rss_all.saturating_sub(self.rss_none) as f64 / PACKAGES as f64;
        let slope = self.rss_double.saturating_sub(self.rss_all) as f64 / PACKAGES as f64;
        let json_with = self.json_with as f64 / PACKAGES as f64;
        let json_without = self.json_without as f64 / PACKAGES as f64;
        vec![
            format!(
                "| memory per managed package: `hoist operator` RSS over {PACKAGES} installed packages minus over none (each the median of 3 processes), / {PACKAGES} | ({:.1} MiB − {:.1} MiB) / {PACKAGES} = **{:.1} KiB** |",
                mib(self.rss_all),
                mib(self.rss_none),
                per / 1024.0
            ),
            format!(
                "| that / the JSON of the package and its 5 applied objects as the API server serves them | {:.1} KiB / {:.1} KiB = **{:.2}×** (without their `managedFields`, which no store keeps: {:.1} KiB, {:.2}×) |",
                per / 1024.0,
                json_with / 1024.0,
                per / json_with,
                json_without / 1024.0,
                per / json_without
            ),
            format!(
                "| memory per managed package at the margin (what one more costs, without the fixed cost of a non-empty operator): RSS over {} packages minus over {PACKAGES}, / {PACKAGES}, / the JSON (goal ≤ 2×; decision 0039) | ({:.1} MiB − {:.1} MiB) / {PACKAGES} = {:.1} KiB / {:.1} KiB = **{:.2}×** |",
                2 * PACKAGES,
                mib(self.rss_double),
                mib(self.rss_all),
                slope / 1024.0,
                json_with / 1024.0,
                slope / json_with
            ),
            format!(
                "| `hoist operator` RSS over the {PACKAGES} packages with {CLUTTER} ConfigMaps of {:.0} KiB labelled as theirs that no inventory lists ({:.0} MiB) / without them | {:.1} MiB / {:.1} MiB = **{:.2}×** |",
                self.clutter_bytes as f64 / CLUTTER as f64 / 1024.0,
                self.clutter_bytes as f64 / 1048576.0,
                mib(self.rss_cluttered),
                mib(self.rss_all),
                self.rss_cluttered as f64 / self.rss_all as f64
            ),
        ]
    }
}
