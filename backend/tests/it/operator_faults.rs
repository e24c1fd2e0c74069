//! The operator under failure (seed 004): transient API faults are retried and shown as
//! progress, never as Failed; a terminal error is not retried until the package
//! changes; a transient failure that outlasts the retry budget is dead-lettered, and
//! `hoist retry` starts it over.

use crate::common;
use common::operator::*;

use devcluster::faults::{Fault, FaultAction};
use futures::StreamExt;
use hoist::operator::OperatorOptions;
use hoist::types::Package;
use hoist_core::install::InstallRef;
use hoist_core::operator::retry::Policy;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fast retries, so a test sees several in a short time.
fn quick(budget: u32) -> OperatorOptions {
    OperatorOptions {
        policy: Policy {
            base: Duration::from_millis(20),
            max: Duration::from_millis(200),
            budget,
            jitter: 0.1,
        },
        ..Default::default()
    }
}

/// Every (Ready, Failed) condition status the package's watch shows, in order.
fn record_conditions(api: Api<Package>, name: &str) -> Arc<Mutex<Vec<(String, String)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    let name = name.to_string();
    tokio::spawn(async move {
        let mut events = watcher::watcher(api, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Some(Ok(p)) = events.next().await {
            if p.name_any() != name {
                continue;
            }
            let cond = |t: &str| condition(p.status.as_ref(), t).map(|(s, _)| s);
            if let (Some(r), Some(f)) = (cond("Ready"), cond("Failed")) {
                into.lock().expect("lock").push((r, f));
            }
        }
    });
    seen
}

#[tokio::test]
async fn transient_api_faults_are_retried_as_progress_never_shown_as_failed() {
    let h = harness_with(quick(12)).await;
    let faults = h.setup.cluster.faults();
    faults.add(
        Fault::new(FaultAction::Error {
            code: 500,
            retry_after: None,
        })
        .verb("create")
        .path("/deployments")
        .times(2),
    );
    faults.add(
        Fault::new(FaultAction::Error {
            code: 429,
            retry_after: Some(0),
        })
        .verb("create")
        .path("/services")
        .times(2),
    );
    faults.add(
        Fault::new(FaultAction::Conflict)
            .verb("patch")
            .path("/status")
            .times(2),
    );
    faults.add(
        Fault::new(FaultAction::Latency { millis: 300 })
            .verb("create")
            .path("/deployments")
            .times(1),
    );
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    let seen = record_conditions(packages.clone(), "site");
    install(&h.client, "team-a", "site", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "site", is_ready).await;
    assert!(
        faults.list().is_empty(),
        "every injected fault was met: {:?}",
        faults.list()
    );
    let seen = seen.lock().expect("lock").clone();
    assert!(
        seen.iter().all(|(_, failed)| failed != "True"),
        "Failed flapped: {seen:?}"
    );
    assert!(
        seen.iter().any(|(ready, _)| ready == "Unknown"),
        "the retries were shown as progress: {seen:?}"
    );
}

#[tokio::test]
async fn a_terminal_error_is_not_retried_until_the_package_changes() {
    let h = harness().await;
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    install(&h.client, "team-a", "big", "hello-web", "v1.1.0+2").await;
    set_value(&packages, "big", "replicas", "50").await;
    let failed = wait_package(&packages, "big", |p| {
        p.and_then(|p| condition(p.status.as_ref(), "Failed"))
            .is_some_and(|(s, _)| s == "True")
    })
    .await;
    let (_, message) = condition(failed.status.as_ref(), "Failed").expect("Failed");
    assert!(message.contains("replicas"), "{message}");
    let uid = failed.uid().expect("uid");
    let retries = &h.operator.context.memory;
    assert_eq!(retries.failures(&uid), 1);

    // Other work goes on (a whole install, start to Ready); the failed package is not
    // tried again meanwhile.
    install(&h.client, "team-a", "other", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "other", is_ready).await;
    assert_eq!(retries.failures(&uid), 1, "a terminal error was retried");

    // A change to the package is what moves it on.
    set_value(&packages, "big", "replicas", "2").await;
    wait_package(&packages, "big", is_ready).await;
}

