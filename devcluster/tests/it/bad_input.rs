//! Bad input gets the right Status error, nothing panics, and nothing in the store
//! changes. Requests go over a raw TCP socket so that nothing cleans them up first.

use crate::common;
use common::*;
use serde_json::{Value, json};

/// Sends one HTTP/1.1 request (as the admin) and returns the status code and the JSON body.
async fn raw(
    c: &devcluster::DevCluster,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Value) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    let buf = raw_exchange(c, &head, body).await;
    let text = String::from_utf8_lossy(&buf);
    let code: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (
        code,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
    )
}

fn assert_status(got: &(u16, Value), code: u16, reason: &str) {
    assert_eq!(got.0, code, "{got:?}");
    assert_eq!(got.1["kind"], "Status", "{got:?}");
    assert_eq!(got.1["reason"], reason, "{got:?}");
    assert_eq!(got.1["code"], code, "{got:?}");
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn malformed_and_wrong_typed_bodies_are_rejected_and_change_nothing() {
    let (c, _client) = start().await;
    let rv = c.resource_version();
    assert_status(
        &raw(&c, "POST", CMS, "application/json", b"{not json").await,
        400,
        "BadRequest",
    );
    assert_status(
        &raw(&c, "POST", CMS, "application/json", b"[1,2]").await,
        400,
        "BadRequest",
    );
    assert_status(
        &raw(&c, "POST", CMS, "text/plain", b"{}").await,
        415,
        "UnsupportedMediaType",
    );
    let wrong_kind =
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}).to_string();
    assert_status(
        &raw(&c, "POST", CMS, "application/json", wrong_kind.as_bytes()).await,
        400,
        "BadRequest",
    );
    let bad_name = json!({"metadata": {"name": "Not_Valid"}}).to_string();
    assert_status(
        &raw(&c, "POST", CMS, "application/json", bad_name.as_bytes()).await,
        422,
        "Invalid",
    );
    let other_ns = json!({"metadata": {"name": "x", "namespace": "kube-system"}}).to_string();
    assert_status(
        &raw(&c, "POST", CMS, "application/json", other_ns.as_bytes()).await,
        400,
        "BadRequest",
    );
    assert_eq!(c.resource_version(), rv, "no write happened");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let opts = devcluster::Options {
        body_limit: 1024,
        ..Default::default()
    };
    let (c, _client) = start_with(opts).await;
    let big = json!({"metadata": {"name": "x"}, "data": {"k": "v".repeat(4096)}}).to_string();
    assert_status(
        &raw(&c, "POST", CMS, "application/json", big.as_bytes()).await,
        413,
        "RequestEntityTooLarge",
    );
    assert!(c.objects("", "configmaps").is_empty());
}

#[tokio::test]
async fn unknown_resources_selectors_and_versions_get_the_right_status() {
    let (c, _client) = start().await;
    let cases: [(&str, String, u16, &str); 8] = [
        ("GET", "/apis/nope.dev/v1/things".into(), 404, "NotFound"),
        ("GET", format!("{CMS}/missing"), 404, "NotFound"),
        (
            "GET",
            format!("{CMS}?labelSelector=a%20in%20(b"),
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{CMS}?fieldSelector=spec.x%3D1"),
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{CMS}?watch=true&resourceVersion=abc"),
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{CMS}?limit=1&continue=garbage"),
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{CMS}?limit=1&continue=5-999-1"),
            410,
            "Expired",
        ),
        ("DELETE", CMS.to_string(), 405, "MethodNotAllowed"),
    ];
    for (method, path, code, reason) in cases {
        assert_status(&raw(&c, method, &path, "", b"").await, code, reason);
    }
}

#[tokio::test]
async fn garbage_patches_are_rejected_and_change_nothing() {
    let (c, _client) = start().await;
    let created = raw(
        &c,
        "POST",
        CMS,
        "application/json",
        br#"{"metadata":{"name":"a"},"data":{"k":"v"}}"#,
    )
    .await;
    assert_eq!(created.0, 201, "{created:?}");
    let path = format!("{CMS}/a");
    assert_status(
        &raw(&c, "PATCH", &path, "application/json", b"{}").await,
        415,
        "UnsupportedMediaType",
    );
    assert_status(
        &raw(&c, "PATCH", &path, "application/merge-patch+json", b"nope").await,
        400,
        "BadRequest",
    );
    assert_status(
        &raw(&c, "PATCH", &path, "application/json-patch+json", b"{}").await,
        400,
        "BadRequest",
    );
    let bad_op = br#"[{"op":"explode","path":"/data"}]"#;
    assert_status(
        &raw(&c, "PATCH", &path, "application/json-patch+json", bad_op).await,
        400,
        "BadRequest",
    );
    assert_status(
        &raw(
            &c,
            "PATCH",
            &path,
            "application/merge-patch+json",
            br#"{"metadata":{"resourceVersion":"1"}}"#,
        )
        .await,
        409,
        "Conflict",
    );
    let stored = c.objects("", "configmaps");
    assert_eq!(stored[0]["data"], json!({"k": "v"}));
    assert_eq!(
        stored[0]["metadata"]["resourceVersion"],
        created.1["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn invalid_crds_are_rejected_whole() {
    let (c, _client) = start().await;
    let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let no_versions = json!({"metadata": {"name": "things.x.dev"}, "spec": {"group": "x.dev", "scope": "Cluster", "names": {"plural": "things", "kind": "Thing"}, "versions": []}});
    assert_status(
        &raw(
            &c,
            "POST",
            path,
            "application/json",
            no_versions.to_string().as_bytes(),
        )
        .await,
        422,
        "Invalid",
    );
    let bad_name = json!({"metadata": {"name": "wrong"}, "spec": {"group": "x.dev", "scope": "Cluster", "names": {"plural": "things", "kind": "Thing"}, "versions": [{"name": "v1", "served": true, "storage": true}]}});
    assert_status(
        &raw(
            &c,
            "POST",
            path,
            "application/json",
            bad_name.to_string().as_bytes(),
        )
        .await,
        422,
        "Invalid",
    );
    assert!(
        c.objects("apiextensions.k8s.io", "customresourcedefinitions")
            .is_empty()
    );
    assert_status(
        &raw(&c, "GET", "/apis/x.dev/v1/things", "", b"").await,
        404,
        "NotFound",
    );
}

#[tokio::test]
async fn admin_endpoint_adds_faults_and_reads_counters() {
    let (c, _client) = start().await;
    let fault = json!({"verb": "list", "action": {"type": "error", "code": 503, "retry_after": 2}, "times": 1});
    assert_eq!(
        raw(
            &c,
            "POST",
            "/devcluster/faults",
            "application/json",
            fault.to_string().as_bytes()
        )
        .await
        .0,
        201
    );
    let (code, body) = raw(&c, "GET", CMS, "", b"").await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (503, Some("ServiceUnavailable"))
    );
    assert_eq!(
        raw(&c, "GET", CMS, "", b"").await.0,
        200,
        "times: 1 means once"
    );
    let (_, counters) = raw(&c, "GET", "/devcluster/counters", "", b"").await;
    assert_eq!(counters["list configmaps"], 2);
    assert_status(
        &raw(
            &c,
            "POST",
            "/devcluster/faults",
            "application/json",
            b"{\"bad\":1}",
        )
        .await,
        400,
        "BadRequest",
    );
}
