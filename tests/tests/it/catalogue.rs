//! The catalogue in the browser: search and filters, a package page with its versions
//! and values, and repository state that follows the cluster without a reload.

use fantoccini::Locator;
use hoist::types::{
    ClusterPackage, PackageInfoTemplate, PackageRepository, PackageRepositorySpec, PackageSpec,
};
use hoist_tests::Browser;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

async fn names(browser: &Browser, n: usize) -> Vec<String> {
    let rows = browser.wait_count("#catalogue tbody tr", n).await;
    let mut out = Vec::new();
    for r in rows {
        out.push(r.attr("data-name").await.expect("attr").unwrap_or_default());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_searches_filters_and_opens_live_package_pages() {
    let (cluster, client, samples) = hoist_tests::cluster_with_samples().await;
    let repos: Api<PackageRepository> = Api::all(client.clone());
    let unreachable = PackageRepositorySpec {
        url: "http://127.0.0.1:9/".into(),
        auth: None,
    };
    repos
        .create(
            &PostParams::default(),
            &PackageRepository::new("mirror", unreachable),
        )
        .await
        .expect("a repository nobody answers for");
    let installed: Api<ClusterPackage> = Api::all(client.clone());
    let spec = |name: &str, version: &str| PackageSpec {
        package_info: PackageInfoTemplate {
            name: name.into(),
            version: version.into(),
            repository_name: None,
        },
        ..Default::default()
    };
    installed
        .create(
            &PostParams::default(),
            &ClusterPackage::new("metrics-agent", spec("metrics-agent", "v2.0.1+3")),
        )
        .await
        .expect("installed");
    let backend = hoist_tests::serve(&client).await;

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{}/#/catalogue", backend.url()))
        .await
        .expect("open the catalogue");
    // One repository down hides nothing the other offers.
    let all = names(&browser, 6).await;
    assert!(all.contains(&"hello-web".to_string()), "{all:?}");
    browser.screenshot_for_docs("catalogue.png").await;

    // Search matches names and descriptions.
    let search = b.find(Locator::Css("#search")).await.expect("search box");
    search.send_keys("redis").await.expect("type");
    assert_eq!(names(&browser, 2).await, ["guestbook", "redis-cache"]);
    // Backspaces, as a user clears it (WebDriver's clear() fires no input event).
    search
        .send_keys(&"\u{e003}".repeat(5))
        .await
        .expect("erase");
    names(&browser, 6).await;
    // Filters: scope, then installed only.
    b.find(Locator::Css("#filter-scope option[value=Cluster]"))
        .await
        .expect("option")
        .click()
        .await
        .expect("scope");
    assert_eq!(
        names(&browser, 3).await,
        ["cert-issuer", "ingress-gateway", "metrics-agent"]
    );
    b.find(Locator::Css("#filter-installed"))
        .await
        .expect("checkbox")
        .click()
        .await
        .expect("installed only");
    assert_eq!(names(&browser, 1).await, ["metrics-agent"]);
    b.find(Locator::Css("#filter-installed"))
        .await
        .expect("checkbox")
        .click()
        .await
        .expect("off");
    b.find(Locator::Css("#filter-scope option[value='']"))
        .await
        .expect("option")
        .click()
        .await
        .expect("any");
    names(&browser, 6).await;

    // A package page: the newest version is computed, not taken from versions.yaml.
    b.find(Locator::Css("#catalogue tr[data-name=hello-web] a"))
        .await
        .expect("link")
        .click()
        .await
        .expect("open hello-web");
    browser
        .wait_text("#package-name", |t| t == "hello-web")
        .await;
    browser
        .wait_text("#version-note", |t| t.contains("declares v1.1.0+1"))
        .await;
    browser.wait_count("#values tbody tr", 2).await;
    browser
        .wait_text("#package-installed", |t| t == "not installed")
        .await;
    browser.screenshot_for_docs("package.png").await;
    // Someone installs it: the page says so without a reload.
    let team: Api<hoist::types::Package> = Api::namespaced(client.clone(), "default");
    team.create(
        &PostParams::default(),
        &hoist::types::Package::new(
            "web",
            hoist::types::NamespacedPackageSpec::from(spec("hello-web", "v1.1.0+2")),
        ),
    )
    .await
    .expect("install");
    browser
        .wait_text("#package-installed", |t| t == "default/web")
        .await;
    // An older version, picked from the list.
    b.find(Locator::Css("#version option[value='v1.0.0+1']"))
        .await
        .expect("older version")
        .click()
        .await
        .expect("pick");
    browser
        .wait_text("#version-note", |t| t == "newer: v1.1.0+2")
        .await;
    // A dependency links to its own page.
    b.goto(&format!("{}/#/packages/guestbook", backend.url()))
        .await
        .expect("guestbook");
    browser.wait_count("#dependencies li", 2).await;
    b.find(Locator::Css("#dependencies a"))
        .await
        .expect("dependency")
        .click()
        .await
        .expect("follow");
    browser
        .wait_text("#package-name", |t| t == "redis-cache")
        .await;
    // An unknown package says so.
    b.goto(&format!("{}/#/packages/nope", backend.url()))
        .await
        .expect("nope");
    browser
        .wait_text("#package-error", |t| t.contains("no repository offers"))
        .await;

    // Repositories: the broken one says why; fixed through the API, it recovers live.
    b.find(Locator::Css("#tab-repositories"))
        .await
        .expect("tab")
        .click()
        .await
        .expect("open");
    browser
        .wait_text("#repositories tr[data-name=mirror] .state", |t| {
            t.contains("127.0.0.1:9")
        })
        .await;
    b.execute("window.__hoistMarker = 7;", vec![])
        .await
        .expect("mark");
    repos
        .patch(
            "mirror",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"url": samples.url()}})),
        )
        .await
        .expect("fix the mirror");
    browser
        .wait_text("#repositories tr[data-name=mirror] .state", |t| t == "ok")
        .await;
    let marker = b
        .execute("return window.__hoistMarker;", vec![])
        .await
        .expect("read");
    assert_eq!(marker, serde_json::json!(7), "no reload");

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
}

