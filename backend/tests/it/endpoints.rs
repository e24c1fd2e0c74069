//! The guards of Hoist's endpoints (decision 0027): the operator's `/metrics` behind a
//! TokenReview and a SubjectAccessReview, as controller-runtime guards its metrics, on
//! a devcluster that enforces RBAC; the dashboard's cookie `Secure` whenever the page
//! came over https; a cap on the streams of one HTTP/2 connection.

use crate::common;
use common::*;
use hoist::operator::metrics_auth::{MetricsAuth, Reviewer};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use kube::Api;
use kube::api::PostParams;
use std::net::SocketAddr;
use std::time::Duration;

/// The operator, as a ServiceAccount bound to the grants its probe port needs.
const OPERATOR: &str = "system:serviceaccount:hoist-system:hoist-operator";
const TOKEN_REVIEWS: &str = "tokenreviews.authentication.k8s.io";
const ACCESS_REVIEWS: &str = "subjectaccessreviews.authorization.k8s.io";

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(own(groups)),
        resources: Some(own(resources)),
        verbs: own(verbs),
        ..Default::default()
    }
}

/// `get` on the non-resource URL `/metrics`: what a scraper needs.
fn metrics_reader() -> PolicyRule {
    PolicyRule {
        non_resource_urls: Some(vec!["/metrics".into()]),
        verbs: vec!["get".into()],
        ..Default::default()
    }
}

/// The operator's grants for its metrics guard, exactly as the decision record asks
/// `deploy/operator.yaml` to hold them (ClusterRole `hoist-operator-metrics-auth`).
fn metrics_auth_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
            &["create"],
        ),
    ]
}

/// ServiceAccount `ns/name` (its namespace too), bound to a new ClusterRole `role` with
/// `rules` (none: no binding at all).
async fn service_account(
    admin: &kube::Client,
    ns: &str,
    name: &str,
    role: &str,
    rules: Vec<PolicyRule>,
) {
    hoist::demo::seed::namespace(admin, ns)
        .await
        .expect("namespace");
    let mut sa = ServiceAccount::default();
    sa.metadata.name = Some(name.into());
    Api::<ServiceAccount>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &sa)
        .await
        .expect("service account");
    if rules.is_empty() {
        return;
    }
    let mut cr = ClusterRole {
        rules: Some(rules),
        ..Default::default()
    };
    cr.metadata.name = Some(role.into());
    Api::<ClusterRole>::all(admin.clone())
        .create(&PostParams::default(), &cr)
        .await
        .expect("cluster role");
    let mut crb = ClusterRoleBinding {
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: name.into(),
            namespace: Some(ns.into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    crb.metadata.name = Some(format!("{role}-{name}"));
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&PostParams::default(), &crb)
        .await
        .expect("binding");
}

/// A TokenRequest token (an hour long) of ServiceAccount `ns/name`, as a scraper's
/// projected token is.
async fn token(admin: &kube::Client, ns: &str, name: &str) -> String {
    use k8s_openapi::api::authentication::v1::TokenRequest;
    let req: TokenRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600}
    }))
    .expect("a TokenRequest");
    Api::<ServiceAccount>::namespaced(admin.clone(), ns)
        .create_token_request(name, &PostParams::default(), &req)
        .await
        .expect("a token")
        .status
        .and_then(|s| s.token)
        .expect("status.token")
}

