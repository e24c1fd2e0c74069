//! The pickers of values read from a ConfigMap or a Secret (decision 0036), in the
//! browser: on the package page the ConfigMaps of the install's namespace and the
//! chosen one's keys are offered, Secrets by name only; Show YAML shows the object the
//! install would create; on an install's page a value is configured from a ConfigMap
//! through the same picker.

use fantoccini::Locator;
use hoist::types::Package;
use hoist_tests::Browser;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;

/// WebDriver's clear() fires no input event: erase as a user does.
fn backspaces(n: usize) -> String {
    "\u{e003}".repeat(n)
}

/// devcluster with the samples, namespace team-a holding ConfigMaps `sizes` (keys web
/// and db) and `colours`, and Secret `greeting`; the dashboard. Keep it alive.
async fn with_sources() -> (
    devcluster::DevCluster,
    kube::Client,
    hoist::demo::samples::SampleRepository,
    hoist::serve::Running,
) {
    let (cluster, client, samples) = hoist_tests::cluster_with_samples().await;
    hoist::demo::seed::namespace(&client, "team-a")
        .await
        .expect("namespace");
    for (name, keys) in [("sizes", &["web", "db"][..]), ("colours", &["primary"][..])] {
        let mut c = ConfigMap::default();
        c.metadata.name = Some(name.into());
        c.data = Some(
            keys.iter()
                .map(|k| (k.to_string(), "1".to_string()))
                .collect(),
        );
        Api::<ConfigMap>::namespaced(client.clone(), "team-a")
            .create(&Default::default(), &c)
            .await
            .expect("a ConfigMap");
    }
    let mut s = Secret::default();
    s.metadata.name = Some("greeting".into());
    s.string_data = Some([("text".to_string(), "hi".to_string())].into());
    Api::<Secret>::namespaced(client.clone(), "team-a")
        .create(&Default::default(), &s)
        .await
        .expect("a Secret");
    let backend = hoist_tests::serve(&client).await;
    (cluster, client, samples, backend)
}

/// The `value` attributes of the elements `css` matches, once there are `n`.
async fn values_of(browser: &Browser, css: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for e in browser.wait_count(css, n).await {
        out.push(e.attr("value").await.expect("attr").unwrap_or_default());
    }
    out.sort();
    out
}

