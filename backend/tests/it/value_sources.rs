//! ListValueSources, the install form's and Configure's pickers (decision 0036): a
//! ConfigMap's keys, Secrets by name only through a metadata-only LIST (the request the
//! dashboard sent is recorded and checked), input checked before any request, the
//! LIMIT, and RBAC deciding (a refusal in the API server's words).

use crate::common;
use common::*;
use hoist_proto::v1 as pb;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use std::sync::{Arc, Mutex};
use tonic::codegen::http;

/// Each request a [`Recording`] client sent: path and query, and its Accept header.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A kube client that sends every request through `inner` and records it first.
#[derive(Clone)]
struct Recording {
    inner: kube::Client,
    seen: Seen,
}

impl tonic::codegen::Service<http::Request<kube::client::Body>> for Recording {
    type Response = http::Response<kube::client::Body>;
    type Error = kube::Error;
    type Future = tonic::codegen::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, kube::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), kube::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<kube::client::Body>) -> Self::Future {
        let accept = req
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        self.seen
            .lock()
            .expect("lock")
            .push((req.uri().to_string(), accept));
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(req).await })
    }
}

fn recording(inner: &kube::Client) -> (kube::Client, Seen) {
    let seen = Seen::default();
    let service = Recording {
        inner: inner.clone(),
        seen: seen.clone(),
    };
    (kube::Client::new(service, "default"), seen)
}

fn ask(namespace: &str, kind: &str) -> pb::ValueSourcesRequest {
    pb::ValueSourcesRequest {
        namespace: namespace.into(),
        kind: kind.into(),
    }
}

async fn config_map(client: &kube::Client, ns: &str, name: &str, data: &[(&str, &str)]) {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.into());
    c.data = Some(
        data.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .create(&Default::default(), &c)
        .await
        .expect("a ConfigMap");
}

#[tokio::test]
async fn config_maps_come_with_their_keys_and_secrets_by_name_from_a_metadata_only_list() {
    let (c, admin, _samples) = cluster_with_samples().await;
    config_map(&admin, "team-a", "sizes", &[("web", "3"), ("db", "1")]).await;
    config_map(&admin, "team-a", "plain", &[]).await;
    let mut secret = Secret::default();
    secret.metadata.name = Some("greeting".into());
    secret.string_data = Some([("text".to_string(), "s3cr3t-value".to_string())].into());
    Api::<Secret>::namespaced(admin.clone(), "team-a")
        .create(&Default::default(), &secret)
        .await
        .expect("a Secret");
    let (client, seen) = recording(&admin);
    let running = backend(&client, options()).await;
    running.ready().await;
    let mut g = grpc(&running).await;

    let listed = g
        .list_value_sources(ask("team-a", "configMap"))
        .await
        .expect("ConfigMaps")
        .into_inner();
    assert!(!listed.truncated);
    let of = |name: &str| listed.sources.iter().find(|s| s.name == name).cloned();
    assert_eq!(
        of("sizes").expect("sizes").keys,
        ["db", "web"],
        "{listed:?}"
    );
    assert_eq!(of("plain").expect("plain").keys, Vec::<String>::new());
    let names: Vec<&str> = listed.sources.iter().map(|s| s.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");

    seen.lock().expect("lock").clear();
    let secrets = g
        .list_value_sources(ask("team-a", "secret"))
        .await
        .expect("Secrets")
        .into_inner();
    assert_eq!(
        secrets.sources,
        [pb::ValueSource {
            name: "greeting".into(),
            keys: Vec::new(),
        }],
        "a name, never a key"
    );
    // What the dashboard asked the API server for: metadata only, one LIST, bounded.
    let asked: Vec<(String, String)> = seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|(uri, _)| uri.contains("/secrets"))
        .cloned()
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let (uri, accept) = &asked[0];
    assert!(
        uri.starts_with("/api/v1/namespaces/team-a/secrets?") && uri.contains("limit=500"),
        "{uri}"
    );
    assert!(
        accept.contains("as=PartialObjectMetadataList") && accept.contains("g=meta.k8s.io"),
        "a metadata-only list: {accept}"
    );

    // Bad input: refused before any request reaches the API server.
    c.counters().reset();
    for (req, says) in [
        (ask("Team_A", "secret"), "DNS-1123"),
        (ask("", "configMap"), "DNS-1123"),
        (ask("team-a", "package"), "\"configMap\" or a \"secret\""),
    ] {
        let e = g.list_value_sources(req).await.expect_err("refused");
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{}", e.message());
        assert!(e.message().contains(says), "{}", e.message());
    }
    assert_eq!(c.counters().get("list", "secrets"), 0);
    assert_eq!(c.counters().get("list", "configmaps"), 0);
}

#[tokio::test]
async fn more_config_maps_than_the_limit_are_listed_up_to_it_and_said_truncated() {
    let (_c, client, _samples) = cluster_with_samples().await;
    hoist::demo::seed::namespace(&client, "many")
        .await
        .expect("namespace");
    for i in 0..501 {
        config_map(&client, "many", &format!("c{i:03}"), &[("k", "v")]).await;
    }
    let running = backend(&client, options()).await;
    running.ready().await;
    let listed = grpc(&running)
        .await
        .list_value_sources(ask("many", "configMap"))
        .await
        .expect("ConfigMaps")
        .into_inner();
    assert!(listed.truncated);
    assert_eq!(listed.sources.len(), 500);
    assert_eq!(listed.sources[0].name, "c000");
}

#[tokio::test]
async fn rbac_decides_a_refusal_is_permission_denied_in_the_api_servers_words() {
    let (c, admin) = cluster_with_rbac().await;
    for ns in ["team-a", "hoist-system"] {
        hoist::demo::seed::namespace(&admin, ns)
            .await
            .expect("namespace");
    }
    apply_deploy_rbac(&admin, &["rbac.yaml"]).await;
    let client = service_account_client(&c, &admin, "hoist-system", "hoist-dashboard").await;
    let running = backend(&client, options()).await;
    running.ready().await;
    let mut g = grpc(&running).await;

    // deploy/rbac.yaml lists Secrets in Hoist's namespace only, ConfigMaps nowhere.
    for (ns, kind) in [("team-a", "secret"), ("team-a", "configMap")] {
        let e = g
            .list_value_sources(ask(ns, kind))
            .await
            .expect_err("not granted");
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "{}", e.message());
        assert!(
            e.message().contains("forbidden") && e.message().contains("team-a"),
            "the API server's words: {}",
            e.message()
        );
    }
    g.list_value_sources(ask("hoist-system", "secret"))
        .await
        .expect("granted in Hoist's namespace");
}
