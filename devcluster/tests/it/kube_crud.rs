//! kube-rs `Api` against devcluster: CRUD, every patch kind, status, generation,
//! conflicts, preconditions, finalizers, errors with the right reason.

use crate::common;
use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn configmap_crud_round_trips_with_increasing_resource_versions() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = configmap("a");
    cm.data = Some([("k".to_string(), "v".to_string())].into());
    let created = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    assert!(created.uid().is_some());
    assert!(created.creation_timestamp().is_some());
    let rv1: u64 = created
        .resource_version()
        .expect("rv")
        .parse()
        .expect("numeric rv");

    let mut got = api.get("a").await.expect("get");
    assert_eq!(got.data, cm.data);
    got.data = Some([("k".to_string(), "w".to_string())].into());
    let replaced = api
        .replace("a", &PostParams::default(), &got)
        .await
        .expect("replace");
    let rv2: u64 = replaced
        .resource_version()
        .expect("rv")
        .parse()
        .expect("numeric rv");
    assert!(rv2 > rv1);

    let err = api_err(
        api.create(&PostParams::default(), &cm)
            .await
            .expect_err("duplicate"),
    );
    assert_eq!((err.reason.as_str(), err.code), ("AlreadyExists", 409));

    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let err = api.get("a").await.expect_err("gone");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.is_not_found()),
        "{err:?}"
    );
}

#[tokio::test]
async fn stale_resource_version_on_replace_is_a_conflict() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    let w = api
        .create(&PostParams::default(), &widget("w", 1))
        .await
        .expect("create");
    let mut first = w.clone();
    first.spec.size = 2;
    api.replace("w", &PostParams::default(), &first)
        .await
        .expect("first writer wins");
    let mut second = w;
    second.spec.size = 3;
    let err = api_err(
        api.replace("w", &PostParams::default(), &second)
            .await
            .expect_err("stale"),
    );
    assert_eq!((err.reason.as_str(), err.code), ("Conflict", 409));
    assert!(
        err.message.contains("the object has been modified"),
        "{}",
        err.message
    );
    assert_eq!(
        api.get("w").await.expect("get").spec.size,
        2,
        "a failed write changes nothing"
    );
}

#[tokio::test]
async fn custom_resource_replace_without_resource_version_is_invalid() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &widget("w", 1))
        .await
        .expect("create");
    let err = api_err(
        api.replace("w", &PostParams::default(), &widget("w", 5))
            .await
            .expect_err("no rv"),
    );
    assert_eq!(err.code, 422);
}

#[tokio::test]
async fn generation_moves_only_on_spec_changes_and_status_is_a_subresource() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    let mut w = widget("w", 1);
    w.status = Some(WidgetStatus { ready: true });
    let created = api
        .create(&PostParams::default(), &w)
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        created.status, None,
        "status is dropped on create when it is a subresource"
    );

    let pp = PatchParams::default();
    let labelled = api
        .patch(
            "w",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .expect("label");
    assert_eq!(
        labelled.metadata.generation,
        Some(1),
        "metadata changes keep the generation"
    );

    let with_status = api
        .patch_status(
            "w",
            &pp,
            &Patch::Merge(json!({"status": {"ready": true}, "spec": {"size": 9}})),
        )
        .await
        .expect("status");
    assert_eq!(with_status.status, Some(WidgetStatus { ready: true }));
    assert_eq!(
        with_status.spec.size, 1,
        "status writes ignore everything else"
    );
    assert_eq!(with_status.metadata.generation, Some(1));

    let resized = api
        .patch(
            "w",
            &pp,
            &Patch::Merge(json!({"spec": {"size": 2}, "status": {"ready": false}})),
        )
        .await
        .expect("spec");
    assert_eq!(resized.metadata.generation, Some(2));
    assert_eq!(
        resized.status,
        Some(WidgetStatus { ready: true }),
        "main-resource writes ignore status"
    );
}

#[tokio::test]
async fn json_patch_apply_and_strategic_patches_all_apply() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &widget("w", 1))
        .await
        .expect("create");

    let json_patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/size", "value": 1},
        {"op": "replace", "path": "/spec/size", "value": 4}
    ]))
    .expect("patch");
    let w = api
        .patch("w", &PatchParams::default(), &Patch::<()>::Json(json_patch))
        .await
        .expect("json patch");
    assert_eq!(w.spec.size, 4);

    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/size", "value": 1}]))
            .expect("patch");
    let err = api_err(
        api.patch("w", &PatchParams::default(), &Patch::<()>::Json(failing))
            .await
            .expect_err("test fails"),
    );
    assert_eq!(err.code, 422);

    let ssa = PatchParams::apply("test").force();
    let applied = api
        .patch("fresh", &ssa, &Patch::Apply(json!({"apiVersion": "test.hoist.dev/v1", "kind": "Widget", "metadata": {"name": "fresh"}, "spec": {"size": 7}})))
        .await
        .expect("apply creates");
    assert_eq!(applied.spec.size, 7);
    let reapplied = api
        .patch("fresh", &ssa, &Patch::Apply(json!({"apiVersion": "test.hoist.dev/v1", "kind": "Widget", "metadata": {"name": "fresh"}, "spec": {"size": 8}})))
        .await
        .expect("apply updates");
    assert_eq!(reapplied.spec.size, 8);

    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm = configmap("c");
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create cm");
    let patched = cms
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"x": "1"}})),
        )
        .await
        .expect("strategic");
    assert_eq!(
        patched.data.and_then(|d| d.get("x").cloned()),
        Some("1".to_string())
    );
}

