//! `deploy/rbac.yaml` grants exactly what `hoist serve` uses: the requests a full
//! dashboard session makes (sync, stream, details, installs of both scopes, a default
//! namespace created, repository credentials) are read off devcluster's counters and
//! compared with the grants, both ways.

mod common;
use common::*;
use hoist_proto::v1 as pb;
use std::collections::BTreeSet;

/// `(group, resource, verb)`.
type Grant = (String, String, String);

fn grants(kind: &str) -> BTreeSet<Grant> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/rbac.yaml");
    let text = std::fs::read_to_string(path).expect("deploy/rbac.yaml exists");
    let mut out = BTreeSet::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let doc: serde_json::Value =
            serde::Deserialize::deserialize(doc).expect("each document parses");
        if doc["kind"] != kind {
            continue;
        }
        for rule in doc["rules"].as_array().expect("rules") {
            let list = |k: &str| -> Vec<String> {
                rule[k]
                    .as_array()
                    .expect("a list")
                    .iter()
                    .map(|v| v.as_str().expect("a string").to_string())
                    .collect()
            };
            for g in list("apiGroups") {
                for r in list("resources") {
                    for v in list("verbs") {
                        out.insert((g.clone(), r.clone(), v));
                    }
                }
            }
        }
    }
    out
}

/// devcluster names resources `plural` (core) or `plural.group`.
fn used(counters: &std::collections::BTreeMap<String, u64>) -> BTreeSet<Grant> {
    counters
        .keys()
        .filter_map(|k| {
            let (verb, resource) = k.split_once(' ')?;
            let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
            Some((group.to_string(), plural.to_string(), verb.to_string()))
        })
        .collect()
}

#[tokio::test]
async fn the_dashboards_rbac_grants_exactly_what_it_uses() {
    let (c, client, _samples) = cluster_with_samples().await;
    c.counters().reset();

    // A whole session: sync, a stream, details, and installs of both scopes, one of
    // them into a default namespace that does not exist yet.
    let running = backend(&client, options()).await;
    running.ready().await;
    let mut stream = open_watch(&running).await;
    snapshot(next_data(&mut stream).await);
    let mut g = grpc(&running).await;
    g.get_package_details(pb::PackageDetailsRequest {
        name: "hello-web".into(),
        ..Default::default()
    })
    .await
    .expect("details");
    for (package, namespace) in [
        ("cert-issuer", ""),
        ("hello-web", ""),
        ("redis-cache", "team-a"),
    ] {
        g.install(pb::InstallRequest {
            package: package.into(),
            namespace: namespace.into(),
            ..Default::default()
        })
        .await
        .expect("installed");
    }
    change(next_data(&mut stream).await);
    let used = used(&c.counters().snapshot());

    let cluster_wide = grants("ClusterRole");
    let in_hoist_namespace = grants("Role");
    let granted: BTreeSet<Grant> = cluster_wide.union(&in_hoist_namespace).cloned().collect();
    let missing: Vec<_> = used.difference(&granted).collect();
    assert!(missing.is_empty(), "used but not granted: {missing:?}");
    let unused: Vec<_> = granted.difference(&used).collect();
    assert!(unused.is_empty(), "granted but never used: {unused:?}");
    assert!(
        cluster_wide.iter().all(|(_, r, _)| r != "secrets"),
        "Secrets only in Hoist's namespace, never cluster-wide"
    );
}
