//! devcluster makes the pods of workloads, as their controllers and the kubelet would:
//! Running, Ready (or steered never-ready), labelled from the template, owned by the
//! workload, scaled, replaced on a new template, made again when deleted, and gone
//! with their workload.

use crate::common;
use common::*;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{reflector, watcher};
use kube::{Api, ResourceExt};
use serde_json::json;
use std::collections::BTreeSet;

pub fn deployment(name: &str, replicas: i32, annotations: serde_json::Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "tier": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27-alpine",
                                         "ports": [{"containerPort": 80}]}]},
            },
        },
    }))
    .expect("deployment")
}

/// Watches the pods `selector` selects until `done` holds of them (sorted by name);
/// panics after [`PATIENCE`]. Each check follows a watch event: no clock.
pub async fn pods_until(api: &Api<Pod>, selector: &str, done: impl Fn(&[Pod]) -> bool) -> Vec<Pod> {
    let (reader, writer) = reflector::store();
    let cfg = watcher::Config::default().labels(selector);
    let mut events = reflector(writer, watcher(api.clone(), cfg)).boxed();
    let sorted = || {
        let mut pods: Vec<Pod> = reader.state().iter().map(|p| (**p).clone()).collect();
        pods.sort_by_key(|p| p.name_any());
        pods
    };
    let waited = tokio::time::timeout(PATIENCE, async {
        // The store holds the list once it is whole (`InitDone`).
        let mut listed = false;
        loop {
            let event = events.next().await.expect("watch open").expect("watch ok");
            listed |= matches!(event, watcher::Event::InitDone);
            let pods = sorted();
            if listed && done(&pods) {
                return pods;
            }
        }
    })
    .await;
    match waited {
        Ok(pods) => pods,
        Err(_) => panic!("pods never became what was waited for: {:#?}", sorted()),
    }
}

fn condition(p: &Pod, type_: &str) -> Option<String> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}

pub fn ready(p: &Pod) -> bool {
    condition(p, "Ready").as_deref() == Some("True")
}

fn running(p: &Pod) -> bool {
    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

fn label<'a>(p: &'a Pod, key: &str) -> &'a str {
    p.labels().get(key).map_or("", String::as_str)
}

fn names(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter().map(ResourceExt::name_any).collect()
}

#[tokio::test]
async fn a_deployments_pods_are_ready_owned_scaled_replaced_and_deleted_with_it() {
    let (_c, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let d = deployments
        .create(&PostParams::default(), &deployment("web", 2, json!({})))
        .await
        .expect("create");
    let two = pods_until(&pods, "app=web", |ps| {
        ps.len() == 2 && ps.iter().all(|p| running(p) && ready(p))
    })
    .await;
    let hash = label(&two[0], "pod-template-hash").to_string();
    assert!(!hash.is_empty());
    for p in &two {
        let name = p.name_any();
        let suffix = name
            .strip_prefix(&format!("web-{hash}-"))
            .expect("named <deployment>-<hash>-<suffix>");
        assert!(
            suffix.len() == 5 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{name}"
        );
        assert_eq!(
            (
                label(p, "app"),
                label(p, "tier"),
                label(p, "pod-template-hash")
            ),
            ("web", "web", hash.as_str())
        );
        let owner = &p.owner_references()[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.name.as_str(),
                Some(owner.uid.as_str()),
                owner.controller,
                owner.block_owner_deletion
            ),
            (
                "Deployment",
                "web",
                d.metadata.uid.as_deref(),
                Some(true),
                Some(true)
            )
        );
        let spec = p.spec.as_ref().expect("spec");
        assert_eq!(spec.node_name.as_deref(), Some("devcluster"));
        assert_eq!(
            spec.containers[0].image.as_deref(),
            Some("nginx:1.27-alpine")
        );
        let status = p.status.as_ref().expect("status");
        for c in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
            assert_eq!(condition(p, c).as_deref(), Some("True"), "{c}");
        }
        assert!(status.start_time.is_some() && status.host_ip.is_some());
        let cs = &status.container_statuses.as_ref().expect("containers")[0];
        assert_eq!(
            (
                cs.name.as_str(),
                cs.image.as_str(),
                cs.ready,
                cs.started,
                cs.restart_count
            ),
            ("web", "nginx:1.27-alpine", true, Some(true), 0)
        );
        assert!(cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some());
    }
    let ips: BTreeSet<_> = two
        .iter()
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .collect();
    assert_eq!(ips.len(), 2, "each pod has its own address: {ips:?}");
    let listed = pods
        .list(&ListParams::default().labels("app=web,tier=web"))
        .await
        .expect("list by label");
    assert_eq!(
        names(&listed.items),
        names(&two),
        "a label selector finds them"
    );

    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("scale");
    let three = pods_until(&pods, "app=web", |ps| ps.len() == 3 && ps.iter().all(ready)).await;
    assert!(
        names(&two).is_subset(&names(&three)),
        "scaling up keeps the pods"
    );

    let image = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.28-alpine"}]}}}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(image))
        .await
        .expect("new template");
    let replaced = pods_until(&pods, "app=web", |ps| {
        ps.len() == 3
            && ps
                .iter()
                .all(|p| label(p, "pod-template-hash") != hash && ready(p))
    })
    .await;
    assert!(
        names(&replaced).is_disjoint(&names(&three)),
        "a new template replaces every pod"
    );
    let image = replaced[0]
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].image.clone());
    assert_eq!(image.as_deref(), Some("nginx:1.28-alpine"));

    deployments
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    pods_until(&pods, "app=web", <[Pod]>::is_empty).await;
}

