//! Installing from a package's page in the browser: the server's reason for refusing
//! is shown and what was typed stays; a corrected install shows up live.

use fantoccini::Locator;
use hoist::types::Package;
use hoist_tests::Browser;
use kube::Api;

/// WebDriver's clear() fires no input event: erase as a user does.
fn backspaces(n: usize) -> String {
    "\u{e003}".repeat(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_page_installs_and_says_why_when_it_cannot() {
    let (cluster, client, _samples) = hoist_tests::cluster_with_samples().await;
    hoist::demo::seed::namespace(&client, "team-a")
        .await
        .expect("namespace");
    let backend = hoist_tests::serve(&client).await;

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{}/#/packages/hello-web", backend.url()))
        .await
        .expect("open the package page");
    browser
        .wait_text("#package-installed", |t| t == "not installed")
        .await;
    let install = || async {
        b.find(Locator::Css("#install-button"))
            .await
            .expect("button")
            .click()
            .await
            .expect("click");
    };

    // A namespace that does not exist (and is not the package's own): refused, and why.
    let namespace = b
        .find(Locator::Css("#install-namespace"))
        .await
        .expect("namespace field");
    assert_eq!(
        namespace.prop("value").await.expect("value").as_deref(),
        Some("hello-web"),
        "prefilled with the package's default namespace"
    );
    namespace
        .send_keys(&format!("{}nowhere", backspaces(9)))
        .await
        .expect("type");
    install().await;
    browser
        .wait_text("#install-result", |t| {
            t.contains("Not installed") && t.contains("does not exist")
        })
        .await;

    // Another namespace, and a value out of range: refused, the value's rule quoted.
    namespace
        .send_keys(&format!("{}team-a", backspaces(7)))
        .await
        .expect("type");
    let replicas = b
        .find(Locator::Css("#values tr[data-key=replicas] input"))
        .await
        .expect("replicas field");
    replicas.send_keys("99").await.expect("type");
    install().await;
    browser
        .wait_text("#install-result", |t| t.contains("from 1 to 10"))
        .await;
    let packages: Api<Package> = Api::all(client.clone());
    assert!(
        packages
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .is_empty(),
        "a refused install creates nothing"
    );
    assert_eq!(
        namespace.prop("value").await.expect("value").as_deref(),
        Some("team-a"),
        "what was typed stays"
    );

    // Corrected: installed, and the page hears of it from the stream.
    replicas
        .send_keys(&format!("{}3", backspaces(2)))
        .await
        .expect("type");
    install().await;
    browser
        .wait_text("#install-result", |t| {
            t.contains("requested as Package team-a/hello-web")
        })
        .await;
    browser
        .wait_text("#package-installed", |t| t == "team-a/hello-web")
        .await;
    let created = Api::<Package>::namespaced(client.clone(), "team-a")
        .get("hello-web")
        .await
        .expect("created");
    let replicas = created.spec.spec.values.get("replicas").expect("set");
    assert_eq!(replicas.value.as_deref(), Some("3"));

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
}
