//! kube-rs runtime helpers against devcluster: `finalizer`, `await_condition`,
//! `Discovery::run()`, and a `Controller` reconciling through the finalizer.

use crate::common;
use common::*;
use futures::StreamExt;
use kube::api::{DeleteParams, PostParams};
use kube::discovery::{Discovery, Scope};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, ResourceExt};
use std::sync::Arc;
use tokio::sync::mpsc;

#[tokio::test]
async fn discovery_run_finds_core_builtin_and_custom_kinds() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let discovery = Discovery::new(client).run().await.expect("discovery runs");
    let (widget, caps) = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .find(|(ar, _)| ar.kind == "Widget")
        .expect("Widget is discovered");
    assert_eq!(
        (
            widget.group.as_str(),
            widget.version.as_str(),
            widget.plural.as_str()
        ),
        ("test.hoist.dev", "v1", "widgets")
    );
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(
        caps.subresources
            .iter()
            .any(|(sub, _)| sub.plural == "widgets/status" || sub.plural == "status")
    );
    let kinds: Vec<String> = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .map(|(ar, _)| ar.kind)
        .collect();
    for k in [
        "ConfigMap",
        "Namespace",
        "Lease",
        "Deployment",
        "CustomResourceDefinition",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

#[tokio::test]
async fn finalizer_helper_adds_its_finalizer_then_cleans_up_on_delete() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &widget("w", 1))
        .await
        .expect("create");

    let obj = Arc::new(api.get("w").await.expect("get"));
    finalizer(&api, "hoist.dev/cleanup", obj, |_| async {
        Ok::<_, Never>(Action::await_change())
    })
    .await
    .expect("adds finalizer");
    let with = api.get("w").await.expect("get");
    assert_eq!(with.finalizers(), ["hoist.dev/cleanup"]);

    let obj = Arc::new(with);
    let event = finalizer(&api, "hoist.dev/cleanup", obj, |e| async move {
        assert!(matches!(e, Event::Apply(_)));
        Ok::<_, Never>(Action::await_change())
    });
    event.await.expect("applies");

    api.delete("w", &DeleteParams::default())
        .await
        .expect("delete");
    let deleting = Arc::new(api.get("w").await.expect("held by finalizer"));
    let (tx, mut rx) = mpsc::channel(1);
    finalizer(&api, "hoist.dev/cleanup", deleting, |e| async move {
        let _ = tx.send(matches!(e, Event::Cleanup(_))).await;
        Ok::<_, Never>(Action::await_change())
    })
    .await
    .expect("cleans up");
    assert_eq!(rx.recv().await, Some(true), "cleanup ran");
    assert!(
        api.get_opt("w").await.expect("get").is_none(),
        "finalizer removed, object gone"
    );
}

#[tokio::test]
async fn controller_reconciles_every_object_through_the_finalizer() {
    let (_c, client) = start().await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    for i in 0..5 {
        api.create(&PostParams::default(), &widget(&format!("w{i}"), i))
            .await
            .expect("create");
    }
    let ctx = Arc::new(api.clone());
    let reconcile = |obj: Arc<Widget>, api: Arc<Api<Widget>>| async move {
        finalizer(&api, "hoist.dev/cleanup", obj, |_| async {
            Ok::<_, Never>(Action::await_change())
        })
        .await
    };
    let error_policy = |_: Arc<Widget>,
                        _: &kube::runtime::finalizer::Error<Never>,
                        _: Arc<Api<Widget>>| Action::await_change();
    let mut results = Box::pin(Controller::new(api.clone(), Default::default()).run(
        reconcile,
        error_policy,
        ctx,
    ));
    let outcome = tokio::time::timeout(PATIENCE, async {
        loop {
            let all = api.list(&Default::default()).await.expect("list");
            if all
                .items
                .iter()
                .all(|w| w.finalizers() == ["hoist.dev/cleanup"])
            {
                return;
            }
            if results.next().await.is_none() {
                panic!("controller stopped");
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "every widget got the finalizer");
}
