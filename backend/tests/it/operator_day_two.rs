//! What the operator does on day two, end to end (issue 22, item 6): what was pinned
//! only by unit tests before. An applied object edited or deleted by hand is put back;
//! a suspended install is left alone until resumed; an object a new version no longer
//! has is pruned by the upgrade; a value read from a Secret reaches the applied object.

use crate::common;
use common::operator::*;
use common::repo_server::{Reply, RepoServer};

use hoist::types::{Package, ValueConfiguration, ValueReference, ValueSource};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::json;

/// Waits (bounded) until `name` in `api` satisfies `cond`.
async fn until<K>(api: &Api<K>, name: &str, cond: impl Fn(Option<&K>) -> bool + Send + 'static)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    tokio::time::timeout(PATIENCE, await_condition(api.clone(), name, cond))
        .await
        .unwrap_or_else(|_| panic!("{name} in time"))
        .expect("watch works");
}

#[tokio::test]
async fn an_applied_object_edited_or_deleted_by_hand_is_put_back() {
    let h = harness().await;
    let packages = install(&h.client, "team-b", "web", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "web", is_ready).await;
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "team-b");
    let services: Api<Service> = Api::namespaced(h.client.clone(), "team-b");

    // Someone scales it by hand, as another field manager (kubectl's).
    deployments
        .patch(
            "web-hello-web",
            &PatchParams::apply("kubectl").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web-hello-web"},
                "spec": {"replicas": 5},
            })),
        )
        .await
        .expect("edited by hand");
    until(&deployments, "web-hello-web", |d: Option<&Deployment>| {
        d.and_then(|d| d.spec.replicas) == Some(1)
    })
    .await;

    // Someone deletes the Service: it is made again.
    let uid = services
        .get("web-hello-web")
        .await
        .expect("service")
        .metadata
        .uid;
    services
        .delete("web-hello-web", &DeleteParams::default())
        .await
        .expect("deleted by hand");
    until(&services, "web-hello-web", move |s: Option<&Service>| {
        s.is_some_and(|s| s.metadata.uid != uid)
    })
    .await;
    wait_package(&packages, "web", is_ready).await;
}

#[tokio::test]
async fn a_suspended_install_is_left_alone_until_it_is_resumed() {
    let h = harness().await;
    let packages = install(&h.client, "team-b", "web", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "web", is_ready).await;
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "team-b");
    let services: Api<Service> = Api::namespaced(h.client.clone(), "team-b");

    packages
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": true}})),
        )
        .await
        .expect("suspend");
    wait_package(&packages, "web", |p| {
        condition(p.and_then(|p| p.status.as_ref()), "Reconciling")
            .is_some_and(|(_, m)| m.contains("suspended"))
    })
    .await;
    services
        .delete("web-hello-web", &DeleteParams::default())
        .await
        .expect("deleted by hand");
    // A change to the spec starts a pass (so may the delete: either way, one pass at
    // least has run since the delete when the count moves); it must change nothing.
    let metrics = h.operator.context.metrics.clone();
    let passes = metrics.reconciles("Package");
    set_value(&packages, "web", "replicas", "3").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while metrics.reconciles("Package") == passes {
        assert!(tokio::time::Instant::now() < deadline, "no pass ran");
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        services
            .get_opt("web-hello-web")
            .await
            .expect("get")
            .is_none(),
        "a suspended install's objects are not put back"
    );
    let d = deployments.get("web-hello-web").await.expect("deployment");
    assert_eq!(
        d.spec.replicas,
        Some(1),
        "a suspended install's new values are not applied"
    );

    packages
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": false}})),
        )
        .await
        .expect("resume");
    until(&services, "web-hello-web", |s: Option<&Service>| {
        s.is_some()
    })
    .await;
    until(&deployments, "web-hello-web", |d: Option<&Deployment>| {
        d.and_then(|d| d.spec.replicas) == Some(3)
    })
    .await;
    wait_package(&packages, "web", is_ready).await;
}

/// A repository with `notes` v1.0.0 (two ConfigMaps) and v2.0.0 (one of them),
/// registered as `notes-repo`.
async fn notes_repository(client: &kube::Client) -> RepoServer {
    let repo = notes_server().await;
    common::add_repository(client, "notes-repo", &repo.url("/")).await;
    repo
}

/// The `notes` repository's server, not registered.
async fn notes_server() -> RepoServer {
    let repo = RepoServer::start().await;
    repo.set(
        "/index.yaml",
        Reply::Body("packages:\n- name: notes\n".into()),
    );
    repo.set(
        "/notes/versions.yaml",
        Reply::Body(
            "latestVersion: v2.0.0\nversions:\n- version: v1.0.0\n- version: v2.0.0\n".into(),
        ),
    );
    let package = |v: &str| {
        format!(
            "name: notes\nscope: Namespaced\nshortDescription: notes {v}\n\
             manifests:\n- url: manifests.yaml\n\
             valueDefinitions:\n  text:\n    type: text\n    defaultValue: none\n    \
             targets:\n    - resource: {{apiGroup: v1, kind: ConfigMap, name: kept}}\n      \
             patch: {{op: add, path: /data/text}}\n"
        )
    };
    let config_map = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n")
    };
    repo.set("/notes/v1.0.0/package.yaml", Reply::Body(package("v1.0.0")));
    repo.set(
        "/notes/v1.0.0/manifests.yaml",
        Reply::Body(format!(
            "{}---\n{}",
            config_map("kept"),
            config_map("dropped")
        )),
    );
    repo.set("/notes/v2.0.0/package.yaml", Reply::Body(package("v2.0.0")));
    repo.set(
        "/notes/v2.0.0/manifests.yaml",
        Reply::Body(config_map("kept")),
    );
    repo
}

