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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_from_a_secret_is_picked_in_the_form_and_stored_as_value_from() {
    let (cluster, client, _samples) = hoist_tests::cluster_with_samples().await;
    let backend = hoist_tests::serve(&client).await;
    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{}/#/packages/hello-web", backend.url()))
        .await
        .expect("open the package page");
    browser
        .wait_text("#package-installed", |t| t == "not installed")
        .await;
    let row = "#values tr[data-key=message]";
    b.find(Locator::Css(&format!("{row} select.value-source")))
        .await
        .expect("the value's source")
        .select_by_value("secret")
        .await
        .expect("from Secret");
    b.find(Locator::Css(&format!("{row} .ref-name")))
        .await
        .expect("the Secret's name")
        .send_keys("greeting")
        .await
        .expect("type");
    // No key yet: refused by the install's rules, in words.
    let install = || async {
        b.find(Locator::Css("#install-button"))
            .await
            .expect("button")
            .click()
            .await
            .expect("click");
    };
    install().await;
    browser
        .wait_text("#install-result", |t| {
            t.contains("Not installed") && t.contains("needs its name and key")
        })
        .await;
    b.find(Locator::Css(&format!("{row} .ref-item")))
        .await
        .expect("the Secret's key")
        .send_keys("text")
        .await
        .expect("type");
    install().await;
    browser
        .wait_text("#install-result", |t| {
            t.contains("the operator installs it")
        })
        .await;
    let p = Api::<Package>::namespaced(client.clone(), "hello-web")
        .get("hello-web")
        .await
        .expect("created");
    let from = p
        .spec
        .values
        .get("message")
        .and_then(|v| v.value_from.clone())
        .and_then(|f| f.secret_ref)
        .expect("a Secret reference");
    assert_eq!(
        (from.name.as_str(), from.key.as_str()),
        ("greeting", "text")
    );
    assert_eq!(
        from.namespace, None,
        "the Package's own namespace, implicit"
    );

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
}
