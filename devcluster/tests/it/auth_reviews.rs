//! The review APIs of a devcluster started with authentication (issue 19): TokenReview
//! and SelfSubjectReview (authentication.k8s.io/v1), SubjectAccessReview,
//! LocalSubjectAccessReview, SelfSubjectAccessReview and SelfSubjectRulesReview
//! (authorization.k8s.io/v1), as kube-rs with the k8s-openapi types and kubectl 1.32
//! (`kubectl auth can-i`, `kubectl auth whoami`) see them, and their discovery.

use crate::common;
use common::auth::{api_error, client_with, kubectl, namespace, token_for};
use devcluster::{DevCluster, Options};
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenReview};
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview,
    SubjectAccessReviewStatus,
};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

async fn cluster() -> (DevCluster, Client) {
    common::auth::cluster(false).await
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("a well-formed object")
}

/// `edit` in `ns` for the ServiceAccount `ns/name`, as on a real cluster.
async fn bind_edit(admin: &Client, ns: &str, name: &str) {
    Api::<RoleBinding>::namespaced(admin.clone(), ns)
        .create(
            &PostParams::default(),
            &from_json(json!({
                "metadata": {"name": format!("{name}-edit")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
            })),
        )
        .await
        .expect("binding");
}

/// team-a and team-b, and `team-a/builder` with `edit` in team-a: the admin's client
/// and builder's token.
async fn builder_in_team_a(cluster: &DevCluster, admin: &Client) -> (Client, String) {
    namespace(admin, "team-a").await;
    namespace(admin, "team-b").await;
    let token = token_for(admin, "team-a", "builder").await;
    bind_edit(admin, "team-a", "builder").await;
    (client_with(cluster, Some(&token)), token)
}

const BUILDER: &str = "system:serviceaccount:team-a:builder";
const BUILDER_EDIT: &str = "RBAC: allowed by RoleBinding \"builder-edit/team-a\" of ClusterRole \"edit\" to ServiceAccount \"builder/team-a\"";

fn ssar(verb: &str, resource: &str, ns: &str) -> SelfSubjectAccessReview {
    from_json(json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": ns}},
    }))
}

fn status_of(s: Option<SubjectAccessReviewStatus>) -> (bool, Option<bool>, Option<String>) {
    let s = s.expect("status");
    (s.allowed, s.denied, s.reason)
}

/// A raw POST of `body` to `path`, for what the typed clients cannot send.
async fn post(client: &Client, path: &str, body: &Value) -> Result<Value, kube::Error> {
    let req = axum::http::Request::post(path)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).expect("json"))
        .expect("request");
    client.request::<Value>(req).await
}

#[tokio::test]
async fn a_self_subject_access_review_answers_per_namespace_as_rbac_decides() {
    let (cluster, admin) = cluster().await;
    let (builder, _) = builder_in_team_a(&cluster, &admin).await;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(builder.clone());

    let yes = reviews
        .create(
            &PostParams::default(),
            &ssar("create", "configmaps", "team-a"),
        )
        .await
        .expect("allowed to ask (system:basic-user)");
    assert_eq!(
        status_of(yes.status.clone()),
        (true, None, Some(BUILDER_EDIT.into()))
    );
    // The object is echoed, with no creation time: nothing was stored.
    assert_eq!(
        yes.spec
            .resource_attributes
            .as_ref()
            .and_then(|r| r.namespace.as_deref()),
        Some("team-a")
    );
    assert_eq!(yes.metadata.creation_timestamp, None);
    assert_eq!(yes.metadata.name, None);

    let no = reviews
        .create(
            &PostParams::default(),
            &ssar("create", "configmaps", "team-b"),
        )
        .await
        .expect("answered");
    assert_eq!(
        status_of(no.status),
        (false, None, None),
        "RBAC never denies"
    );
    let cluster_wide = reviews
        .create(&PostParams::default(), &ssar("list", "namespaces", ""))
        .await
        .expect("answered");
    assert!(!cluster_wide.status.expect("status").allowed);

    // A non-resource URL: discovery is everyone's.
    let api: SelfSubjectAccessReview = from_json(json!({
        "spec": {"nonResourceAttributes": {"verb": "get", "path": "/api"}},
    }));
    let answer = reviews
        .create(&PostParams::default(), &api)
        .await
        .expect("answered");
    let (allowed, _, reason) = status_of(answer.status);
    assert!(allowed);
    assert!(
        reason
            .unwrap_or_default()
            .starts_with("RBAC: allowed by ClusterRoleBinding \"system:discovery\""),
    );

    // The admin is in system:masters: allowed, with the superuser's empty reason.
    let answer = Api::<SelfSubjectAccessReview>::all(admin)
        .create(&PostParams::default(), &ssar("delete", "nodes", ""))
        .await
        .expect("answered");
    assert_eq!(status_of(answer.status), (true, None, None));
}

