//! devcluster started with authentication and RBAC (issue 19, first part): who is asking
//! is decided by the bearer token, and what they may do by the Roles and bindings in the
//! store, through the request path, as kube-rs sees it.

use crate::common;
use common::auth::{api_error, client_with, cluster, kubectl, namespace, token_for};
use devcluster::Options;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, Config};

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

async fn bind(admin: &Client, ns: &str, name: &str, cluster_role: &str, sa: (&str, &str)) {
    let binding: RoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "namespace": sa.0, "name": sa.1}],
    }))
    .expect("binding");
    Api::<RoleBinding>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding");
}

fn role_binding(name: &str, cluster_role: &str) -> RoleBinding {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "User", "name": "mallory"}],
    }))
    .expect("binding")
}

#[tokio::test]
async fn a_namespace_admin_cannot_bind_or_write_a_role_that_grants_more_than_it_holds() {
    let (cluster, admin) = cluster(false).await;
    namespace(&admin, "team-a").await;
    let token = token_for(&admin, "team-a", "lead").await;
    bind(&admin, "team-a", "lead-admin", "admin", ("team-a", "lead")).await;
    let lead = client_with(&cluster, Some(&token));
    let bindings: Api<RoleBinding> = Api::namespaced(lead.clone(), "team-a");

    // What it holds, it may hand on.
    bindings
        .create(
            &PostParams::default(),
            &role_binding("mallory-edit", "edit"),
        )
        .await
        .expect("admin in team-a may bind edit in team-a");

    // cluster-admin it does not hold: refused in the API server's words, nothing stored.
    let e = bindings
        .create(
            &PostParams::default(),
            &role_binding("mallory-root", "cluster-admin"),
        )
        .await
        .expect_err("an escalation");
    let (code, reason, message) = api_error(e);
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert!(
        message.starts_with(
            "rolebindings.rbac.authorization.k8s.io \"mallory-root\" is forbidden: user \"system:serviceaccount:team-a:lead\" (groups=[\"system:serviceaccounts\" \"system:serviceaccounts:team-a\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n"
        ),
        "{message}"
    );
    assert!(
        message.contains("{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}"),
        "{message}"
    );
    assert_eq!(
        cluster
            .counters()
            .refused("system:serviceaccount:team-a:lead")
            .get("escalate rolebindings.rbac.authorization.k8s.io"),
        Some(&1)
    );
    assert!(
        Api::<RoleBinding>::namespaced(admin.clone(), "team-a")
            .get_opt("mallory-root")
            .await
            .expect("get")
            .is_none()
    );

    // The same through server-side apply (a patch that creates) and a dry run: refused too.
    let applied = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "mallory-root"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "mallory"}],
    });
    for params in [
        kube::api::PatchParams::apply("lead"),
        kube::api::PatchParams::apply("lead").dry_run(),
    ] {
        let e = bindings
            .patch("mallory-root", &params, &kube::api::Patch::Apply(&applied))
            .await
            .expect_err("an escalation by apply");
        assert_eq!(api_error(e).0, 403);
    }

    // Re-pointing its own binding at more (a patch of an existing one): refused.
    let e = bindings
        .patch(
            "mallory-edit",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(serde_json::json!({"subjects": [
                {"kind": "User", "name": "mallory"},
                {"kind": "Group", "name": "system:authenticated"}
            ]})),
        )
        .await;
    e.expect("adding subjects to a role it holds is not an escalation");

    // A Role with rules it does not hold: refused; with the rules it holds: allowed.
    let roles: Api<k8s_openapi::api::rbac::v1::Role> = Api::namespaced(lead.clone(), "team-a");
    let role = |name: &str, resource: &str| -> k8s_openapi::api::rbac::v1::Role {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": [resource], "verbs": ["get"]}],
        }))
        .expect("role")
    };
    roles
        .create(&PostParams::default(), &role("reader", "configmaps"))
        .await
        .expect("admin holds get on configmaps");
    let e = roles
        .create(&PostParams::default(), &role("nodes", "nodes"))
        .await
        .expect_err("nodes are not admin's");
    assert!(
        api_error(e)
            .2
            .contains("{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\"]}")
    );

    // `bind` on exactly cluster-admin, given by the cluster's admin: now it may.
    let binder: k8s_openapi::api::rbac::v1::ClusterRole =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "bind-cluster-admin"},
            "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                       "verbs": ["bind"], "resourceNames": ["cluster-admin"]}],
        }))
        .expect("role");
    Api::<k8s_openapi::api::rbac::v1::ClusterRole>::all(admin.clone())
        .create(&PostParams::default(), &binder)
        .await
        .expect("role");
    bind(
        &admin,
        "team-a",
        "lead-bind",
        "bind-cluster-admin",
        ("team-a", "lead"),
    )
    .await;
    bindings
        .create(
            &PostParams::default(),
            &role_binding("mallory-root", "cluster-admin"),
        )
        .await
        .expect("bind allows it");
}

