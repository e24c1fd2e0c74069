//! Fixtures for the authentication and RBAC tests: a devcluster that authenticates,
//! clients with a given token, ServiceAccount tokens from TokenRequest, kubectl.
#![allow(dead_code)]

use devcluster::{AuthOptions, DevCluster, Options};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::{Client, Config};

/// A devcluster with authentication and RBAC (`anonymous`: requests without a token
/// get in as `system:anonymous`), and its admin's client.
pub async fn cluster(anonymous: bool) -> (DevCluster, Client) {
    super::start_with(Options {
        auth: Some(AuthOptions {
            anonymous,
            token_file: None,
        }),
        ..Options::default()
    })
    .await
}

/// A client of `cluster` sending `token` (none: no credentials), trusting its CA.
pub fn client_with(cluster: &DevCluster, token: Option<&str>) -> Client {
    let mut config = Config::new(cluster.url().parse().expect("url"));
    config.auth_info.token = token.map(|t| t.to_string().into());
    config.root_cert = cluster.ca_der().map(|der| vec![der.to_vec()]);
    Client::try_from(config).expect("client")
}

/// An API error's code, reason and message.
pub fn api_error(e: kube::Error) -> (u16, String, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("an API error, not {other:?}"),
    }
}

pub async fn namespace(admin: &Client, name: &str) {
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("namespace");
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");
}

/// Creates the ServiceAccount `ns/name` and returns a token TokenRequest issued for it.
pub async fn token_for(admin: &Client, ns: &str, name: &str) -> String {
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    let sa: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("sa");
    sas.create(&PostParams::default(), &sa).await.expect("sa");
    let req: TokenRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}
    }))
    .expect("a TokenRequest");
    let token = sas
        .create_token_request(name, &PostParams::default(), &req)
        .await
        .expect("a token")
        .status
        .and_then(|s| s.token)
        .expect("status.token");
    assert!(!token.is_empty());
    token
}

/// kubectl with `kubeconfig`, on a blocking thread (the cluster is served by the
/// test's runtime): whether it succeeded, and what it printed.
pub async fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String) {
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
