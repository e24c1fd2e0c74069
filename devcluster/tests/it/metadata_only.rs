//! Metadata-only reads (`PartialObjectMetadata[List]`): kube-rs' `list_metadata`,
//! `get_metadata`, `watch_metadata` and `metadata_watcher` get names and labels, and
//! the bytes on the wire carry no Secret data; Accept negotiation as kube-apiserver's.

use crate::common;
use common::*;
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::{reflector, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const ONE: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const SECRETS: &str = "/api/v1/namespaces/default/secrets";
/// The secret value, and its base64 as a Secret's `data` holds it.
const VALUE: &str = "hunter2-do-not-leak";
const VALUE_B64: &str = "aHVudGVyMi1kby1ub3QtbGVhaw==";

fn secret(name: &str, team: &str) -> Secret {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"team": team}},
        "data": {"password": VALUE_B64},
        "stringData": {"token": VALUE},
    }))
    .expect("secret")
}

async fn secrets(client: &Client, names: &[(&str, &str)]) -> Api<Secret> {
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    for (name, team) in names {
        api.create(&PostParams::default(), &secret(name, team))
            .await
            .expect("create secret");
    }
    api
}

/// A GET of `path` with `Accept: accept`: the body as text, or the Status' code.
async fn get_raw(client: &Client, path: &str, accept: &str) -> Result<String, u16> {
    let req = axum::http::Request::get(path)
        .header("Accept", accept)
        .body(Vec::new())
        .expect("request");
    client.request_text(req).await.map_err(|e| match e {
        kube::Error::Api(s) => s.code,
        other => panic!("an API error, not {other:?}"),
    })
}

/// Asserts that `text` holds no Secret data: no `data`/`stringData` key anywhere and
/// the value bytes (plain or base64) nowhere.
fn no_secret_data(text: &str) {
    assert!(!text.contains(VALUE), "{text}");
    assert!(!text.contains(VALUE_B64), "{text}");
    assert!(!text.contains("\"data\""), "{text}");
    assert!(!text.contains("stringData"), "{text}");
}

fn partial(v: &Value, name: &str) {
    assert_eq!(v["kind"], "PartialObjectMetadata", "{v}");
    assert_eq!(v["apiVersion"], "meta.k8s.io/v1", "{v}");
    assert_eq!(v["metadata"]["name"], name, "{v}");
    let keys: BTreeSet<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["apiVersion", "kind", "metadata"]));
}

#[tokio::test]
async fn list_metadata_of_secrets_sends_names_and_labels_and_no_data() {
    let (_c, client) = start().await;
    let api = secrets(&client, &[("a", "red"), ("b", "blue"), ("c", "red")]).await;

    let list = api
        .list_metadata(&ListParams::default())
        .await
        .expect("list_metadata");
    let names: Vec<String> = list.items.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(
        list.items[0].labels().get("team").map(String::as_str),
        Some("red")
    );
    assert!(list.metadata.resource_version.is_some());

    let text = get_raw(&client, SECRETS, LIST).await.expect("raw list");
    no_secret_data(&text);
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["kind"], "PartialObjectMetadataList");
    assert_eq!(body["apiVersion"], "meta.k8s.io/v1");
    assert!(body["metadata"]["resourceVersion"].is_string());
    partial(&body["items"][1], "b");
    assert_eq!(body["items"][1]["metadata"]["labels"]["team"], "blue");
    assert!(
        body["items"][1]["metadata"]["uid"].is_string(),
        "all the metadata"
    );

    // Selectors as for a normal list.
    let red = api
        .list_metadata(&ListParams::default().labels("team=red"))
        .await
        .expect("selected");
    let names: Vec<String> = red.items.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, ["a", "c"]);
    let text = get_raw(
        &client,
        &format!("{SECRETS}?fieldSelector=metadata.name%3Db"),
        LIST,
    )
    .await
    .expect("field selector");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn metadata_lists_page_with_limit_and_continue() {
    let (_c, client) = start().await;
    let api = secrets(
        &client,
        &[
            ("s1", "x"),
            ("s2", "x"),
            ("s3", "x"),
            ("s4", "x"),
            ("s5", "x"),
        ],
    )
    .await;
    let first = api
        .list_metadata(&ListParams::default().limit(2))
        .await
        .expect("page 1");
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("a continue token");
    assert_eq!(first.metadata.remaining_item_count, Some(3));

    let text = get_raw(
        &client,
        &format!("{SECRETS}?limit=2&continue={token}"),
        LIST,
    )
    .await
    .expect("page 2");
    no_secret_data(&text);
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["kind"], "PartialObjectMetadataList");
    assert!(body["metadata"]["continue"].is_string());
    assert_eq!(
        body["metadata"]["resourceVersion"],
        json!(first.metadata.resource_version)
    );
    partial(&body["items"][0], "s3");

    let mut names: Vec<String> = first.items.iter().map(ResourceExt::name_any).collect();
    let mut params = ListParams::default().limit(2);
    params.continue_token = Some(token);
    loop {
        let page = api.list_metadata(&params).await.expect("page");
        names.extend(page.items.iter().map(ResourceExt::name_any));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => params.continue_token = Some(c),
            _ => break,
        }
    }
    assert_eq!(names, ["s1", "s2", "s3", "s4", "s5"]);
}

