//! Creations per name: what a soak checks "nothing was made twice" with. A create, an
//! apply that creates, and a create after a delete count; a failed create (409), an
//! update, an apply that changes and a dry run do not.

use crate::common;
use common::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

#[tokio::test]
async fn creations_count_each_time_a_name_comes_into_existence_and_nothing_else() {
    let (cluster, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &configmap("made"))
        .await
        .expect("create");
    let again = cms.create(&PostParams::default(), &configmap("made")).await;
    assert!(again.is_err(), "a second create of a name is refused");
    let ssa = PatchParams::apply("soak").force();
    cms.patch("made", &ssa, &Patch::Apply(configmap("made")))
        .await
        .expect("apply over it");
    cms.patch("applied", &ssa, &Patch::Apply(configmap("applied")))
        .await
        .expect("apply that creates");
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    cms.create(&dry, &configmap("dry")).await.expect("dry run");
    cms.delete("made", &DeleteParams::default())
        .await
        .expect("delete");
    cms.create(&PostParams::default(), &configmap("made"))
        .await
        .expect("made again");

    let creations = cluster.creations();
    assert_eq!(
        creations.get("configmaps default/made"),
        Some(&2),
        "{creations:?}"
    );
    assert_eq!(
        creations.get("configmaps default/applied"),
        Some(&1),
        "{creations:?}"
    );
    assert_eq!(
        creations.get("configmaps default/dry"),
        None,
        "{creations:?}"
    );
    let head = "GET /devcluster/counters/creations HTTP/1.1\r\nConnection: close\r\n";
    let answer = String::from_utf8_lossy(&raw_exchange(&cluster, head, b"").await).to_string();
    assert!(
        answer.contains("\"configmaps default/made\":2"),
        "the admin endpoint serves the same table: {answer}"
    );
}
