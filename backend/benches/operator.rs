//! Operator benchmark: N packages of five objects each (ServiceAccount, ConfigMap,
//! Secret, Service, Deployment), from create to every package Ready, against a floor
//! measured in the same run: the very same objects (as the operator places them)
//! applied with plain kube-rs server-side apply at the same concurrency, then waited
//! for until every Deployment is available. devcluster plays the workload controllers
//! in both. The ratio is the operator's whole cost: watches, renders (from the
//! repository cache), drift checks, status writes, health.
//!
//! Prints a Markdown section for `cargo xtask bench`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use futures::{StreamExt, TryStreamExt};
use hoist::operator::{self, OperatorOptions};
use hoist::types::{NamespacedPackageSpec, Package, PackageInfoTemplate, PackageSpec};
use hoist_core::operator::placement::{self, Owner, Rendered};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use std::collections::{HashMap, HashSet};
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
    f
}

type Files = Arc<HashMap<String, String>>;

async fn file(State(files): State<Files>, Path(path): Path<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match files.get(&path) {
        Some(body) => body.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn serve_repository() -> String {
    let app = axum::Router::new()
        .route("/{*path}", axum::routing::get(file))
        .with_state(Arc::new(files()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
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

/// The operator: create the Packages, wait until every one is Ready.
async fn with_operator() -> Run {
    let (_c, client) = cluster().await;
    let url = serve_repository().await;
    let repos: Api<hoist::types::PackageRepository> = Api::all(client.clone());
    let mut repo = hoist::types::PackageRepository::new(
        "bench",
        hoist::types::PackageRepositorySpec { url, auth: None },
    );
    repo.set_default();
    repos
        .create(&PostParams::default(), &repo)
        .await
        .expect("repository");
    let watch = operator::watch_repositories(&client, Default::default(), "hoist-system");
    watch.synced().await;
    let opts = OperatorOptions {
        concurrency: CONCURRENCY as u16,
        ..Default::default()
    };
    let running = operator::start(client.clone(), watch.clientset.clone(), opts)
        .await
        .expect("operator");
    let api: Api<Package> = Api::namespaced(client.clone(), NAMESPACE);
    let mut ready = watcher::watcher(api.clone(), Default::default())
        .applied_objects()
        .boxed();
    let t = Instant::now();
    futures::stream::iter(0..PACKAGES)
        .map(|i| {
            let api = api.clone();
            async move {
                let spec = PackageSpec {
                    package_info: PackageInfoTemplate {
                        name: "app".into(),
                        version: "v1.0.0+1".into(),
                        repository_name: None,
                    },
                    ..Default::default()
                };
                api.create(
                    &PostParams::default(),
                    &Package::new(&format!("app-{i}"), NamespacedPackageSpec { spec }),
                )
                .await
                .map(|_| ())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await
        .expect("all created");
    let mut done: HashSet<String> = HashSet::new();
    while done.len() < PACKAGES {
        let p = ready.next().await.expect("watch open").expect("watch ok");
        let is_ready = p.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
        if is_ready {
            done.insert(p.name_any());
        }
    }
    let took = t.elapsed();
    let m = &running.context.metrics;
    let passes: f64 = m
        .encode()
        .lines()
        .filter(|l| l.starts_with("controller_runtime_reconcile_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let writes = m.status_writes() as f64;
    running.shutdown(Duration::from_secs(5)).await;
    Run {
        took,
        passes: passes / PACKAGES as f64,
        writes: writes / PACKAGES as f64,
    }
}

/// What the operator's run measured.
struct Run {
    took: Duration,
    /// Passes per package.
    passes: f64,
    /// Status writes per package.
    writes: f64,
}

#[tokio::main]
async fn main() {
    let f = floor().await;
    let run = with_operator().await;
    let o = run.took;
    println!("## operator\n");
    println!(
        "{PACKAGES} packages of 5 objects (ServiceAccount, ConfigMap, Secret, Service, Deployment) into devcluster, whose workload controllers make Deployments available; {CONCURRENCY} at a time in both.\n"
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
        "| passes per package, create to Ready (finalizer, apply, then one per change it waits on) | {:.1} |",
        run.passes
    );
    println!(
        "| status writes per package (Progressing as its Deployment's status moves, then Ready) | {:.1} |",
        run.writes
    );
    println!();
}
