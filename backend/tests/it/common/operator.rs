//! The operator's test harness: devcluster with Hoist's CRDs, the sample repository
//! registered and watched, an operator running in-process, and waits on packages.

use devcluster::DevCluster;
use hoist::operator::{self, OperatorOptions};
use hoist::repo::fetch::FetchOptions;
use hoist::types::{ClusterPackage, NamespacedPackageSpec, Package, ValueConfiguration};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::json;
use std::time::Duration;

use super::spec;

/// Longer than `common::PATIENCE`: an install waits for a workload to roll out.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The cluster with Hoist's CRDs and namespaces, and the sample repository registered
/// and watched: everything an operator needs.
pub struct Setup {
    pub cluster: DevCluster,
    pub client: Client,
    pub _samples: hoist::demo::samples::SampleRepository,
    pub repositories: hoist::reflector::RepositoryWatch,
}

pub async fn setup() -> Setup {
    setup_with(Default::default()).await
}

/// [`setup`] with devcluster started with `options`.
pub async fn setup_with(options: devcluster::Options) -> Setup {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let (cluster, client, samples) = super::cluster_with_samples_and(options).await;
    for ns in ["hoist-system", "team-b"] {
        hoist::demo::seed::namespace(&client, ns)
            .await
            .expect("namespace");
    }
    let repositories =
        hoist::reflector::watch_repositories(&client, FetchOptions::default(), "hoist-system");
    repositories.synced().await;
    Setup {
        cluster,
        client,
        _samples: samples,
        repositories,
    }
}

/// A [`Setup`] with one operator running.
pub struct Harness {
    pub client: Client,
    pub operator: operator::Running,
    pub setup: Setup,
}

pub async fn harness() -> Harness {
    harness_with(OperatorOptions::default()).await
}

/// A [`Harness`] whose operator runs with `opts`.
pub async fn harness_with(opts: OperatorOptions) -> Harness {
    start_operator(setup().await, opts).await
}

/// A [`Harness`] over a devcluster whose hello-web pods answer with the demo's
/// stand-in page (see `hoist::demo::stand_in`); keep the stand-in alive.
pub async fn harness_with_hello_web_page() -> (Harness, hoist::demo::stand_in::StandIn) {
    let page = hoist::demo::stand_in::StandIn::start()
        .await
        .expect("stand-in page");
    let s = setup_with(devcluster::Options {
        forwards: vec![page.forward()],
        ..Default::default()
    })
    .await;
    (start_operator(s, OperatorOptions::default()).await, page)
}

async fn start_operator(s: Setup, opts: OperatorOptions) -> Harness {
    let operator = operator::start(s.client.clone(), s.repositories.clientset.clone(), opts)
        .await
        .expect("operator starts");
    Harness {
        client: s.client.clone(),
        operator,
        setup: s,
    }
}

pub fn condition(
    status: Option<&hoist::types::PackageStatus>,
    type_: &str,
) -> Option<(String, String)> {
    status?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.to_string(), c.message.clone()))
}

pub fn is_ready(p: Option<&Package>) -> bool {
    p.and_then(|p| condition(p.status.as_ref(), "Ready"))
        .is_some_and(|(s, _)| s == "True")
}

pub async fn wait_package(
    api: &Api<Package>,
    name: &str,
    cond: impl Fn(Option<&Package>) -> bool,
) -> Package {
    let waited = tokio::time::timeout(PATIENCE, await_condition(api.clone(), name, cond)).await;
    let got = waited.expect("in time").expect("watch works");
    got.expect("the package exists")
}

/// Creates Package `name` in `ns` for `package` at `version`; returns the API.
pub async fn install(
    client: &Client,
    ns: &str,
    name: &str,
    package: &str,
    version: &str,
) -> Api<Package> {
    let api: Api<Package> = Api::namespaced(client.clone(), ns);
    api.create(
        &PostParams::default(),
        &Package::new(name, NamespacedPackageSpec::from(spec(package, version))),
    )
    .await
    .expect("create");
    api
}

/// Sets one value of Package `name`.
pub async fn set_value(api: &Api<Package>, name: &str, key: &str, value: &str) {
    let value = ValueConfiguration {
        value: Some(value.into()),
        value_from: None,
    };
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"values": {key: value}}})),
    )
    .await
    .expect("set value");
}

/// Waits for ClusterPackage `name` to satisfy `cond`.
pub async fn wait_cluster_package(
    api: &Api<ClusterPackage>,
    name: &str,
    cond: impl Fn(Option<&ClusterPackage>) -> bool,
) -> Option<ClusterPackage> {
    let waited = tokio::time::timeout(PATIENCE, await_condition(api.clone(), name, cond)).await;
    waited
        .unwrap_or_else(|_| panic!("ClusterPackage {name} in time"))
        .expect("watch works")
}

pub fn cluster_ready(p: Option<&ClusterPackage>) -> bool {
    p.and_then(|p| condition(p.status.as_ref(), "Ready"))
        .is_some_and(|(s, _)| s == "True")
}

/// The fixture repository in Glasskube's format, served and registered.
pub async fn glasskube_format_repository(client: &Client) -> super::repo_server::RepoServer {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("glasskube-format");
    let repo = super::repo_server::RepoServer::serving_dir(&fixture).await;
    super::add_repository(client, "glasskube-format", &repo.url("/")).await;
    repo
}

pub async fn wait_package_gone(api: &Api<Package>, name: &str) {
    let gone = await_condition(api.clone(), name, |p: Option<&Package>| p.is_none());
    tokio::time::timeout(PATIENCE, gone)
        .await
        .unwrap_or_else(|_| panic!("{name} removed in time"))
        .expect("watch");
}
