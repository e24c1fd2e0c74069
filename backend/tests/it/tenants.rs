//! Tenants are confined (issue 20): a tenant "alice", bound to `edit` in team-a and to
//! nothing else, installs what is hers through Packages, and nothing else. Against
//! devcluster enforcing RBAC, with the operator running as its own ServiceAccount bound
//! exactly as deploy/operator.yaml binds it, and `--default-service-account deployer`:
//! every write for a Package is made as `team-a/deployer` (bound to `edit` in team-a), so
//! the API server, not only Hoist, decides what a tenant's package may write.
//!
//! Before this issue, the operator wrote a Package's objects with its own rights: the
//! ClusterRoleBinding of `escalate` was created, a Package of a cluster-wide package
//! installed cluster-wide objects, and its cluster-wide dependency became a ClusterPackage.

use crate::common;

use common::operator::{PATIENCE, condition};
use common::{apply_deploy_rbac, cluster_with_rbac, service_account_client, spec};
use hoist::operator::{self, OperatorOptions};
use hoist::types::{ClusterPackage, NamespacedPackageSpec, Package};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::wait::await_condition;

const DEPLOYER: &str = "system:serviceaccount:team-a:deployer";
const OPERATOR: &str = "system:serviceaccount:hoist-system:hoist-operator";

/// The cluster, the admin, the sample repository and the tenant-escape repository,
/// team-a with its `deployer` account bound to `edit`, and alice bound to `edit` there.
struct Tenancy {
    cluster: devcluster::DevCluster,
    admin: Client,
    _samples: hoist::demo::samples::SampleRepository,
    _escape: common::repo_server::RepoServer,
}

async fn tenancy() -> Tenancy {
    let (cluster, admin) = cluster_with_rbac().await;
    let samples = hoist::demo::samples::SampleRepository::start()
        .await
        .expect("sample repository");
    samples.register(&admin).await.expect("registered");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("tenant-escape");
    let escape = common::repo_server::RepoServer::serving_dir(&fixture).await;
    common::add_repository(&admin, "tenant-escape", &escape.url("/")).await;
    for ns in ["team-a", "hoist-system"] {
        hoist::demo::seed::namespace(&admin, ns)
            .await
            .expect("namespace");
    }
    apply_deploy_rbac(&admin, &["operator.yaml"]).await;
    let account: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "deployer"}}))
            .expect("an account");
    Api::<ServiceAccount>::namespaced(admin.clone(), "team-a")
        .create(&PostParams::default(), &account)
        .await
        .expect("deployer");
    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), "team-a");
    for (name, subject) in [
        (
            "deployer-edit",
            serde_json::json!({"kind": "ServiceAccount", "name": "deployer", "namespace": "team-a"}),
        ),
        (
            "alice-edit",
            serde_json::json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}),
        ),
    ] {
        let binding: RoleBinding = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [subject],
        }))
        .expect("a binding");
        bindings
            .create(&PostParams::default(), &binding)
            .await
            .expect("binding");
    }
    Tenancy {
        cluster,
        admin,
        _samples: samples,
        _escape: escape,
    }
}

impl Tenancy {
    /// A client that is alice (the admin impersonating her, as `kubectl --as alice`).
    fn alice(&self) -> Client {
        let mut config = kube::Config::new(self.cluster.url().parse().expect("url"));
        config.auth_info.token = self.cluster.admin_token().map(|t| t.to_string().into());
        config.auth_info.impersonate = Some("alice".into());
        config.root_cert = self.cluster.ca_der().map(|der| vec![der.to_vec()]);
        Client::try_from(config).expect("alice's client")
    }

    /// The operator, as its ServiceAccount, with `opts` (and `deployer` as the default
    /// account unless `opts` says otherwise).
    async fn operator(
        &self,
        opts: OperatorOptions,
    ) -> (operator::Running, hoist::reflector::RepositoryWatch) {
        let client =
            service_account_client(&self.cluster, &self.admin, "hoist-system", "hoist-operator")
                .await;
        let repositories = hoist::reflector::watch_repositories(
            &client,
            hoist::repo::fetch::FetchOptions::default(),
            "hoist-system",
        );
        repositories.synced().await;
        let running = operator::start(client, repositories.clientset.clone(), opts)
            .await
            .expect("operator starts");
        (running, repositories)
    }
}

fn confined() -> OperatorOptions {
    OperatorOptions {
        default_service_account: Some("deployer".into()),
        ..Default::default()
    }
}

async fn create_package(
    alice: &Client,
    name: &str,
    package: &str,
    version: &str,
    repo: Option<&str>,
) {
    let mut s = spec(package, version);
    s.package_info.repository_name = repo.map(str::to_string);
    Api::<Package>::namespaced(alice.clone(), "team-a")
        .create(
            &PostParams::default(),
            &Package::new(name, NamespacedPackageSpec::from(s)),
        )
        .await
        .unwrap_or_else(|e| panic!("alice creates Package {name}: {e}"));
}

