//! Every injected fault: a kube-rs reflector keeps going and ends equal to the server.
//! Each test also checks that its fault really fired.

use crate::common;
use common::*;
use devcluster::{DevCluster, Fault, FaultAction, WatchEnding};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

/// Creates widgets, adds `fault`, runs a reflector through a round of changes, and
/// checks that it converges before and after them.
async fn reflector_survives(fault: Fault, cfg: watcher::Config) -> DevCluster {
    let (c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    for i in 0..5 {
        api.create(&PostParams::default(), &widget(&format!("w{i}"), i))
            .await
            .expect("create");
    }
    c.faults().add(fault);
    let (store, stream) = reflect(api.clone(), cfg);
    let mut stream = Box::pin(stream);
    converge(&store, &mut stream, &stored_widgets(&c)).await;
    for i in 1..5 {
        api.patch(
            &format!("w{i}"),
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 100 + i}})),
        )
        .await
        .expect("patch");
    }
    api.delete("w0", &Default::default()).await.expect("delete");
    api.create(&PostParams::default(), &widget("new", 9))
        .await
        .expect("create");
    converge(&store, &mut stream, &stored_widgets(&c)).await;
    c
}

fn fired(c: &DevCluster) {
    assert!(
        c.faults().list().is_empty(),
        "the fault was used up: {:?}",
        c.faults().list()
    );
}

const LIST: &str = "widgets.test.hoist.dev";

#[tokio::test]
async fn reflector_survives_list_latency() {
    let c = reflector_survives(
        Fault::new(FaultAction::Latency { millis: 300 })
            .verb("list")
            .times(1),
        Default::default(),
    )
    .await;
    fired(&c);
}

#[tokio::test]
async fn reflector_survives_429_with_retry_after() {
    let fault = Fault::new(FaultAction::Error {
        code: 429,
        retry_after: Some(1),
    })
    .verb("list")
    .times(2);
    let c = reflector_survives(fault, Default::default()).await;
    fired(&c);
    assert!(c.counters().get("list", LIST) >= 3);
}

#[tokio::test]
async fn reflector_survives_500_and_503_on_list() {
    for code in [500, 503] {
        let c = reflector_survives(
            Fault::new(FaultAction::Error {
                code,
                retry_after: None,
            })
            .verb("list")
            .times(2),
            Default::default(),
        )
        .await;
        fired(&c);
    }
}

#[tokio::test]
async fn reflector_survives_403_and_500_at_watch_start() {
    for code in [403, 500] {
        let c = reflector_survives(
            Fault::new(FaultAction::Error {
                code,
                retry_after: None,
            })
            .verb("watch")
            .times(1),
            Default::default(),
        )
        .await;
        fired(&c);
    }
}

#[tokio::test]
async fn reflector_survives_every_kind_of_watch_ending() {
    for how in [
        WatchEnding::Clean,
        WatchEnding::Abrupt,
        WatchEnding::HalfLine,
    ] {
        let fault = Fault::new(FaultAction::WatchEnd {
            after_events: 2,
            how,
        })
        .verb("watch")
        .times(3);
        let c = reflector_survives(fault, Default::default()).await;
        assert!(
            c.counters().get("watch", LIST) >= 2,
            "{how:?}: the reflector watched again"
        );
    }
}

#[tokio::test]
async fn reflector_survives_a_silent_stall() {
    let fault = Fault::new(FaultAction::WatchStall {
        after_events: 1,
        millis: 500,
    })
    .verb("watch")
    .times(1);
    let c = reflector_survives(fault, Default::default()).await;
    fired(&c);
    assert!(c.counters().get("watch", LIST) >= 2);
}

#[tokio::test]
async fn reflector_survives_suppressed_bookmarks() {
    let cfg = watcher::Config::default();
    reflector_survives(
        Fault::new(FaultAction::SuppressBookmarks).verb("watch"),
        cfg,
    )
    .await;
}

#[tokio::test]
async fn streaming_reflector_survives_a_missing_initial_events_end() {
    // Without the bookmark the first stream never completes its initial list; once that
    // watch ends, the next one carries the bookmark.
    let (c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    for i in 0..3 {
        api.create(&PostParams::default(), &widget(&format!("w{i}"), i))
            .await
            .expect("create");
    }
    c.faults().add(
        Fault::new(FaultAction::SuppressInitialEventsEnd)
            .verb("watch")
            .times(1),
    );
    c.faults().add(
        Fault::new(FaultAction::WatchEnd {
            after_events: 3,
            how: WatchEnding::Clean,
        })
        .verb("watch")
        .times(1),
    );
    let (store, stream) = reflect(api.clone(), watcher::Config::default().streaming_lists());
    let mut stream = Box::pin(stream);
    converge(&store, &mut stream, &stored_widgets(&c)).await;
    fired(&c);
}

#[tokio::test]
async fn reflector_relists_after_compaction_expires_its_resource_version() {
    let (c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    for i in 0..3 {
        api.create(&PostParams::default(), &widget(&format!("w{i}"), i))
            .await
            .expect("create");
    }
    // Hold the first watch silent so the reflector cannot move past its list's RV.
    c.faults().add(
        Fault::new(FaultAction::WatchStall {
            after_events: 0,
            millis: 1000,
        })
        .verb("watch")
        .times(1),
    );
    let (store, stream) = reflect(api.clone(), Default::default());
    let mut stream = Box::pin(stream);
    converge(&store, &mut stream, &stored_widgets(&c)).await;
    let lists_before = c.counters().get("list", LIST);
    api.delete("w1", &Default::default()).await.expect("delete");
    api.create(&PostParams::default(), &widget("w9", 9))
        .await
        .expect("create");
    c.compact();
    converge(&store, &mut stream, &stored_widgets(&c)).await;
    assert!(
        c.counters().get("list", LIST) > lists_before,
        "410 made the reflector relist"
    );
}

#[tokio::test]
async fn injected_conflicts_fail_writes_and_change_nothing() {
    let (c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    c.faults()
        .add(Fault::new(FaultAction::Conflict).verb("create").times(1));
    let cm = configmap("a");
    let err = api
        .create(&PostParams::default(), &cm)
        .await
        .expect_err("conflict");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.is_conflict()),
        "{err:?}"
    );
    assert!(api.get_opt("a").await.expect("get").is_none());
    api.create(&PostParams::default(), &cm)
        .await
        .expect("the retry succeeds");
}

#[tokio::test]
async fn request_counters_count_by_verb_and_resource() {
    let (c, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    c.counters().reset();
    api.list(&Default::default()).await.expect("list");
    api.list(&Default::default()).await.expect("list");
    let _ = api.get_opt("nope").await.expect("get");
    assert_eq!(c.counters().get("list", "configmaps"), 2);
    assert_eq!(c.counters().get("get", "configmaps"), 1);
    assert_eq!(c.counters().total_for("configmaps"), 3);
}
