//! `hoist bootstrap` and `hoist version` as a user runs them, against a devcluster with
//! nothing of Hoist's in it: the embedded manifests applied in order, the operator
//! waited for (devcluster plays the Deployment controller), a second run that changes
//! nothing, a new image that upgrades, a dry run that writes nothing.

use crate::common;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;

fn image_of(d: &Deployment) -> String {
    d.spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

/// The lines of bootstrap's report that name `kind`, as `(name, what happened)`.
fn report(out: &str, kind: &str) -> Vec<(String, String)> {
    out.lines()
        .filter(|l| l.split_whitespace().next() == Some(kind))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words[1].to_string(), words[2].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_installs_hoist_waits_for_the_operator_and_a_second_run_changes_nothing() {
    let cluster = devcluster::DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), cluster.kubeconfig()).expect("kubeconfig");
    let hoist = |args: &'static [&'static str]| {
        let path = kubeconfig.path().to_path_buf();
        async move { common::run_hoist(&path, args).await }
    };
    let namespaces: Api<Namespace> = Api::all(client.clone());

    // A dry run prints every object and writes none.
    let (ok, yaml) = hoist(&["bootstrap", "--dry-run", "-o", "yaml"]).await;
    assert!(ok, "{yaml}");
    let kinds: Vec<String> = serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|d| serde::Deserialize::deserialize(d).expect("a document"))
        .filter_map(|v: serde_json::Value| v["kind"].as_str().map(str::to_string))
        .collect();
    for kind in [
        "CustomResourceDefinition",
        "Namespace",
        "ClusterRole",
        "Deployment",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    assert!(
        !yaml.contains("hoist-dashboard"),
        "no dashboard unless asked for"
    );
    assert!(
        namespaces
            .get_opt("hoist-system")
            .await
            .expect("get")
            .is_none(),
        "a dry run writes nothing"
    );

    let (ok, out) = hoist(&["bootstrap", "--timeout", "60s"]).await;
    assert!(ok, "{out}");
    assert!(
        report(&out, "CustomResourceDefinition")
            .iter()
            .all(|(_, what)| what == "created"),
        "{out}"
    );
    assert_eq!(
        report(&out, "Deployment"),
        [(
            "hoist-system/hoist-operator".to_string(),
            "created".to_string()
        )]
    );
    assert!(out.contains("the operator is available"), "{out}");
    assert!(out.contains("helm-controller: not found"), "{out}");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "hoist-system");
    let operator = deployments.get("hoist-operator").await.expect("operator");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        image_of(&operator),
        format!("ghcr.io/hoist-dev/hoist:v{version}")
    );
    assert!(
        operator
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0)
            >= 1
    );

    let (ok, again) = hoist(&["bootstrap", "--timeout", "60s"]).await;
    assert!(ok, "{again}");
    let applied: Vec<&str> = again
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|w| ["created", "configured", "unchanged"].contains(w))
        .collect();
    assert!(!applied.is_empty(), "{again}");
    assert!(
        applied.iter().all(|w| *w == "unchanged"),
        "a second run changes nothing:\n{again}"
    );

    let (ok, out) = hoist(&["version"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("client:   v{version}"))
            && out.contains(&format!("operator: v{version} (")),
        "{out}"
    );

    // Another image (a newer binary's, or a mirror): the Deployment moves to it.
    let (ok, out) = hoist(&[
        "bootstrap",
        "--image",
        "registry.example/hoist:v9.9.9",
        "--no-wait",
    ])
    .await;
    assert!(ok, "{out}");
    assert_eq!(
        report(&out, "Deployment"),
        [(
            "hoist-system/hoist-operator".to_string(),
            "configured".to_string()
        )]
    );
    let operator = deployments.get("hoist-operator").await.expect("operator");
    assert_eq!(image_of(&operator), "registry.example/hoist:v9.9.9");

    // The dashboard, with a token made once and never replaced.
    let (ok, out) = hoist(&["bootstrap", "--with-dashboard", "--no-wait"]).await;
    assert!(ok, "{out}");
    assert!(out.contains("hoist-system/hoist-dashboard-token"), "{out}");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "hoist-system");
    let token = secrets
        .get("hoist-dashboard-token")
        .await
        .expect("token")
        .data
        .and_then(|d| d.get("token").cloned())
        .expect("a token");
    assert_eq!(token.0.len(), 64, "32 random bytes, hex");
    assert!(
        deployments
            .get_opt("hoist-dashboard")
            .await
            .expect("get")
            .is_some()
    );
    let (ok, out) = hoist(&["bootstrap", "--with-dashboard", "--no-wait"]).await;
    assert!(ok && !out.contains("hoist-dashboard-token"), "{out}");
    let same = secrets
        .get("hoist-dashboard-token")
        .await
        .expect("token")
        .data
        .and_then(|d| d.get("token").cloned())
        .expect("a token");
    assert_eq!(same, token, "an existing token is never replaced");
}