async fn find(b: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_form_offers_config_maps_and_their_keys_secrets_by_name_and_shows_the_yaml() {
    let (_cluster, client, _samples, backend) = with_sources().await;
    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{}/#/packages/hello-web", backend.url()))
        .await
        .expect("open the package page");
    browser
        .wait_text("#package-installed", |t| t == "not installed")
        .await;

    // The package's own namespace holds no ConfigMap yet: said so, typing stays.
    let row = "#values tr[data-key=replicas]";
    find(b, &format!("{row} select.value-source"))
        .await
        .select_by_value("configMap")
        .await
        .expect("from ConfigMap");
    browser
        .wait_text(&format!("{row} .source-note"), |t| {
            t.contains("no ConfigMaps in hello-web")
        })
        .await;

    // In team-a: its ConfigMaps offered on the name, the chosen one's keys on the key.
    find(b, "#install-namespace")
        .await
        .send_keys(&format!("{}team-a", backspaces(9)))
        .await
        .expect("type");
    let name = find(b, &format!("{row} .ref-name")).await;
    name.click().await.expect("focus the name");
    let names = format!("{row} datalist[id$=-names] option");
    let offered = values_of(&browser, &names, 2).await;
    assert_eq!(offered, ["colours", "sizes"]);
    name.send_keys("sizes").await.expect("type");
    let keys = values_of(&browser, &format!("{row} datalist[id$=-keys] option"), 2).await;
    assert_eq!(keys, ["db", "web"]);
    find(b, &format!("{row} .ref-item"))
        .await
        .send_keys("web")
        .await
        .expect("type");

    // Secrets: names offered, the key typed (no list: the dashboard never reads data).
    let row = "#values tr[data-key=message]";
    find(b, &format!("{row} select.value-source"))
        .await
        .select_by_value("secret")
        .await
        .expect("from Secret");
    let offered = values_of(&browser, &format!("{row} datalist[id$=-names] option"), 1).await;
    assert_eq!(offered, ["greeting"]);
    let key = find(b, &format!("{row} .ref-item")).await;
    assert_eq!(key.attr("list").await.expect("attr"), None);
    find(b, &format!("{row} .ref-name"))
        .await
        .send_keys("greeting")
        .await
        .expect("type");
    key.send_keys("text").await.expect("type");

    // Show YAML: the Package the install would create, for Git; nothing created.
    find(b, "#show-install-form-yaml")
        .await
        .click()
        .await
        .expect("click");
    let yaml = browser
        .wait_text("#install-form-yaml", |t| t.contains("kind: Package"))
        .await;
    let object: serde_json::Value = serde_yaml_ng::from_str(&yaml).expect("YAML");
    assert_eq!(object["metadata"]["namespace"], "team-a", "{yaml}");
    assert_eq!(
        object["spec"]["values"],
        serde_json::json!({
            "replicas": {"valueFrom": {"configMapRef": {"name": "sizes", "key": "web"}}},
            "message": {"valueFrom": {"secretRef": {"name": "greeting", "key": "text"}}},
        }),
        "{yaml}"
    );
    assert!(object.get("status").is_none(), "{yaml}");
    find(b, "#copy-install-form-yaml").await;
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    assert!(packages.get_opt("hello-web").await.expect("get").is_none());

    // Installed as shown.
    find(b, "#install-button")
        .await
        .click()
        .await
        .expect("click");
    browser
        .wait_text("#install-result", |t| {
            t.contains("the operator installs it")
        })
        .await;
    let created = packages.get("hello-web").await.expect("created");
    assert_eq!(
        serde_json::to_value(&created.spec.spec.values).expect("json"),
        object["spec"]["values"]
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_is_configured_from_a_config_map_picked_on_the_install_page() {
    let (_cluster, client, _samples, backend) = with_sources().await;
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    hoist_tests::install_hello_web(&packages, "hello-web", "v1.1.0+2").await;
    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!(
        "{}/#/installs/hello-web?namespace=team-a",
        backend.url()
    ))
    .await
    .expect("open the install page");

    browser
        .wait_count("#configure-key option[value=replicas]", 1)
        .await;
    find(b, "#configure-key")
        .await
        .select_by_value("replicas")
        .await
        .expect("replicas");
    browser
        .wait_text("#configure-type", |t| t == "number")
        .await;
    find(b, "#configure-source")
        .await
        .select_by_value("configMap")
        .await
        .expect("from ConfigMap");
    let offered = values_of(&browser, "#configure-sources-names option", 2).await;
    assert_eq!(offered, ["colours", "sizes"]);
    find(b, "#configure .ref-name")
        .await
        .send_keys("sizes")
        .await
        .expect("type");
    let keys = values_of(&browser, "#configure-sources-keys option", 2).await;
    assert_eq!(keys, ["db", "web"]);
    find(b, "#configure .ref-item")
        .await
        .send_keys("web")
        .await
        .expect("type");
    find(b, "#configure-button")
        .await
        .click()
        .await
        .expect("save");
    browser
        .wait_text("#configure-result", |t| {
            t.contains("replicas") && !t.starts_with("Not configured")
        })
        .await;
    let p = packages.get("hello-web").await.expect("there");
    assert_eq!(
        serde_json::to_value(&p.spec.spec.values).expect("json"),
        serde_json::json!({"replicas": {"valueFrom": {"configMapRef": {"name": "sizes", "key": "web"}}}})
    );
    browser
        .wait_text("#configure-current", |t| {
            t.contains("ConfigMap sizes key web")
        })
        .await;
    browser.close().await;
}
