//! A dashboard served with a token, in the browser: refused without it, opened once
//! with `?token=`, then everything (the page, its stream, its calls) runs on the cookie.

use fantoccini::Locator;

const TOKEN: &str = "b7e1c0de5a4f4e2d8c3b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_opens_the_dashboard_once_with_its_token_and_then_works_on_the_cookie() {
    let (cluster, client, _samples) = hoist_tests::cluster_with_samples().await;
    let backend = hoist::serve::start(
        client.clone(),
        hoist::serve::ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            dist: hoist_tests::dist(),
            token: Some(TOKEN.into()),
            ..Default::default()
        },
    )
    .await
    .expect("backend");
    let browser = hoist_tests::Browser::start().await;
    let b = &browser.client;

    b.goto(&backend.url()).await.expect("open");
    browser
        .wait_text("body", |t| t.contains("needs its token"))
        .await;

    b.goto(&format!("{}/?token={TOKEN}#/catalogue", backend.url()))
        .await
        .expect("open with the token");
    // The whole app runs: the stream (catalogue, status) and a unary call (details).
    browser.wait_count("#catalogue tbody tr", 6).await;
    let address = b.current_url().await.expect("url");
    assert!(
        !address.as_str().contains("token"),
        "the token left the address bar: {address}"
    );
    b.find(Locator::Css("#catalogue tr[data-name=hello-web] a"))
        .await
        .expect("link")
        .click()
        .await
        .expect("open hello-web");
    browser
        .wait_text("#package-installed", |t| t == "not installed")
        .await;

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
}
