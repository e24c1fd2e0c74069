//! Installing from the dashboard: the `Install` call checks everything, creates the
//! Package through the API server, and the change reaches every page on the stream.
//! Cross-site writes are refused before they reach the service.

use crate::common;
use common::*;
use hoist::demo::samples::SampleRepository;
use hoist::types::{ClusterPackage, Package};
use hoist_proto::v1 as pb;
use kube::Api;
use prost::Message;

fn install(package: &str, namespace: &str, values: &[(&str, &str)]) -> pb::InstallRequest {
    pb::InstallRequest {
        package: package.into(),
        namespace: namespace.into(),
        values: values
            .iter()
            .map(|(k, v)| pb::Setting {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
        ..Default::default()
    }
}

/// devcluster with the sample repository as default, namespace team-a, a READY backend.
async fn setup() -> (
    devcluster::DevCluster,
    kube::Client,
    SampleRepository,
    hoist::serve::Running,
) {
    let (c, client, samples) = cluster_with_samples().await;
    let running = backend(&client, options()).await;
    running.ready().await;
    (c, client, samples, running)
}

#[tokio::test]
async fn an_install_creates_the_package_reaches_every_stream_and_reads_no_repository_object() {
    let (c, client, _samples, running) = setup().await;
    let mut stream = open_watch(&running).await;
    assert!(snapshot(next_data(&mut stream).await).packages.is_empty());
    let mut g = grpc(&running).await;

    c.counters().reset();
    let done = g
        .install(install("hello-web", "team-a", &[("replicas", "3")]))
        .await
        .expect("installed")
        .into_inner();
    let key = done.installed.expect("a key");
    assert_eq!(
        (key.scope, key.namespace.as_str(), key.name.as_str()),
        (pb::Scope::Namespaced as i32, "team-a", "hello-web")
    );
    assert_eq!(done.version, "v1.1.0+2", "the newest version, computed");
    assert!(
        done.message.contains("Package team-a/hello-web"),
        "{}",
        done.message
    );
    // The namespace check and the create reach the API server, nothing else: the
    // repositories come from the caches. (A cache opens its watch after its list, so
    // after READY; those watches are the caches', not the install's.)
    let requests: std::collections::BTreeMap<String, u64> = c
        .counters()
        .snapshot()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("watch "))
        .collect();
    assert_eq!(
        requests,
        [
            ("create packages.packages.hoist.dev".to_string(), 1),
            ("get namespaces".to_string(), 1),
        ]
        .into()
    );

    // Every page hears of it on its stream, like any other change.
    let change = change(next_data(&mut stream).await);
    let Some(pb::package_change::Change::Upsert(p)) = change.change else {
        panic!("expected an upsert, got {change:?}");
    };
    assert_eq!(
        (p.package_name.as_str(), p.version.as_str()),
        ("hello-web", "v1.1.0+2")
    );
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    let created = packages.get("hello-web").await.expect("created");
    let replicas = created.spec.spec.values.get("replicas").expect("set");
    assert_eq!(replicas.value.as_deref(), Some("3"));

    // The same again: the name is taken.
    let e = g
        .install(install("hello-web", "team-a", &[]))
        .await
        .expect_err("taken");
    assert_eq!(e.code(), tonic::Code::AlreadyExists, "{}", e.message());
}

#[tokio::test]
async fn a_package_installed_into_its_own_missing_namespace_gets_it_created() {
    let (c, client, _samples, running) = setup().await;
    let mut g = grpc(&running).await;
    c.counters().reset();
    // hello-web declares namespace hello-web, which does not exist yet.
    let done = g
        .install(install("hello-web", "", &[]))
        .await
        .expect("installed")
        .into_inner();
    assert!(
        done.message.contains("(namespace hello-web created)"),
        "{}",
        done.message
    );
    assert_eq!(c.counters().get("create", "namespaces"), 1);
    Api::<Package>::namespaced(client.clone(), "hello-web")
        .get("hello-web")
        .await
        .expect("created in its namespace");
    // Only the package's own namespace: another missing one is still refused.
    let e = g
        .install(pb::InstallRequest {
            name: "second".into(),
            ..install("hello-web", "elsewhere", &[])
        })
        .await
        .expect_err("a namespace that is not the package's");
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{}", e.message());
}

#[tokio::test]
async fn a_refused_install_says_why_with_the_right_code_and_creates_nothing() {
    let (_c, client, _samples, running) = setup().await;
    let mut g = grpc(&running).await;
    let cases = [
        (
            install("no-such", "", &[]),
            tonic::Code::NotFound,
            "no-such",
        ),
        (
            pb::InstallRequest {
                version: "v9.9.9".into(),
                ..install("hello-web", "team-a", &[])
            },
            tonic::Code::NotFound,
            "v1.0.0+1",
        ),
        (
            install("hello-web", "team-a", &[("replicas", "99")]),
            tonic::Code::InvalidArgument,
            "from 1 to 10",
        ),
        (
            install("hello-web", "team-a", &[("colour", "red")]),
            tonic::Code::InvalidArgument,
            "has: message, replicas",
        ),
        (
            install("metrics-agent", "team-a", &[]),
            tonic::Code::InvalidArgument,
            "cluster-scoped",
        ),
        (
            install("hello-web", "nowhere", &[]),
            tonic::Code::FailedPrecondition,
            "does not exist",
        ),
    ];
    for (req, code, says) in cases {
        let what = format!("{req:?}");
        let e = g.install(req).await.expect_err(&what);
        assert_eq!(e.code(), code, "{what}: {}", e.message());
        assert!(e.message().contains(says), "{what}: {}", e.message());
    }
    nothing_installed(&client).await;
    let metrics = reqwest::get(format!("{}/metrics", running.url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("hoist_installs_total{result=\"invalid_value\"} 2"),
        "{metrics}"
    );
}

/// A gRPC-web call as a browser page would send it.
async fn browser_install(
    running: &hoist::serve::Running,
    host: Option<&str>,
    origin: &str,
) -> reqwest::Response {
    let body = install("cert-issuer", "", &[]).encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    let mut req = reqwest::Client::new()
        .post(format!("{}/hoist.v1.Dashboard/Install", running.url()))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", origin)
        .body(frame);
    if let Some(host) = host {
        req = req.header("host", host);
    }
    req.send().await.expect("an answer")
}

#[tokio::test]
async fn writes_from_another_site_or_a_rebinding_name_are_refused_before_the_service() {
    let (_c, client, _samples, running) = setup().await;
    let own = running.url();

    // Refused as gRPC-web clients read it: PERMISSION_DENIED (7) in the headers.
    let refused = |r: &reqwest::Response| {
        let h = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        (h("grpc-status"), h("grpc-message"), h("content-type"))
    };
    let r = browser_install(&running, None, "http://evil.example").await;
    let (status, message, content_type) = refused(&r);
    assert_eq!(status, "7", "{message}");
    assert!(message.contains("own%20page"), "{message}");
    assert_eq!(content_type, "application/grpc-web+proto");
    let r = browser_install(&running, Some("evil.example:80"), "http://evil.example:80").await;
    assert_eq!(refused(&r).0, "7", "a rebinding name");
    nothing_installed(&client).await;

    // The very same request from the dashboard's own page is served and installs.
    let r = browser_install(&running, None, &own).await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let cluster_packages: Api<ClusterPackage> = Api::all(client.clone());
    let created = cluster_packages
        .get("cert-issuer")
        .await
        .expect("installed from the dashboard's own origin");
    assert_eq!(created.spec.package_info.name, "cert-issuer");
}

#[tokio::test]
async fn an_install_with_references_stores_value_from_and_refuses_another_namespace_or_a_value_set_twice()
 {
    let (_c, client, _samples, running) = setup().await;
    let mut g = grpc(&running).await;
    let secret_ref = |namespace: &str| pb::ValueRef {
        key: "message".into(),
        kind: "secret".into(),
        namespace: namespace.into(),
        name: "greeting".into(),
        item: "text".into(),
    };
    // Refused, each with its reason, and nothing created.
    for (req, code, says) in [
        (
            pb::InstallRequest {
                references: vec![secret_ref("other")],
                ..install("hello-web", "team-a", &[])
            },
            tonic::Code::InvalidArgument,
            "only read values from its own namespace",
        ),
        (
            pb::InstallRequest {
                references: vec![secret_ref("")],
                ..install("hello-web", "team-a", &[("message", "hi")])
            },
            tonic::Code::InvalidArgument,
            "both as a value and from Secret",
        ),
        (
            pb::InstallRequest {
                references: vec![pb::ValueRef {
                    kind: "vault".into(),
                    ..secret_ref("")
                }],
                ..install("hello-web", "team-a", &[])
            },
            tonic::Code::InvalidArgument,
            "a configMap, a secret or a package",
        ),
    ] {
        let what = format!("{req:?}");
        let e = g.install(req).await.expect_err(&what);
        assert_eq!(e.code(), code, "{what}: {}", e.message());
        assert!(e.message().contains(says), "{what}: {}", e.message());
    }
    nothing_installed(&client).await;

    // Accepted: the Package's spec carries the reference, its own namespace implicit.
    g.install(pb::InstallRequest {
        references: vec![
            secret_ref("team-a"),
            pb::ValueRef {
                key: "replicas".into(),
                kind: "configMap".into(),
                name: "sizes".into(),
                item: "web".into(),
                ..Default::default()
            },
        ],
        ..install("hello-web", "team-a", &[])
    })
    .await
    .expect("installed");
    let p = kube::Api::<hoist::types::Package>::namespaced(client.clone(), "team-a")
        .get("hello-web")
        .await
        .expect("created");
    let values = serde_json::to_value(&p.spec.values).expect("json");
    assert_eq!(
        values,
        serde_json::json!({
            "message": {"valueFrom": {"secretRef": {"name": "greeting", "key": "text"}}},
            "replicas": {"valueFrom": {"configMapRef": {"name": "sizes", "key": "web"}}},
        })
    );
}

#[tokio::test]
async fn configure_from_the_dashboard_checks_the_values_writes_once_and_says_what_changed() {
    let (_c, client, _samples, running) = setup().await;
    let mut g = grpc(&running).await;
    g.install(install("hello-web", "team-a", &[("replicas", "2")]))
        .await
        .expect("installed");
    let key = pb::PackageKey {
        scope: pb::Scope::Namespaced as i32,
        namespace: "team-a".into(),
        name: "hello-web".into(),
    };
    let configure = |values: &[(&str, &str)], unset: &[&str]| pb::ConfigureRequest {
        key: Some(key.clone()),
        values: values
            .iter()
            .map(|(k, v)| pb::Setting {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
        unset: unset.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");

    let done = g
        .configure(configure(&[("replicas", "4"), ("message", "hi")], &[]))
        .await
        .expect("configured")
        .into_inner();
    assert!(
        done.message.contains("replicas: 2 -> 4") && done.message.contains("message: set to hi"),
        "{}",
        done.message
    );
    let p = packages.get("hello-web").await.expect("there");
    let value = |p: &Package, k: &str| p.spec.spec.values.get(k).and_then(|v| v.value.clone());
    assert_eq!(value(&p, "replicas").as_deref(), Some("4"));
    assert_eq!(value(&p, "message").as_deref(), Some("hi"));

    let rv = p.metadata.resource_version.clone();
    for (req, code) in [
        (
            configure(&[("replicas", "0")], &[]),
            tonic::Code::InvalidArgument,
        ),
        (
            configure(&[("colour", "red")], &[]),
            tonic::Code::InvalidArgument,
        ),
        (configure(&[], &["greeting"]), tonic::Code::InvalidArgument),
        (
            pb::ConfigureRequest {
                key: Some(pb::PackageKey {
                    name: "nowhere".into(),
                    ..key.clone()
                }),
                ..configure(&[("replicas", "3")], &[])
            },
            tonic::Code::NotFound,
        ),
    ] {
        let e = g.configure(req).await.expect_err("refused");
        assert_eq!(e.code(), code, "{}", e.message());
        let now = packages.get("hello-web").await.expect("there");
        assert_eq!(
            now.metadata.resource_version, rv,
            "a refusal writes nothing"
        );
    }

    let done = g
        .configure(configure(&[], &["message"]))
        .await
        .expect("unset")
        .into_inner();
    assert!(
        done.message.contains("message: unset (was hi)"),
        "{}",
        done.message
    );
    let p = packages.get("hello-web").await.expect("there");
    assert!(!p.spec.spec.values.contains_key("message"));
}

#[tokio::test]
async fn a_preview_of_an_install_carries_the_object_as_git_would_hold_it() {
    let (_c, client, _samples, running) = setup().await;
    let mut g = grpc(&running).await;
    let mut secret = k8s_openapi::api::core::v1::Secret::default();
    secret.metadata.name = Some("greeting".into());
    secret.string_data = Some([("text".to_string(), "hi".to_string())].into());
    Api::namespaced(client.clone(), "team-a")
        .create(&Default::default(), &secret)
        .await
        .expect("the Secret read");
    let plan = g
        .preview(pb::PreviewRequest {
            install: Some(pb::InstallRequest {
                name: "web".into(),
                references: vec![pb::ValueRef {
                    key: "message".into(),
                    kind: "secret".into(),
                    name: "greeting".into(),
                    item: "text".into(),
                    ..Default::default()
                }],
                auto_update: true,
                ..install("hello-web", "team-a", &[("replicas", "3")])
            }),
            ..Default::default()
        })
        .await
        .expect("a plan")
        .into_inner();
    assert!(
        !plan.summary.is_empty() && !plan.steps.is_empty(),
        "{plan:?}"
    );
    let object: serde_json::Value = serde_yaml_ng::from_str(&plan.object_yaml).expect("YAML");
    assert_eq!(object["kind"], "Package", "{}", plan.object_yaml);
    assert_eq!(object["apiVersion"], "packages.hoist.dev/v1alpha1");
    assert_eq!(
        object["metadata"],
        serde_json::json!({
            "name": "web",
            "namespace": "team-a",
            "annotations": {(hoist::types::AUTO_UPDATE): "true"},
        })
    );
    assert_eq!(
        object["spec"]["packageInfo"],
        serde_json::json!({"name": "hello-web", "version": "v1.1.0+2", "repositoryName": "hoist-samples"})
    );
    assert_eq!(
        object["spec"]["values"],
        serde_json::json!({
            "replicas": {"value": "3"},
            "message": {"valueFrom": {"secretRef": {"name": "greeting", "key": "text"}}},
        })
    );
    assert!(object.get("status").is_none(), "{}", plan.object_yaml);
    nothing_installed(&client).await;

    // A configure's plan carries none.
    g.install(install("hello-web", "team-a", &[]))
        .await
        .expect("installed");
    let plan = g
        .preview(pb::PreviewRequest {
            configure: Some(pb::ConfigureRequest {
                key: Some(pb::PackageKey {
                    scope: pb::Scope::Namespaced as i32,
                    namespace: "team-a".into(),
                    name: "hello-web".into(),
                }),
                values: vec![pb::Setting {
                    key: "replicas".into(),
                    value: "2".into(),
                }],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("a plan")
        .into_inner();
    assert_eq!(plan.object_yaml, "");
}
