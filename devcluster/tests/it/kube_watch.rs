//! kube-rs `watcher` and `reflector` against devcluster: paged initial lists, streaming
//! lists, replay, bookmarks, 410 inside the stream, selectors.

use crate::common;
use common::*;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use serde_json::json;

async fn create_widgets(api: &Api<Widget>, n: usize) {
    for i in 0..n {
        api.create(
            &PostParams::default(),
            &widget(&format!("w{i:03}"), i as i32),
        )
        .await
        .expect("create");
    }
}

#[tokio::test]
async fn reflector_with_paged_list_converges_and_follows_changes() {
    let (c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    create_widgets(&api, 25).await;
    let (store, stream) = reflect(api.clone(), watcher::Config::default().page_size(7));
    let mut stream = Box::pin(stream);
    converge(&store, &mut stream, &server_state(&api).await).await;
    assert_eq!(
        c.counters().get("list", "widgets.test.hoist.dev"),
        4 + 1,
        "4 pages of 7, plus the one list server_state made"
    );

    api.patch(
        "w001",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 100}})),
    )
    .await
    .expect("patch");
    api.delete("w002", &Default::default())
        .await
        .expect("delete");
    create_widgets(&Api::namespaced(c.client().expect("client"), "default"), 0).await;
    api.create(&PostParams::default(), &widget("late", 1))
        .await
        .expect("create");
    converge(&store, &mut stream, &server_state(&api).await).await;
    let w1 = store
        .state()
        .into_iter()
        .find(|w| w.name_any() == "w001")
        .expect("w001");
    assert_eq!(w1.spec.size, 100);
}

#[tokio::test]
async fn reflector_with_streaming_lists_converges() {
    let (c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    create_widgets(&api, 10).await;
    let (store, stream) = reflect(api.clone(), watcher::Config::default().streaming_lists());
    let mut stream = Box::pin(stream);
    converge(&store, &mut stream, &server_state(&api).await).await;
    assert_eq!(
        c.counters().get("list", "widgets.test.hoist.dev"),
        1,
        "only server_state listed: the reflector streamed"
    );
    api.create(&PostParams::default(), &widget("more", 1))
        .await
        .expect("create");
    converge(&store, &mut stream, &server_state(&api).await).await;
}

#[tokio::test]
async fn every_list_page_carries_the_same_resource_version_even_with_writes_between() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..5 {
        let cm = configmap(&format!("c{i}"));
        api.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let first = api
        .list(&kube::api::ListParams::default().limit(2))
        .await
        .expect("page 1");
    let token = first.metadata.continue_.clone().expect("continue token");
    let cm = configmap("c9");
    api.create(&PostParams::default(), &cm)
        .await
        .expect("write between pages");
    let second = api
        .list(
            &kube::api::ListParams::default()
                .limit(2)
                .continue_token(&token),
        )
        .await
        .expect("page 2");
    let third_token = second.metadata.continue_.clone().expect("another page");
    let third = api
        .list(
            &kube::api::ListParams::default()
                .limit(2)
                .continue_token(&third_token),
        )
        .await
        .expect("page 3");
    assert_eq!(
        first.metadata.resource_version,
        second.metadata.resource_version
    );
    assert_eq!(
        first.metadata.resource_version,
        third.metadata.resource_version
    );
    let names: Vec<String> = [first, second, third]
        .iter()
        .flat_map(|p| p.items.iter().map(|c| c.name_any()))
        .collect();
    assert_eq!(
        names,
        ["c0", "c1", "c2", "c3", "c4"],
        "the pages are one consistent snapshot"
    );
}

#[tokio::test]
async fn watch_replays_from_a_resource_version_then_streams_live() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = configmap("a");
    let a = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create a");
    let from = a.resource_version().expect("rv");
    cm.metadata.name = Some("b".into());
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create b");

    let mut events = api
        .watch(&WatchParams::default(), &from)
        .await
        .expect("watch")
        .boxed();
    let first = next_change(&mut events).await;
    assert!(
        matches!(&first, WatchEvent::Added(o) if o.name_any() == "b"),
        "replay starts after {from}: {first:?}"
    );
    api.delete("a", &Default::default()).await.expect("delete");
    let second = next_change(&mut events).await;
    assert!(
        matches!(&second, WatchEvent::Deleted(o) if o.name_any() == "a"),
        "{second:?}"
    );
}