#[tokio::test]
async fn impersonation_is_authorized_per_part_and_the_request_runs_as_the_impersonated_user() {
    let (cluster, admin) = cluster(false).await;
    namespace(&admin, "team-a").await;
    let token = token_for(&admin, "team-a", "operator").await;
    let _ = token_for(&admin, "team-a", "tenant").await;
    bind(
        &admin,
        "team-a",
        "tenant-view",
        "view",
        ("team-a", "tenant"),
    )
    .await;
    let operator = client_with(&cluster, Some(&token));

    // No right to impersonate anyone yet: the first part asked for is refused.
    let mut config = Config::new(cluster.url().parse().expect("url"));
    config.root_cert = cluster.ca_der().map(|der| vec![der.to_vec()]);
    config.auth_info.token = Some(token.clone().into());
    config.auth_info.impersonate = Some("system:serviceaccount:team-a:tenant".into());
    let as_tenant = Client::try_from(config.clone()).expect("client");
    let e = Api::<ConfigMap>::namespaced(as_tenant.clone(), "team-a")
        .list(&ListParams::default())
        .await
        .expect_err("no impersonate right");
    assert_eq!(
        api_error(e),
        (
            403,
            "Forbidden".into(),
            "serviceaccounts \"tenant\" is forbidden: User \"system:serviceaccount:team-a:operator\" cannot impersonate resource \"serviceaccounts\" in API group \"\" in the namespace \"team-a\"".into()
        )
    );

    // Flux's lockdown: the controller may impersonate the tenants' ServiceAccounts.
    let impersonator: k8s_openapi::api::rbac::v1::ClusterRole =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "impersonate-sas"},
            "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}],
        }))
        .expect("role");
    Api::<k8s_openapi::api::rbac::v1::ClusterRole>::all(admin.clone())
        .create(&PostParams::default(), &impersonator)
        .await
        .expect("role");
    bind(
        &admin,
        "team-a",
        "operator-impersonates",
        "impersonate-sas",
        ("team-a", "operator"),
    )
    .await;
    let cms: Api<ConfigMap> = Api::namespaced(as_tenant.clone(), "team-a");
    cms.list(&ListParams::default())
        .await
        .expect("the tenant may view");
    // ... and may do no more than the tenant may, whatever the operator holds.
    let e = cms
        .create(&PostParams::default(), &common::configmap("x"))
        .await
        .expect_err("view cannot create");
    assert_eq!(
        api_error(e).2,
        "configmaps is forbidden: User \"system:serviceaccount:team-a:tenant\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"team-a\""
    );

    // A user (not a ServiceAccount) and a group need their own grants.
    config.auth_info.impersonate = Some("bob".into());
    let as_bob = Client::try_from(config.clone()).expect("client");
    let e = Api::<ConfigMap>::namespaced(as_bob, "team-a")
        .list(&ListParams::default())
        .await
        .expect_err("users are not serviceaccounts");
    assert_eq!(
        api_error(e).2,
        "users \"bob\" is forbidden: User \"system:serviceaccount:team-a:operator\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    config.auth_info.impersonate = Some("system:serviceaccount:team-a:tenant".into());
    config.auth_info.impersonate_groups = Some(vec!["system:masters".into()]);
    let as_masters = Client::try_from(config).expect("client");
    let e = Api::<ConfigMap>::namespaced(as_masters, "team-a")
        .list(&ListParams::default())
        .await
        .expect_err("no group impersonation");
    assert_eq!(
        api_error(e).2,
        "groups \"system:masters\" is forbidden: User \"system:serviceaccount:team-a:operator\" cannot impersonate resource \"groups\" in API group \"\" at the cluster scope"
    );

    // Groups without a user: the API server's 500.
    let req = axum::http::Request::get("/api/v1/namespaces/team-a/configmaps")
        .header("Impersonate-Group", "system:masters")
        .body(Vec::new())
        .expect("request");
    let e = operator.request_text(req).await.expect_err("no user");
    let (code, _, message) = api_error(e);
    assert_eq!(code, 500);
    assert!(
        message.contains("without impersonating a user"),
        "{message}"
    );

    // Each refusal is remembered for the one refused, whoever it was acting as.
    let refused = cluster
        .counters()
        .refused("system:serviceaccount:team-a:operator");
    for what in [
        "impersonate serviceaccounts",
        "impersonate users",
        "impersonate groups",
    ] {
        assert_eq!(refused.get(what), Some(&1), "{what}: {refused:?}");
    }
    assert_eq!(
        cluster
            .counters()
            .refused("system:serviceaccount:team-a:tenant")
            .get("create configmaps"),
        Some(&1)
    );

    // The counters see who a request ran as: the tenant's list, made by the operator.
    assert_eq!(
        cluster
            .counters()
            .get_as("system:serviceaccount:team-a:tenant", "list", "configmaps"),
        1
    );
    assert_eq!(
        cluster
            .counters()
            .writes_by("system:serviceaccount:team-a:tenant"),
        0,
        "a refused request is refused before it is counted"
    );
}