#[tokio::test]
async fn a_failure_outlasting_the_retry_budget_is_dead_lettered_until_retried() {
    let h = harness_with(quick(3)).await;
    let repo = glasskube_format_repository(&h.client).await;
    repo.set(
        "/kv-store/v1.2.0/package.yaml",
        common::repo_server::Reply::Status(503),
    );
    let mut kv = common::spec("kv-store", "v1.2.0");
    kv.package_info.repository_name = Some("glasskube-format".into());
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-b");
    packages
        .create(
            &kube::api::PostParams::default(),
            &Package::new("kv", hoist::types::NamespacedPackageSpec::from(kv)),
        )
        .await
        .expect("create");
    let dead = wait_package(&packages, "kv", |p| {
        p.and_then(|p| p.status.as_ref()).is_some_and(|s| {
            s.conditions.iter().any(|c| {
                c.type_ == "Stalled" && c.status == "True" && c.reason == "RetriesExhausted"
            })
        })
    })
    .await;
    let (_, message) = condition(dead.status.as_ref(), "Failed").expect("Failed");
    assert!(message.contains("gave up after 3 attempts"), "{message}");
    assert!(
        h.operator
            .context
            .metrics
            .encode()
            .contains("hoist_operator_dead_letters_total 1"),
        "the dead letter is counted"
    );

    // The repository recovers; the package stays where it is until asked to retry.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/glasskube-format/kv-store/v1.2.0/package.yaml");
    repo.set(
        "/kv-store/v1.2.0/package.yaml",
        common::repo_server::Reply::Body(std::fs::read_to_string(fixture).expect("fixture")),
    );
    let target = InstallRef::namespaced("team-b", "kv");
    let (_, token) = hoist::cli::status::retry(&h.client, &target)
        .await
        .expect("retry");
    let said = hoist::cli::status::wait(&h.client, &target, PATIENCE, Some(&token))
        .await
        .expect("Ready after the retry");
    assert!(said.contains("Ready"), "{said}");
}

/// The `keeper` package (Cluster scope): v1.0.0 has a CRD, a ConfigMap and a ConfigMap
/// annotated `packages.hoist.dev/prune: disabled`; v1.1.0 drops all but the first
/// ConfigMap; v1.2.0's manifest is empty (a repository answering nothing).
fn keeper_repository(repo: &common::repo_server::RepoServer) {
    use common::repo_server::Reply;
    let body = |s: &str| Reply::Body(s.to_string());
    repo.set(
        "/index.yaml",
        body("packages:\n- name: keeper\n  shortDescription: prune brakes\n  latestVersion: v1.2.0\n"),
    );
    repo.set(
        "/keeper/versions.yaml",
        body("latestVersion: v1.2.0\nversions:\n- version: v1.0.0\n- version: v1.1.0\n- version: v1.2.0\n"),
    );
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.keeper.example\nspec:\n  group: keeper.example\n  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n";
    let cm = |name: &str, annotations: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: keeper\n{annotations}data: {{k: v}}\n"
        )
    };
    let v1 = format!(
        "{crd}---\n{}---\n{}",
        cm("settings", ""),
        cm(
            "notes",
            "  annotations: {packages.hoist.dev/prune: disabled}\n"
        )
    );
    for (version, manifests) in [
        ("v1.0.0", v1),
        ("v1.1.0", cm("settings", "")),
        ("v1.2.0", String::new()),
    ] {
        repo.set(
            &format!("/keeper/{version}/package.yaml"),
            body("name: keeper\nscope: Cluster\nshortDescription: prune brakes\ndefaultNamespace: keeper\nmanifests:\n- url: manifests.yaml\n"),
        );
        repo.set(
            &format!("/keeper/{version}/manifests.yaml"),
            Reply::Body(manifests),
        );
    }
}

