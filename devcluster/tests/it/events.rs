//! Events: kube-rs' `events::Recorder` publishes `events.k8s.io/v1` Events, and the same
//! Events are read as `v1` (kubectl get events) and the other way round.

use crate::common;
use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, ObjectReference};
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::PostParams;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

#[tokio::test]
async fn a_recorded_event_is_read_in_both_shapes_and_a_repeat_counts_its_series() {
    let (_c, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = cms
        .create(&PostParams::default(), &configmap("subject"))
        .await
        .expect("create");
    let reference: ObjectReference = cm.object_ref(&());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "hoist-operator".into(),
            instance: Some("hoist-operator-0".into()),
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Installed".into(),
        note: Some("every object applied".into()),
        action: "Install".into(),
        secondary: None,
    };
    recorder
        .publish(&event, &reference)
        .await
        .expect("published");

    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let listed = core.list(&Default::default()).await.expect("list v1");
    let e = listed.items.first().expect("one event");
    assert_eq!(e.involved_object.name.as_deref(), Some("subject"));
    assert_eq!(e.message.as_deref(), Some("every object applied"));
    assert_eq!(e.reason.as_deref(), Some("Installed"));
    assert_eq!(e.reporting_component.as_deref(), Some("hoist-operator"));

    // The same event again: the recorder patches its series through events.k8s.io.
    recorder
        .publish(&event, &reference)
        .await
        .expect("published again");
    let new: Api<NewEvent> = Api::namespaced(client.clone(), "default");
    let listed = new
        .list(&Default::default())
        .await
        .expect("list events.k8s.io");
    assert_eq!(listed.items.len(), 1, "one event, counted");
    let e = &listed.items[0];
    assert_eq!(e.series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(
        e.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("subject")
    );
    assert_eq!(e.note.as_deref(), Some("every object applied"));
    let again = core.get(&e.name_any()).await.expect("get v1");
    assert_eq!(again.series.and_then(|s| s.count), Some(2));
}

#[tokio::test]
async fn a_core_event_is_read_as_an_events_k8s_io_event() {
    let (_c, client) = start().await;
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let written: CoreEvent = serde_json::from_value(json!({
        "metadata": {"name": "old-style"},
        "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": "default"},
        "reason": "Synced", "message": "written the old way", "type": "Normal",
        "source": {"component": "legacy"}, "count": 3,
    }))
    .expect("event");
    core.create(&PostParams::default(), &written)
        .await
        .expect("create");
    let new: Api<NewEvent> = Api::namespaced(client, "default");
    let e = new.get("old-style").await.expect("get events.k8s.io");
    assert_eq!(e.note.as_deref(), Some("written the old way"));
    assert_eq!(e.regarding.and_then(|r| r.name).as_deref(), Some("x"));
    assert_eq!(e.deprecated_count, Some(3));
    assert_eq!(
        e.deprecated_source.and_then(|s| s.component).as_deref(),
        Some("legacy")
    );
}
