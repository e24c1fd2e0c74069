//! A web page on another origin, open in the developer's browser, cannot reach
//! devcluster or the dashboard (issue 20): it can neither read their answers nor make
//! them change anything. Real headless Chromium runs the page; the page tries what a
//! hostile site would (cross-origin reads, "simple" no-cors writes that need no
//! preflight) and reports what happened; the test then checks nothing was created.

use axum::response::Html;

/// The hostile page: tries each request and writes `name=outcome` into `#result`
/// (`blocked`: the browser refused or could not connect; `sent`: an opaque no-cors
/// answer the page cannot read; `read:CODE`: the page read the answer).
fn page(plain: &str, tls: &str, dashboard: &str) -> String {
    format!(
        r#"<!doctype html><html><body><pre id="result">running</pre><script>
const PLAIN = "{plain}", TLS = "{tls}", DASH = "{dashboard}";
const ns = (name) => JSON.stringify({{apiVersion: "v1", kind: "Namespace", metadata: {{name}}}});
async function attempt(name, url, init) {{
  try {{
    const r = await fetch(url, init);
    return name + "=" + (r.type === "opaque" ? "sent" : "read:" + r.status);
  }} catch (e) {{
    return name + "=blocked";
  }}
}}
(async () => {{
  const simple = (body) => ({{method: "POST", mode: "no-cors", headers: {{"content-type": "text/plain"}}, body}});
  const out = [];
  out.push(await attempt("own", "/echo", {{}}));
  out.push(await attempt("plain-read", PLAIN + "/api/v1/namespaces", {{}}));
  out.push(await attempt("plain-write", PLAIN + "/api/v1/namespaces", simple(ns("evil-plain"))));
  out.push(await attempt("plain-write-json", PLAIN + "/api/v1/namespaces",
    {{method: "POST", headers: {{"content-type": "application/json"}}, body: ns("evil-json")}}));
  out.push(await attempt("tls-read", TLS + "/api/v1/namespaces", {{}}));
  out.push(await attempt("tls-write", TLS + "/api/v1/namespaces", simple(ns("evil-tls"))));
  out.push(await attempt("dashboard-read", DASH + "/hoist.v1.Dashboard/ListPackages",
    {{method: "POST", headers: {{"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}},
      body: new Uint8Array([0, 0, 0, 0, 0])}}));
  out.push(await attempt("dashboard-write", DASH + "/hoist.v1.Dashboard/Install", simple("x")));
  document.getElementById("result").textContent = out.join(" ");
}})();
</script></body></html>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_cannot_read_or_drive_devcluster_or_the_dashboard() {
    // devcluster as `hoist demo` runs it (TLS, tokens, RBAC), and as
    // `devcluster serve --no-rbac` does (plain HTTP on loopback: its Host/Origin guard).
    let (cluster, client, _samples) = hoist_tests::cluster_with_samples().await;
    let plain = devcluster::DevCluster::start(devcluster::Options {
        auth: None,
        ..Default::default()
    })
    .await
    .expect("plain devcluster");
    let backend = hoist_tests::serve(&client).await;

    let html = page(&plain.url(), &cluster.url(), &backend.url());
    let app = axum::Router::new()
        .route("/", axum::routing::get(move || async move { Html(html) }))
        .route("/echo", axum::routing::get(|| async { "echo" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // What stops a page is devcluster's guard, not the shape of its request: a JSON
    // write with the page's Origin is refused before anything else, the same write
    // without one (a client that is not a browser) creates the namespace.
    let write = |origin: Option<&str>, name: &str| {
        let mut request = reqwest::Client::new()
            .post(format!("{}/api/v1/namespaces", plain.url()))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}"#
            ));
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        request.send()
    };
    let refused = write(Some(&origin), "evil-control")
        .await
        .expect("answered");
    assert_eq!(
        refused.status().as_u16(),
        403,
        "a foreign Origin is refused"
    );
    let control = write(None, "control").await.expect("answered");
    assert_eq!(control.status().as_u16(), 201, "the same write without one");

    let browser = hoist_tests::Browser::start().await;
    browser.client.goto(&origin).await.expect("open the page");
    let result = browser
        .wait_text("#result", |t| t.contains("dashboard-write="))
        .await;
    let outcome = |name: &str| {
        result
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or("missing")
            .to_string()
    };
    assert_eq!(outcome("own"), "read:200", "the page runs: {result}");
    for read in [
        "plain-read",
        "plain-write-json",
        "tls-read",
        "dashboard-read",
    ] {
        assert_eq!(outcome(read), "blocked", "{read}: {result}");
    }
    // devcluster's CA is not the browser's: it cannot even connect over TLS.
    assert_eq!(outcome("tls-write"), "blocked", "{result}");

    // Nothing the page sent changed anything.
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(plain.client().expect("plain client"));
    for name in ["evil-plain", "evil-json", "evil-control"] {
        assert!(
            namespaces.get_opt(name).await.expect("read").is_none(),
            "the plain devcluster refused the page's write {name}: {result}"
        );
    }
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(client.clone());
    assert!(
        namespaces
            .get_opt("evil-tls")
            .await
            .expect("read")
            .is_none()
    );
    let installs: kube::Api<hoist::types::ClusterPackage> = kube::Api::all(client.clone());
    assert!(
        installs
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .is_empty(),
        "the dashboard installed nothing for the page"
    );

    browser.close().await;
    server.abort();
    backend.shutdown().await;
    plain.shutdown().await;
    cluster.shutdown().await;
}
