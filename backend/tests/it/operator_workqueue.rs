//! The operator's work queue and concurrency limit as `/metrics` shows them (issue 23,
//! goal 5): client-go's `workqueue_*` names, labelled by controller, moving as
//! packages are created, wait and run; `--concurrency N` a fixed limit, the adaptive
//! flags a limit starting at the minimum under the maximum.

use crate::common;

use hoist::operator::{self, Concurrency, OperatorOptions};
use hoist::types::{NamespacedPackageSpec, Package};
use kube::api::{Api, PostParams};
use std::time::{Duration, Instant};

/// How long a metric may take to show what the test waits for.
const PATIENCE: Duration = Duration::from_secs(60);

/// The value of the sample line starting with `prefix` (`None`: no such line).
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Reads `read` until `ok` holds of its text; that text.
async fn until<F, Fut>(what: &str, read: F, ok: impl Fn(&str) -> bool) -> String
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = read().await;
        if ok(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "never {what}; last:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A repository server that accepts connections and never answers, until aborted
/// (then every connection it held closes).
async fn hung_repository() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    (format!("http://{addr}/"), task)
}

fn package(name: &str, repository: Option<&str>) -> Package {
    let mut spec = common::spec("hello-web", "v1.1.0+2");
    spec.package_info.repository_name = repository.map(String::from);
    Package::new(name, NamespacedPackageSpec::from(spec))
}

const DEPTH: &str = "workqueue_depth{name=\"package\"}";
const ADDS: &str = "workqueue_adds_total{name=\"package\"}";
const RETRIES: &str = "workqueue_retries_total{name=\"package\"}";
const UNFINISHED: &str = "workqueue_unfinished_work_seconds{name=\"package\"}";
const LONGEST: &str = "workqueue_longest_running_processor_seconds{name=\"package\"}";
const QUEUED_COUNT: &str = "workqueue_queue_duration_seconds_count{name=\"package\"}";
const QUEUED_SUM: &str = "workqueue_queue_duration_seconds_sum{name=\"package\"}";
const WORKED_COUNT: &str = "workqueue_work_duration_seconds_count{name=\"package\"}";

#[tokio::test]
async fn work_queue_metrics_carry_client_gos_names_and_move_as_packages_wait_and_run() {
    let s = common::operator::setup().await;
    let client = s.client.clone();
    let (hung_url, hung) = hung_repository().await;
    common::add_repository(&client, "hung", &hung_url).await;
    let clientset = s.repositories.clientset.clone();
    until(
        "the hung repository known",
        || async { format!("{}", clientset.get("hung").is_some()) },
        |t| t == "true",
    )
    .await;
    // One pass at a time: the pass over a package of the hung repository holds it.
    let opts = OperatorOptions {
        concurrency: Concurrency::fixed(1),
        ..Default::default()
    };
    let running = operator::start(client.clone(), clientset, opts)
        .await
        .expect("operator starts");
    let metrics = running.context.metrics.clone();
    let read = || async { metrics.encode() };
    let text = read().await;
    for (name, kind) in [
        ("workqueue_depth", "gauge"),
        ("workqueue_adds", "counter"),
        ("workqueue_queue_duration_seconds", "histogram"),
        ("workqueue_work_duration_seconds", "histogram"),
        ("workqueue_retries", "counter"),
        ("workqueue_unfinished_work_seconds", "gauge"),
        ("workqueue_longest_running_processor_seconds", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}")),
            "{name} {kind}:\n{text}"
        );
    }
    for name in ["package", "clusterpackage"] {
        assert_eq!(
            value(&text, &format!("workqueue_depth{{name=\"{name}\"}}")),
            Some(0.0)
        );
        assert_eq!(
            value(
                &text,
                &format!("hoist_operator_concurrency_limit{{name=\"{name}\"}}")
            ),
            Some(1.0)
        );
    }

    let packages: Api<Package> = Api::namespaced(client.clone(), "team-b");
    packages
        .create(&PostParams::default(), &package("stuck", Some("hung")))
        .await
        .expect("create");
    until("the stuck pass running", read, |t| {
        value(t, LONGEST).is_some_and(|v| v > 0.0)
    })
    .await;
    for i in 0..3 {
        packages
            .create(&PostParams::default(), &package(&format!("web-{i}"), None))
            .await
            .expect("create");
    }
    let text = until("three packages waiting", read, |t| {
        value(t, DEPTH).is_some_and(|v| v >= 3.0)
    })
    .await;
    assert!(value(&text, ADDS).is_some_and(|v| v >= 4.0), "{text}");
    assert!(value(&text, UNFINISHED).is_some_and(|v| v > 0.0), "{text}");
    assert_eq!(
        value(&text, WORKED_COUNT),
        Some(0.0),
        "nothing finished yet"
    );

    // The repository goes away: the stuck pass fails (a retry after its backoff) and
    // the three run.
    hung.abort();
    for i in 0..3 {
        common::operator::wait_package(&packages, &format!("web-{i}"), common::operator::is_ready)
            .await;
    }
    let text = until("the passes observed", read, |t| {
        value(t, RETRIES).is_some_and(|v| v >= 1.0)
            && value(t, WORKED_COUNT).is_some_and(|v| v >= 4.0)
            && value(t, QUEUED_COUNT).is_some_and(|v| v >= 4.0)
    })
    .await;
    assert!(
        value(&text, QUEUED_SUM).is_some_and(|v| v > 0.0),
        "the three waited behind the stuck pass:\n{text}"
    );
    assert_eq!(
        value(&text, "hoist_operator_concurrency_limit{name=\"package\"}"),
        Some(1.0),
        "fixed"
    );
    running.shutdown(Duration::from_secs(5)).await;
}