/// The operator's probe port, guarded with the operator's own client (its
/// ServiceAccount holding only [`metrics_auth_rules`]); stops when dropped.
struct Probes {
    addr: SocketAddr,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn guarded_probes(
    c: &devcluster::DevCluster,
    admin: &kube::Client,
    timeout: Option<Duration>,
) -> Probes {
    service_account(
        admin,
        "hoist-system",
        "hoist-operator",
        "hoist-operator-metrics-auth",
        metrics_auth_rules(),
    )
    .await;
    let operator = service_account_client(c, admin, "hoist-system", "hoist-operator").await;
    let mut reviewer = Reviewer::new(operator);
    if let Some(t) = timeout {
        reviewer.timeout = t;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(hoist::operator::probes::serve(
        listener,
        std::sync::Arc::new(hoist::operator::metrics::Metrics::new()),
        tokio::sync::watch::channel(true).1,
        hoist::operator::probes::Liveness::new(),
        stopped,
        Some(MetricsAuth::Kubernetes(std::sync::Arc::new(reviewer))),
    ));
    Probes { addr, _stop: stop }
}

/// `GET path` on `addr`, with `token` as a bearer: the code, the headers and the body.
async fn get(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().get(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("answered");
    let code = r.status().as_u16();
    let headers = r.headers().clone();
    (code, headers, r.text().await.expect("body"))
}

/// A scraper: ServiceAccount `monitoring/prometheus` bound to `get` on `/metrics`.
async fn reader_token(admin: &kube::Client) -> String {
    service_account(
        admin,
        "monitoring",
        "prometheus",
        "hoist-metrics-reader",
        vec![metrics_reader()],
    )
    .await;
    token(admin, "monitoring", "prometheus").await
}

#[tokio::test]
async fn operator_metrics_without_a_token_or_with_a_bad_one_are_401_and_the_probes_stay_open() {
    let (c, admin) = cluster_with_rbac().await;
    let probes = guarded_probes(&c, &admin, None).await;

    let (code, headers, body) = get(probes.addr, "/metrics", None).await;
    assert_eq!(code, 401, "{body}");
    assert!(!body.contains("controller_runtime"), "{body}");
    assert_eq!(
        headers["www-authenticate"],
        "Bearer realm=\"hoist-operator\""
    );
    let (code, _, body) = get(probes.addr, "/metrics", Some("not-a-token-anyone-issued")).await;
    assert_eq!(code, 401, "{body}");
    // The kubelet's probes need no token.
    assert_eq!(get(probes.addr, "/livez", None).await.0, 200);
    assert_eq!(get(probes.addr, "/readyz", None).await.0, 200);
    // No token: nothing to ask the API server; a bad one: one TokenReview, no access
    // review (there is no user to ask about).
    let counters = c.counters();
    assert_eq!(counters.get_as(OPERATOR, "create", TOKEN_REVIEWS), 1);
    assert_eq!(counters.get_as(OPERATOR, "create", ACCESS_REVIEWS), 0);
}

#[tokio::test]
async fn a_service_account_token_without_a_binding_is_403() {
    let (c, admin) = cluster_with_rbac().await;
    let probes = guarded_probes(&c, &admin, None).await;
    service_account(&admin, "team-a", "curious", "", vec![]).await;
    let curious = token(&admin, "team-a", "curious").await;

    let (code, _, body) = get(probes.addr, "/metrics", Some(&curious)).await;
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains("system:serviceaccount:team-a:curious"),
        "names the user: {body}"
    );
    assert!(!body.contains("controller_runtime"), "{body}");
}

#[tokio::test]
async fn a_service_account_bound_to_get_on_nonresource_metrics_reads_them() {
    let (c, admin) = cluster_with_rbac().await;
    let probes = guarded_probes(&c, &admin, None).await;
    let prometheus = reader_token(&admin).await;

    let (code, headers, body) = get(probes.addr, "/metrics", Some(&prometheus)).await;
    assert_eq!(code, 200, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/openmetrics-text"),
        "{headers:?}"
    );
    assert!(
        body.contains("controller_runtime_max_concurrent_reconciles") && body.ends_with("# EOF\n"),
        "{body}"
    );
    // The two review grants are all the operator needed: nothing it asked was refused.
    assert!(
        c.counters().refused(OPERATOR).is_empty(),
        "refused: {:?}",
        c.counters().refused(OPERATOR)
    );
}

#[tokio::test]
async fn reviews_are_cached_by_token_so_repeated_scrapes_cost_no_api_calls() {
    let (c, admin) = cluster_with_rbac().await;
    let probes = guarded_probes(&c, &admin, None).await;
    let prometheus = reader_token(&admin).await;
    service_account(&admin, "team-a", "curious", "", vec![]).await;
    let curious = token(&admin, "team-a", "curious").await;
    let calls = || {
        (
            c.counters().get_as(OPERATOR, "create", TOKEN_REVIEWS),
            c.counters().get_as(OPERATOR, "create", ACCESS_REVIEWS),
        )
    };

    for _ in 0..5 {
        assert_eq!(get(probes.addr, "/metrics", Some(&prometheus)).await.0, 200);
    }
    assert_eq!(calls(), (1, 1), "one review of each for five scrapes");
    // A refusal is remembered too (for less long).
    for _ in 0..3 {
        assert_eq!(get(probes.addr, "/metrics", Some(&curious)).await.0, 403);
    }
    assert_eq!(calls(), (2, 2));
}

#[tokio::test]
async fn an_api_server_too_slow_to_review_is_503_never_the_metrics_and_not_remembered() {
    let (c, admin) = cluster_with_rbac().await;
    let probes = guarded_probes(&c, &admin, Some(Duration::from_millis(300))).await;
    let prometheus = reader_token(&admin).await;
    c.faults().add(
        devcluster::Fault::new(devcluster::FaultAction::Latency { millis: 3_000 })
            .user(OPERATOR)
            .path("tokenreviews"),
    );

    let started = std::time::Instant::now();
    let (code, headers, body) = get(probes.addr, "/metrics", Some(&prometheus)).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(headers["retry-after"], "5");
    assert!(!body.contains("controller_runtime"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the review is cut at its timeout, not waited for: {:?}",
        started.elapsed()
    );
    // Once the API server answers again, the same token is reviewed afresh.
    c.faults().clear();
    assert_eq!(get(probes.addr, "/metrics", Some(&prometheus)).await.0, 200);
}

/// `hoist operator` as a pod runs it, with `kubeconfig` (the admin's) and
/// `args`; its probe port. Killed when dropped.
async fn operator_binary(
    kubeconfig: &std::path::Path,
    args: &[&str],
) -> (tokio::process::Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let listen = addr.to_string();
    let mut all = vec![
        "operator",
        "--leader-elect=false",
        "--probes-listen",
        listen.as_str(),
    ];
    all.extend_from_slice(args);
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(&all)
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("hoist operator starts");
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(r) = reqwest::get(format!("http://{addr}/livez")).await
            && r.status() == 200
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the probe port did not answer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, addr)
}

#[tokio::test]
async fn the_operator_binary_guards_metrics_by_default_and_metrics_auth_none_opens_them() {
    let (c, admin) = cluster_with_rbac().await;
    hoist::demo::seed::namespace(&admin, "hoist-system")
        .await
        .expect("namespace");
    let prometheus = reader_token(&admin).await;
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), c.kubeconfig()).expect("kubeconfig");