#[tokio::test]
async fn a_never_ready_deployment_runs_unready_pods() {
    let (_c, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let never = json!({"devcluster.hoist.dev/never-ready": "true"});
    deployments
        .create(&PostParams::default(), &deployment("never", 2, never))
        .await
        .expect("create");
    let unready = pods_until(&pods, "app=never", |ps| ps.len() == 2).await;
    for p in &unready {
        assert!(running(p), "Running");
        assert_eq!(condition(p, "Ready").as_deref(), Some("False"));
        assert_eq!(condition(p, "ContainersReady").as_deref(), Some("False"));
        let cs = &p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.clone())
            .expect("cs")[0];
        assert_eq!((cs.ready, cs.started), (false, Some(true)));
    }
    // No longer steered: the same pods become ready.
    deployments
        .patch(
            "never",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"devcluster.hoist.dev/never-ready": null}}}),
            ),
        )
        .await
        .expect("unsteer");
    let now_ready = pods_until(&pods, "app=never", |ps| {
        ps.len() == 2 && ps.iter().all(ready)
    })
    .await;
    assert_eq!(names(&now_ready), names(&unready));
}

#[tokio::test]
async fn statefulset_pods_are_numbered_and_a_deleted_pod_is_made_again() {
    let (_c, client) = start().await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let sts: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 2, "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "redis:7"}]},
            },
        },
    }))
    .expect("sts");
    sets.create(&PostParams::default(), &sts)
        .await
        .expect("create");
    let made = pods_until(&pods, "app=db", |ps| ps.len() == 2 && ps.iter().all(ready)).await;
    assert_eq!(
        names(&made),
        BTreeSet::from(["db-0".to_string(), "db-1".to_string()])
    );
    assert_eq!(
        label(&made[1], "statefulset.kubernetes.io/pod-name"),
        "db-1"
    );
    let revision = sets
        .get("db")
        .await
        .expect("get")
        .status
        .and_then(|s| s.update_revision)
        .unwrap_or_default();
    assert_eq!(label(&made[0], "controller-revision-hash"), revision);

    let old_uid = made[1].uid();
    pods.delete("db-1", &DeleteParams::default())
        .await
        .expect("delete a pod");
    let again = pods_until(&pods, "app=db", |ps| {
        ps.len() == 2 && ps[1].uid() != old_uid && ready(&ps[1])
    })
    .await;
    assert_eq!(again[1].name_any(), "db-1", "made again under its name");
}

#[tokio::test]
async fn a_bare_pod_is_started() {
    let (_c, client) = start().await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "solo", "labels": {"run": "solo"}},
        "spec": {"containers": [{"name": "solo", "image": "busybox"}]},
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let started = pods_until(&pods, "run=solo", |ps| ps.len() == 1 && ready(&ps[0])).await;
    assert!(running(&started[0]));
    assert!(
        started[0]
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.as_ref())
            .is_some()
    );
}
