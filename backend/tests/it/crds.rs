//! `deploy/crds.yaml` is what `hoist crdgen` prints, and devcluster accepts every CRD.

#[test]
fn deploy_crds_yaml_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/crds.yaml");
    let on_disk = std::fs::read_to_string(path).expect("deploy/crds.yaml exists");
    let generated = hoist::types::crds_yaml().expect("CRDs serialize");
    assert!(
        on_disk == generated,
        "deploy/crds.yaml is stale: run `cargo run -p hoist -- crdgen > deploy/crds.yaml`"
    );
}

#[tokio::test]
async fn every_crd_installs_and_becomes_established() {
    let cluster = devcluster::DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    hoist::demo::install_crds(&client)
        .await
        .expect("CRDs install");
    hoist::demo::install_crds(&client)
        .await
        .expect("installing again is a no-op");
    let discovery = kube::Discovery::new(client).run().await.expect("discovery");
    let kinds: Vec<String> = discovery
        .groups()
        .filter(|g| g.name() == "packages.hoist.dev")
        .flat_map(|g| g.recommended_resources())
        .map(|(ar, _)| ar.kind)
        .collect();
    for k in [
        "ClusterPackage",
        "Package",
        "PackageInfo",
        "PackageRepository",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} not served: {kinds:?}");
    }
}
