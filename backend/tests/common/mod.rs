//! Fixtures: devcluster with the CRDs, the backend against it, and a gRPC client.
#![allow(dead_code)]

pub mod operator;
pub mod repo_server;

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

pub async fn cluster() -> (DevCluster, Client) {
    let cluster = DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    (cluster, client)
}

pub fn options() -> ServeOptions {
    ServeOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        dist: dist(),
        heartbeat: Duration::from_secs(60),
        ..Default::default()
    }
}

/// A stand-in `dist/` with an index page, so static serving can be checked.
pub fn dist() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hoist-test-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dist dir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Hoist</title>",
    )
    .expect("index");
    dir
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
    let (c, client) = cluster().await;
    let samples = hoist::demo::samples::SampleRepository::start()
        .await
        .expect("sample repository");
    samples.register(&client).await.expect("registered");
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

/// devcluster with authentication and RBAC on (HTTPS with its own CA; `client` is its
/// admin, in `system:masters`) and the CRDs.
pub async fn cluster_with_rbac() -> (DevCluster, Client) {
    let cluster = DevCluster::start(devcluster::Options {
        auth: Some(devcluster::AuthOptions {
            anonymous: false,
            token_file: None,
        }),
        ..Default::default()
    })
    .await
    .expect("devcluster");
    let client = cluster.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    (cluster, client)
}

/// Creates, as the admin, the ServiceAccounts, Roles, ClusterRoles and bindings in
/// `deploy/{file}` for each of `files`, exactly as written (other kinds are skipped).
pub async fn apply_deploy_rbac(admin: &Client, files: &[&str]) {
    use kube::api::{ApiResource, DynamicObject};
    use kube::core::GroupVersionKind;
    for file in files {
        let path = format!("{}/../deploy/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("the deploy file exists");
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let doc: serde_json::Value =
                serde::Deserialize::deserialize(doc).expect("each document parses");
            let kind = doc["kind"].as_str().unwrap_or("");
            let (group, plural) = match kind {
                "ServiceAccount" => ("", "serviceaccounts"),
                "Role" => ("rbac.authorization.k8s.io", "roles"),
                "ClusterRole" => ("rbac.authorization.k8s.io", "clusterroles"),
                "RoleBinding" => ("rbac.authorization.k8s.io", "rolebindings"),
                "ClusterRoleBinding" => ("rbac.authorization.k8s.io", "clusterrolebindings"),
                _ => continue,
            };
            let ar = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(group, "v1", kind),
                plural,
            );
            let obj: DynamicObject = serde_json::from_value(doc.clone()).expect("an object");
            let api: Api<DynamicObject> = match doc["metadata"]["namespace"].as_str() {
                Some(ns) => Api::namespaced_with(admin.clone(), ns, &ar),
                None => Api::all_with(admin.clone(), &ar),
            };
            api.create(&PostParams::default(), &obj)
                .await
                .unwrap_or_else(|e| panic!("{file}: {kind}: {e}"));
        }
    }
}

/// A client of `cluster` that is the ServiceAccount `ns/name`, with a token from
/// TokenRequest (an hour long).
pub async fn service_account_client(
    cluster: &DevCluster,
    admin: &Client,
    ns: &str,
    name: &str,
) -> Client {
    use k8s_openapi::api::authentication::v1::TokenRequest;
    use k8s_openapi::api::core::v1::ServiceAccount;
    let req: TokenRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600}
    }))
    .expect("a TokenRequest");
    let token = Api::<ServiceAccount>::namespaced(admin.clone(), ns)
        .create_token_request(name, &PostParams::default(), &req)
        .await
        .expect("a token")
        .status
        .and_then(|s| s.token)
        .expect("status.token");
    let mut config = kube::Config::new(cluster.url().parse().expect("url"));
    config.auth_info.token = Some(token.into());
    config.root_cert = cluster.ca_der().map(|der| vec![der.to_vec()]);
    Client::try_from(config).expect("client")
}
