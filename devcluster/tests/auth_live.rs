//! devcluster started with authentication and RBAC (issue 19, first part): who is asking
//! is decided by the bearer token, and what they may do by the Roles and bindings in the
//! store, through the request path, as kube-rs sees it.

mod common;
use devcluster::{AuthOptions, DevCluster, Options};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, Config};

async fn cluster(anonymous: bool) -> (DevCluster, Client) {
    common::start_with(Options {
        auth: Some(AuthOptions {
            anonymous,
            token_file: None,
        }),
        ..Options::default()
    })
    .await
}

fn client_with(cluster: &DevCluster, token: Option<&str>) -> Client {
    let mut config = Config::new(cluster.url().parse().expect("url"));
    config.auth_info.token = token.map(|t| t.to_string().into());
    config.root_cert = cluster.ca_der().map(|der| vec![der.to_vec()]);
    Client::try_from(config).expect("client")
}

fn api_error(e: kube::Error) -> (u16, String, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("an API error, not {other:?}"),
    }
}

async fn namespace(admin: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(admin.clone());
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("namespace");
    api.create(&PostParams::default(), &ns)
        .await
        .expect("namespace");
}

async fn token_for(admin: &Client, ns: &str, name: &str) -> String {
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    let sa: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("sa");
    sas.create(&PostParams::default(), &sa).await.expect("sa");
    let req: TokenRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}
    }))
    .expect("a TokenRequest");
    let answer = sas
        .create_token_request(name, &PostParams::default(), &req)
        .await
        .expect("a token");
    let token = answer.status.and_then(|s| s.token).expect("status.token");
    assert!(!token.is_empty());
    token
}

#[tokio::test]
async fn the_admin_kubeconfig_carries_a_token_and_a_request_without_one_is_refused_401() {
    let (cluster, admin) = cluster(false).await;
    let token = cluster.admin_token().expect("an admin token").to_string();
    assert!(
        cluster.kubeconfig().contains(&token),
        "kubectl and kube-rs use it as is"
    );
    Api::<Namespace>::all(admin)
        .list(&ListParams::default())
        .await
        .expect("the admin lists namespaces");
    for anonymous in [None, Some("not-a-token")] {
        let e = Api::<Namespace>::all(client_with(&cluster, anonymous))
            .list(&ListParams::default())
            .await
            .expect_err("refused");
        assert_eq!(
            api_error(e),
            (401, "Unauthorized".into(), "Unauthorized".into()),
            "{anonymous:?}"
        );
    }
}

#[tokio::test]
async fn a_service_account_token_is_confined_by_rbac_and_refused_in_the_api_servers_words() {
    let (cluster, admin) = cluster(false).await;
    namespace(&admin, "team-a").await;
    namespace(&admin, "team-b").await;
    let token = token_for(&admin, "team-a", "builder").await;
    let builder = client_with(&cluster, Some(&token));

    // Authenticated, bound to nothing: discovery yes (system:discovery), data no.
    builder
        .apiserver_version()
        .await
        .expect("/version for the authenticated");
    let in_a: Api<ConfigMap> = Api::namespaced(builder.clone(), "team-a");
    let e = in_a
        .list(&ListParams::default())
        .await
        .expect_err("not yet");
    assert_eq!(
        api_error(e),
        (
            403,
            "Forbidden".into(),
            "configmaps is forbidden: User \"system:serviceaccount:team-a:builder\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"team-a\"".into()
        )
    );

    // `edit` in team-a, as on a real cluster: team-a yes, team-b no.
    let binding: RoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "builder-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "team-a"}],
    }))
    .expect("binding");
    Api::<RoleBinding>::namespaced(admin.clone(), "team-a")
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding");
    in_a.create(&PostParams::default(), &common::configmap("settings"))
        .await
        .expect("edit may create a ConfigMap in its namespace");
    assert_eq!(
        in_a.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        1
    );
    let e = Api::<ConfigMap>::namespaced(builder.clone(), "team-b")
        .create(&PostParams::default(), &common::configmap("settings"))
        .await
        .expect_err("another namespace");
    assert_eq!(
        api_error(e).2,
        "configmaps is forbidden: User \"system:serviceaccount:team-a:builder\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
    );
    let e = Api::<Namespace>::all(builder.clone())
        .list(&ListParams::default())
        .await
        .expect_err("cluster scope");
    assert!(api_error(e).2.ends_with("at the cluster scope"));

    // A deleted ServiceAccount's tokens stop working at once.
    Api::<ServiceAccount>::namespaced(admin.clone(), "team-a")
        .delete("builder", &DeleteParams::default())
        .await
        .expect("delete");
    let e = in_a.list(&ListParams::default()).await.expect_err("gone");
    assert_eq!(api_error(e).0, 401);
}