#[tokio::test]
async fn watch_from_a_compacted_version_gets_410_inside_the_stream() {
    let (c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = configmap("a");
    let a = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    cm.metadata.name = Some("b".into());
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    c.compact();
    let wp = WatchParams::default().timeout(10);
    let mut events = api
        .watch(&wp, &a.resource_version().expect("rv"))
        .await
        .expect("HTTP 200")
        .boxed();
    let event = next_change(&mut events).await;
    match event {
        WatchEvent::Error(e) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected an in-stream 410, got {other:?}"),
    }
}

#[tokio::test]
async fn history_older_than_the_window_is_compacted_and_a_resume_from_it_gets_410() {
    let window = std::time::Duration::from_millis(200);
    let opts = devcluster::Options {
        history_window: Some(window),
        ..Default::default()
    };
    let (_c, client) = start_with(opts).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = configmap("a");
    let a = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let from = a.resource_version().expect("rv");
    // A resume from `a` within the window replays what came after it.
    cm.metadata.name = Some("b".into());
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let mut fresh = api
        .watch(&WatchParams::default().timeout(10), &from)
        .await
        .expect("HTTP 200")
        .boxed();
    let replayed = next_change(&mut fresh).await;
    assert!(
        matches!(&replayed, WatchEvent::Added(o) if o.name_any() == "b"),
        "{replayed:?}"
    );
    // The rule under test is one of time: let the window pass, then write (history
    // is compacted as it grows).
    tokio::time::sleep(window + std::time::Duration::from_millis(100)).await;
    cm.metadata.name = Some("c".into());
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let mut stale = api
        .watch(&WatchParams::default().timeout(10), &from)
        .await
        .expect("HTTP 200")
        .boxed();
    match next_change(&mut stale).await {
        WatchEvent::Error(e) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected an in-stream 410 past the window, got {other:?}"),
    }
}

#[tokio::test]
async fn bookmarks_carry_kind_and_api_version_and_advance() {
    let opts = devcluster::Options {
        bookmark_interval: std::time::Duration::from_millis(50),
        ..Default::default()
    };
    let (_c, client) = start_with(opts).await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    let w = api
        .create(&PostParams::default(), &widget("a", 1))
        .await
        .expect("create");
    let mut events = api
        .watch(&WatchParams::default().timeout(20), "1")
        .await
        .expect("watch")
        .boxed();
    loop {
        match events.try_next().await.expect("event").expect("some") {
            WatchEvent::Bookmark(b) => {
                assert_eq!(
                    (b.types.kind.as_str(), b.types.api_version.as_str()),
                    ("Widget", "test.hoist.dev/v1")
                );
                let rv: u64 = b.metadata.resource_version.parse().expect("numeric");
                let created: u64 = w.resource_version().expect("rv").parse().expect("numeric");
                assert!(rv >= created);
                break;
            }
            WatchEvent::Added(_) | WatchEvent::Modified(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn label_selected_watch_turns_leaving_the_selection_into_deleted() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut cm = configmap("a");
    cm.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
    let a = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let wp = WatchParams::default().labels("tier=web");
    let mut events = api
        .watch(&wp, &a.resource_version().expect("rv"))
        .await
        .expect("watch")
        .boxed();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}})),
    )
    .await
    .expect("relabel");
    let left = next_change(&mut events).await;
    assert!(
        matches!(&left, WatchEvent::Deleted(o) if o.name_any() == "a"),
        "{left:?}"
    );
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}})),
    )
    .await
    .expect("relabel");
    let entered = next_change(&mut events).await;
    assert!(
        matches!(&entered, WatchEvent::Added(o) if o.name_any() == "a"),
        "{entered:?}"
    );
}

#[tokio::test]
async fn watch_ends_cleanly_at_timeout_seconds() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let rv = api
        .list(&Default::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let events = api
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .expect("watch");
    let all: Vec<_> = tokio::time::timeout(PATIENCE, events.collect::<Vec<_>>())
        .await
        .expect("the stream ends by itself");
    // A bookmark may fall inside the second (the cluster's bookmark ticker is shared and
    // runs on its own clock); anything else, or an error, would be a fault.
    assert!(
        all.iter().all(|e| matches!(e, Ok(WatchEvent::Bookmark(_)))),
        "{all:?}"
    );
}

#[tokio::test]
async fn field_selected_list_and_watch_see_one_object() {
    let (_c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for n in ["a", "b"] {
        let cm = configmap(n);
        api.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let list = api
        .list(&kube::api::ListParams::default().fields("metadata.name=b"))
        .await
        .expect("list");
    assert_eq!(
        list.items.iter().map(|c| c.name_any()).collect::<Vec<_>>(),
        ["b"]
    );
}

/// The next event that is not a BOOKMARK: the cluster's bookmark ticker runs on its own
/// clock, so a bookmark may arrive between any two changes, and clients skip them.
async fn next_change<K, S>(events: &mut S) -> WatchEvent<K>
where
    S: futures::Stream<Item = kube::Result<WatchEvent<K>>> + Unpin,
{
    loop {
        let event = tokio::time::timeout(PATIENCE, events.try_next())
            .await
            .expect("an event in time")
            .expect("event")
            .expect("some");
        if !matches!(event, WatchEvent::Bookmark(_)) {
            return event;
        }
    }
}
