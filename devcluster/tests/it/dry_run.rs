//! `dryRun=All` (kube-rs' `dry_run: true`, `kubectl --dry-run=server`): every write runs
//! and answers as if done, but stores nothing, sends no watch event and does not move
//! the resourceVersion.

use crate::common;
use common::*;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;

fn dry_post() -> PostParams {
    PostParams {
        dry_run: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn dry_run_writes_answer_as_if_done_and_store_nothing_emit_nothing_move_nothing() {
    let (c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut kept = configmap("kept");
    kept.data = Some([("k".to_string(), "v1".to_string())].into());
    let kept = api
        .create(&PostParams::default(), &kept)
        .await
        .expect("create");
    let rv = c.resource_version();
    let mut events = api
        .watch(&WatchParams::default(), &rv.to_string())
        .await
        .expect("watch")
        .boxed();

    // Create: the object as it would be, with a uid and no resourceVersion.
    let would = api
        .create(&dry_post(), &configmap("ghost"))
        .await
        .expect("dry create");
    assert_eq!(would.name_any(), "ghost");
    assert!(would.uid().is_some());
    assert_eq!(would.resource_version(), None);
    assert!(
        api.get_opt("ghost").await.expect("get").is_none(),
        "not stored"
    );

    // Update, merge patch, apply and delete: answered with the change, stored as before.
    let mut changed = kept.clone();
    changed.data = Some([("k".to_string(), "v2".to_string())].into());
    let replaced = api
        .replace("kept", &dry_post(), &changed)
        .await
        .expect("dry replace");
    assert_eq!(replaced.data, changed.data);
    assert_eq!(replaced.resource_version(), kept.resource_version());
    let merge = PatchParams {
        dry_run: true,
        ..Default::default()
    };
    let patched = api
        .patch("kept", &merge, &Patch::Merge(json!({"data": {"k": "v3"}})))
        .await
        .expect("dry merge patch");
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("v3")
    );
    let apply = PatchParams {
        dry_run: true,
        ..PatchParams::apply("tester")
    };
    api.patch(
        "applied",
        &apply,
        &Patch::Apply(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}}),
        ),
    )
    .await
    .expect("dry apply creates nothing");
    assert!(api.get_opt("applied").await.expect("get").is_none());
    let deleted = api
        .delete(
            "kept",
            &DeleteParams {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .expect("dry delete");
    assert!(
        deleted.is_left(),
        "answered with the object, as a real delete is"
    );
    let stored = api.get("kept").await.expect("still there");
    assert_eq!(stored.data, kept.data);
    assert_eq!(c.resource_version(), rv, "the resourceVersion did not move");

    // The first event the watch sees is the real write that follows.
    api.create(&PostParams::default(), &configmap("real"))
        .await
        .expect("create");
    loop {
        let ev = tokio::time::timeout(PATIENCE, events.next())
            .await
            .expect("an event in time")
            .expect("stream open")
            .expect("event");
        match ev {
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Added(cm) => {
                assert_eq!(cm.name_any(), "real");
                break;
            }
            other => panic!("a dry run leaked an event: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_dry_run_that_would_fail_fails_the_same_and_other_dry_run_values_are_refused() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &configmap("taken"))
        .await
        .expect("create");
    let e = api
        .create(&dry_post(), &configmap("taken"))
        .await
        .expect_err("exists");
    assert!(matches!(e, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists"));
    let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let e = missing
        .create(&dry_post(), &configmap("x"))
        .await
        .expect_err("no namespace");
    assert!(matches!(e, kube::Error::Api(s) if s.code == 404));
    let bogus = axum::http::Request::post("/api/v1/namespaces/default/configmaps?dryRun=Maybe")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&configmap("y")).expect("json"))
        .expect("request");
    let e = client
        .request::<ConfigMap>(bogus)
        .await
        .expect_err("refused");
    assert!(matches!(&e, kube::Error::Api(s) if s.code == 400), "{e:?}");
    assert!(api.get_opt("y").await.expect("get").is_none());
}
