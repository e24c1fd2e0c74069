//! Server-side apply with field ownership: `metadata.managedFields` in the API server's
//! shape, conflicts between managers (409 naming fields and managers) unless forced,
//! fields their only applier stops sending removed, other writes recorded as Update.

use crate::common;
use common::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

fn cm(data: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": data})
}

fn managers(obj: &ConfigMap) -> Vec<(String, String)> {
    obj.managed_fields()
        .iter()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn two_appliers_conflict_on_a_field_with_different_values_and_force_moves_it() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let alice = PatchParams::apply("alice");
    let bob = PatchParams::apply("bob");
    let a = api
        .patch(
            "shared",
            &alice,
            &Patch::Apply(cm(json!({"owner": "alice", "common": "x"}))),
        )
        .await
        .expect("alice applies");
    assert_eq!(managers(&a), [("alice".to_string(), "Apply".to_string())]);
    let fields = a.managed_fields()[0]
        .fields_v1
        .as_ref()
        .map(|f| f.0.clone())
        .expect("fieldsV1");
    assert_eq!(fields["f:data"]["f:owner"], json!({}));
    assert_eq!(
        a.managed_fields()[0].fields_type.as_deref(),
        Some("FieldsV1")
    );

    // The same value is shared ownership; a different one is a conflict.
    api.patch("shared", &bob, &Patch::Apply(cm(json!({"common": "x"}))))
        .await
        .expect("same value: no conflict");
    let e = api
        .patch("shared", &bob, &Patch::Apply(cm(json!({"owner": "bob"}))))
        .await
        .expect_err("a conflict");
    match e {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
            assert!(
                s.message.contains("conflict with \"alice\"") && s.message.contains(".data.owner"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        api.get("shared").await.expect("get").data.expect("data")["owner"],
        "alice"
    );

    let forced = api
        .patch(
            "shared",
            &bob.clone().force(),
            &Patch::Apply(cm(json!({"owner": "bob"}))),
        )
        .await
        .expect("forced");
    assert_eq!(forced.data.as_ref().expect("data")["owner"], "bob");
    // Alice applying her old value now conflicts with Bob.
    let e = api
        .patch(
            "shared",
            &alice,
            &Patch::Apply(cm(json!({"owner": "alice", "common": "x"}))),
        )
        .await
        .expect_err("bob owns it now");
    assert!(matches!(e, kube::Error::Api(s) if s.message.contains("conflict with \"bob\"")));
}

#[tokio::test]
async fn a_field_its_only_applier_stops_sending_is_removed_and_updates_are_recorded() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let alice = PatchParams::apply("alice");
    api.patch(
        "shared",
        &alice,
        &Patch::Apply(cm(json!({"a": "1", "b": "2"}))),
    )
    .await
    .expect("apply");
    let next = api
        .patch("shared", &alice, &Patch::Apply(cm(json!({"a": "1"}))))
        .await
        .expect("apply without b");
    assert_eq!(
        next.data.expect("data").into_keys().collect::<Vec<_>>(),
        ["a"],
        "b was alice's alone: removed"
    );

    // A merge patch by another manager is recorded as an Update of what it changed.
    let merge = PatchParams {
        field_manager: Some("editor".into()),
        ..Default::default()
    };
    let edited = api
        .patch(
            "shared",
            &merge,
            &Patch::Merge(json!({"data": {"a": "edited"}})),
        )
        .await
        .expect("merge");
    let mut who = managers(&edited);
    who.sort();
    assert_eq!(
        who,
        [("editor".to_string(), "Update".to_string())],
        "a moved to the editor"
    );

    // A create without a fieldManager is owned by the client's user agent: this client
    // sends none, which the API server calls "unknown" (kubectl's is in other_clients).
    let mut plain = configmap("plain");
    plain.data = Some([("k".to_string(), "v".to_string())].into());
    let created = api
        .create(&PostParams::default(), &plain)
        .await
        .expect("create");
    let who = managers(&created);
    assert_eq!(who.len(), 1, "{who:?}");
    assert_eq!(who[0].1, "Update");
    assert_eq!(who[0].0, "unknown");
}