#[tokio::test]
async fn apply_without_field_manager_is_a_bad_request() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let err = api_err(
        api.patch(
            "x",
            &PatchParams::default(),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
            ),
        )
        .await
        .expect_err("no field manager"),
    );
    assert_eq!(err.code, 400);
    assert!(
        api.get_opt("x").await.expect("get").is_none(),
        "nothing was created"
    );
}

#[tokio::test]
async fn delete_preconditions_that_do_not_match_are_conflicts() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm = configmap("a");
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("not-the-uid".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let err = api_err(api.delete("a", &dp).await.expect_err("precondition"));
    assert_eq!((err.reason.as_str(), err.code), ("Conflict", 409));
    assert!(api.get_opt("a").await.expect("get").is_some());
}

#[tokio::test]
async fn finalizers_hold_deletion_until_the_last_is_removed() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    let mut w = widget("w", 1);
    w.metadata.finalizers = Some(vec!["hoist.dev/test".into()]);
    api.create(&PostParams::default(), &w)
        .await
        .expect("create");
    api.delete("w", &DeleteParams::default())
        .await
        .expect("delete accepted");
    let marked = api.get("w").await.expect("still there");
    assert!(marked.metadata.deletion_timestamp.is_some());

    let added = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["hoist.dev/test", "new"]}})),
        )
        .await;
    assert_eq!(api_err(added.expect_err("no new finalizers")).code, 422);

    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove finalizer");
    assert!(
        api.get_opt("w").await.expect("get").is_none(),
        "gone with its last finalizer"
    );
}

#[tokio::test]
async fn objects_in_a_missing_namespace_are_not_found_and_namespace_deletion_cascades() {
    let (_c, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let cm = configmap("a");
    let err = api_err(
        cms.create(&PostParams::default(), &cm)
            .await
            .expect_err("no namespace"),
    );
    assert_eq!(err.code, 404);

    let nss: Api<Namespace> = Api::all(client);
    let mut ns = Namespace::default();
    ns.metadata.name = Some("team".into());
    nss.create(&PostParams::default(), &ns)
        .await
        .expect("namespace");
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("now it exists");
    nss.delete("team", &DeleteParams::default())
        .await
        .expect("delete ns");
    assert!(cms.get_opt("a").await.expect("get").is_none());
}

#[tokio::test]
async fn owned_objects_are_deleted_with_their_owner() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let owner = widgets
        .create(&PostParams::default(), &widget("owner", 1))
        .await
        .expect("owner");
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = configmap("owned");
    cm.metadata.owner_references = Some(vec![owner.controller_owner_ref(&()).expect("owner ref")]);
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("owned");
    widgets
        .delete("owner", &DeleteParams::default())
        .await
        .expect("delete owner");
    assert!(cms.get_opt("owned").await.expect("get").is_none());
}

#[tokio::test]
async fn writing_the_same_object_again_emits_no_new_version() {
    let (c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm = configmap("a");
    let created = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let before = c.resource_version();
    let again = api
        .replace("a", &PostParams::default(), &created)
        .await
        .expect("no-op replace");
    assert_eq!(again.resource_version(), created.resource_version());
    assert_eq!(c.resource_version(), before);
}

#[tokio::test]
async fn generate_name_makes_a_unique_name() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = ConfigMap::default();
    cm.metadata.generate_name = Some("gen-".into());
    let a = api.create(&PostParams::default(), &cm).await.expect("a");
    let b = api.create(&PostParams::default(), &cm).await.expect("b");
    assert!(a.name_any().starts_with("gen-"));
    assert_ne!(a.name_any(), b.name_any());
}

#[tokio::test]
async fn secret_string_data_is_stored_as_base64_data_and_never_returned() {
    use k8s_openapi::api::core::v1::Secret;
    let (_c, client) = start().await;
    let api: Api<Secret> = Api::namespaced(client, "default");
    let mut s: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds"},
        "data": {"kept": "a2VwdA=="},
        "stringData": {"token": "s3cret"},
    }))
    .expect("secret");
    api.create(&PostParams::default(), &s)
        .await
        .expect("create");
    let got = api.get("creds").await.expect("get");
    let data = got.data.clone().expect("data");
    assert_eq!(data["token"].0, b"s3cret");
    assert_eq!(data["kept"].0, b"kept");
    assert!(got.string_data.is_none(), "stringData is write-only");

    // On an update, stringData wins over data for the same key.
    s = got;
    s.string_data = Some([("kept".to_string(), "changed".to_string())].into());
    let replaced = api
        .replace("creds", &PostParams::default(), &s)
        .await
        .expect("replace");
    assert_eq!(replaced.data.expect("data")["kept"].0, b"changed");
}