#[tokio::test]
async fn get_metadata_sends_the_metadata_only() {
    let (_c, client) = start().await;
    let api = secrets(&client, &[("one", "red")]).await;
    let meta = api.get_metadata("one").await.expect("get_metadata");
    assert_eq!(meta.name_any(), "one");
    assert_eq!(meta.labels().get("team").map(String::as_str), Some("red"));

    let text = get_raw(&client, &format!("{SECRETS}/one"), ONE)
        .await
        .expect("raw get");
    no_secret_data(&text);
    partial(&serde_json::from_str(&text).expect("json"), "one");

    // A metadata-only write answer too (kube-rs' patch_metadata).
    let patched = api
        .patch_metadata(
            "one",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "green"}}})),
        )
        .await
        .expect("patch_metadata");
    assert_eq!(
        patched.labels().get("team").map(String::as_str),
        Some("green")
    );
    let req = axum::http::Request::patch(format!("{SECRETS}/one"))
        .header("Accept", ONE)
        .header("Content-Type", "application/merge-patch+json")
        .body(br#"{"metadata":{"labels":{"team":"blue"}}}"#.to_vec())
        .expect("request");
    let text = client.request_text(req).await.expect("raw patch");
    no_secret_data(&text);
    partial(&serde_json::from_str(&text).expect("json"), "one");
    // The write happened, and the data is still there for a full read.
    let full = api.get("one").await.expect("get");
    assert_eq!(full.labels().get("team").map(String::as_str), Some("blue"));
    assert!(full.data.is_some_and(|d| d.contains_key("password")));
}

/// Reads watch lines from `reader` until `done` says so (or panics after PATIENCE).
async fn watch_lines(
    reader: impl futures::AsyncBufRead + Unpin,
    mut done: impl FnMut(&[Value]) -> bool,
) -> (Vec<Value>, String) {
    let mut lines = reader.lines();
    let mut events = Vec::new();
    let mut text = String::new();
    let read = async {
        while let Some(line) = lines.next().await {
            let line = line.expect("a line");
            text.push_str(&line);
            text.push('\n');
            events.push(serde_json::from_str::<Value>(&line).expect("json event"));
            if done(&events) {
                return;
            }
        }
        panic!("the watch ended early: {text}");
    };
    tokio::time::timeout(PATIENCE, read).await.expect("in time");
    (events, text)
}