#[tokio::test]
async fn prune_brakes_keep_durable_objects_annotated_ones_and_everything_on_an_empty_render() {
    use hoist::types::ClusterPackage;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Patch, PatchParams, PostParams};

    let h = harness().await;
    let repo = common::repo_server::RepoServer::start().await;
    keeper_repository(&repo);
    common::add_repository(&h.client, "keeper", &repo.url("/")).await;
    let packages: Api<ClusterPackage> = Api::all(h.client.clone());
    let mut spec = common::spec("keeper", "v1.0.0");
    spec.package_info.repository_name = Some("keeper".into());
    packages
        .create(&PostParams::default(), &ClusterPackage::new("keeper", spec))
        .await
        .expect("create");
    let at = |version: &'static str| {
        move |p: Option<&ClusterPackage>| {
            cluster_ready(p)
                && p.and_then(|p| p.status.as_ref())
                    .and_then(|s| s.version.as_deref())
                    == Some(version)
        }
    };
    wait_cluster_package(&packages, "keeper", at("v1.0.0")).await;
    let set_version = |version: &str, prune_durable: bool| {
        let packages = packages.clone();
        let patch = serde_json::json!({"spec": {
            "packageInfo": {"version": version},
            "pruneDurable": prune_durable,
        }});
        async move {
            packages
                .patch("keeper", &PatchParams::default(), &Patch::Merge(patch))
                .await
                .expect("patch");
        }
    };
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "keeper");
    let crds: Api<CustomResourceDefinition> = Api::all(h.client.clone());

    // v1.1.0 drops the CRD and both extra ConfigMaps: the CRD is kept and listed, the
    // annotated ConfigMap kept silently, the plain one deleted.
    set_version("v1.1.0", false).await;
    let p = wait_cluster_package(&packages, "keeper", at("v1.1.0"))
        .await
        .expect("exists");
    let status = p.status.expect("status");
    let kept: Vec<String> = status
        .kept_resources
        .iter()
        .map(|k| k.name.to_string())
        .collect();
    assert_eq!(kept, ["gadgets.keeper.example"], "{status:?}");
    assert!(
        crds.get_opt("gadgets.keeper.example")
            .await
            .expect("get")
            .is_some(),
        "a CRD a new version drops is kept"
    );
    assert!(
        cms.get_opt("notes").await.expect("get").is_some(),
        "prune: disabled"
    );
    assert!(cms.get_opt("settings").await.expect("get").is_some());
    assert!(
        status.owned_resources.iter().all(|o| o.name != "notes"),
        "an annotated object leaves the inventory"
    );

    // v1.2.0 renders nothing: refused (retried, as the repository may recover), nothing
    // deleted.
    set_version("v1.2.0", false).await;
    wait_cluster_package(&packages, "keeper", |p: Option<&ClusterPackage>| {
        condition(p.and_then(|p| p.status.as_ref()), "Ready").is_some_and(|(s, m)| {
            s != "True"
                && m.contains(
                    "rendered no objects but has 2 installed; refusing to delete them all",
                )
        })
    })
    .await;
    assert!(cms.get_opt("settings").await.expect("get").is_some());

    // Opted in: back to v1.0.0 and forward again, and the CRD goes with the version.
    set_version("v1.0.0", true).await;
    let p = wait_cluster_package(&packages, "keeper", at("v1.0.0"))
        .await
        .expect("exists");
    assert!(
        p.status.expect("status").kept_resources.is_empty(),
        "the package has the CRD again"
    );
    set_version("v1.1.0", true).await;
    wait_cluster_package(&packages, "keeper", at("v1.1.0")).await;
    let gone = kube::runtime::wait::await_condition(
        crds.clone(),
        "gadgets.keeper.example",
        |c: Option<&CustomResourceDefinition>| c.is_none(),
    );
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("the CRD pruned in time")
        .expect("watch");
}
