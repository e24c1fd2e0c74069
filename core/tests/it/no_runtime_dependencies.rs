//! The core's promise, checked against the real dependency graph: no Kubernetes
//! client, gRPC, HTTP or async runtime crate anywhere under `hoist-core`.

#[test]
fn the_dependency_tree_holds_no_kubernetes_grpc_http_or_async_runtime_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "-p",
            "hoist-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"serde"), "the tree was read: {crates:?}");
    for forbidden in [
        "kube",
        "kube-client",
        "kube-runtime",
        "k8s-openapi",
        "tonic",
        "axum",
        "hyper",
        "hyper-util",
        "reqwest",
        "tokio",
        "prost",
    ] {
        assert!(
            !crates.contains(&forbidden),
            "hoist-core depends on {forbidden}"
        );
    }
}
