//! `fieldValidation` and the OpenAPI documents: unknown fields are dropped as the API
//! server drops them, refused under Strict (nothing stored), named in a `Warning`
//! header under Warn (the default), and the published schemas are the ones enforced.
//! Requests whose headers matter go over a raw socket; the rest through kube-rs.

use crate::common;
use common::*;
use kube::api::{Api, Patch, PatchParams, ValidationDirective};
use serde_json::{Value, json};

/// One HTTP/1.1 exchange: status code, `Warning` header values, JSON body.
async fn send(
    c: &devcluster::DevCluster,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<String>, Value) {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let buf = raw_exchange(c, &head, body).await;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let warnings = head
        .lines()
        .filter_map(|l| l.strip_prefix("warning: ").or(l.strip_prefix("Warning: ")))
        .map(str::to_string)
        .collect();
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
    (code, warnings, body)
}

const JSON: (&str, &str) = ("Content-Type", "application/json");
const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn cm_with_typo(name: &str) -> Vec<u8> {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
           "data": {"a": "1"}, "dta": {"b": "2"}})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn strict_refuses_unknown_fields_by_name_and_stores_nothing() {
    let (c, _client) = start().await;
    let rv = c.resource_version();
    let (code, _, body) = send(
        &c,
        "POST",
        &format!("{CMS}?fieldValidation=Strict"),
        &[JSON],
        &cm_with_typo("strict"),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["reason"], "BadRequest");
    assert_eq!(
        body["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dta\""
    );
    assert!(c.objects("", "configmaps").is_empty());
    assert_eq!(c.resource_version(), rv, "a refused write moves nothing");
}

#[tokio::test]
async fn warn_is_the_default_drops_unknown_fields_and_says_so_in_a_warning_header() {
    let (c, _client) = start().await;
    let (code, warnings, body) = send(&c, "POST", CMS, &[JSON], &cm_with_typo("warned")).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(warnings, [r#"299 - "unknown field \"dta\"""#]);
    assert!(body.get("dta").is_none(), "dropped from the answer: {body}");
    let stored = c.objects("", "configmaps");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].get("dta").is_none(), "and from the store");
    assert_eq!(stored[0]["data"]["a"], "1");

    let (code, warnings, _) = send(
        &c,
        "POST",
        &format!("{CMS}?fieldValidation=Ignore"),
        &[JSON],
        &cm_with_typo("ignored"),
    )
    .await;
    assert_eq!(code, 201);
    assert!(warnings.is_empty(), "Ignore says nothing: {warnings:?}");

    let (code, _, body) = send(
        &c,
        "POST",
        &format!("{CMS}?fieldValidation=Loose"),
        &[JSON],
        &cm_with_typo("loose"),
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (400, Some("BadRequest")));
}

#[tokio::test]
async fn custom_resources_are_pruned_by_their_crd_schema_and_apply_never_owns_a_dropped_field() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let typo = json!({"apiVersion": "test.hoist.dev/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 1, "colour": "blue"}});

    let strict = PatchParams::apply("tester").validation(ValidationDirective::Strict);
    let err = widgets
        .patch("w", &strict, &Patch::Apply(&typo))
        .await
        .expect_err("Strict refuses");
    let kube::Error::Api(status) = err else {
        panic!("not a Status: {err:?}")
    };
    assert_eq!(status.code, 400);
    assert!(
        status.message.contains("unknown field \"spec.colour\""),
        "{}",
        status.message
    );
    assert!(widgets.get_opt("w").await.expect("get").is_none());

    let applied = widgets
        .patch("w", &PatchParams::apply("tester"), &Patch::Apply(&typo))
        .await
        .expect("Warn (the default) applies what is known");
    assert_eq!(applied.spec.size, 1);
    let raw: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client,
        "default",
        &kube::api::ApiResource::erase::<Widget>(&()),
    );
    let stored = raw.get("w").await.expect("get");
    assert!(
        stored.data["spec"].get("colour").is_none(),
        "{:?}",
        stored.data
    );
    let owned = serde_json::to_string(&stored.metadata.managed_fields).expect("json");
    assert!(owned.contains("f:size"), "{owned}");
    assert!(
        !owned.contains("colour"),
        "no manager owns a dropped field: {owned}"
    );
}

#[tokio::test]
async fn openapi_v3_lists_each_group_version_and_describes_kinds_kubectl_can_validate_against() {
    let (c, client) = start().await;
    install_widget_crd(&client).await;
    let (code, _, root) = send(&c, "GET", "/openapi/v3", &[], b"").await;
    assert_eq!(code, 200);
    for gv in ["api/v1", "apis/apps/v1", "apis/test.hoist.dev/v1"] {
        assert!(
            root["paths"][gv]["serverRelativeURL"]
                .as_str()
                .is_some_and(|u| u.starts_with(&format!("/openapi/v3/{gv}?hash="))),
            "{gv}: {root}"
        );
    }
    let url = root["paths"]["apis/test.hoist.dev/v1"]["serverRelativeURL"]
        .as_str()
        .expect("url")
        .to_string();
    let (code, _, doc) = send(&c, "GET", &url, &[], b"").await;
    assert_eq!(code, 200);
    let widget = &doc["components"]["schemas"]["dev.hoist.test.v1.Widget"];
    assert_eq!(
        widget["x-kubernetes-group-version-kind"][0]["kind"],
        "Widget"
    );
    assert_eq!(
        widget["properties"]["spec"]["properties"]["size"]["type"],
        "integer"
    );
    let patch =
        &doc["paths"]["/apis/test.hoist.dev/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Widget");
    let params: Vec<&str> = patch["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(params.contains(&"fieldValidation"), "{params:?}");
    assert!(
        doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].is_object(),
        "referenced definitions travel with the document"
    );

    // A changed CRD changes the URL, so a client caching by URL rereads it.
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client);
    crds.patch(
        "widgets.test.hoist.dev",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"changed": "yes"}}})),
    )
    .await
    .expect("patch CRD");
    let (_, _, again) = send(&c, "GET", "/openapi/v3", &[], b"").await;
    assert_ne!(
        again["paths"]["apis/test.hoist.dev/v1"]["serverRelativeURL"]
            .as_str()
            .expect("url"),
        url
    );
    assert_eq!(
        again["paths"]["api/v1"], root["paths"]["api/v1"],
        "unchanged group-versions keep their URL"
    );
}

#[tokio::test]
async fn openapi_v2_is_json_and_a_protobuf_only_client_gets_406() {
    let (c, _client) = start().await;
    let (code, _, v2) = send(&c, "GET", "/openapi/v2", &[], b"").await;
    assert_eq!(code, 200);
    assert_eq!(v2["swagger"], "2.0");
    let deployment = &v2["definitions"]["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        deployment["properties"]["spec"]["allOf"][0]["$ref"],
        "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    );
    let pb = (
        "Accept",
        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    );
    let (code, _, body) = send(&c, "GET", "/openapi/v2", &[pb], b"").await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (406, Some("NotAcceptable"))
    );
    let only_pb = ("Accept", "application/vnd.kubernetes.protobuf");
    let (code, _, body) = send(&c, "GET", CMS, &[only_pb], b"").await;
    assert_eq!((code, body["kind"].as_str()), (406, Some("Status")));
    let both = (
        "Accept",
        "application/vnd.kubernetes.protobuf, application/json",
    );
    let (code, _, _) = send(&c, "GET", CMS, &[both], b"").await;
    assert_eq!(
        code, 200,
        "JSON among the accepted types is answered in JSON"
    );
}
