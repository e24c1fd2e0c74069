//! devcluster set up as Hoist's tests need it.

use devcluster::DevCluster;
use kube::Client;
use kube::api::{Api, PostParams};

/// devcluster (its defaults: authentication on, the admin's client) with Hoist's CRDs.
pub async fn cluster() -> (DevCluster, Client) {
    cluster_with(Default::default()).await
}

/// devcluster started with `options`, with Hoist's CRDs. The client is built as Hoist
/// builds its own ([`hoist::client::from_config`]), so tests go through that stack.
pub async fn cluster_with(options: devcluster::Options) -> (DevCluster, Client) {
    let cluster = DevCluster::start(options).await.expect("devcluster");
    let client = hoist::client::from_config(cluster.config().expect("config")).expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    (cluster, client)
}

/// devcluster with Hoist's CRDs, and the sample repository served over HTTP and
/// registered as the default. Keep all three alive for the test.
pub async fn cluster_with_samples() -> (DevCluster, Client, hoist::demo::samples::SampleRepository)
{
    cluster_with_samples_and(Default::default()).await
}

/// [`cluster_with_samples`] with devcluster started with `options`.
pub async fn cluster_with_samples_and(
    options: devcluster::Options,
) -> (DevCluster, Client, hoist::demo::samples::SampleRepository) {
    let (cluster, client) = cluster_with(options).await;
    let samples = hoist::demo::samples::SampleRepository::start()
        .await
        .expect("sample repository");
    samples.register(&client).await.expect("registered");
    (cluster, client, samples)
}

/// devcluster with authentication and RBAC on and anonymous requests refused (HTTPS
/// with its own CA; `client` is its admin, in `system:masters`), with Hoist's CRDs.
pub async fn cluster_with_rbac() -> (DevCluster, Client) {
    cluster_with(devcluster::Options {
        auth: Some(devcluster::AuthOptions {
            anonymous: false,
            token_file: None,
        }),
        ..Default::default()
    })
    .await
}

/// Creates, as the admin, the ServiceAccounts, Roles, ClusterRoles and bindings in
/// `deploy/{file}` for each of `files`, exactly as written (other kinds are skipped).
pub async fn apply_deploy_rbac(admin: &Client, files: &[&str]) {
    use kube::api::{ApiResource, DynamicObject};
    use kube::core::GroupVersionKind;
    for file in files {
        let path = format!("{}/../deploy/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("the deploy file exists");
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let doc: serde_json::Value =
                serde::Deserialize::deserialize(doc).expect("each document parses");
            let kind = doc["kind"].as_str().unwrap_or("");
            let (group, plural) = match kind {
                "ServiceAccount" => ("", "serviceaccounts"),
                "Role" => ("rbac.authorization.k8s.io", "roles"),
                "ClusterRole" => ("rbac.authorization.k8s.io", "clusterroles"),
                "RoleBinding" => ("rbac.authorization.k8s.io", "rolebindings"),
                "ClusterRoleBinding" => ("rbac.authorization.k8s.io", "clusterrolebindings"),
                _ => continue,
            };
            let ar = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(group, "v1", kind),
                plural,
            );
            let obj: DynamicObject = serde_json::from_value(doc.clone()).expect("an object");
            let api: Api<DynamicObject> = match doc["metadata"]["namespace"].as_str() {
                Some(ns) => Api::namespaced_with(admin.clone(), ns, &ar),
                None => Api::all_with(admin.clone(), &ar),
            };
            api.create(&PostParams::default(), &obj)
                .await
                .unwrap_or_else(|e| panic!("{file}: {kind}: {e}"));
        }
    }
}

/// A client of `cluster` that is the ServiceAccount `ns/name`, with a token from
/// TokenRequest (an hour long).
pub async fn service_account_client(
    cluster: &DevCluster,
    admin: &Client,
    ns: &str,
    name: &str,
) -> Client {
    use k8s_openapi::api::authentication::v1::TokenRequest;
    use k8s_openapi::api::core::v1::ServiceAccount;
    let req: TokenRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600}
    }))
    .expect("a TokenRequest");
    let token = Api::<ServiceAccount>::namespaced(admin.clone(), ns)
        .create_token_request(name, &PostParams::default(), &req)
        .await
        .expect("a token")
        .status
        .and_then(|s| s.token)
        .expect("status.token");
    let mut config = kube::Config::new(cluster.url().parse().expect("url"));
    config.auth_info.token = Some(token.into());
    config.root_cert = cluster.ca_der().map(|der| vec![der.to_vec()]);
    hoist::client::from_config(config).expect("client")
}

/// Makes ServiceAccount `ns/name` and binds it to ClusterRole `role` cluster-wide;
/// returns a client that is that account.
pub async fn bound_account(
    cluster: &DevCluster,
    admin: &Client,
    ns: &str,
    name: &str,
    role: &str,
) -> Client {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
    let account: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}}))
            .expect("an account");
    Api::<ServiceAccount>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &account)
        .await
        .expect("account");
    let binding: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": format!("{name}-{role}")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
    }))
    .expect("a binding");
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding");
    service_account_client(cluster, admin, ns, name).await
}
