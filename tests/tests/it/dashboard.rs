//! The dashboard end to end: devcluster, the backend, the built web app, headless
//! Chromium. One scenario, in the order a user lives it.

use devcluster::{DevCluster, Fault, FaultAction};
use fantoccini::Locator;
use hoist::serve::ServeOptions;
use hoist::types::{ClusterPackage, PackageInfoTemplate, PackageSpec};
use hoist_tests::{Browser, dist};
use kube::Api;
use kube::api::PostParams;

fn options(listen: std::net::SocketAddr) -> ServeOptions {
    ServeOptions {
        listen,
        dist: dist(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_syncing_fills_in_follows_changes_and_recovers_from_a_backend_restart() {
    let cluster = DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    let seeded = hoist::demo::seed::seed_if_empty(&client, 9)
        .await
        .expect("seed");
    assert_eq!(seeded, 9);
    let cluster_count = hoist::demo::seed::cluster_scoped(9);
    // A repository nobody answers for: the page must say so, not hide it.
    let repos: Api<hoist::types::PackageRepository> = Api::all(client.clone());
    let spec = hoist::types::PackageRepositorySpec {
        url: "http://127.0.0.1:9".into(),
        auth: None,
    };
    repos
        .create(
            &PostParams::default(),
            &hoist::types::PackageRepository::new("samples", spec),
        )
        .await
        .expect("repository");

    // The Namespace list fails until we let it through: the backend stays SYNCING.
    cluster.faults().add(
        Fault::new(FaultAction::Error {
            code: 503,
            retry_after: None,
        })
        .verb("list")
        .path("/api/v1/namespaces"),
    );
    let backend = hoist::serve::start(
        client.clone(),
        options("127.0.0.1:0".parse().expect("addr")),
    )
    .await
    .expect("backend");
    let addr = backend.addr;

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&backend.url()).await.expect("open the page");
    // The first paint says syncing, with per-kind progress, and never "no packages".
    browser.wait_text("#phase", |t| t == "SYNCING").await;
    b.find(Locator::Css("#loading"))
        .await
        .expect("a loading state");
    // Four package kinds and the fleet's two have synced; Namespace has not.
    browser.wait_count("li.kind[data-synced=true]", 6).await;
    let pending = b
        .find(Locator::Css("li.kind[data-kind=Namespace]"))
        .await
        .expect("the Namespace row");
    assert_eq!(
        pending.attr("data-synced").await.expect("attr").as_deref(),
        Some("false")
    );
    assert!(
        b.find_all(Locator::Css("#cluster-packages-empty"))
            .await
            .expect("query")
            .is_empty(),
        "no 'no packages' before READY"
    );
    browser.screenshot_for_docs("syncing.png").await;
    // Mark the page, so we can tell it never reloads.
    b.execute("window.__hoistMarker = 42;", vec![])
        .await
        .expect("mark");

    cluster.faults().clear();
    browser.wait_text("#phase", |t| t == "READY").await;
    browser
        .wait_count("#cluster-packages tbody tr", cluster_count)
        .await;
    browser.screenshot_for_docs("ready.png").await;

    // A package created through the API appears without a reload.
    let api: Api<ClusterPackage> = Api::all(client.clone());
    let spec = PackageSpec {
        package_info: PackageInfoTemplate {
            name: "vault".into(),
            version: "v1.18.0+1".into(),
            repository_name: None,
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &ClusterPackage::new("vault", spec))
        .await
        .expect("create");
    browser
        .wait_count("#cluster-packages tbody tr[data-name=vault]", 1)
        .await;
    browser
        .wait_count("#cluster-packages tbody tr", cluster_count + 1)
        .await;

    // The backend goes away: the page counts down to its next try.
    backend.shutdown().await;
    browser
        .wait_text("#retry-countdown", |t| t.ends_with(" s."))
        .await;
    browser.screenshot_for_docs("disconnected.png").await;
    // "Retry now" tries at once: with the backend still down, the attempt count goes up.
    let attempt = |t: &str| {
        t.rsplit("attempt ")
            .next()
            .and_then(|n| n.trim_end_matches(')').parse::<u32>().ok())
            .unwrap_or(0)
    };
    let before = attempt(
        &browser
            .wait_text("#retry-reason", |t| attempt(t) >= 1)
            .await,
    );
    b.find(Locator::Css("#retry-now"))
        .await
        .expect("button")
        .click()
        .await
        .expect("retry now");
    browser
        .wait_text("#retry-reason", |t| attempt(t) > before)
        .await;
    // A package deleted while the backend is down must vanish after the restart.
    api.delete("vault", &Default::default())
        .await
        .expect("delete");

    let backend = hoist::serve::start(client.clone(), options(addr))
        .await
        .expect("backend restarts on the same port");
    // Cut the countdown short; the page may also have reconnected by itself already.
    if let Ok(button) = b.find(Locator::Css("#retry-now")).await {
        let _ = button.click().await;
    }
    browser.wait_count("#retry-banner", 0).await;
    browser
        .wait_count("#cluster-packages tbody tr[data-name=vault]", 0)
        .await;
    let rows = browser
        .wait_count("#cluster-packages tbody tr", cluster_count)
        .await;
    let mut names = Vec::new();
    for r in rows {
        names.push(r.attr("data-name").await.expect("attr").unwrap_or_default());
    }
    let unique: std::collections::BTreeSet<_> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "no duplicates after the restart: {names:?}"
    );

    // Refresh reopens this page's own stream for a fresh snapshot (one more snapshot
    // sent, still one stream); the page stays correct.
    assert_eq!(backend.hub.subscribers(), 1, "one stream for the page");
    let before = backend.metrics.snapshots_sent();
    b.find(Locator::Css("#refresh"))
        .await
        .expect("refresh")
        .click()
        .await
        .expect("click");
    tokio::time::timeout(hoist_tests::PATIENCE, async {
        while backend.metrics.snapshots_sent() == before || backend.hub.subscribers() != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("Refresh reopened the page's stream with a fresh snapshot");
    assert_eq!(backend.metrics.snapshots_sent(), before + 1);
    browser
        .wait_count("#cluster-packages tbody tr", cluster_count)
        .await;
    let marker = b
        .execute("return window.__hoistMarker;", vec![])
        .await
        .expect("read mark");
    assert_eq!(marker, serde_json::json!(42), "the page never reloaded");

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
}
