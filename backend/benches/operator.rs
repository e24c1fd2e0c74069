//! Operator benchmark: N packages of five objects each (ServiceAccount, ConfigMap,
//! Secret, Service, Deployment), from create to every package Ready, against a floor
//! measured in the same run: the very same objects (as the operator places them)
//! applied with plain kube-rs server-side apply at the same concurrency, then waited
//! for until every Deployment is available. devcluster plays the workload controllers
//! in both. The ratio is the operator's whole cost: watches, renders (from the
//! repository cache), drift checks, status writes, health.
//!
//! Prints a Markdown section for `cargo xtask bench`. The adaptive concurrency rows are
//! [`adaptive`]'s (`HOIST_BENCH_ONLY=adaptive` runs only them). For working on one
//! measure, `-- create-to-ready`, `-- memory` (memory per package against the JSON of
//! what it manages; with `HOIST_BENCH_HEAPTRACK=FILE` the measured process runs under
//! heaptrack and is killed when settled, so what it holds reads as "leaked") and
//! `-- clutter` print one line each.

#[path = "operator/adaptive.rs"]
mod adaptive;
#[path = "operator/latency.rs"]
mod latency;
#[path = "operator/memory.rs"]
mod memory;
#[path = "operator/requests.rs"]
mod requests;

use latency::{install_during_relist, latency_p99};
use memory::Measured;
use requests::{OPERATOR_USER, at_rest, requests_of};

use futures::{StreamExt, TryStreamExt};
use hoist::operator::{self, OperatorOptions};
use hoist::types::{NamespacedPackageSpec, Package, PackageInfoTemplate, PackageSpec};
use hoist_core::operator::placement::{self, Owner, Rendered};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PACKAGES: usize = 1000;
const CONCURRENCY: usize = 8;
const NAMESPACE: &str = "bench";

const MANIFESTS: &str = r#"apiVersion: v1
kind: ServiceAccount
metadata: {name: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: credentials}
stringData: {token: not-a-secret}
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: app}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      serviceAccountName: app
      containers:
        - name: app
          image: example.org/app:1
          envFrom: [{configMapRef: {name: settings}}]
"#;

fn files() -> HashMap<String, String> {
    let mut f = HashMap::new();
    f.insert(
        "index.yaml".into(),
        "packages:\n- name: app\n  scope: Namespaced\n  latestVersion: v1.0.0+1\n".into(),
    );
    f.insert(
        "app/versions.yaml".into(),
        "latestVersion: v1.0.0+1\nversions:\n- version: v1.0.0+1\n".into(),
    );
    f.insert(
        "app/v1.0.0+1/package.yaml".into(),
        "name: app\nscope: Namespaced\nmanifests:\n- url: manifests.yaml\n".into(),
    );
    f.insert("app/v1.0.0+1/manifests.yaml".into(), MANIFESTS.into());
    f.insert(
        "tiny/versions.yaml".into(),
        "latestVersion: v1.0.0\nversions:\n- version: v1.0.0\n".into(),
    );
    f.insert(
        "tiny/v1.0.0/package.yaml".into(),
        "name: tiny\nscope: Namespaced\nmanifests:\n- url: manifests.yaml\n".into(),
    );
    f.insert(
        "tiny/v1.0.0/manifests.yaml".into(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: tiny}\n".into(),
    );
    f
}

async fn serve_repository() -> String {
    hoist_testkit::files::serve(files()).await
}

/// A devcluster with the CRDs and the namespaces.
async fn cluster() -> (devcluster::DevCluster, Client) {
    let c = devcluster::DevCluster::start(devcluster::Options {
        workloads: Some(Duration::from_millis(10)),
        ..Default::default()
    })
    .await
    .expect("devcluster");
    let client = c.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    for ns in [NAMESPACE, "hoist-system"] {
        hoist::demo::seed::namespace(&client, ns)
            .await
            .expect("namespace");
    }
    (c, client)
}

