//! An install's own page in the browser, with the operator running: Preview before
//! Install (nothing written), the page shows the operator's conditions, objects and
//! Events live; Suspend/Resume; an upgrade previewed; a failed install listed under
//! "Needs attention" and retried from there; Uninstall only after the name is typed.

use fantoccini::Locator;
use hoist::types::Package;
use hoist_tests::Browser;
use kube::Api;
use kube::api::{Patch, PatchParams};

async fn click(b: &fantoccini::Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css}"))
        .click()
        .await
        .expect("click");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_is_previewed_followed_acted_on_and_uninstalled_from_its_page() {
    let (_cluster, client, _samples) = hoist_tests::cluster_with_samples().await;
    for ns in ["team-a", "hoist-system"] {
        hoist::demo::seed::namespace(&client, ns)
            .await
            .expect("namespace");
    }
    let backend = hoist_tests::serve(&client).await;
    let repositories =
        hoist::reflector::watch_repositories(&client, Default::default(), "hoist-system");
    repositories.synced().await;
    let _operator = hoist::operator::start(
        client.clone(),
        repositories.clientset.clone(),
        Default::default(),
    )
    .await
    .expect("operator");
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{}/#/packages/hello-web", backend.url()))
        .await
        .expect("open the package page");
    browser.wait_count("#install-namespace", 1).await;
    let namespace = b
        .find(Locator::Css("#install-namespace"))
        .await
        .expect("namespace field");
    namespace
        .send_keys(&format!("{}team-a", "\u{e003}".repeat(9)))
        .await
        .expect("type");

    // Preview: the plan from the API server's dry run; nothing is written.
    click(b, "#preview-button").await;
    browser
        .wait_text("#plan-summary", |t| t.starts_with("2 to create"))
        .await;
    browser.wait_count("#plan li.step.create", 2).await;
    assert!(
        packages.get_opt("hello-web").await.expect("get").is_none(),
        "a preview writes nothing"
    );

    click(b, "#install-button").await;
    browser
        .wait_text("#install-result", |t| t.contains("requested"))
        .await;

    // Its page: the operator's verdict, objects and Events, kept live.
    b.goto(&format!(
        "{}/#/installs/hello-web?namespace=team-a",
        backend.url()
    ))
    .await
    .expect("open the install page");
    browser.wait_text("#install-state", |t| t == "Ready").await;
    browser.wait_count("#objects tbody tr", 2).await;
    browser
        .wait_text("#conditions tr[data-type='Ready']", |t| t.contains("True"))
        .await;
    browser
        .wait_text("#events", |t| t.contains("InstallationSucceeded"))
        .await;
    browser.screenshot_for_docs("install-page.png").await;

    // Suspend, then Resume.
    click(b, "#suspend").await;
    browser
        .wait_text("#act-result", |t| t.contains("suspended"))
        .await;
    browser.wait_count("#resume", 1).await;
    assert!(
        packages
            .get("hello-web")
            .await
            .expect("get")
            .spec
            .spec
            .suspend
    );
    click(b, "#resume").await;
    browser.wait_count("#suspend", 1).await;

    // An upgrade (here a rollback) previewed: the plan shows; the spec stays.
    let version = packages
        .get("hello-web")
        .await
        .expect("get")
        .spec
        .spec
        .package_info
        .version;
    b.find(Locator::Css("#upgrade-version option[value='v1.0.0+1']"))
        .await
        .expect("an older version offered")
        .click()
        .await
        .expect("pick");
    click(b, "#preview-upgrade").await;
    browser
        .wait_text("#plan-summary", |t| t.contains("to change"))
        .await;
    assert_eq!(
        packages
            .get("hello-web")
            .await
            .expect("get")
            .spec
            .spec
            .package_info
            .version,
        version
    );

    // A failed install appears under "Needs attention"; Retry from there.
    packages
        .patch(
            "hello-web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"values": {"replicas": {"value": "50"}}}})),
        )
        .await
        .expect("an invalid value");
    b.goto(&format!("{}/#/", backend.url()))
        .await
        .expect("installed list");
    browser
        .wait_count("#needs-attention li[data-name='hello-web']", 1)
        .await;
    click(b, "#needs-attention li[data-name='hello-web'] button.retry").await;
    browser
        .wait_text("#attention-result", |t| t.contains("retry requested"))
        .await;

    // Uninstall: refused until the name is typed.
    b.goto(&format!(
        "{}/#/installs/hello-web?namespace=team-a",
        backend.url()
    ))
    .await
    .expect("open the install page");
    browser.wait_count("#uninstall-button", 1).await;
    let button = b
        .find(Locator::Css("#uninstall-button"))
        .await
        .expect("button");
    assert!(
        button.attr("disabled").await.expect("attr").is_some(),
        "Uninstall waits for the name"
    );
    b.find(Locator::Css("#uninstall-confirm"))
        .await
        .expect("confirm field")
        .send_keys("hello-web")
        .await
        .expect("type");
    click(b, "#uninstall-button").await;
    let gone = kube::runtime::wait::await_condition(
        packages.clone(),
        "hello-web",
        |p: Option<&Package>| p.is_none(),
    );
    tokio::time::timeout(hoist_tests::PATIENCE, gone)
        .await
        .expect("uninstalled in time")
        .expect("watch");
    browser.close().await;
}
