//! The clientset follows the PackageRepository watch: the seed's stale-URL scenario,
//! zero API reads per lookup, one broken repository never blocking another.

use crate::common;
use common::repo_server::{Reply, RepoServer};
use common::*;
use hoist::repo::fetch::Freshness;
use hoist::types::{PackageRepository, PackageRepositorySpec};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

const INDEX: &str = "packages:\n- name: cert-manager\n";

fn repository(name: &str, url: &str) -> PackageRepository {
    let mut r = PackageRepository::new(
        name,
        PackageRepositorySpec {
            url: url.into(),
            auth: None,
        },
    );
    r.set_default();
    r
}

/// Waits until the clientset's client for `name` satisfies `pred` (driven by its change
/// notifications, not by a clock).
async fn until(
    running: &hoist::serve::Running,
    name: &str,
    pred: impl Fn(Option<&hoist::repo::clientset::RepoClient>) -> bool,
) {
    let mut changes = running.repositories.subscribe();
    tokio::time::timeout(PATIENCE, async {
        loop {
            if pred(running.repositories.get(name).as_deref()) {
                return;
            }
            changes.changed().await.expect("clientset alive");
        }
    })
    .await
    .expect("the clientset followed the watch");
}

#[tokio::test]
async fn after_a_url_change_listing_and_fetching_both_use_the_new_url_at_once() {
    let (old, new) = (RepoServer::start().await, RepoServer::start().await);
    old.set("/index.yaml", Reply::Body(INDEX.into()));
    new.set("/index.yaml", Reply::Body(INDEX.into()));
    let (c, client) = cluster().await;
    let running = backend(&client, options()).await;
    let repos: Api<PackageRepository> = Api::all(client.clone());
    repos
        .create(&PostParams::default(), &repository("main", &old.base))
        .await
        .expect("repo add");
    until(&running, "main", |c| c.is_some_and(|c| c.url() == old.base)).await;
    let main = running.repositories.get("main").expect("client");
    main.index(Freshness::Cached)
        .await
        .expect("index from the old URL");
    assert_eq!(old.hits("/index.yaml"), 1);

    // `repo update main --url NEW`, then at once a listing and a fetch.
    repos
        .patch(
            "main",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"url": new.base}})),
        )
        .await
        .expect("repo update");
    until(&running, "main", |c| c.is_some_and(|c| c.url() == new.base)).await;
    c.counters().reset();
    let listed: Vec<String> = running
        .repositories
        .list()
        .iter()
        .map(|r| r.url().to_string())
        .collect();
    assert_eq!(
        listed,
        std::slice::from_ref(&new.base),
        "the listing shows the new URL"
    );
    let fetched = running
        .repositories
        .get("main")
        .expect("client")
        .index(Freshness::Cached)
        .await
        .expect("index");
    // The live catalogue may have fetched it first (the watch saw the change before
    // this test did); either way it came from the new URL, once.
    assert_ne!(
        fetched.source,
        hoist::repo::fetch::Source::Disk,
        "nothing cached for the old URL is served"
    );
    assert_eq!(
        new.hits("/index.yaml"),
        1,
        "the fetch went to the new URL, once"
    );
    assert_eq!(old.total(), 1, "the old server sees no further requests");
    assert_eq!(
        c.counters()
            .total_for("packagerepositories.packages.hoist.dev"),
        0,
        "no API reads per lookup"
    );

    repos
        .delete("main", &Default::default())
        .await
        .expect("repo remove");
    until(&running, "main", |c| c.is_none()).await;
}

#[tokio::test]
async fn one_broken_repository_leaves_the_others_working() {
    let good = RepoServer::start().await;
    good.set("/index.yaml", Reply::Body(INDEX.into()));
    let (_c, client) = cluster().await;
    let running = backend(&client, options()).await;
    let repos: Api<PackageRepository> = Api::all(client.clone());
    let mut broken = repository("broken", "not a url");
    broken.metadata.annotations = None;
    repos
        .create(&PostParams::default(), &broken)
        .await
        .expect("added even though unusable");
    repos
        .create(&PostParams::default(), &repository("good", &good.base))
        .await
        .expect("good");
    until(&running, "good", |c| c.is_some()).await;
    until(&running, "broken", |c| c.is_some()).await;
    let err = running
        .repositories
        .get("broken")
        .expect("client")
        .index(Freshness::Cached)
        .await
        .expect_err("unusable");
    assert_eq!(err.metric_label(), "invalid_url");
    assert!(err.to_string().contains("not a url"), "{err}");
    let ok = running
        .repositories
        .get("good")
        .expect("client")
        .index(Freshness::Cached)
        .await
        .expect("the good one works");
    assert_eq!(ok.value.packages.len(), 1);
    assert_eq!(
        running
            .repositories
            .default_repository()
            .map(|r| r.name.clone()),
        Some("good".into())
    );
}

#[tokio::test]
async fn serve_lists_each_repository_with_its_state() {
    let good = RepoServer::start().await;
    good.set("/index.yaml", Reply::Body(INDEX.into()));
    let (_c, client) = cluster().await;
    let running = backend(&client, options()).await;
    let repos: Api<PackageRepository> = Api::all(client.clone());
    repos
        .create(&PostParams::default(), &repository("main", &good.base))
        .await
        .expect("good");
    let mut down = repository("down", "http://127.0.0.1:9");
    down.metadata.annotations = None;
    repos
        .create(&PostParams::default(), &down)
        .await
        .expect("down");
    until(&running, "down", |c| c.is_some()).await;
    until(&running, "main", |c| c.is_some()).await;
    running.ready().await;
    let listed = grpc(&running)
        .await
        .list_repositories(hoist_proto::v1::ListRepositoriesRequest {})
        .await
        .expect("listed")
        .into_inner()
        .repositories;
    let names: Vec<&str> = listed.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["down", "main"]);
    assert!(listed[0].error.contains("cannot reach"), "{:?}", listed[0]);
    assert_eq!(
        (
            listed[1].packages,
            listed[1].error.as_str(),
            listed[1].is_default
        ),
        (1, "", true)
    );
}
