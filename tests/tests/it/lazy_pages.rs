//! Pages other than the first live in their own wasm modules (decision 0018). Here a
//! page's module cannot be loaded, as after an upgrade of Hoist under an open tab: the
//! page says so and offers a reload, and the rest of the app keeps working.

use fantoccini::Locator;

/// A copy of the built web app without the Repositories page's module.
fn dist_without(page: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("temp dir");
    let mut removed = 0;
    for entry in std::fs::read_dir(hoist_tests::dist()).expect("dist") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with(&format!("split_{page}-")) {
            removed += 1;
            continue;
        }
        if path.is_file() {
            std::fs::copy(&path, copy.path().join(&name)).expect("copy");
        }
    }
    assert_eq!(removed, 1, "the build has no module of its own for {page}");
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_module_cannot_be_loaded_says_so_and_the_rest_of_the_app_keeps_working() {
    let dist = dist_without("page_repositories");
    let (cluster, client, _samples) = hoist_tests::cluster_with_samples().await;
    let backend = hoist::serve::start(
        client.clone(),
        hoist::serve::ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            dist: dist.path().to_path_buf(),
            ..Default::default()
        },
    )
    .await
    .expect("backend");
    let browser = hoist_tests::Browser::start().await;
    let b = &browser.client;

    b.goto(&format!("{}/#/repositories", backend.url()))
        .await
        .expect("open");
    browser
        .wait_text("#page-load-error", |t| t.contains("could not be loaded"))
        .await;
    b.find(Locator::Css("#page-load-error button"))
        .await
        .expect("a way out: reload");

    // The app did not crash: other pages (in the main module and in their own) open.
    b.find(Locator::Css("#tab-catalogue"))
        .await
        .expect("tab")
        .click()
        .await
        .expect("open the catalogue");
    browser.wait_count("#catalogue tbody tr", 6).await;
    b.find(Locator::Css("#tab-installed"))
        .await
        .expect("tab")
        .click()
        .await
        .expect("open the installed packages");
    browser.wait_count("#cluster-packages-empty", 1).await;

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
}