#[tokio::test]
async fn the_admin_reviews_other_subjects_and_an_unprivileged_account_may_not() {
    let (cluster, admin) = cluster().await;
    let (builder, _) = builder_in_team_a(&cluster, &admin).await;
    let sars: Api<SubjectAccessReview> = Api::all(admin.clone());
    let sar = |spec: Value| -> SubjectAccessReview {
        from_json(
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}),
        )
    };
    let configmaps =
        |ns: &str| json!({"verb": "create", "resource": "configmaps", "namespace": ns});

    let answer = sars
        .create(
            &PostParams::default(),
            &sar(json!({"user": BUILDER, "groups": ["system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"],
                "resourceAttributes": configmaps("team-a")})),
        )
        .await
        .expect("answered");
    assert_eq!(
        status_of(answer.status),
        (true, None, Some(BUILDER_EDIT.into()))
    );
    assert_eq!(answer.spec.user.as_deref(), Some(BUILDER));

    let answer = sars
        .create(
            &PostParams::default(),
            &sar(json!({"user": "jane", "resourceAttributes": configmaps("team-a")})),
        )
        .await
        .expect("answered");
    assert_eq!(status_of(answer.status), (false, None, None));

    // Groups alone name a subject; system:masters may do anything.
    let answer = sars
        .create(
            &PostParams::default(),
            &sar(json!({"groups": ["system:masters"], "resourceAttributes": configmaps("team-b")})),
        )
        .await
        .expect("answered");
    assert_eq!(status_of(answer.status), (true, None, None));

    // No subject, no attributes: the API server's 422.
    let e = sars
        .create(
            &PostParams::default(),
            &sar(json!({"resourceAttributes": configmaps("team-a")})),
        )
        .await
        .expect_err("no subject");
    assert_eq!(
        api_error(e),
        (
            422,
            "Invalid".into(),
            ".authorization.k8s.io \"\" is invalid: spec.user: Invalid value: \"\": at least one of user or group must be specified".into()
        )
    );
    let e = sars
        .create(&PostParams::default(), &sar(json!({"user": "jane"})))
        .await
        .expect_err("no attributes");
    assert_eq!(
        api_error(e).2,
        ".authorization.k8s.io \"\" is invalid: spec: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified"
    );

    // builder holds no right to create subjectaccessreviews (nor tokenreviews).
    let e = Api::<SubjectAccessReview>::all(builder.clone())
        .create(
            &PostParams::default(),
            &sar(json!({"user": "jane", "resourceAttributes": configmaps("team-a")})),
        )
        .await
        .expect_err("forbidden");
    assert_eq!(
        api_error(e),
        (
            403,
            "Forbidden".into(),
            format!(
                "subjectaccessreviews.authorization.k8s.io is forbidden: User \"{BUILDER}\" cannot create resource \"subjectaccessreviews\" in API group \"authorization.k8s.io\" at the cluster scope"
            )
        )
    );
    let review: TokenReview = from_json(json!({"spec": {"token": "x"}}));
    let e = Api::<TokenReview>::all(builder)
        .create(&PostParams::default(), &review)
        .await
        .expect_err("forbidden");
    assert_eq!(
        api_error(e).2,
        format!(
            "tokenreviews.authentication.k8s.io is forbidden: User \"{BUILDER}\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope"
        )
    );
}

