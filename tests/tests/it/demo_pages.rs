//! The demo as a newcomer first sees it, in the browser: `hoist demo`'s own start
//! (devcluster, the sample repository, the seeded installs, the operator, two member
//! clusters and the fleet controller, the dashboard), then its Installed page with the
//! operator's verdicts, an install's page with its objects, and the Clusters page with
//! the members billed. `cargo xtask screenshots` runs the browser tests with
//! `HOIST_UPDATE_SCREENSHOTS=1`, so the pictures in the README are of these pages.

use fantoccini::Locator;
use hoist::demo::{DemoOptions, start};
use hoist_tests::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_the_operators_verdicts_an_installs_objects_and_the_billed_fleet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = start(DemoOptions {
        data_dir: dir.path().to_path_buf(),
        serve: hoist::serve::ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            dist: hoist_tests::dist(),
            ..Default::default()
        },
        api_latency: None,
        // What `hoist demo` seeds by default.
        seed_packages: 12,
        repo_disk_cache: false,
    })
    .await
    .expect("the demo starts");
    let browser = Browser::start().await;
    let b = &browser.client;

    // Installed: each state is the operator's verdict, the failure a real one (the
    // oversized install asks for more replicas than hello-web allows).
    b.goto(&demo.backend.url()).await.expect("open the page");
    browser.wait_text("#phase", |t| t == "READY").await;
    let row = |table: &str, name: &str| format!("#{table} tr[data-name={name}] .state");
    browser
        .wait_text(&row("namespaced-packages", "hello-web"), |t| t == "Ready")
        .await;
    browser
        .wait_text(&row("cluster-packages", "metrics-agent"), |t| t == "Ready")
        .await;
    browser
        .wait_text(&row("namespaced-packages", "hello-web-oversized"), |t| {
            t == "Failed"
        })
        .await;
    browser.screenshot_for_docs("demo-installed.png").await;

    // An install's page: the operator's conditions and what it applied.
    let namespace = b
        .find(Locator::Css("#namespaced-packages tr[data-name=hello-web]"))
        .await
        .expect("the hello-web row")
        .attr("data-namespace")
        .await
        .expect("attribute")
        .expect("a namespace");
    b.goto(&format!(
        "{}/#/installs/hello-web?namespace={namespace}",
        demo.backend.url()
    ))
    .await
    .expect("open the install page");
    browser.wait_text("#install-state", |t| t == "Ready").await;
    browser
        .wait_text("#objects tbody", |t| t.contains("Deployment"))
        .await;
    browser
        .wait_text("#conditions tr[data-type='Ready']", |t| t.contains("True"))
        .await;
    browser.screenshot_for_docs("demo-install-page.png").await;

    // The fleet: both members identified and billed by the fleet controller's probes.
    b.goto(&format!("{}/#/clusters", demo.backend.url()))
        .await
        .expect("open the Clusters page");
    browser.wait_text("#billed-now", |t| t == "2").await;
    for member in ["edge-a", "edge-b"] {
        browser
            .wait_count(
                &format!("#clusters tr[data-name={member}][data-state=Ready]"),
                1,
            )
            .await;
    }
    browser.screenshot_for_docs("demo-clusters.png").await;

    browser.close().await;
    demo.shutdown().await;
}
