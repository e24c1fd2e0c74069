//! `hoist operator` as it runs in a pod: the real binary, a kubeconfig, leader election
//! on. SIGTERM while a pass is waiting on a slow repository: the pass finishes (its
//! status is written), the Lease is given up, and the process exits 0.

use crate::common;

use hoist::types::{NamespacedPackageSpec, Package};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use std::time::Duration;

#[tokio::test]
async fn sigterm_mid_pass_lets_the_pass_finish_releases_the_lease_and_exits_cleanly() {
    let (cluster, client) = common::cluster().await;
    for ns in ["hoist-system", "team-a"] {
        hoist::demo::seed::namespace(&client, ns)
            .await
            .expect("namespace");
    }
    let repo = common::operator::glasskube_format_repository(&client).await;
    let path = "/kv-store/v1.2.0/package.yaml";
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/glasskube-format")
        .join(path.trim_start_matches('/'));
    let body = std::fs::read_to_string(fixture).expect("fixture");
    repo.set(
        path,
        common::repo_server::Reply::Delayed(Duration::from_secs(2), body),
    );
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), cluster.kubeconfig()).expect("kubeconfig");
    let mut operator = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args([
            "operator",
            "--leader-elect",
            "--probes-listen",
            "127.0.0.1:0",
        ])
        .env("KUBECONFIG", kubeconfig.path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("hoist operator starts");

    let mut kv = common::spec("kv-store", "v1.2.0");
    kv.package_info.repository_name = Some("glasskube-format".into());
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    packages
        .create(
            &PostParams::default(),
            &Package::new("kv", NamespacedPackageSpec::from(kv)),
        )
        .await
        .expect("create");
    // The pass is now waiting on the slow package.yaml.
    repo.until("the pass asking for package.yaml", |r| r.hits(path) >= 1)
        .await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "hoist-system");
    let held = leases
        .get(hoist::operator::lease::LEASE_NAME)
        .await
        .expect("the Lease exists");
    assert!(
        held.spec
            .and_then(|s| s.holder_identity)
            .is_some_and(|h| !h.is_empty()),
        "the operator holds the Lease"
    );

    let pid = operator.id().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exit = tokio::time::timeout(Duration::from_secs(60), operator.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    let mut log = String::new();
    if let Some(mut err) = operator.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = err.read_to_string(&mut log).await;
    }
    assert!(exit.success(), "exit {exit:?}; log:\n{log}");
    assert!(log.contains("stopping: finishing running passes"), "{log}");

    // The running pass finished: it got its package.yaml and wrote the status.
    let kv = packages.get("kv").await.expect("kv");
    let status = kv.status.expect("the pass wrote a status before the exit");
    assert!(
        status.conditions.iter().any(|c| c.type_ == "Ready"),
        "{status:?}"
    );
    let released = leases
        .get(hoist::operator::lease::LEASE_NAME)
        .await
        .expect("the Lease");
    assert!(
        released
            .spec
            .and_then(|s| s.holder_identity)
            .is_none_or(|h| h.is_empty()),
        "the Lease was given up"
    );
}
