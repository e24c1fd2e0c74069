//! Shared fixtures for the conformance tests: a running devcluster, a test CRD, and a
//! way to wait for a reflector to agree with the server without sleeping.
#![allow(dead_code)]

pub mod auth;

use devcluster::{DevCluster, Options};
use futures::{Stream, StreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client, CustomResource, CustomResourceExt, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A namespaced custom resource with a status subresource.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "test.hoist.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    shortname = "wd"
)]
pub struct WidgetSpec {
    pub size: i32,
    #[serde(default)]
    pub color: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct WidgetStatus {
    pub ready: bool,
}

/// A ConfigMap with just a name (add data, labels or owners as a test needs).
pub fn configmap(name: &str) -> k8s_openapi::api::core::v1::ConfigMap {
    let mut cm = k8s_openapi::api::core::v1::ConfigMap::default();
    cm.metadata.name = Some(name.to_string());
    cm
}

pub fn widget(name: &str, size: i32) -> Widget {
    Widget::new(
        name,
        WidgetSpec {
            size,
            color: "red".into(),
        },
    )
}

/// Upper bound for anything a test waits on: generous, since CI machines are shared.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub async fn start() -> (DevCluster, Client) {
    start_with(Options::default()).await
}

pub async fn start_with(opts: Options) -> (DevCluster, Client) {
    let cluster = DevCluster::start(opts).await.expect("devcluster starts");
    let client = cluster.client().expect("client");
    (cluster, client)
}

/// Installs the Widget CRD and waits until it is Established.
pub async fn install_widget_crd(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&Default::default(), &Widget::crd())
        .await
        .expect("CRD created");
    let established = await_condition(
        crds,
        "widgets.test.hoist.dev",
        conditions::is_crd_established(),
    );
    tokio::time::timeout(PATIENCE, established)
        .await
        .expect("CRD established in time")
        .expect("watch works");
}

/// `name -> resourceVersion` of every Widget the server has.
pub async fn server_state(api: &Api<Widget>) -> BTreeMap<String, String> {
    let list = api.list(&Default::default()).await.expect("list");
    list.items
        .iter()
        .map(|w| (w.name_any(), w.resource_version().unwrap_or_default()))
        .collect()
}

/// `name -> resourceVersion` of every Widget, read from devcluster's store directly.
pub fn stored_widgets(cluster: &DevCluster) -> BTreeMap<String, String> {
    cluster
        .objects("test.hoist.dev", "widgets")
        .iter()
        .map(|w| {
            (
                devcluster::meta::name(w).to_string(),
                devcluster::meta::resource_version(w).to_string(),
            )
        })
        .collect()
}

pub fn store_state(store: &reflector::Store<Widget>) -> BTreeMap<String, String> {
    store
        .state()
        .iter()
        .map(|w| (w.name_any(), w.resource_version().unwrap_or_default()))
        .collect()
}

/// A reflector over Widgets with kube-rs' default backoff, and its store.
pub fn reflect(
    api: Api<Widget>,
    cfg: watcher::Config,
) -> (reflector::Store<Widget>, impl Stream<Item = ()> + Send) {
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api, cfg))
        .default_backoff()
        .map(|_| ());
    (reader, stream)
}

/// Drives `stream` until the store equals `want`; panics after [`PATIENCE`].
/// Each check runs after an event, so this waits on the stream, not on a clock.
pub async fn converge(
    store: &reflector::Store<Widget>,
    stream: &mut (impl Stream<Item = ()> + Unpin),
    want: &BTreeMap<String, String>,
) {
    let result = tokio::time::timeout(PATIENCE, async {
        loop {
            if store_state(store) == *want {
                return;
            }
            if stream.next().await.is_none() {
                panic!("reflector stream ended");
            }
        }
    })
    .await;
    if result.is_err() {
        panic!(
            "reflector did not converge: have {:?}, want {want:?}",
            store_state(store)
        );
    }
}

/// One raw HTTP/1.1 exchange with `cluster`, as the admin: `head` is the request line
/// and headers without `Host` or `Authorization` (ending in `\r\n`), sent over TLS
/// trusting the cluster's CA when it serves HTTPS. Nothing between the test and the
/// server cleans the request up. Returns the whole answer.
pub async fn raw_exchange(cluster: &DevCluster, head: &str, body: &[u8]) -> Vec<u8> {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    let addr = cluster.addr();
    let mut request = head.replacen("\r\n", &format!("\r\nHost: {addr}\r\n"), 1);
    if let Some(token) = cluster.admin_token() {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut answer = Vec::new();
    match cluster.ca_der() {
        None => {
            let mut s = tcp;
            s.write_all(&bytes).await.expect("write");
            s.read_to_end(&mut answer).await.expect("read");
        }
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.to_vec().into()).expect("the CA");
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let mut s = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .expect("TLS handshake");
            s.write_all(&bytes).await.expect("write");
            // The server may close without a TLS close_notify after `Connection: close`.
            let _ = s.read_to_end(&mut answer).await;
        }
    }
    answer
}
