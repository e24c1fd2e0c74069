//! devcluster plays the workload controllers: Deployments become available (and roll
//! again when scaled), Jobs complete, and annotations steer one object to never be
//! ready, miss its progress deadline or fail.

use crate::common;
use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::wait::{Condition, await_condition};
use kube::{Api, ResourceExt};
use serde_json::json;

fn deployment(name: &str, replicas: i32, annotations: serde_json::Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }))
    .expect("deployment")
}

fn job(name: &str, annotations: serde_json::Value) -> Job {
    serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "run", "image": "busybox", "command": ["true"]}],
        }}},
    }))
    .expect("job")
}

/// The status was written for the object's current generation.
fn observed() -> impl Condition<Deployment> {
    |d: Option<&Deployment>| {
        d.is_some_and(|d| {
            d.status.as_ref().and_then(|s| s.observed_generation) == d.metadata.generation
        })
    }
}

fn available(replicas: i32) -> impl Condition<Deployment> {
    move |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref()).is_some_and(|s| {
            s.available_replicas == Some(replicas)
                && s.conditions.iter().flatten().any(|c| {
                    c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True")
                })
        })
    }
}

fn job_condition(type_: &'static str) -> impl Condition<Job> {
    move |j: Option<&Job>| {
        j.and_then(|j| j.status.as_ref()).is_some_and(|s| {
            s.conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == type_ && c.status == "True")
        })
    }
}

async fn wait<K>(api: &Api<K>, name: &str, cond: impl Condition<K>) -> K
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    tokio::time::timeout(PATIENCE, await_condition(api.clone(), name, cond))
        .await
        .expect("in time")
        .expect("watch ok")
        .expect("the object exists")
}

#[tokio::test]
async fn a_deployment_becomes_available_and_rolls_again_when_scaled() {
    let (_c, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &deployment("web", 2, json!({})))
        .await
        .expect("create");
    let d = wait(&api, "web", available(2)).await;
    let status = d.status.expect("status");
    assert_eq!(status.observed_generation, d.metadata.generation);
    assert_eq!((status.replicas, status.ready_replicas), (Some(2), Some(2)));

    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 4}})),
    )
    .await
    .expect("scale");
    let d = wait(&api, "web", available(4)).await;
    assert_eq!(
        d.metadata.generation,
        Some(2),
        "scaling is a new generation"
    );
    assert_eq!(d.status.and_then(|s| s.observed_generation), Some(2));
}

#[tokio::test]
async fn steered_deployments_are_observed_but_never_available_or_miss_their_deadline() {
    let (_c, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let never = json!({"devcluster.hoist.dev/never-ready": "true"});
    let late = json!({"devcluster.hoist.dev/progress-deadline-exceeded": "true"});
    api.create(&PostParams::default(), &deployment("never", 2, never))
        .await
        .expect("create");
    api.create(&PostParams::default(), &deployment("late", 1, late))
        .await
        .expect("create");
    let d = wait(&api, "never", observed()).await;
    let s = d.status.expect("status");
    assert_eq!(s.ready_replicas, Some(0));
    let available = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Available"));
    assert_eq!(available.and_then(|c| c.status.as_deref()), Some("False"));
    let d = wait(&api, "late", observed()).await;
    let progressing = d
        .status
        .and_then(|s| s.conditions)
        .and_then(|cs| {
            cs.into_iter()
                .find(|c| c.type_.as_deref() == Some("Progressing"))
        })
        .expect("Progressing");
    assert_eq!(
        (progressing.status.as_deref(), progressing.reason.as_deref()),
        (Some("False"), Some("ProgressDeadlineExceeded"))
    );
}

#[tokio::test]
async fn jobs_complete_unless_steered_to_fail() {
    let (_c, client) = start().await;
    let api: Api<Job> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &job("ok", json!({})))
        .await
        .expect("create");
    api.create(
        &PostParams::default(),
        &job("broken", json!({"devcluster.hoist.dev/fail": "true"})),
    )
    .await
    .expect("create");
    let ok = wait(&api, "ok", job_condition("Complete")).await;
    assert_eq!(ok.status.and_then(|s| s.succeeded), Some(1));
    let broken = wait(&api, "broken", job_condition("Failed")).await;
    assert_eq!(broken.name_any(), "broken");
}

#[tokio::test]
async fn with_workloads_off_a_deployment_keeps_the_status_its_writers_give_it() {
    let (c, client) = start_with(devcluster::Options {
        workloads: None,
        ..Default::default()
    })
    .await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &deployment("web", 1, json!({})))
        .await
        .expect("create");
    let rv = c.resource_version();
    // Another write, so anything a controller would have done has had its chance.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(c.client().expect("client"), "default");
    cms.create(&PostParams::default(), &configmap("later"))
        .await
        .expect("create");
    let d = api.get("web").await.expect("get");
    assert!(d.status.is_none(), "{:?}", d.status);
    assert_eq!(
        c.resource_version(),
        rv + 1,
        "only the ConfigMap was written"
    );
}

#[tokio::test]
async fn the_scale_subresource_reads_and_moves_replicas_and_refuses_what_it_should() {
    let (_c, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &deployment("web", 2, json!({})))
        .await
        .expect("create");
    wait(&api, "web", available(2)).await;
    let scale = api.get_scale("web").await.expect("get scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(2));
    let status = scale.status.expect("status");
    assert_eq!(
        (status.replicas, status.selector.as_deref()),
        (2, Some("app=web"))
    );

    let patched = api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("patch scale");
    assert_eq!(patched.spec.and_then(|s| s.replicas), Some(5));
    wait(&api, "web", available(5)).await;

    // A Scale with a stale resourceVersion is a conflict; a negative count is invalid.
    let mut stale = api.get_scale("web").await.expect("get scale");
    stale.metadata.resource_version = Some("1".into());
    stale.spec = Some(k8s_openapi::api::autoscaling::v1::ScaleSpec { replicas: Some(1) });
    let e = api
        .replace_scale("web", &PostParams::default(), &stale)
        .await
        .expect_err("stale");
    assert!(matches!(&e, kube::Error::Api(s) if s.code == 409), "{e:?}");
    let e = api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": -1}})),
        )
        .await
        .expect_err("negative");
    assert!(matches!(&e, kube::Error::Api(s) if s.code == 422), "{e:?}");
    assert_eq!(
        api.get("web").await.expect("get").spec.replicas,
        Some(5),
        "refused changes changed nothing"
    );
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, "default");
    cms.create(&PostParams::default(), &configmap("c"))
        .await
        .expect("create");
    let e = cms
        .get_scale("c")
        .await
        .expect_err("no scale on a ConfigMap");
    assert!(matches!(&e, kube::Error::Api(s) if s.code == 404), "{e:?}");
}