/// `hoist operator` with `args`, its `/metrics` open on a free port; the process and
/// the URL.
async fn hoist_operator(
    kubeconfig: &std::path::Path,
    args: &[&str],
) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "operator",
            "--leader-elect=false",
            "--metrics-auth=none",
            "--probes-listen",
            &listen,
        ])
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("hoist operator starts");
    (child, format!("http://{listen}/metrics"))
}

/// `/metrics` at `url` ("" while it does not answer).
async fn scrape(url: &str) -> String {
    match reqwest::get(url).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::test]
async fn concurrency_n_keeps_the_limit_fixed_and_the_adaptive_limit_starts_at_the_minimum() {
    let (cluster, client, _samples) = common::cluster_with_samples().await;
    hoist::demo::seed::namespace(&client, "hoist-system")
        .await
        .expect("namespace");
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), cluster.kubeconfig()).expect("kubeconfig");
    let limit = |name: &str| format!("hoist_operator_concurrency_limit{{name=\"{name}\"}}");

    // Both flags at once: refused before anything starts.
    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["operator", "--concurrency", "3", "--max-concurrency", "6"])
        .env("KUBECONFIG", kubeconfig.path())
        .output()
        .await
        .expect("runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Adaptive, nothing to do: at the minimum, under the maximum.
    let (mut op, url) = hoist_operator(
        kubeconfig.path(),
        &["--min-concurrency", "2", "--max-concurrency", "6"],
    )
    .await;
    let text = until(
        "the adaptive operator's /metrics",
        || scrape(&url),
        |t| value(t, &limit("package")).is_some(),
    )
    .await;
    assert_eq!(value(&text, &limit("package")), Some(2.0), "{text}");
    assert_eq!(value(&text, &limit("clusterpackage")), Some(2.0));
    assert_eq!(
        value(&text, "controller_runtime_max_concurrent_reconciles"),
        Some(6.0)
    );
    let _ = op.kill().await;

    // --concurrency 3: three, before and after passes.
    let (_op, url) = hoist_operator(kubeconfig.path(), &["--concurrency", "3"]).await;
    let text = until(
        "the fixed operator's /metrics",
        || scrape(&url),
        |t| value(t, &limit("package")).is_some(),
    )
    .await;
    assert_eq!(value(&text, &limit("package")), Some(3.0), "{text}");
    assert_eq!(
        value(&text, "controller_runtime_max_concurrent_reconciles"),
        Some(3.0)
    );
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    for i in 0..4 {
        packages
            .create(&PostParams::default(), &package(&format!("web-{i}"), None))
            .await
            .expect("create");
    }
    for i in 0..4 {
        common::operator::wait_package(&packages, &format!("web-{i}"), common::operator::is_ready)
            .await;
    }
    let text = until(
        "the passes counted",
        || scrape(&url),
        |t| {
            value(t, ADDS).is_some_and(|v| v >= 4.0)
                && value(t, WORKED_COUNT).is_some_and(|v| v >= 4.0)
        },
    )
    .await;
    assert_eq!(value(&text, &limit("package")), Some(3.0), "{text}");
    assert_eq!(value(&text, &limit("clusterpackage")), Some(3.0));
}