#[tokio::test]
async fn faults_can_single_out_one_user() {
    let (cluster, admin) = cluster(false).await;
    namespace(&admin, "team-a").await;
    let token = token_for(&admin, "team-a", "builder").await;
    bind(
        &admin,
        "team-a",
        "builder-edit",
        "edit",
        ("team-a", "builder"),
    )
    .await;
    let builder = client_with(&cluster, Some(&token));
    cluster.faults().add(
        devcluster::faults::Fault::new(devcluster::faults::FaultAction::Error {
            // 500: kube-rs retries 429, 503 and 504 by itself.
            code: 500,
            retry_after: None,
        })
        .verb("list")
        .user("system:serviceaccount:team-a:builder"),
    );
    Api::<ConfigMap>::namespaced(admin.clone(), "team-a")
        .list(&ListParams::default())
        .await
        .expect("the admin is not singled out");
    let e = Api::<ConfigMap>::namespaced(builder, "team-a")
        .list(&ListParams::default())
        .await
        .expect_err("the builder is");
    assert_eq!(api_error(e).0, 500);
    let by_user = cluster.counters().snapshot_by_user();
    assert_eq!(
        by_user["system:serviceaccount:team-a:builder"]["list configmaps"],
        1
    );
    assert_eq!(by_user["devcluster-admin"]["list configmaps"], 1);
}