#[tokio::test]
async fn watch_metadata_events_and_bookmarks_carry_metadata_only() {
    let (_c, client) = start().await;
    let api = secrets(&client, &[("before", "red")]).await;

    // Raw: a streaming list (initial ADDED, the initial-events-end BOOKMARK), then a
    // live ADDED and MODIFIED.
    let path = format!(
        "{SECRETS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=30"
    );
    let req = axum::http::Request::get(path)
        .header("Accept", ONE)
        .body(Vec::new())
        .expect("request");
    let reader = client.request_stream(req).await.expect("watch");
    let writer = api.clone();
    let writes = tokio::spawn(async move {
        writer
            .create(&PostParams::default(), &secret("during", "blue"))
            .await
            .expect("create");
        writer
            .patch(
                "during",
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"stringData": {"token": VALUE}, "metadata": {"labels": {"x": "y"}}}),
                ),
            )
            .await
            .expect("patch");
    });
    let (events, text) = watch_lines(Box::pin(reader), |e| e.len() >= 4).await;
    writes.await.expect("writes");
    no_secret_data(&text);
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["ADDED", "BOOKMARK", "ADDED", "MODIFIED"]);
    partial(&events[0]["object"], "before");
    let bookmark = &events[1]["object"];
    assert_eq!(bookmark["kind"], "PartialObjectMetadata");
    assert_eq!(bookmark["apiVersion"], "meta.k8s.io/v1");
    assert!(bookmark["metadata"]["resourceVersion"].is_string());
    assert_eq!(
        bookmark["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    partial(&events[2]["object"], "during");
    partial(&events[3]["object"], "during");
    assert_eq!(events[3]["object"]["metadata"]["labels"]["x"], "y");

    // kube-rs' watch_metadata from a resourceVersion.
    let rv = api
        .list_metadata(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut stream = api
        .watch_metadata(&WatchParams::default().timeout(30), &rv)
        .await
        .expect("watch_metadata")
        .boxed();
    api.delete("before", &Default::default())
        .await
        .expect("delete");
    let event = tokio::time::timeout(PATIENCE, stream.try_next())
        .await
        .expect("in time")
        .expect("an event")
        .expect("not ended");
    match event {
        WatchEvent::Deleted(m) => assert_eq!(m.name_any(), "before"),
        other => panic!("a DELETED event, not {other:?}"),
    }
}

/// Drives `stream` until `reader` holds exactly `want`.
async fn sync_to<T>(
    reader: &reflector::Store<PartialObjectMeta<Secret>>,
    stream: &mut (impl futures::Stream<Item = Result<T, watcher::Error>> + Unpin),
    want: &[String],
) {
    let want: BTreeSet<String> = want.iter().cloned().collect();
    let names = || -> BTreeSet<String> { reader.state().iter().map(|m| m.name_any()).collect() };
    tokio::time::timeout(PATIENCE, async {
        while names() != want {
            stream
                .try_next()
                .await
                .expect("watch ok")
                .expect("not ended");
        }
    })
    .await
    .expect("the store syncs in time");
}

/// kube-rs 5's metadata watcher (`metadata_watcher` is deprecated for it): a
/// `watcher` over `Api<PartialObjectMeta<Secret>>`, whose lists and watches ask for
/// metadata only; with a paged initial list and with a streaming one.
#[tokio::test]
async fn a_metadata_watcher_reflector_syncs_secrets() {
    let (c, client) = start().await;
    let api = secrets(&client, &[("m1", "red"), ("m2", "red")]).await;
    let meta: Api<PartialObjectMeta<Secret>> = Api::default_namespaced(client.clone());
    let configs = [
        ("paged", watcher::Config::default().page_size(1)),
        ("streaming", watcher::Config::default().streaming_lists()),
    ];
    for (i, (how, config)) in configs.into_iter().enumerate() {
        let (reader, writer) = reflector::store();
        let mut stream = Box::pin(reflector(writer, watcher(meta.clone(), config)));
        let mut want = vec!["m1".to_string(), "m2".to_string()];
        want.extend((0..i).map(|n| format!("m3-{n}")));
        sync_to(&reader, &mut stream, &want).await;
        let new = format!("m3-{i}");
        api.create(&PostParams::default(), &secret(&new, "blue"))
            .await
            .expect("create");
        want.push(new.clone());
        sync_to(&reader, &mut stream, &want).await;
        let m3 = reader
            .state()
            .into_iter()
            .find(|m| m.name_any() == new)
            .expect("the new one");
        assert_eq!(
            m3.labels().get("team").map(String::as_str),
            Some("blue"),
            "{how}"
        );
    }
    assert!(
        c.counters().get("list", "secrets") >= 2,
        "the paged watcher listed"
    );
}

#[tokio::test]
async fn custom_resources_are_served_metadata_only_too() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &widget("w1", 42))
        .await
        .expect("create");
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .expect("list_metadata");
    assert_eq!(list.items.len(), 1);
    assert_eq!(api.get_metadata("w1").await.expect("get").name_any(), "w1");
    let widgets = "/apis/test.hoist.dev/v1/namespaces/default/widgets";
    for (path, accept) in [(widgets.to_string(), LIST), (format!("{widgets}/w1"), ONE)] {
        let text = get_raw(&client, &path, accept).await.expect("raw");
        assert!(text.contains("\"w1\""), "{text}");
        assert!(
            !text.contains("\"spec\"") && !text.contains("\"size\""),
            "{text}"
        );
    }
}

#[tokio::test]
async fn accept_negotiation_picks_the_first_servable_form_or_answers_406() {
    let (_c, client) = start().await;
    secrets(&client, &[("n", "red")]).await;
    let kind = |text: &str| -> String {
        let v: Value = serde_json::from_str(text).expect("json");
        v["kind"].as_str().unwrap_or_default().to_string()
    };
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let text = get_raw(&client, SECRETS, table).await.expect("a table");
    assert_eq!(kind(&text), "Table");
    let text = get_raw(&client, SECRETS, &format!("{LIST},application/json"))
        .await
        .expect("first wins");
    assert_eq!(kind(&text), "PartialObjectMetadataList");
    let client_go = format!(
        "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,{LIST},application/json"
    );
    let text = get_raw(&client, SECRETS, &client_go)
        .await
        .expect("protobuf skipped");
    assert_eq!(kind(&text), "PartialObjectMetadataList");
    let v1beta1 = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1";
    let text = get_raw(&client, SECRETS, v1beta1).await.expect("v1beta1");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["apiVersion"], "meta.k8s.io/v1beta1");

    let foo = "application/json;as=Foo;g=meta.k8s.io;v=v1";
    assert_eq!(
        get_raw(&client, SECRETS, foo).await.map(|t| kind(&t)),
        Err(406)
    );
    let text = get_raw(&client, SECRETS, &format!("{foo},application/json"))
        .await
        .expect("fallback");
    assert_eq!(kind(&text), "SecretList");
    assert_eq!(
        get_raw(&client, &format!("{SECRETS}/n"), LIST)
            .await
            .map(|t| kind(&t)),
        Err(406),
        "a list form for one object"
    );
    assert_eq!(
        get_raw(&client, SECRETS, ONE).await.map(|t| kind(&t)),
        Err(406),
        "one object's form for a list"
    );
    let pb_only =
        "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    assert_eq!(
        get_raw(&client, SECRETS, pb_only).await.map(|t| kind(&t)),
        Err(406)
    );
}
