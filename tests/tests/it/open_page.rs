//! Open from the install page (issue 22, item 2): the dashboard, serving the user's own
//! machine, forwards a port of its own to a ready pod behind hello-web's Service, and
//! the page the browser then loads is what the pod answers (devcluster forwards
//! hello-web's image to the demo's stand-in page).

use fantoccini::Locator;
use hoist::types::Package;
use hoist_tests::Browser;
use kube::Api;
use kube::runtime::wait::await_condition;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_on_the_install_page_loads_the_packages_page_through_a_port_forward() {
    let page = hoist::demo::stand_in::StandIn::start()
        .await
        .expect("stand-in page");
    let setup = hoist_tests::with_operator(devcluster::Options {
        forwards: vec![page.forward()],
        ..Default::default()
    })
    .await;
    let (client, backend) = (&setup.client, &setup.backend);
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    hoist_tests::install_hello_web(&packages, "web", "v1.1.0+2").await;
    let ready = await_condition(packages.clone(), "web", |p: Option<&Package>| {
        p.and_then(|p| p.status.as_ref()).is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    });
    tokio::time::timeout(Duration::from_secs(60), ready)
        .await
        .expect("Ready in time")
        .expect("watch");

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!(
        "{}/#/installs/web?namespace=team-a",
        backend.url()
    ))
    .await
    .expect("open the install page");
    let entry = "#entrypoints li[data-entrypoint='hello-web']";
    browser
        .wait_text(entry, |t| {
            t.contains("Service team-a/web-hello-web port 80")
        })
        .await;
    b.find(Locator::Css(&format!("{entry} .open-entrypoint")))
        .await
        .expect("Open button")
        .click()
        .await
        .expect("click");
    let link = format!("{entry} .entrypoint-url");
    let url = browser
        .wait_text(&link, |t| t.starts_with("http://localhost:"))
        .await;
    assert_ne!(
        url.trim_end_matches('/'),
        backend.url().replace("127.0.0.1", "localhost"),
        "another origin than the dashboard's"
    );
    let rel = b
        .find(Locator::Css(&link))
        .await
        .expect("link")
        .attr("rel")
        .await
        .expect("rel");
    assert_eq!(rel.as_deref(), Some("noopener noreferrer"));

    b.goto(&url).await.expect("open the forwarded page");
    browser
        .wait_text("h1", |t| t.contains(hoist::demo::stand_in::TITLE))
        .await;
    browser.close().await;
}