    let (operator, addr) = operator_binary(kubeconfig.path(), &[]).await;
    assert_eq!(get(addr, "/metrics", None).await.0, 401, "on by default");
    let (code, _, body) = get(addr, "/metrics", Some(&prometheus)).await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("controller_runtime_max_concurrent_reconciles"),
        "{body}"
    );
    assert_eq!(get(addr, "/readyz", None).await.0, 200);
    drop(operator);

    let (_operator, addr) = operator_binary(kubeconfig.path(), &["--metrics-auth=none"]).await;
    let (code, _, body) = get(addr, "/metrics", None).await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("controller_runtime_max_concurrent_reconciles"),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------
// The dashboard's cookie

const DASHBOARD_TOKEN: &str = "3f9c2a77d1e04b6b9e55";

/// The `Set-Cookie` a browser gets for opening `/?token=…` on a dashboard served with
/// `external_url`, sending `headers`.
async fn cookie(external_url: Option<&str>, headers: &[(&str, &str)]) -> String {
    let (_c, client) = cluster().await;
    let running = backend(
        &client,
        hoist::serve::ServeOptions {
            token: Some(DASHBOARD_TOKEN.into()),
            external_url: external_url.map(str::to_string),
            ..options()
        },
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut req = http.get(format!("{}/?token={DASHBOARD_TOKEN}", running.url()));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("answered");
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie
}

fn is_secure(cookie: &str) -> bool {
    cookie
        .split(';')
        .any(|attr| attr.trim().eq_ignore_ascii_case("secure"))
}

#[tokio::test]
async fn the_cookie_is_secure_behind_x_forwarded_proto_https() {
    let c = cookie(None, &[("x-forwarded-proto", "https")]).await;
    assert!(is_secure(&c), "{c}");
}

#[tokio::test]
async fn the_cookie_is_secure_with_an_https_external_url() {
    let c = cookie(Some("https://hoist.example.com"), &[]).await;
    assert!(is_secure(&c), "{c}");
}

#[tokio::test]
async fn the_cookie_is_not_secure_over_plain_http() {
    let c = cookie(None, &[]).await;
    assert!(!is_secure(&c), "{c}");
    let c = cookie(None, &[("x-forwarded-proto", "http")]).await;
    assert!(!is_secure(&c), "{c}");
    let c = cookie(Some("http://127.0.0.1:8080"), &[]).await;
    assert!(!is_secure(&c), "{c}");
}

#[test]
fn an_external_url_that_is_not_an_http_address_is_refused_before_anything_starts() {
    let with = |url: &str| hoist::serve::ServeOptions {
        external_url: Some(url.into()),
        ..Default::default()
    };
    for bad in [
        "hoist.example.com",
        "ftp://hoist.example.com",
        "https://",
        "https:///x",
    ] {
        assert!(hoist::serve::check(&with(bad)).is_err(), "{bad}");
    }
    for good in [
        "https://hoist.example.com",
        "HTTPS://h.example/dash",
        "http://127.0.0.1:8080",
    ] {
        assert!(hoist::serve::check(&with(good)).is_ok(), "{good}");
    }
}

// ---------------------------------------------------------------------------------------
// Streams per connection

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_http2_connection_serves_at_most_100_streams_and_queues_the_next() {
    use hoist_proto::v1 as pb;
    let cap = hoist::api::listener::MAX_CONCURRENT_STREAMS as usize;
    assert_eq!(cap, 100);
    assert_eq!(
        hoist::api::listener::Limits::default().max_concurrent_streams,
        100
    );
    let (_c, client) = cluster().await;
    let running = backend(&client, options()).await;
    // One channel: one HTTP/2 connection.
    let g = grpc(&running).await;
    let opened = futures::future::join_all((0..cap).map(|_| {
        let mut g = g.clone();
        async move {
            tokio::time::timeout(PATIENCE, g.watch(pb::WatchRequest::default()))
                .await
                .expect("served in time")
                .expect("watch")
                .into_inner()
        }
    }))
    .await;
    assert_eq!(opened.len(), cap);

    // The one over the cap is not served while the others stay open...
    let mut extra = {
        let mut g = g.clone();
        tokio::spawn(async move { g.watch(pb::WatchRequest::default()).await })
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(2), &mut extra)
            .await
            .is_err(),
        "stream {} was served on a connection already carrying {cap}",
        cap + 1
    );
    // ...and is, once one of them ends: it was queued, not lost.
    let mut opened = opened;
    drop(opened.pop());
    let mut stream = tokio::time::timeout(PATIENCE, extra)
        .await
        .expect("served once a stream ended")
        .expect("task")
        .expect("watch")
        .into_inner();
    let first = tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("an event")
        .expect("stream ok");
    assert!(first.is_some(), "the queued stream carries events");
}