#[tokio::test]
async fn the_dev_endpoints_are_the_admins_and_anonymous_users_get_only_public_info() {
    let (cluster, admin) = cluster(true).await;
    namespace(&admin, "team-a").await;
    let token = token_for(&admin, "team-a", "builder").await;
    let builder = client_with(&cluster, Some(&token));
    let req = axum::http::Request::get("/devcluster/counters")
        .body(Vec::new())
        .expect("request");
    let e = builder
        .request_text(req)
        .await
        .expect_err("not the admin's");
    assert_eq!(api_error(e).0, 403);
    let req = axum::http::Request::get("/devcluster/counters")
        .body(Vec::new())
        .expect("request");
    admin.request_text(req).await.expect("the admin's");

    // Anonymous: /version is public info, nothing else.
    let nobody = client_with(&cluster, None);
    nobody.apiserver_version().await.expect("public info");
    let e = Api::<ConfigMap>::namespaced(nobody, "team-a")
        .list(&ListParams::default())
        .await
        .expect_err("anonymous");
    assert_eq!(
        api_error(e),
        (
            403,
            "Forbidden".into(),
            "configmaps is forbidden: User \"system:anonymous\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"team-a\"".into()
        )
    );
}

/// kubectl with `kubeconfig`, on a blocking thread (the cluster is served by this test's
/// runtime).
async fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut cmd = std::process::Command::new("kubectl");
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("joined")
        .expect("kubectl runs (cargo xtask test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_over_https_creates_a_token_and_is_refused_with_it_in_the_api_servers_words() {
    let (cluster, admin) = cluster(false).await;
    assert!(
        cluster.url().starts_with("https://"),
        "tokens only over TLS"
    );
    namespace(&admin, "team-a").await;
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "team-a");
    let sa: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "builder"}})).expect("sa");
    sas.create(&PostParams::default(), &sa).await.expect("sa");
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), cluster.kubeconfig()).expect("kubeconfig");
    let (ok, out) = kubectl(kubeconfig.path(), &["get", "namespaces"]).await;
    assert!(
        ok && out.contains("team-a"),
        "the admin's kubeconfig: {out}"
    );
    let (ok, token) = kubectl(
        kubeconfig.path(),
        &[
            "create",
            "token",
            "builder",
            "-n",
            "team-a",
            "--duration",
            "15m",
        ],
    )
    .await;
    assert!(ok, "{token}");
    let token = token.trim().to_string();
    let (ok, out) = kubectl(
        kubeconfig.path(),
        &["get", "configmaps", "-n", "team-a", "--token", &token],
    )
    .await;
    assert!(!ok);
    assert!(
        out.contains("Error from server (Forbidden): configmaps is forbidden: User \"system:serviceaccount:team-a:builder\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"team-a\""),
        "{out}"
    );
    let (ok, out) = kubectl(
        kubeconfig.path(),
        &[
            "create",
            "token",
            "builder",
            "-n",
            "team-a",
            "--duration",
            "5m",
        ],
    )
    .await;
    assert!(
        !ok && out.contains("may not specify a duration less than 10 minutes"),
        "{out}"
    );
}
