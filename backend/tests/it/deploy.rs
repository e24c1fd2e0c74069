//! `deploy/`: every object is one the API server accepts as written (applied with
//! `fieldValidation=Strict`, so a misspelled field fails), and every container's
//! arguments are ones the `hoist` binary accepts.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

fn documents(file: &str) -> Vec<Value> {
    let path = format!("{}/../deploy/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("deploy file");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("a document"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

#[tokio::test]
async fn every_deploy_object_applies_under_strict_field_validation() {
    let cluster = devcluster::DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    let pp = PatchParams::apply("deploy-test").validation_strict();
    for file in [
        "crds.yaml",
        "hoist.yaml",
        "rbac.yaml",
        "operator.yaml",
        "dashboard-preview.yaml",
    ] {
        // After the CRDs, discovery knows their kinds too.
        let discovery = Discovery::new(client.clone())
            .run()
            .await
            .expect("discovery");
        for doc in documents(file) {
            let obj: DynamicObject = serde_json::from_value(doc.clone()).expect("an object");
            let types = obj.types.clone().expect("apiVersion and kind");
            let gvk = kube::core::GroupVersionKind::try_from(&types).expect("gvk");
            let (ar, caps) = discovery
                .resolve_gvk(&gvk)
                .unwrap_or_else(|| panic!("{file}: the API does not serve {gvk:?}"));
            let name = obj.metadata.name.clone().expect("a name");
            let api: Api<DynamicObject> = match (caps.scope, &obj.metadata.namespace) {
                (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
                (Scope::Namespaced, None) => panic!("{file}: {name} names no namespace"),
                (Scope::Cluster, _) => Api::all_with(client.clone(), &ar),
            };
            api.patch(&name, &pp, &Patch::Apply(&obj))
                .await
                .unwrap_or_else(|e| panic!("{file}: {} {name}: {e}", gvk.kind));
        }
    }
}

#[test]
fn every_container_runs_the_binary_with_arguments_it_accepts() {
    let mut checked = 0;
    for doc in documents("hoist.yaml") {
        let Some(containers) = doc
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
        else {
            continue;
        };
        for c in containers {
            let args: Vec<&str> = c["args"]
                .as_array()
                .expect("args")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            // Clap checks every argument before it acts on --help.
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
                .args(&args)
                .arg("--help")
                .output()
                .expect("hoist runs");
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "the dashboard and the operator");
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile"))
        .expect("Dockerfile");
    assert!(
        dockerfile.contains("/usr/share/hoist/dist"),
        "the dist the dashboard is given"
    );
}