/// Waits until `n` Deployments in the namespace are available (watching).
async fn all_available(client: &Client, n: usize) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let mut available: HashSet<String> = HashSet::new();
    let mut events = watcher::watcher(api, Default::default())
        .applied_objects()
        .boxed();
    while available.len() < n {
        let d = events.next().await.expect("watch open").expect("watch ok");
        if d.status.as_ref().and_then(|s| s.available_replicas) == Some(1) {
            available.insert(d.name_any());
        }
    }
}

/// The floor: the operator's objects, applied by plain server-side apply.
async fn floor() -> Duration {
    let (_c, client) = cluster().await;
    let docs = hoist_core::repo::format::RepoFile::parse("manifests.yaml", MANIFESTS.as_bytes())
        .map(|d: hoist_core::repo::format::Documents| d.0)
        .expect("manifests");
    let discovery = kube::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let t = Instant::now();
    futures::stream::iter(0..PACKAGES)
        .map(|i| {
            let client = client.clone();
            let docs = docs.clone();
            let discovery = &discovery;
            async move {
                let owner = Owner::Namespaced {
                    name: format!("app-{i}"),
                    namespace: NAMESPACE.into(),
                };
                let rendered = docs
                    .into_iter()
                    .map(|object| Rendered {
                        object,
                        default_namespace: None,
                    })
                    .collect();
                let placed = placement::place(rendered, &owner, |_, _| Some(true)).expect("placed");
                for obj in placed.objects {
                    let o: DynamicObject = serde_json::from_value(obj).expect("object");
                    let types = o.types.clone().expect("types");
                    let gvk = kube::core::GroupVersionKind::try_from(&types).expect("gvk");
                    let (ar, _) = discovery.resolve_gvk(&gvk).expect("served");
                    let api: Api<DynamicObject> =
                        Api::namespaced_with(client.clone(), NAMESPACE, &ar);
                    api.patch(
                        &o.name_any(),
                        &PatchParams::apply("floor").force(),
                        &Patch::Apply(&o),
                    )
                    .await
                    .expect("applied");
                }
                Ok::<(), kube::Error>(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await
        .expect("all applied");
    all_available(&client, PACKAGES).await;
    t.elapsed()
}

/// Registers a repository at `url` (the default one when `default`).
async fn add_repository(client: &Client, name: &str, url: String, default: bool) {
    let repos: Api<hoist::types::PackageRepository> = Api::all(client.clone());
    let mut repo = hoist::types::PackageRepository::new(
        name,
        hoist::types::PackageRepositorySpec { url, auth: None },
    );
    if default {
        repo.set_default();
    }
    repos
        .create(&PostParams::default(), &repo)
        .await
        .expect("repository");
}

/// An operator at the benchmark's concurrency, with its repository watch.
async fn start_operator(client: &Client) -> (operator::Running, hoist::reflector::RepositoryWatch) {
    start_operator_as(client, None).await
}

/// As [`start_operator`]; with `account`, every Package's writes impersonate that
/// ServiceAccount of the Package's namespace (`--default-service-account`).
async fn start_operator_as(
    client: &Client,
    account: Option<&str>,
) -> (operator::Running, hoist::reflector::RepositoryWatch) {
    start_operator_with(client, account, OperatorOptions::default().resync).await
}

/// As [`start_operator_as`], each package looked at again every `resync`.
async fn start_operator_with(
    client: &Client,
    account: Option<&str>,
    resync: Duration,
) -> (operator::Running, hoist::reflector::RepositoryWatch) {
    let watch = hoist::reflector::watch_repositories(client, Default::default(), "hoist-system");
    watch.synced().await;
    let opts = OperatorOptions {
        concurrency: operator::Concurrency::fixed(CONCURRENCY as u16),
        default_service_account: account.map(String::from),
        resync,
        ..Default::default()
    };
    let running = operator::start(client.clone(), watch.clientset.clone(), opts)
        .await
        .expect("operator");
    (running, watch)
}

fn package(name: &str, package: &str, version: &str, repository: Option<&str>) -> Package {
    let spec = PackageSpec {
        package_info: PackageInfoTemplate {
            name: package.into(),
            version: version.into(),
            repository_name: repository.map(String::from),
        },
        ..Default::default()
    };
    Package::new(name, NamespacedPackageSpec::from(spec))
}

fn is_ready(p: &Package) -> bool {
    p.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

/// The account a tenant's Packages are written as in the impersonating runs, bound to
/// the built-in `edit` role in the namespace.
const DEPLOYER: &str = "deployer";

/// Creates [`DEPLOYER`] in the namespace, bound to `edit` there.
async fn deployer(client: &Client) {
    let account: k8s_openapi::api::core::v1::ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": DEPLOYER}}))
            .expect("an account");
    Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &account)
        .await
        .expect("account");
    let binding: k8s_openapi::api::rbac::v1::RoleBinding =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "deployer-edit"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": DEPLOYER, "namespace": NAMESPACE}],
        }))
        .expect("a binding");
    Api::<k8s_openapi::api::rbac::v1::RoleBinding>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding");
}

/// The operator: create the Packages, wait until every one is Ready. Returns the
/// cluster with them installed (for the memory measure).
async fn with_operator() -> (Run, devcluster::DevCluster, Client) {
    with_operator_as(As::Admin).await
}

/// Who the operator is in a run.
#[derive(Clone, Copy, PartialEq)]
enum As {
    /// The cluster's admin (`system:masters`, which RBAC does not evaluate).
    Admin,
    /// A ServiceAccount bound to `cluster-admin` (RBAC evaluated, as in a cluster).
    Account,
    /// That ServiceAccount, every Package's writes impersonating [`DEPLOYER`].
    Impersonating,
}

/// A client that is the ServiceAccount `hoist-system/hoist-operator`, bound to
/// `cluster-admin` (so every request is authorized by RBAC, as in a cluster).
async fn operator_account(c: &devcluster::DevCluster, admin: &Client) -> Client {
    hoist_testkit::cluster::bound_account(
        c,
        admin,
        "hoist-system",
        "hoist-operator",
        "cluster-admin",
    )
    .await
}

/// As [`with_operator`], the operator being `who`.
async fn with_operator_as(who: As) -> (Run, devcluster::DevCluster, Client) {
    let (c, client) = cluster().await;
    add_repository(&client, "bench", serve_repository().await, true).await;
    let operator_client = match who {
        As::Admin => client.clone(),
        As::Account | As::Impersonating => operator_account(&c, &client).await,
    };
    if who == As::Impersonating {
        deployer(&client).await;
    }
    let (running, _watch) = start_operator_as(
        &operator_client,
        (who == As::Impersonating).then_some(DEPLOYER),
    )
    .await;
    let api: Api<Package> = Api::namespaced(client.clone(), NAMESPACE);
    let mut ready = watcher::watcher(api.clone(), Default::default())
        .applied_objects()
        .boxed();
    let t = Instant::now();
    create_packages(&api, 0..PACKAGES).await;
    all_ready(&mut ready, PACKAGES).await;
    let took = t.elapsed();
    let m = &running.context.metrics;
    let passes = metric_sum(m, "controller_runtime_reconcile_total{");
    let writes = m.status_writes() as f64;
    let requests = if who == As::Admin {
        BTreeMap::new()
    } else {
        requests_of(&c, OPERATOR_USER)
    };
    running.shutdown(Duration::from_secs(5)).await;
    let run = Run {
        took,
        passes: passes / PACKAGES as f64,
        writes: writes / PACKAGES as f64,
        requests,
    };
    (run, c, client)
}

/// Creates the packages `app-{i}` for `i` in `range` ([`CONCURRENCY`] at a time).
async fn create_packages(api: &Api<Package>, range: std::ops::Range<usize>) {
    create_packages_of(api, range, "app", "app", "v1.0.0+1").await;
}

/// Creates the packages `{prefix}-{i}` for `i` in `range`, each `package` at `version`
/// ([`CONCURRENCY`] at a time).
async fn create_packages_of(
    api: &Api<Package>,
    range: std::ops::Range<usize>,
    prefix: &str,
    package_name: &str,
    version: &str,
) {
    futures::stream::iter(range)
        .map(|i| {
            let api = api.clone();
            async move {
                api.create(
                    &PostParams::default(),
                    &package(&format!("{prefix}-{i}"), package_name, version, None),
                )
                .await
                .map(|_| ())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await
        .expect("all created");
}

/// The sum of the operator's samples whose line starts with `prefix`.
fn metric_sum(m: &hoist::operator::metrics::Metrics, prefix: &str) -> f64 {
    m.encode()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits on `packages` (a watch of them) until `n` distinct packages were seen Ready.
async fn all_ready(
    packages: &mut (impl futures::Stream<Item = Result<Package, watcher::Error>> + Unpin),
    n: usize,
) {
    let mut done: HashSet<String> = HashSet::new();
    while done.len() < n {
        let p = packages
            .next()
            .await
            .expect("watch open")
            .expect("watch ok");
        if is_ready(&p) {
            done.insert(p.name_any());
        }
    }
}

/// What the operator's run measured.
struct Run {
    took: Duration,
    /// Passes per package.
    passes: f64,
    /// Status writes per package.
    writes: f64,
    /// The operator's requests from its start to all Ready, `"verb resource" → n` (only
    /// where it is a user of its own: not in the [`As::Admin`] runs).
    requests: BTreeMap<String, u64>,
}

#[tokio::main]
async fn main() {
    // RUST_LOG (e.g. hoist::operator=debug) shows what the operator does, for profiling.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    // HOIST_BENCH_ONLY=adaptive: only the adaptive concurrency rows.
    if std::env::var("HOIST_BENCH_ONLY").is_ok_and(|o| o == "adaptive") {
        println!("## operator: adaptive concurrency\n");
        println!("| measure | value |");
        println!("|---|---|");
        for row in adaptive::rows().await {
            println!("{row}");
        }
        println!();
        return;
    }
    // HOIST_BENCH_ONLY=relist: only a user's install during a restart's relist.
    if std::env::var("HOIST_BENCH_ONLY").is_ok_and(|o| o == "relist") {
        let (started, first, ready) = install_during_relist(10_000).await;
        println!("start {started:?}, first pass {first:?}, Ready {ready:?}");
        return;
    }
    // HOIST_BENCH_ONLY=latency: only the hung-repository latency, as a line.
    if std::env::var("HOIST_BENCH_ONLY").is_ok_and(|o| o == "latency") {
        let without = latency_p99(100, false).await;
        let with = latency_p99(100, true).await;
        println!("p99 {with:?} with a hung repository, {without:?} without");
        return;
    }
    // HOIST_BENCH_ONLY=rest: only the at-rest request count, as a line.
    if std::env::var("HOIST_BENCH_ONLY").is_ok_and(|o| o == "rest") {
        let (n, passes, made) = at_rest().await;
        println!("{n:.2} requests per package at rest over {passes:.1} passes each: {made:?}");
        return;
    }
    // `cargo bench --bench operator -- memory`: only the memory rows (for working on
    // them).
    if std::env::args().any(|a| a == "memory") {
        let (_, installed, installed_client) = with_operator().await;
        let (_, spare, spare_client) = with_operator().await;
        let m = Measured::measure(&installed, &installed_client, &spare, &spare_client).await;
        for row in m.rows() {
            println!("{row}");
        }
        return;
    }
    // The floor and the operator in turn, twice: the best of each. These machines are
    // noisy (either side has measured 1.4x its own best in one run), and a process's
    // first round also pays for its warm-up.
    let mut f = floor().await;
    let (mut run, spare, spare_client) = with_operator().await;
    let (mut account, _, _) = with_operator_as(As::Account).await;
    let (mut imp, _, _) = with_operator_as(As::Impersonating).await;
    f = f.min(floor().await);
    let (again, installed, installed_client) = with_operator().await;
    if again.took < run.took {
        run = again;
    }
    let (again, _, _) = with_operator_as(As::Account).await;
    if again.took < account.took {
        account = again;
    }
    let (again, _, _) = with_operator_as(As::Impersonating).await;
    if again.took < imp.took {
        imp = again;
    }
    // `cargo bench --bench operator -- create-to-ready`: only the first measure (for
    // profiling it), printed as a line, not the section.
    if std::env::args().any(|a| a == "create-to-ready") {
        println!(
            "create to all Ready: {:.0} ms / floor {:.0} ms = {:.2}x; {:.1} passes, {:.1} status writes per package",
            run.took.as_secs_f64() * 1000.0,
            f.as_secs_f64() * 1000.0,
            run.took.as_secs_f64() / f.as_secs_f64(),
            run.passes,
            run.writes
        );
        for (what, n) in installed.counters().snapshot() {
            println!("  {what}: {:.2} per package", n as f64 / PACKAGES as f64);
        }
        return;
    }
    eprintln!("operator bench: memory");
    let memory = Measured::measure(&installed, &installed_client, &spare, &spare_client).await;
    drop((installed, installed_client, spare, spare_client));
    // A first run warms what the process keeps (allocator, connection pools), so the
    // two measured runs start alike.
    eprintln!("operator bench: latency");
    let _ = latency_p99(100, false).await;
    let without = latency_p99(100, false).await;
    let with = latency_p99(100, true).await;
    eprintln!("operator bench: relist");
    let (restarted, first_pass, urgent_ready) = install_during_relist(10_000).await;
    eprintln!("operator bench: at rest");
    let (rest_requests, rest_passes, rest_made) = at_rest().await;
    eprintln!("operator bench: adaptive");
    let adaptive_rows = adaptive::rows().await;
    let o = run.took;
    println!("## operator\n");
    println!(
        "{PACKAGES} packages of 5 objects (ServiceAccount, ConfigMap, Secret, Service, Deployment) into devcluster, whose workload controllers make Deployments available; {CONCURRENCY} at a time in both; the floor and the operator in turn, twice, the best of each.\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| create to all Ready: operator / floor (the same placed objects by plain kube-rs server-side apply, then every Deployment available) | {:.0} ms / {:.0} ms = **{:.2}×** |",
        o.as_secs_f64() * 1000.0,
        f.as_secs_f64() * 1000.0,
        o.as_secs_f64() / f.as_secs_f64()
    );
    println!(
        "| passes per package, create to Ready (the finalizer and the apply in one, then one per change it waits on) | {:.1} |",
        run.passes
    );
    println!(
        "| status writes per package (Ready; a Progressing one first only for a package not Ready within a second) | {:.1} |",
        run.writes
    );
    for row in memory.rows() {
        println!("{row}");
    }
    let rest = (rest_requests, rest_passes, rest_made);
    for row in requests::rows(&account.requests, o, f, rest) {
        println!("{row}");
    }
    println!(
        "| create to all Ready, the operator as a ServiceAccount (bound to `cluster-admin`): every Package's writes impersonating its namespace's ServiceAccount (bound to `edit`) / with the operator's own rights | {:.0} ms / {:.0} ms = **{:.2}×** |",
        imp.took.as_secs_f64() * 1000.0,
        account.took.as_secs_f64() * 1000.0,
        imp.took.as_secs_f64() / account.took.as_secs_f64()
    );
    println!(
        "| install→Ready p99 of 100 packages while one package's repository accepts connections and never answers / without it | {:.0} ms / {:.0} ms = **{:.2}×** |",
        with.as_secs_f64() * 1000.0,
        without.as_secs_f64() * 1000.0,
        with.as_secs_f64() / without.as_secs_f64()
    );
    println!(
        "| a user's install made as the operator restarts over 10,000 installed packages: to its first pass / to Ready (operator start took {:.0} ms) | **{:.0} ms** / {:.0} ms |",
        restarted.as_secs_f64() * 1000.0,
        first_pass.as_secs_f64() * 1000.0,
        urgent_ready.as_secs_f64() * 1000.0
    );
    for row in adaptive_rows {
        println!("{row}");
    }
    println!();
}