/// Waits until Package `name` in team-a has condition `type_` True; its message.
async fn until_condition(admin: &Client, name: &str, type_: &'static str) -> (String, Package) {
    let api: Api<Package> = Api::namespaced(admin.clone(), "team-a");
    let got = tokio::time::timeout(
        PATIENCE,
        await_condition(api, name, move |p: Option<&Package>| {
            p.and_then(|p| condition(p.status.as_ref(), type_))
                .is_some_and(|(s, _)| s == "True")
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("{name}: {type_} in time"))
    .expect("watch")
    .expect("exists");
    let message = condition(got.status.as_ref(), type_)
        .map(|(_, m)| m)
        .unwrap_or_default();
    (message, got)
}

/// Waits until Package `name` in team-a is Failed with `reason` and a message that
/// says `says`; the Package.
async fn failed_with(admin: &Client, name: &str, reason: &str, says: &str) -> Package {
    let (message, p) = until_condition(admin, name, "Failed").await;
    assert_eq!(self::reason(&p, "Failed"), reason, "{name}: {message}");
    assert!(message.contains(says), "{name}: {message}");
    p
}

fn reason(p: &Package, type_: &str) -> String {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .map(|c| c.reason.clone())
        .unwrap_or_default()
        .to_string()
}

/// Requests `user` made, by `verb resource` (devcluster's per-user counters).
fn writes(c: &devcluster::DevCluster, user: &str, key: &str) -> u64 {
    c.counters()
        .snapshot_by_user()
        .get(user)
        .and_then(|m| m.get(key).copied())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_package_is_written_as_her_namespaces_account_and_installs_only_what_is_hers() {
    let t = tenancy().await;
    let alice = t.alice();
    let (_operator, _repos) = t.operator(confined()).await;

    // Alice may not make a ClusterPackage herself (the `edit` role has none)...
    let refused = Api::<ClusterPackage>::all(alice.clone())
        .create(
            &PostParams::default(),
            &ClusterPackage::new("cert-issuer", spec("cert-issuer", "v1.0.0")),
        )
        .await
        .expect_err("alice cannot create ClusterPackages");
    assert!(
        matches!(refused, kube::Error::Api(ref s) if s.code == 403),
        "{refused}"
    );

    // ...and a Package of hers is installed as team-a's account, not the operator.
    create_package(&alice, "site", "hello-web", "v1.1.0+2", None).await;
    until_condition(&t.admin, "site", "Ready").await;
    assert!(
        writes(&t.cluster, DEPLOYER, "create deployments.apps") >= 1,
        "the Deployment was created as team-a/deployer: {:?}",
        t.cluster.counters().snapshot_by_user().get(DEPLOYER)
    );
    assert_eq!(
        writes(&t.cluster, OPERATOR, "create deployments.apps"),
        0,
        "the operator wrote nothing of alice's with its own rights"
    );

    // A cluster-wide package through a Package: refused by Hoist's rule, naming it.
    create_package(&alice, "gateway", "ingress-gateway", "v0.9.2+1", None).await;
    failed_with(
        &t.admin,
        "gateway",
        "NotPermitted",
        "ingress-gateway is a cluster-wide package",
    )
    .await;
    // Its cluster-wide dependency was not made for her either.
    let cluster_packages: Api<ClusterPackage> = Api::all(t.admin.clone());
    assert!(
        cluster_packages
            .get_opt("cert-issuer")
            .await
            .expect("read")
            .is_none(),
        "no ClusterPackage was created for a tenant"
    );

    // A package that says Namespaced and ships a ClusterRoleBinding to cluster-admin.
    create_package(
        &alice,
        "escalate",
        "escalate",
        "v1.0.0",
        Some("tenant-escape"),
    )
    .await;
    failed_with(
        &t.admin,
        "escalate",
        "NotPermitted",
        "ClusterRoleBinding team-a-takes-the-cluster is cluster-scoped",
    )
    .await;
    let crbs: Api<ClusterRoleBinding> = Api::all(t.admin.clone());
    assert!(
        crbs.get_opt("team-a-takes-the-cluster")
            .await
            .expect("read")
            .is_none()
    );
    // Refused before any write: not even the harmless ConfigMap beside it.
    let maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(t.admin.clone(), "team-a");
    assert!(
        maps.get_opt("escalate-harmless")
            .await
            .expect("read")
            .is_none()
    );

    // An account that does not exist is named, and nothing is written as it.
    // Written as a user writes it (the field's name on the wire is part of the API).
    let ghost: Package = serde_json::from_value(serde_json::json!({
        "apiVersion": "packages.hoist.dev/v1alpha1", "kind": "Package",
        "metadata": {"name": "ghost"},
        "spec": {
            "packageInfo": {"name": "hello-web", "version": "v1.1.0+2"},
            "serviceAccountName": "ghost",
        },
    }))
    .expect("a Package");
    assert_eq!(ghost.spec.service_account_name.as_deref(), Some("ghost"));
    Api::<Package>::namespaced(alice.clone(), "team-a")
        .create(&PostParams::default(), &ghost)
        .await
        .expect("create");
    failed_with(
        &t.admin,
        "ghost",
        "ServiceAccountMissing",
        "the ServiceAccount team-a/ghost",
    )
    .await;
    assert_eq!(
        writes(
            &t.cluster,
            "system:serviceaccount:team-a:ghost",
            "create deployments.apps"
        ),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_hoists_rule_switched_off_the_api_server_still_refuses_a_tenants_cluster_admin_binding()
 {
    let t = tenancy().await;
    let alice = t.alice();
    let (_operator, _repos) = t
        .operator(OperatorOptions {
            tenant_rules: false,
            ..confined()
        })
        .await;
    create_package(
        &alice,
        "escalate",
        "escalate",
        "v1.0.0",
        Some("tenant-escape"),
    )
    .await;
    // The API server refused the write made as team-a/deployer.
    failed_with(&t.admin, "escalate", "InstallationFailed", "forbidden").await;
    let refused = t.cluster.counters().refused(DEPLOYER);
    assert!(
        refused.keys().any(|k| k.contains("clusterrolebindings")),
        "refused as the tenant's account: {refused:?}"
    );
    let crbs: Api<ClusterRoleBinding> = Api::all(t.admin.clone());
    assert!(
        crbs.get_opt("team-a-takes-the-cluster")
            .await
            .expect("read")
            .is_none(),
        "the binding was never created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_reads_through_package_ref_only_what_a_cluster_package_set_literally() {
    let t = tenancy().await;
    let alice = t.alice();
    let (_operator, _repos) = t.operator(confined()).await;
    // An admin's ClusterPackages: one reads a value from a Secret in hoist-system (which
    // alice cannot read), one sets it in the open.
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "agent-settings"},
        "stringData": {"greeting": "the-admins-secret-text"},
    }))
    .expect("a Secret");
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(t.admin.clone(), "hoist-system")
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret");
    let cluster_packages: Api<ClusterPackage> = Api::all(t.admin.clone());
    for (name, value) in [
        (
            "from-secret",
            serde_json::json!({"valueFrom": {"secretRef": {"name": "agent-settings", "namespace": "hoist-system", "key": "greeting"}}}),
        ),
        ("in-the-open", serde_json::json!({"value": "Hello, team-a"})),
    ] {
        let mut s = spec("metrics-agent", "v2.0.1+3");
        s.values = [(
            "greeting".to_string(),
            serde_json::from_value(value).expect("a value"),
        )]
        .into();
        cluster_packages
            .create(&PostParams::default(), &ClusterPackage::new(name, s))
            .await
            .expect("cluster package");
    }
    let packages: Api<Package> = Api::namespaced(alice.clone(), "team-a");
    for (name, from) in [("leaky", "from-secret"), ("open", "in-the-open")] {
        let mut s = spec("hello-web", "v1.1.0+2");
        s.values = [(
            "message".to_string(),
            serde_json::from_value(serde_json::json!(
                {"valueFrom": {"packageRef": {"name": from, "value": "greeting"}}}
            ))
            .expect("a value"),
        )]
        .into();
        packages
            .create(
                &PostParams::default(),
                &Package::new(name, NamespacedPackageSpec::from(s)),
            )
            .await
            .expect("alice's package");
    }
    let leaky = failed_with(
        &t.admin,
        "leaky",
        "ValueConfigurationInvalid",
        "a Package may read only values a ClusterPackage sets literally",
    )
    .await;
    let everything = serde_json::to_string(&leaky).expect("json");
    assert!(
        !everything.contains("the-admins-secret-text"),
        "the Secret's text is nowhere in the Package: {everything}"
    );
    until_condition(&t.admin, "open", "Ready").await;
    // The value read through packageRef reached the applied object.
    let web: k8s_openapi::api::apps::v1::Deployment = Api::namespaced(t.admin.clone(), "team-a")
        .get("open-hello-web")
        .await
        .expect("the applied Deployment");
    let env = serde_json::to_value(&web).expect("json")["spec"]["template"]["spec"]["containers"]
        [0]["env"]
        .clone();
    assert_eq!(
        env,
        serde_json::json!([{"name": "MESSAGE", "value": "Hello, team-a"}]),
        "the packageRef value in the pod template"
    );
}
