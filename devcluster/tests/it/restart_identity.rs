//! `--state FILE` with authentication: the server's identity (CA, admin token,
//! ServiceAccount signing key) is kept in `FILE.identity`, so kubeconfigs, clients and
//! ServiceAccount tokens from before a restart keep working after it; a corrupt identity
//! file is an error at start, never a silently new identity.

use crate::common;
use common::auth::token_for;
use common::*;
use devcluster::{DevCluster, Options, StartError};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

fn opts(state: &Path, listen: SocketAddr) -> Options {
    Options {
        listen,
        state_file: Some(state.to_path_buf()),
        ..Default::default()
    }
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn identity_path(state: &Path) -> std::path::PathBuf {
    devcluster::identity::path_for(state)
}

/// Runs `call` until the server answers: a client kept across the restart may first
/// find its pooled connection to the old server closed. An API error (401 among them)
/// is an answer and returned at once.
async fn answered<T, F, Fut>(mut call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match call().await {
            Err(e) if !matches!(e, kube::Error::Api(_)) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            outcome => return outcome,
        }
    }
}

/// A client sending `token` and trusting only `ca_der`, as a process that kept them.
fn client_trusting(url: &str, ca_der: &[u8], token: &str) -> Client {
    let mut config = Config::new(url.parse().expect("url"));
    config.auth_info.token = Some(token.to_string().into());
    config.root_cert = Some(vec![ca_der.to_vec()]);
    Client::try_from(config).expect("client")
}

async fn self_subject(client: Client) -> Result<String, kube::Error> {
    let review = answered(|| {
        let api = Api::<SelfSubjectReview>::all(client.clone());
        async move {
            api.create(&PostParams::default(), &SelfSubjectReview::default())
                .await
        }
    })
    .await?;
    Ok(review
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username)
        .unwrap_or_default())
}

#[tokio::test]
async fn kubeconfigs_clients_and_service_account_tokens_from_before_a_restart_keep_working() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let (first, old_client) = start_with(opts(&state, any_port())).await;
    let addr = first.addr();
    let url = first.url();
    let old_kubeconfig = first.kubeconfig();
    let old_ca = first.ca_der().expect("serves HTTPS").to_vec();
    let old_admin = first.admin_token().expect("authenticates").to_string();
    Api::<ConfigMap>::namespaced(old_client.clone(), "default")
        .create(&PostParams::default(), &configmap("kept"))
        .await
        .expect("create");
    let sa_token = token_for(&old_client, "default", "robot").await;
    first.shutdown().await;

    // The identity is a secret: only its owner may read it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(identity_path(&state))
            .expect("the identity file is written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "identity file mode {mode:o}");
    }

    let second = DevCluster::start(opts(&state, addr))
        .await
        .expect("restarts on the same state file and address");
    assert_eq!(second.url(), url);
    assert_eq!(second.ca_der(), Some(old_ca.as_slice()), "the same CA");
    assert_eq!(second.admin_token(), Some(old_admin.as_str()));

    // The client of the first run, kept across the restart, reads what it wrote.
    let kept = answered(|| {
        let api = Api::<ConfigMap>::namespaced(old_client.clone(), "default");
        async move { api.get("kept").await }
    })
    .await
    .expect("the old client still trusts the server and is still admin");
    assert_eq!(kept.metadata.name.as_deref(), Some("kept"));

    // A client built now from the kubeconfig written before the restart works too.
    let kubeconfig = Kubeconfig::from_yaml(&old_kubeconfig).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    let from_file = Client::try_from(config).expect("client");
    Api::<ConfigMap>::namespaced(from_file, "default")
        .get("kept")
        .await
        .expect("the old kubeconfig still works");

    // The ServiceAccount token issued before the restart still authenticates.
    let robot = client_trusting(&url, &old_ca, &sa_token);
    assert_eq!(
        self_subject(robot)
            .await
            .expect("the old token is accepted"),
        "system:serviceaccount:default:robot"
    );
    // ...and a token it never issued still does not.
    let stranger = client_trusting(&url, &old_ca, "not-a-token");
    match self_subject(stranger).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 401),
        other => panic!("an unknown token must be 401, got {other:?}"),
    }
    second.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_identity_file_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let identity = identity_path(&state);
    std::fs::write(&identity, b"{\"format\":1,\"caKey\":").expect("write");
    match DevCluster::start(opts(&state, any_port())).await {
        Err(e @ StartError::CorruptIdentity { .. }) => {
            let message = e.to_string();
            assert!(message.contains("state.json.identity"), "{message}");
            assert!(message.contains("corrupt"), "{message}");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a corrupt identity file must not start with a new identity"),
    }
    assert_eq!(
        std::fs::read(&identity).expect("read"),
        b"{\"format\":1,\"caKey\":",
        "the file is left as it was"
    );
}

#[tokio::test]
async fn an_identity_whose_ca_key_is_not_its_certificates_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (one, two) = (dir.path().join("one.json"), dir.path().join("two.json"));
    for state in [&one, &two] {
        DevCluster::start(opts(state, any_port()))
            .await
            .expect("starts")
            .shutdown()
            .await;
    }
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(identity_path(p)).expect("read")).expect("JSON")
    };
    let mut mixed = read(&one);
    mixed["caCert"] = read(&two)["caCert"].clone();
    std::fs::write(identity_path(&one), mixed.to_string()).expect("write");
    match DevCluster::start(opts(&one, any_port())).await {
        Err(StartError::CorruptIdentity { reason, .. }) => {
            assert!(reason.contains("does not match"), "{reason}");
            assert!(!reason.contains("PRIVATE KEY"), "no secret in the error");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a CA key and certificate that differ must not start"),
    }
}

#[tokio::test]
async fn without_authentication_no_identity_file_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let cluster = DevCluster::start(Options {
        auth: None,
        ..opts(&state, any_port())
    })
    .await
    .expect("starts");
    assert!(cluster.ca_der().is_none());
    cluster.shutdown().await;
    assert!(state.exists(), "the state is kept");
    assert!(
        !identity_path(&state).exists(),
        "nothing to keep without authentication"
    );
}

#[tokio::test]
async fn without_a_state_file_each_start_has_a_new_identity() {
    let a = DevCluster::start(Options::default()).await.expect("a");
    let b = DevCluster::start(Options::default()).await.expect("b");
    assert_ne!(a.ca_der(), b.ca_der());
    assert_ne!(a.admin_token(), b.admin_token());
}