#[tokio::test]
async fn a_web_page_of_another_origin_cannot_drive_a_loopback_devcluster_by_rebinding_or_cross_site()
 {
    // Without authentication (`--no-rbac`), where a page could otherwise do anything.
    let (cluster, client) = common::start_with(Options {
        auth: None,
        ..Options::default()
    })
    .await;
    let send = |host: Option<&str>, origin: Option<&str>| {
        let mut req = axum::http::Request::post("/devcluster/compact");
        if let Some(h) = host {
            req = req.header("Host", h);
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let client = client.clone();
        let req = req.body(Vec::new()).expect("request");
        async move { client.request_text(req).await }
    };
    for (host, origin) in [
        (Some("evil.example"), None),
        (Some("evil.example:8080"), None),
        (Some("127.0.0.1.nip.io"), None),
        (None, Some("https://evil.example")),
        (None, Some("null")),
        // Another local server's page: another origin (issue 20).
        (Some("127.0.0.1"), Some("http://localhost:3000")),
        (Some("127.0.0.1:6443"), Some("http://127.0.0.1:3000")),
    ] {
        let e = send(host, origin)
            .await
            .expect_err("a page's request is refused");
        let (code, _, message) = api_error(e);
        assert_eq!(code, 403, "{host:?} {origin:?}");
        assert!(message.starts_with("forbidden: "), "{message}");
    }
    for (host, origin) in [
        (Some("localhost:1234"), None),
        (Some("127.0.0.1:6443"), Some("http://127.0.0.1:6443")),
        (Some("[::1]:80"), None),
    ] {
        send(host, origin)
            .await
            .unwrap_or_else(|e| panic!("{host:?} {origin:?} is loopback: {e}"));
    }
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_as_impersonates_and_create_rolebinding_is_refused_for_escalation_until_bind() {
    let (cluster, admin) = cluster(false).await;
    namespace(&admin, "team-a").await;
    let token = token_for(&admin, "team-a", "lead").await;
    bind(&admin, "team-a", "lead-admin", "admin", ("team-a", "lead")).await;
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), cluster.kubeconfig()).expect("kubeconfig");
    let kc = kubeconfig.path();

    // The admin acting as the ServiceAccount gets exactly its refusal.
    let (ok, out) = kubectl(
        kc,
        &[
            "get",
            "configmaps",
            "-n",
            "kube-system",
            "--as",
            "system:serviceaccount:team-a:lead",
        ],
    )
    .await;
    assert!(!ok);
    assert!(
        out.contains("Error from server (Forbidden): configmaps is forbidden: User \"system:serviceaccount:team-a:lead\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"kube-system\""),
        "{out}"
    );
    let (ok, out) = kubectl(
        kc,
        &[
            "auth",
            "can-i",
            "create",
            "rolebindings",
            "-n",
            "team-a",
            "--as",
            "system:serviceaccount:team-a:lead",
        ],
    )
    .await;
    assert!(ok && out.trim() == "yes", "{out}");

    // With its own token: binding cluster-admin is an escalation.
    let escalate = [
        "create",
        "rolebinding",
        "mallory-root",
        "-n",
        "team-a",
        "--clusterrole",
        "cluster-admin",
        "--user",
        "mallory",
        "--token",
        &token,
    ];
    let (ok, out) = kubectl(kc, &escalate).await;
    assert!(!ok);
    assert!(
        out.contains("is attempting to grant RBAC permissions not currently held"),
        "{out}"
    );
    let (ok, out) = kubectl(
        kc,
        &[
            "create",
            "clusterrole",
            "bind-cluster-admin",
            "--verb",
            "bind",
            "--resource",
            "clusterroles",
            "--resource-name",
            "cluster-admin",
        ],
    )
    .await;
    assert!(ok, "{out}");
    let (ok, out) = kubectl(
        kc,
        &[
            "create",
            "rolebinding",
            "lead-bind",
            "-n",
            "team-a",
            "--clusterrole",
            "bind-cluster-admin",
            "--serviceaccount",
            "team-a:lead",
        ],
    )
    .await;
    assert!(ok, "{out}");
    let (ok, out) = kubectl(kc, &escalate).await;
    assert!(ok, "bind on cluster-admin allows it: {out}");
}