#[tokio::test]
async fn a_local_subject_access_review_must_name_its_own_namespace() {
    let (cluster, admin) = cluster().await;
    builder_in_team_a(&cluster, &admin).await;
    let local: Api<LocalSubjectAccessReview> = Api::namespaced(admin.clone(), "team-a");
    let lsar = |ns: &str| -> LocalSubjectAccessReview {
        from_json(json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
            "spec": {"user": BUILDER, "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": ns}},
        }))
    };
    let answer = local
        .create(&PostParams::default(), &lsar("team-a"))
        .await
        .expect("answered");
    assert_eq!(
        status_of(answer.status),
        (true, None, Some(BUILDER_EDIT.into()))
    );
    assert_eq!(answer.metadata.namespace.as_deref(), Some("team-a"));

    let e = local
        .create(&PostParams::default(), &lsar("team-b"))
        .await
        .expect_err("another namespace");
    assert_eq!(
        api_error(e),
        (
            422,
            "Invalid".into(),
            ".authorization.k8s.io \"\" is invalid: spec.resourceAttributes.namespace: Invalid value: \"team-b\": must match metadata.namespace".into()
        )
    );
    let mut elsewhere = lsar("team-a");
    elsewhere.metadata.namespace = Some("team-b".into());
    let e = local
        .create(&PostParams::default(), &elsewhere)
        .await
        .expect_err("metadata.namespace is not the URL's");
    assert_eq!(
        api_error(e),
        (
            400,
            "BadRequest".into(),
            "the namespace of the provided object does not match the namespace sent on the request"
                .into()
        )
    );
    let non_resource: LocalSubjectAccessReview = from_json(json!({
        "spec": {"user": BUILDER, "nonResourceAttributes": {"verb": "get", "path": "/api"}},
    }));
    let e = local
        .create(&PostParams::default(), &non_resource)
        .await
        .expect_err("not local");
    assert_eq!(
        api_error(e).2,
        ".authorization.k8s.io \"\" is invalid: spec.nonResourceAttributes: Invalid value: v1.NonResourceAttributes{Path:\"/api\", Verb:\"get\"}: disallowed on this kind of request"
    );
}

