use super::*;
use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use serde_json::json;

fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = MAGIC.to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

fn named(name: &str) -> Option<meta::ObjectMeta> {
    Some(meta::ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    })
}

#[test]
fn a_secret_becomes_the_json_kubectl_would_send_with_data_in_base64() {
    let secret = core::Secret {
        metadata: named("s"),
        data: [("password".to_string(), b"hunter2".to_vec())].into(),
        r#type: Some("Opaque".into()),
        ..Default::default()
    };
    let json = decode(&envelope("v1", "Secret", secret.encode_to_vec())).expect("decodes");
    assert_eq!(
        json,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
               "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"})
    );
}

#[test]
fn a_deployment_as_kubectl_create_deployment_builds_it_keeps_every_field_it_set() {
    let labels: std::collections::BTreeMap<String, String> =
        [("app".to_string(), "web".to_string())].into();
    let d = apps::Deployment {
        metadata: Some(meta::ObjectMeta {
            name: Some("web".into()),
            labels: labels.clone(),
            creation_timestamp: Some(meta::Time {
                seconds: Some(0),
                nanos: Some(0),
            }),
            ..Default::default()
        }),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(1),
            selector: Some(meta::LabelSelector {
                match_labels: labels.clone(),
                ..Default::default()
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(meta::ObjectMeta {
                    labels,
                    ..Default::default()
                }),
                spec: Some(core::PodSpec {
                    containers: vec![core::Container {
                        name: Some("nginx".into()),
                        image: Some("nginx".into()),
                        ports: vec![core::ContainerPort {
                            container_port: Some(80),
                            ..Default::default()
                        }],
                        resources: Some(core::ResourceRequirements::default()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy::default()),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus::default()),
    };
    let json = decode(&envelope("apps/v1", "Deployment", d.encode_to_vec())).expect("decodes");
    assert_eq!(
        json["metadata"]["creationTimestamp"],
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(json["spec"]["selector"]["matchLabels"]["app"], "web");
    assert_eq!(
        json["spec"]["template"]["spec"]["containers"],
        json!([{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}], "resources": {}}])
    );
    assert_eq!(json["spec"]["strategy"], json!({}));
}

#[test]
fn a_set_field_devcluster_does_not_convert_is_refused_by_name_not_dropped() {
    let d = apps::Deployment {
        metadata: named("web"),
        spec: Some(apps::DeploymentSpec {
            template: Some(core::PodTemplateSpec {
                metadata: None,
                spec: Some(core::PodSpec {
                    volumes: vec![core::Volume::default()],
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }),
        status: None,
    };
    let e = decode(&envelope("apps/v1", "Deployment", d.encode_to_vec())).expect_err("refused");
    assert_eq!(e.code, 415);
    assert!(e.message.contains("PodSpec.volumes"), "{}", e.message);
}

#[test]
fn bodies_that_are_not_kubernetes_protobuf_are_told_apart() {
    assert_eq!(decode(b"{\"a\":1}").map_err(|e| e.code), Err(400));
    assert_eq!(decode(b"k8s\0\xff\xff\xff").map_err(|e| e.code), Err(400));
    let other = envelope("v1", "Pod", core::Pod::default().encode_to_vec());
    let e = decode(&other).expect_err("not decoded");
    assert_eq!(e.code, 415);
    assert!(
        e.message.contains("send this object as JSON"),
        "{}",
        e.message
    );
}