#[tokio::test]
async fn an_upgrade_prunes_what_the_new_version_no_longer_has_and_a_secret_value_reaches_the_object()
 {
    let h = harness().await;
    let _repo = notes_repository(&h.client).await;
    let secrets: Api<Secret> = Api::namespaced(h.client.clone(), "team-b");
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "notes-text"},
        "stringData": {"text": "from a secret"},
    }))
    .expect("a Secret");
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret");
    let mut spec = common::spec("notes", "v1.0.0");
    spec.package_info.repository_name = Some("notes-repo".into());
    spec.values.insert(
        "text".into(),
        ValueConfiguration {
            value: None,
            value_from: Some(ValueSource {
                secret_ref: Some(ValueReference {
                    name: "notes-text".into(),
                    namespace: None,
                    key: "text".into(),
                }),
                ..Default::default()
            }),
        },
    );
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-b");
    packages
        .create(
            &PostParams::default(),
            &Package::new("notes", hoist::types::NamespacedPackageSpec::from(spec)),
        )
        .await
        .expect("create");
    wait_package(&packages, "notes", is_ready).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "team-b");
    let kept = config_maps.get("notes-kept").await.expect("kept");
    assert_eq!(
        kept.data
            .as_ref()
            .and_then(|d| d.get("text"))
            .map(String::as_str),
        Some("from a secret"),
        "the Secret's value reached the applied object"
    );
    assert!(
        config_maps
            .get_opt("notes-dropped")
            .await
            .expect("get")
            .is_some()
    );

    packages
        .patch(
            "notes",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"packageInfo": {"version": "v2.0.0"}}})),
        )
        .await
        .expect("upgrade");
    until(&config_maps, "notes-dropped", |c: Option<&ConfigMap>| {
        c.is_none()
    })
    .await;
    let upgraded = wait_package(&packages, "notes", |p| {
        is_ready(p)
            && p.and_then(|p| p.status.as_ref())
                .is_some_and(|s| s.version.as_deref() == Some("v2.0.0"))
    })
    .await;
    assert!(
        config_maps
            .get_opt("notes-kept")
            .await
            .expect("get")
            .is_some(),
        "what the new version still has stays"
    );
    let owned: Vec<String> = upgraded
        .status
        .expect("status")
        .owned_resources
        .iter()
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(owned, ["notes-kept"]);
}

#[tokio::test]
async fn a_repository_behind_basic_auth_is_read_with_the_credentials_from_its_secret() {
    let h = harness().await;
    let repo = notes_server().await;
    *repo.state.require_basic.lock().expect("lock") = Some(("reader".into(), "s3cret".into()));
    let anonymous = reqwest::get(repo.url("/index.yaml"))
        .await
        .expect("answered");
    assert_eq!(
        anonymous.status(),
        401,
        "the repository refuses without credentials"
    );

    let secrets: Api<Secret> = Api::namespaced(h.client.clone(), "hoist-system");
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "private-repo"},
        "stringData": {"username": "reader", "password": "s3cret"},
    }))
    .expect("a Secret");
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret");
    let key = |key: &str| {
        Some(hoist::types::SecretKeyRef {
            name: "private-repo".into(),
            key: key.into(),
        })
    };
    let repositories: Api<hoist::types::PackageRepository> = Api::all(h.client.clone());
    repositories
        .create(
            &PostParams::default(),
            &hoist::types::PackageRepository::new(
                "private",
                hoist::types::PackageRepositorySpec {
                    url: repo.url("/"),
                    auth: Some(hoist::types::PackageRepositoryAuth {
                        basic: Some(hoist::types::BasicAuth {
                            username_secret_ref: key("username"),
                            password_secret_ref: key("password"),
                            ..Default::default()
                        }),
                        bearer: None,
                    }),
                },
            ),
        )
        .await
        .expect("repository");

    let mut spec = common::spec("notes", "v2.0.0");
    spec.package_info.repository_name = Some("private".into());
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-b");
    packages
        .create(
            &PostParams::default(),
            &Package::new("notes", hoist::types::NamespacedPackageSpec::from(spec)),
        )
        .await
        .expect("create");
    wait_package(&packages, "notes", is_ready).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "team-b");
    assert!(
        config_maps
            .get_opt("notes-kept")
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        repo.hits("/notes/v2.0.0/package.yaml") > 0,
        "read from the repository, with its credentials"
    );
}
