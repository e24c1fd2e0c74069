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

async fn with_operator() -> hoist_tests::WithOperator {
    hoist_tests::with_operator(Default::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_is_previewed_followed_acted_on_and_uninstalled_from_its_page() {
    let setup = with_operator().await;
    let (client, backend) = (&setup.client, &setup.backend);
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

/// Types `text` into the field `css`, replacing what it held.
async fn type_into(b: &fantoccini::Client, css: &str, text: &str) {
    let field = b
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css}"));
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_is_previewed_refused_with_the_reason_and_saved_from_the_install_page() {
    let setup = with_operator().await;
    let (client, backend) = (&setup.client, &setup.backend);
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), "team-a");
    packages
        .create(
            &Default::default(),
            &Package::new(
                "hello-web",
                hoist::types::NamespacedPackageSpec::from(hoist::types::PackageSpec {
                    package_info: hoist::types::PackageInfoTemplate {
                        name: "hello-web".into(),
                        version: "v1.1.0+2".into(),
                        repository_name: None,
                    },
                    ..Default::default()
                }),
            ),
        )
        .await
        .expect("installed");

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!(
        "{}/#/installs/hello-web?namespace=team-a",
        backend.url()
    ))
    .await
    .expect("open the install page");
    browser.wait_text("#install-state", |t| t == "Ready").await;

    // The installed version's definitions: a value chosen by name, described beside a
    // number input.
    browser
        .wait_count("#configure-key option[value=replicas]", 1)
        .await;
    b.find(Locator::Css("#configure-key"))
        .await
        .expect("the value's name")
        .select_by_value("replicas")
        .await
        .expect("replicas");
    browser
        .wait_text("#configure-type", |t| t == "number")
        .await;
    browser.wait_text("#configure-default", |t| t == "1").await;
    browser
        .wait_text("#configure-current", |t| t.contains("not set"))
        .await;
    let input = b
        .find(Locator::Css("#configure-value"))
        .await
        .expect("the value");
    assert_eq!(
        input.attr("type").await.expect("type").as_deref(),
        Some("number")
    );

    // Preview: the Deployment would change; nothing is written.
    type_into(b, "#configure-value", "3").await;
    click(b, "#preview-configure").await;
    browser
        .wait_text("#plan-summary", |t| t.contains("1 to change"))
        .await;
    let values = |p: &Package| {
        p.spec
            .spec
            .values
            .get("replicas")
            .and_then(|v| v.value.clone())
    };
    assert_eq!(values(&packages.get("hello-web").await.expect("get")), None);

    // A value out of range: refused with the package's reason; nothing written.
    type_into(b, "#configure-value", "99").await;
    click(b, "#configure-button").await;
    browser
        .wait_text("#configure-result", |t| {
            t.starts_with("Not configured") && t.contains("replicas")
        })
        .await;
    assert_eq!(values(&packages.get("hello-web").await.expect("get")), None);

    // Saved: the install's value, then the operator rolls the Deployment.
    type_into(b, "#configure-value", "3").await;
    click(b, "#configure-button").await;
    browser
        .wait_text("#configure-result", |t| t.contains("replicas: set to 3"))
        .await;
    assert_eq!(
        values(&packages.get("hello-web").await.expect("get")).as_deref(),
        Some("3")
    );
    let rolled = kube::runtime::wait::await_condition(
        deployments,
        // A Package's objects carry its name as a prefix.
        "hello-web-hello-web",
        |d: Option<&k8s_openapi::api::apps::v1::Deployment>| {
            d.and_then(|d| d.spec.replicas) == Some(3)
        },
    );
    tokio::time::timeout(hoist_tests::PATIENCE, rolled)
        .await
        .expect("applied in time")
        .expect("watch");
    browser
        .wait_text("#install-values", |t| {
            t.contains("replicas") && t.contains('3')
        })
        .await;
    browser.wait_text("#configure-current", |t| t == "3").await;

    // Show YAML: the object as Git would hold it, with the value just saved.
    click(b, "#show-yaml").await;
    let yaml = browser
        .wait_text("#install-yaml", |t| t.contains("kind: Package"))
        .await;
    let object: serde_json::Value = serde_yaml_ng::from_str(&yaml).expect("YAML");
    assert_eq!(object["spec"]["values"]["replicas"]["value"], "3", "{yaml}");
    assert!(object.get("status").is_none(), "no status for Git: {yaml}");
    assert!(
        object["metadata"].get("resourceVersion").is_none(),
        "nothing the API server set: {yaml}"
    );

    // Auto-update on from the page: the annotation the operator reads.
    click(b, "#auto-update").await;
    browser
        .wait_text("#act-result", |t| t.contains("auto-update on"))
        .await;
    let annotated = packages
        .get("hello-web")
        .await
        .expect("get")
        .metadata
        .annotations
        .unwrap_or_default();
    assert_eq!(
        annotated.get(hoist::types::AUTO_UPDATE).map(String::as_str),
        Some("true")
    );
    browser.close().await;
}

/// A Package of hello-web at `version` named `name` in team-a.
async fn hello_web(packages: &Api<Package>, name: &str, version: &str) {
    hoist_tests::install_hello_web(packages, name, version).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_install_shows_its_update_and_is_upgraded_from_its_page_and_by_upgrade_all() {
    let setup = with_operator().await;
    let (client, backend) = (&setup.client, &setup.backend);
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    hello_web(&packages, "current", "v1.1.0+2").await;
    hello_web(&packages, "old", "v1.0.0+1").await;
    hello_web(&packages, "older", "v1.0.0+1").await;
    let version = |p: Package| p.spec.spec.package_info.version;

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{}/#/", backend.url()))
        .await
        .expect("installed list");
    // The newest version is the one versions.yaml lists, not the index's latestVersion
    // (which the sample repository keeps behind on purpose, at v1.1.0+1).
    browser
        .wait_text(
            "#namespaced-packages tr[data-name='old'] .update-available",
            |t| t.contains("v1.1.0+2"),
        )
        .await;
    browser
        .wait_text(
            "#namespaced-packages tr[data-name='older'] .update-available",
            |t| t.contains("v1.1.0+2"),
        )
        .await;
    browser
        .wait_count(
            "#namespaced-packages tr[data-name='current'] .update-available",
            0,
        )
        .await;

    // Upgrade from the install's page: the newest version is picked already.
    b.goto(&format!(
        "{}/#/installs/old?namespace=team-a",
        backend.url()
    ))
    .await
    .expect("open the install page");
    browser
        .wait_text("#update-available", |t| t.contains("v1.1.0+2"))
        .await;
    click(b, "#upgrade-button").await;
    browser
        .wait_text("#act-result", |t| t.contains("v1.1.0+2"))
        .await;
    assert_eq!(version(packages.get("old").await.expect("get")), "v1.1.0+2");

    // Upgrade all moves the rest; the update marks go.
    b.goto(&format!("{}/#/", backend.url()))
        .await
        .expect("installed list");
    browser.wait_count("#upgrade-all", 1).await;
    click(b, "#upgrade-all").await;
    browser
        .wait_text("#attention-result", |t| t.contains("older"))
        .await;
    assert_eq!(
        version(packages.get("older").await.expect("get")),
        "v1.1.0+2"
    );
    assert_eq!(
        version(packages.get("current").await.expect("get")),
        "v1.1.0+2"
    );
    browser
        .wait_count("#namespaced-packages .update-available", 0)
        .await;
    browser.close().await;
}