#[tokio::test]
async fn a_self_subject_rules_review_lists_the_bound_rules() {
    let (cluster, admin) = cluster().await;
    let (builder, _) = builder_in_team_a(&cluster, &admin).await;
    let review = |ns: &str| -> SelfSubjectRulesReview {
        from_json(
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": ns}}),
        )
    };
    let rules = Api::<SelfSubjectRulesReview>::all(builder.clone());
    let in_a = rules
        .create(&PostParams::default(), &review("team-a"))
        .await
        .expect("answered")
        .status
        .expect("status");
    let grants = |s: &k8s_openapi::api::authorization::v1::SubjectRulesReviewStatus,
                  resource: &str,
                  verb: &str| {
        s.resource_rules.iter().any(|r| {
            r.resources
                .as_ref()
                .is_some_and(|rs| rs.iter().any(|x| x == resource))
                && r.verbs.iter().any(|v| v == verb)
        })
    };
    assert!(grants(&in_a, "configmaps", "create"), "edit: {in_a:?}");
    assert!(grants(&in_a, "deployments", "patch"), "edit: {in_a:?}");
    assert!(
        grants(&in_a, "selfsubjectaccessreviews", "create"),
        "basic-user"
    );
    assert!(
        in_a.non_resource_rules.iter().any(|r| r
            .non_resource_urls
            .as_ref()
            .is_some_and(|u| u.iter().any(|u| u == "/api"))),
        "discovery: {in_a:?}"
    );
    assert!(!in_a.incomplete);
    assert_eq!(in_a.evaluation_error, None);

    let in_b = rules
        .create(&PostParams::default(), &review("team-b"))
        .await
        .expect("answered")
        .status
        .expect("status");
    assert!(!grants(&in_b, "configmaps", "create"));
    assert!(grants(&in_b, "selfsubjectaccessreviews", "create"));

    // A binding to a role that does not exist: an evaluation error, as RBAC reports it.
    Api::<RoleBinding>::namespaced(admin.clone(), "team-b")
        .create(
            &PostParams::default(),
            &from_json(json!({
                "metadata": {"name": "ghostly"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ghost"},
                "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "team-a"}],
            })),
        )
        .await
        .expect("binding");
    let in_b = rules
        .create(&PostParams::default(), &review("team-b"))
        .await
        .expect("answered")
        .status
        .expect("status");
    assert_eq!(
        in_b.evaluation_error.as_deref(),
        Some("clusterrole.rbac.authorization.k8s.io \"ghost\" not found")
    );
    let denied = Api::<SelfSubjectAccessReview>::all(builder.clone())
        .create(&PostParams::default(), &ssar("get", "pods", "team-b"))
        .await
        .expect("answered");
    assert_eq!(
        status_of(denied.status),
        (
            false,
            None,
            Some("RBAC: clusterrole.rbac.authorization.k8s.io \"ghost\" not found".into())
        )
    );

    // The admin: cluster-admin's `*` through system:masters.
    let mine = Api::<SelfSubjectRulesReview>::all(admin)
        .create(&PostParams::default(), &review("default"))
        .await
        .expect("answered")
        .status
        .expect("status");
    assert!(grants(&mine, "*", "*"), "{mine:?}");

    // No namespace: the API server's 400.
    let e = rules
        .create(&PostParams::default(), &from_json(json!({"spec": {}})))
        .await
        .expect_err("no namespace");
    assert_eq!(
        api_error(e),
        (400, "BadRequest".into(), "no namespace on request".into())
    );
}

#[tokio::test]
async fn a_token_review_authenticates_good_tokens_and_refuses_the_rest() {
    let (_cluster, admin) = cluster().await;
    namespace(&admin, "team-a").await;
    let token = token_for(&admin, "team-a", "builder").await;
    let reviews: Api<TokenReview> = Api::all(admin.clone());
    let review = |token: &str, audiences: Option<Vec<&str>>| -> TokenReview {
        from_json(json!({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token, "audiences": audiences},
        }))
    };

    let good = reviews
        .create(&PostParams::default(), &review(&token, None))
        .await
        .expect("answered")
        .status
        .expect("status");
    assert_eq!(good.authenticated, Some(true));
    assert_eq!(good.error, None);
    let user = good.user.expect("user");
    assert_eq!(user.username.as_deref(), Some(BUILDER));
    let uid = Api::<ServiceAccount>::namespaced(admin.clone(), "team-a")
        .get("builder")
        .await
        .expect("sa")
        .metadata
        .uid;
    assert_eq!(user.uid, uid);
    assert_eq!(
        user.groups,
        Some(vec![
            "system:serviceaccounts".to_string(),
            "system:serviceaccounts:team-a".to_string(),
            "system:authenticated".to_string()
        ])
    );
    assert!(
        user.extra
            .unwrap_or_default()
            .get("authentication.kubernetes.io/credential-id")
            .is_some_and(|v| v.len() == 1 && v[0].starts_with("JTI="))
    );
    assert_eq!(
        good.audiences,
        Some(vec![
            "https://kubernetes.default.svc.cluster.local".to_string()
        ])
    );

    // Another audience than the token's: not authenticated.
    let other = reviews
        .create(&PostParams::default(), &review(&token, Some(vec!["vault"])))
        .await
        .expect("answered")
        .status
        .expect("status");
    assert_eq!(other.authenticated, None);
    assert!(other.error.is_some());

    for bad in ["not-a-token", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"] {
        let answer = reviews
            .create(&PostParams::default(), &review(bad, None))
            .await
            .expect("answered");
        assert_eq!(answer.spec.token, bad, "echoed");
        let status = answer.status.expect("status");
        assert_eq!(status.authenticated, None, "{bad}");
        assert!(status.error.is_some(), "{bad}");
        assert_eq!(
            status.user.map(|u| u.username),
            Some(None),
            "`user` is always there, empty"
        );
    }

    // The ServiceAccount is gone: its tokens no longer authenticate.
    Api::<ServiceAccount>::namespaced(admin.clone(), "team-a")
        .delete("builder", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = reviews
        .create(&PostParams::default(), &review(&token, None))
        .await
        .expect("answered")
        .status
        .expect("status");
    assert_eq!(gone.authenticated, None);
    assert!(gone.error.is_some());

    let e = reviews
        .create(&PostParams::default(), &review("", None))
        .await
        .expect_err("no token");
    assert_eq!(
        api_error(e),
        (
            400,
            "BadRequest".into(),
            "token is required for TokenReview in authentication".into()
        )
    );
}

#[tokio::test]
async fn a_self_subject_review_names_the_requester() {
    let (cluster, admin) = cluster().await;
    namespace(&admin, "team-a").await;
    let token = token_for(&admin, "team-a", "builder").await;
    let me = Api::<SelfSubjectReview>::all(admin)
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("answered");
    assert!(me.metadata.creation_timestamp.is_some(), "now, as upstream");
    let info = me.status.and_then(|s| s.user_info).expect("userInfo");
    assert_eq!(info.username.as_deref(), Some("devcluster-admin"));
    assert!(
        info.groups
            .unwrap_or_default()
            .contains(&"system:masters".to_string())
    );

    let builder = client_with(&cluster, Some(&token));
    let info = Api::<SelfSubjectReview>::all(builder)
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("system:basic-user")
        .status
        .and_then(|s| s.user_info)
        .expect("userInfo");
    assert_eq!(info.username.as_deref(), Some(BUILDER));
    assert!(info.uid.is_some());
    assert!(
        info.extra
            .is_some_and(|e| e.contains_key("authentication.kubernetes.io/credential-id"))
    );
}

#[tokio::test]
async fn bodies_of_the_wrong_shape_are_refused_400_in_the_api_servers_words() {
    let (_cluster, admin) = cluster().await;
    let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let cases = [
        (
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": 7, "resource": "pods"}}}),
            "SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: json: cannot unmarshal number into Go struct field ResourceAttributes.spec.resourceAttributes.verb of type string",
        ),
        (
            json!({"kind": "SelfSubjectAccessReview", "spec": ["x"]}),
            "SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: json: cannot unmarshal array into Go struct field SelfSubjectAccessReview.spec of type v1.SelfSubjectAccessReviewSpec",
        ),
        (
            json!({"spec": {"nonResourceAttributes": {"path": "/api", "verb": "get"}}, "metadata": {"name": 3}}),
            "SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string",
        ),
    ];
    for (body, message) in cases {
        let e = post(&admin, path, &body).await.expect_err("refused");
        assert_eq!(
            api_error(e),
            (400, "BadRequest".into(), message.into()),
            "{body}"
        );
    }
    // Not a JSON object at all.
    let req = axum::http::Request::post(path)
        .header("content-type", "application/json")
        .body(b"[1, 2".to_vec())
        .expect("request");
    let e = admin.request::<Value>(req).await.expect_err("refused");
    assert_eq!(api_error(e).0, 400);
    // A named SelfSubjectAccessReview: metadata must be empty.
    let e = post(
        &admin,
        path,
        &json!({"metadata": {"name": "mine"}, "spec": {"nonResourceAttributes": {"path": "/api", "verb": "get"}}}),
    )
    .await
    .expect_err("named");
    let (code, reason, message) = api_error(e);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert!(
        message.starts_with(".authorization.k8s.io \"\" is invalid: metadata: Invalid value: v1.ObjectMeta{Name:\"mine\", ")
            && message.ends_with(": must be empty"),
        "{message}"
    );
    // Unknown fields are dropped, nulls are zero values.
    let answer = post(
        &admin,
        path,
        &json!({"spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "colour": "red", "name": null}}, "extra": 1}),
    )
    .await
    .expect("answered");
    assert_eq!(
        answer,
        json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}},
            "status": {"allowed": true}})
    );
}

