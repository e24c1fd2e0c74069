//! Fixtures of the backend's tests: the backend against a devcluster, a gRPC client,
//! packages; what the browser tests and benchmarks need too is in `hoist-testkit`
//! (re-exported here, so a test says `common::cluster()` either way).

pub mod cli;
pub mod operator;

pub use hoist_testkit::cluster::{
    apply_deploy_rbac, cluster, cluster_with_rbac, service_account_client,
};
pub use hoist_testkit::dist::stand_in as dist;
pub use hoist_testkit::repo_server;

use devcluster::DevCluster;
use hoist::serve::{Running, ServeOptions};
use hoist::types::{ClusterPackage, PackageInfoTemplate, PackageSpec};
use hoist_proto::v1 as pb;
use hoist_proto::v1::dashboard_client::DashboardClient;
use kube::api::PostParams;
use kube::{Api, Client};
use std::time::Duration;
use tonic::transport::Channel;

pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn options() -> ServeOptions {
    ServeOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        dist: dist(),
        heartbeat: Duration::from_secs(60),
        ..Default::default()
    }
}

pub async fn backend(client: &Client, opts: ServeOptions) -> Running {
    hoist::serve::start(client.clone(), opts)
        .await
        .expect("backend starts")
}

pub async fn grpc(running: &Running) -> DashboardClient<Channel> {
    let channel = Channel::from_shared(running.url())
        .expect("url")
        .connect()
        .await
        .expect("gRPC connects");
    DashboardClient::new(channel)
}

/// The spec that installs `name` at `version` from the default repository.
pub fn spec(name: &str, version: &str) -> PackageSpec {
    PackageSpec {
        package_info: PackageInfoTemplate {
            name: name.into(),
            version: version.into(),
            repository_name: None,
        },
        ..Default::default()
    }
}

pub fn package(name: &str, version: &str) -> ClusterPackage {
    ClusterPackage::new(name, spec(name, version))
}

pub async fn create(client: &Client, name: &str) -> ClusterPackage {
    let api: Api<ClusterPackage> = Api::all(client.clone());
    api.create(&PostParams::default(), &package(name, "v1.0.0"))
        .await
        .expect("create package")
}

/// Creates PackageRepository `name` at `url`: no auth, not the default.
pub async fn add_repository(client: &Client, name: &str, url: &str) {
    let api: Api<hoist::types::PackageRepository> = Api::all(client.clone());
    let spec = hoist::types::PackageRepositorySpec {
        url: url.into(),
        auth: None,
    };
    api.create(
        &PostParams::default(),
        &hoist::types::PackageRepository::new(name, spec),
    )
    .await
    .expect("repository created");
}

/// The dashboard's Refresh (with `clear`: also drop the repository caches).
pub async fn refresh(running: &Running, clear: bool) {
    grpc(running)
        .await
        .refresh(pb::RefreshRequest {
            clear_repository_cache: clear,
        })
        .await
        .expect("refresh");
}

/// A fresh Watch stream (no resume) on its own client.
pub async fn open_watch(running: &Running) -> tonic::Streaming<pb::WatchEvent> {
    grpc(running)
        .await
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner()
}

/// Reads the next event that is not a status or heartbeat.
/// The next package event (snapshot or change), skipping status, heartbeats and the
/// catalogue.
pub async fn next_data(stream: &mut tonic::Streaming<pb::WatchEvent>) -> pb::watch_event::Event {
    loop {
        let ev = tokio::time::timeout(PATIENCE, stream.message())
            .await
            .expect("an event in time")
            .expect("stream ok")
            .expect("stream open");
        match ev.event.expect("event set") {
            pb::watch_event::Event::Status(_)
            | pb::watch_event::Event::Heartbeat(_)
            | pb::watch_event::Event::Catalogue(_)
            | pb::watch_event::Event::Fleet(_) => continue,
            other => return other,
        }
    }
}

/// Reads catalogue events until one satisfies `done`, and returns it.
pub async fn catalogue_until(
    stream: &mut tonic::Streaming<pb::WatchEvent>,
    done: impl Fn(&pb::Catalogue) -> bool,
) -> pb::Catalogue {
    loop {
        let ev = tokio::time::timeout(PATIENCE, stream.message())
            .await
            .expect("a catalogue event in time")
            .expect("stream ok")
            .expect("stream open");
        if let Some(pb::watch_event::Event::Catalogue(c)) = ev.event
            && done(&c)
        {
            return c;
        }
    }
}

pub fn snapshot(ev: pb::watch_event::Event) -> pb::Snapshot {
    match ev {
        pb::watch_event::Event::Snapshot(s) => s,
        other => panic!("expected a snapshot, got {other:?}"),
    }
}

pub fn change(ev: pb::watch_event::Event) -> pb::PackageChange {
    match ev {
        pb::watch_event::Event::Change(c) => c,
        other => panic!("expected a change, got {other:?}"),
    }
}

/// Asserts that no ClusterPackage and no Package exists: a refused install created nothing.
pub async fn nothing_installed(client: &Client) {
    let packages: Api<hoist::types::Package> = Api::all(client.clone());
    let cluster_packages: Api<ClusterPackage> = Api::all(client.clone());
    let listed = packages.list(&Default::default()).await.expect("list");
    assert!(listed.items.is_empty(), "packages were created");
    let listed = cluster_packages
        .list(&Default::default())
        .await
        .expect("list");
    assert!(listed.items.is_empty(), "cluster packages were created");
}

/// devcluster with the CRDs, the sample repository served and registered as the
/// default, and namespace team-a. Keep the repository alive for the test.
pub async fn cluster_with_samples() -> (DevCluster, Client, hoist::demo::samples::SampleRepository)
{
    cluster_with_samples_and(Default::default()).await
}

/// [`cluster_with_samples`] with devcluster started with `options`.
pub async fn cluster_with_samples_and(
    options: devcluster::Options,
) -> (DevCluster, Client, hoist::demo::samples::SampleRepository) {
    let (c, client, samples) = hoist_testkit::cluster::cluster_with_samples_and(options).await;
    hoist::demo::seed::namespace(&client, "team-a")
        .await
        .expect("namespace");
    (c, client, samples)
}

/// Runs the `hoist` binary as a user would, with `kubeconfig`: whether it succeeded,
/// and what it printed (stdout, then stderr).
pub async fn run_hoist(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_BACKTRACE", "0")
        .output()
        .await
        .expect("hoist runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