/// A repository whose package.yaml carries `javascript:` links: the package page shows
/// only the http(s) ones, says how many were hidden, and the app still runs under the
/// dashboard's Content-Security-Policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_page_shows_no_javascript_link_and_says_links_were_hidden() {
    let files: &[(&str, &str)] = &[
        (
            "/index.yaml",
            "packages:\n- name: trap\n  shortDescription: links everywhere\n",
        ),
        ("/trap/versions.yaml", "versions:\n- version: v1.0.0\n"),
        (
            "/trap/v1.0.0/package.yaml",
            "name: trap\nreferences:\n- label: Docs\n  url: https://example.org/trap\n\
             - label: Click me\n  url: \"javascript:document.title='pwned'\"\n\
             manifests:\n- url: manifests.yaml\n",
        ),
    ];
    let mut router = axum::Router::new();
    for (path, body) in files {
        let body = body.to_string();
        router = router.route(path, axum::routing::get(move || async move { body }));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let repo_url = format!("http://{}", listener.local_addr().expect("addr"));
    let served = tokio::spawn(async move { axum::serve(listener, router).await });

    let cluster = devcluster::DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    let repos: Api<PackageRepository> = Api::all(client.clone());
    let spec = PackageRepositorySpec {
        url: repo_url,
        auth: None,
    };
    repos
        .create(
            &PostParams::default(),
            &PackageRepository::new("hostile", spec),
        )
        .await
        .expect("repository");
    let backend = hoist_tests::serve(&client).await;

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{}/#/packages/trap", backend.url()))
        .await
        .expect("open the package page");
    browser
        .wait_text("#hidden-links", |t| t.starts_with("1 link(s)"))
        .await;
    let mut hrefs = Vec::new();
    for a in b.find_all(Locator::Css("a[href]")).await.expect("links") {
        hrefs.push(a.attr("href").await.expect("attr").unwrap_or_default());
    }
    assert!(
        hrefs.iter().any(|h| h == "https://example.org/trap"),
        "{hrefs:?}"
    );
    assert!(
        !hrefs
            .iter()
            .any(|h| h.to_lowercase().starts_with("javascript:")),
        "{hrefs:?}"
    );

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
    served.abort();
}