#[tokio::test]
async fn discovery_lists_the_review_kinds_only_when_they_are_served() {
    let (_cluster, admin) = cluster().await;
    let groups = admin.list_api_groups().await.expect("/apis");
    for g in ["authentication.k8s.io", "authorization.k8s.io"] {
        let group = groups
            .groups
            .iter()
            .find(|x| x.name == g)
            .unwrap_or_else(|| panic!("{g} listed"));
        assert_eq!(group.versions[0].group_version, format!("{g}/v1"));
    }
    let authz = admin
        .list_api_group_resources("authorization.k8s.io/v1")
        .await
        .expect("authorization.k8s.io/v1");
    let listed: Vec<(String, bool, String, Vec<String>)> = authz
        .resources
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.namespaced,
                r.kind.clone(),
                r.verbs.clone(),
            )
        })
        .collect();
    let create = vec!["create".to_string()];
    assert_eq!(
        listed,
        vec![
            (
                "localsubjectaccessreviews".into(),
                true,
                "LocalSubjectAccessReview".into(),
                create.clone()
            ),
            (
                "selfsubjectaccessreviews".into(),
                false,
                "SelfSubjectAccessReview".into(),
                create.clone()
            ),
            (
                "selfsubjectrulesreviews".into(),
                false,
                "SelfSubjectRulesReview".into(),
                create.clone()
            ),
            (
                "subjectaccessreviews".into(),
                false,
                "SubjectAccessReview".into(),
                create.clone()
            ),
        ]
    );
    let authn = admin
        .list_api_group_resources("authentication.k8s.io/v1")
        .await
        .expect("authentication.k8s.io/v1");
    let names: Vec<&str> = authn.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["selfsubjectreviews", "tokenreviews"]);
    let core = admin.list_core_api_resources("v1").await.expect("/api/v1");
    let token = core
        .resources
        .iter()
        .find(|r| r.name == "serviceaccounts/token")
        .expect("serviceaccounts/token");
    assert_eq!(
        (
            token.kind.as_str(),
            token.group.as_deref(),
            token.verbs.clone()
        ),
        ("TokenRequest", Some("authentication.k8s.io"), create)
    );
    // kube-rs' discovery takes them in.
    let discovery = kube::Discovery::new(admin.clone())
        .run()
        .await
        .expect("discovery");
    assert!(discovery.has_group("authorization.k8s.io"));

    // Without authentication nothing of it is served, nor listed.
    let (_plain, client) = common::start_with(Options {
        auth: None,
        ..Options::default()
    })
    .await;
    let groups = client.list_api_groups().await.expect("/apis");
    assert!(
        groups
            .groups
            .iter()
            .all(|g| g.name != "authentication.k8s.io" && g.name != "authorization.k8s.io")
    );
    let e = client
        .list_api_group_resources("authorization.k8s.io/v1")
        .await
        .expect_err("not served");
    assert_eq!(api_error(e).0, 404);
    let core = client.list_core_api_resources("v1").await.expect("/api/v1");
    assert!(
        core.resources
            .iter()
            .all(|r| r.name != "serviceaccounts/token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_and_whoami_as_the_admin_and_as_a_service_account() {
    let (cluster, admin) = cluster().await;
    let (_, token) = builder_in_team_a(&cluster, &admin).await;
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), cluster.kubeconfig()).expect("kubeconfig");
    let k = kubeconfig.path();
    let as_builder = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.push("--token".into());
        v.push(token.clone());
        v
    };
    let run = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        kubectl(k, &refs).await
    };

    let (ok, out) = run(as_builder(&[
        "auth",
        "can-i",
        "create",
        "configmaps",
        "-n",
        "team-a",
    ]))
    .await;
    assert!(ok && out.trim() == "yes", "{out}");
    let (ok, out) = run(as_builder(&[
        "auth",
        "can-i",
        "create",
        "configmaps",
        "-n",
        "team-b",
    ]))
    .await;
    assert!(!ok && out.trim() == "no", "exit 1 and no: {out}");
    let (ok, out) = run(as_builder(&["auth", "can-i", "list", "namespaces", "-A"])).await;
    assert!(!ok && out.trim() == "no", "{out}");
    let (ok, out) = kubectl(k, &["auth", "can-i", "delete", "namespaces", "-A"]).await;
    assert!(ok && out.trim() == "yes", "the admin: {out}");

    let (ok, out) = run(as_builder(&["auth", "can-i", "--list", "-n", "team-a"])).await;
    assert!(ok, "{out}");
    assert!(
        out.starts_with("Resources") && out.contains("Non-Resource URLs"),
        "a table: {out}"
    );
    let configmaps = out
        .lines()
        .find(|l| l.starts_with("configmaps "))
        .unwrap_or_else(|| panic!("edit's configmaps rule: {out}"));
    assert!(
        configmaps.contains("create") && configmaps.contains("delete"),
        "{configmaps}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("selfsubjectaccessreviews.authorization.k8s.io")),
        "basic-user: {out}"
    );
    assert!(
        out.lines().any(|l| l.contains("[/api]")),
        "discovery: {out}"
    );
    let (ok, out) = run(as_builder(&["auth", "can-i", "--list", "-n", "team-b"])).await;
    assert!(
        ok && !out.lines().any(|l| l.starts_with("configmaps ")),
        "{out}"
    );

    let (ok, out) = kubectl(k, &["auth", "whoami"]).await;
    assert!(ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Username") && l.trim_end().ends_with("devcluster-admin")),
        "{out}"
    );
    assert!(out.contains("system:masters"), "{out}");
    let (ok, out) = kubectl(k, &["auth", "whoami", "-o", "json"]).await;
    assert!(ok, "{out}");
    let me: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(me["kind"], "SelfSubjectReview");
    assert_eq!(me["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(me["status"]["userInfo"]["username"], "devcluster-admin");

    let (ok, out) = run(as_builder(&["auth", "whoami"])).await;
    assert!(ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Username") && l.trim_end().ends_with(BUILDER)),
        "{out}"
    );
    assert!(out.contains("system:serviceaccounts:team-a"), "{out}");
    let (ok, out) = run(as_builder(&["auth", "whoami", "-o", "json"])).await;
    assert!(ok, "{out}");
    let me: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(me["status"]["userInfo"]["username"], BUILDER);
    assert!(
        me["status"]["userInfo"]["extra"]["authentication.kubernetes.io/credential-id"][0]
            .as_str()
            .is_some_and(|c| c.starts_with("JTI="))
    );
}
