//! `deploy/rbac.yaml` grants exactly what `hoist serve` uses: the requests a full
//! dashboard session makes (sync, stream, details, installs of both scopes, a default
//! namespace created, repository credentials) are read off devcluster's counters and
//! compared with the grants, both ways.

use crate::common;
use common::*;
use hoist_proto::v1 as pb;
use std::collections::BTreeSet;

/// `(group, resource, verb)`.
type Grant = (String, String, String);

fn grants(kind: &str) -> BTreeSet<Grant> {
    grants_in("rbac.yaml", kind, None)
}

/// The grants of `kind` documents in `deploy/{file}` (only the one named `name`, if set).
fn grants_in(file: &str, kind: &str, name: Option<&str>) -> BTreeSet<Grant> {
    let path = format!("{}/../deploy/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the deploy file exists");
    let mut out = BTreeSet::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let doc: serde_json::Value =
            serde::Deserialize::deserialize(doc).expect("each document parses");
        if doc["kind"] != kind || name.is_some_and(|n| doc["metadata"]["name"] != n) {
            continue;
        }
        for rule in doc["rules"].as_array().expect("rules") {
            let list = |k: &str| -> Vec<String> {
                rule[k]
                    .as_array()
                    .expect("a list")
                    .iter()
                    .map(|v| v.as_str().expect("a string").to_string())
                    .collect()
            };
            for g in list("apiGroups") {
                for r in list("resources") {
                    for v in list("verbs") {
                        out.insert((g.clone(), r.clone(), v));
                    }
                }
            }
        }
    }
    out
}

/// devcluster names resources `plural` (core) or `plural.group`.
fn used(counters: &std::collections::BTreeMap<String, u64>) -> BTreeSet<Grant> {
    counters
        .keys()
        .filter_map(|k| {
            let (verb, resource) = k.split_once(' ')?;
            let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
            Some((group.to_string(), plural.to_string(), verb.to_string()))
        })
        .collect()
}

/// devcluster enforcing RBAC, with the sample repository, namespaces team-a and
/// hoist-system, and the grants of `files` in `deploy/` created as written. The client
/// is the admin's; keep the repository alive for the test.
async fn enforcing(
    files: &[&str],
) -> (
    devcluster::DevCluster,
    kube::Client,
    hoist::demo::samples::SampleRepository,
) {
    let (c, admin) = cluster_with_rbac().await;
    let samples = hoist::demo::samples::SampleRepository::start()
        .await
        .expect("sample repository");
    samples.register(&admin).await.expect("registered");
    for ns in ["team-a", "hoist-system"] {
        hoist::demo::seed::namespace(&admin, ns)
            .await
            .expect("namespace");
    }
    apply_deploy_rbac(&admin, files).await;
    (c, admin, samples)
}

/// What authorization refused `user`, with what it asked for: empty when its grants
/// cover everything it did.
fn refusals(c: &devcluster::DevCluster, user: &str) -> std::collections::BTreeMap<String, u64> {
    c.counters().refused(user)
}

const DASHBOARD: &str = "system:serviceaccount:hoist-system:hoist-dashboard";
const OPERATOR: &str = "system:serviceaccount:hoist-system:hoist-operator";

#[tokio::test]
async fn the_dashboards_rbac_grants_exactly_what_it_uses() {
    // The dashboard runs as its ServiceAccount, bound exactly as deploy/rbac.yaml binds
    // it, on a devcluster that enforces RBAC: a request it makes without a grant is
    // refused there (and counted), a grant it never uses fails the comparison below.
    let (c, admin, _samples) = enforcing(&["rbac.yaml"]).await;
    let client = service_account_client(&c, &admin, "hoist-system", "hoist-dashboard").await;
    // A member cluster to remove from the Clusters page (made by an admin, uncounted).
    kube::Api::<hoist::types::Cluster>::namespaced(admin.clone(), "hoist-system")
        .create(
            &Default::default(),
            &hoist::types::Cluster::new(
                "edge",
                hoist::types::ClusterSpec {
                    kubeconfig_secret_ref: hoist::types::KubeconfigSecretRef {
                        name: "edge-kubeconfig".into(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            ),
        )
        .await
        .expect("a member cluster");
    c.counters().reset();

    // A whole session: sync, a stream, details, and installs of both scopes, one of
    // them into a default namespace that does not exist yet.
    let running = backend(&client, options()).await;
    running.ready().await;
    let mut stream = open_watch(&running).await;
    snapshot(next_data(&mut stream).await);
    let mut g = grpc(&running).await;
    g.get_package_details(pb::PackageDetailsRequest {
        name: "hello-web".into(),
        ..Default::default()
    })
    .await
    .expect("details");
    for (package, namespace) in [
        ("cert-issuer", ""),
        ("hello-web", ""),
        ("redis-cache", "team-a"),
    ] {
        g.install(pb::InstallRequest {
            package: package.into(),
            namespace: namespace.into(),
            ..Default::default()
        })
        .await
        .expect("installed");
    }
    change(next_data(&mut stream).await);
    // The install page: one install read with its Events, and every action on it.
    use pb::act_request::Action;
    for key in [
        pb::PackageKey {
            scope: pb::Scope::Namespaced as i32,
            namespace: "team-a".into(),
            name: "redis-cache".into(),
        },
        pb::PackageKey {
            scope: pb::Scope::Cluster as i32,
            namespace: String::new(),
            name: "cert-issuer".into(),
        },
    ] {
        g.get_install(key.clone()).await.expect("install details");
        for action in [
            Action::Suspend,
            Action::Resume,
            Action::Retry,
            Action::AutoUpdateOn,
            Action::Uninstall,
        ] {
            g.act(pb::ActRequest {
                key: Some(key.clone()),
                action: action as i32,
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("{action:?} {}: {e}", key.name));
        }
    }
    // The Clusters page: a removal with the wrong name typed changes nothing; then one.
    let refused = g
        .remove_cluster(pb::RemoveClusterRequest {
            name: "edge".into(),
            confirm: "edg".into(),
            ..Default::default()
        })
        .await
        .expect_err("the typed name must match");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused}");
    g.remove_cluster(pb::RemoveClusterRequest {
        name: "edge".into(),
        confirm: "edge".into(),
        ..Default::default()
    })
    .await
    .expect("removed");
    assert!(
        refusals(&c, DASHBOARD).is_empty(),
        "refused: {:?}",
        refusals(&c, DASHBOARD)
    );
    // devcluster counts events.k8s.io Events under the core store they share.
    let by_user = c.counters().snapshot_by_user();
    let used: BTreeSet<Grant> = used(by_user.get(DASHBOARD).expect("the dashboard's requests"))
        .into_iter()
        .map(|(g, r, v)| {
            if g.is_empty() && r == "events" {
                ("events.k8s.io".into(), r, v)
            } else {
                (g, r, v)
            }
        })
        .collect();

    let cluster_wide = grants("ClusterRole");
    let in_hoist_namespace = grants("Role");
    let granted: BTreeSet<Grant> = cluster_wide.union(&in_hoist_namespace).cloned().collect();
    let missing: Vec<_> = used.difference(&granted).collect();
    assert!(missing.is_empty(), "used but not granted: {missing:?}");
    let unused: Vec<_> = granted.difference(&used).collect();
    assert!(unused.is_empty(), "granted but never used: {unused:?}");
    assert!(
        cluster_wide.iter().all(|(_, r, _)| r != "secrets"),
        "Secrets only in Hoist's namespace, never cluster-wide"
    );
}

#[tokio::test]
async fn the_operators_rbac_is_exact_for_its_own_work_and_broad_only_for_what_packages_contain() {
    use hoist::app::operator::RunOptions;
    use hoist::operator::{self, OperatorOptions};
    use hoist::types::{NamespacedPackageSpec, Package};
    use kube::api::{Api, DeleteParams, PostParams};
    use std::time::Duration;

    // The operator runs as its ServiceAccount, bound exactly as deploy/operator.yaml
    // binds it, on a devcluster that enforces RBAC; the test acts as the admin.
    let (c, client, _samples) = enforcing(&["operator.yaml"]).await;
    let operator_client =
        service_account_client(&c, &client, "hoist-system", "hoist-operator").await;
    // A member cluster, registered before the count starts, as `hoist cluster add` does
    // (so its removal deletes the kubeconfig Secret made for it).
    let member = devcluster::DevCluster::start(Default::default())
        .await
        .expect("member");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), "hoist-system");
    let mut kubeconfig = k8s_openapi::api::core::v1::Secret::default();
    kubeconfig.metadata.name = Some("member-kubeconfig".into());
    let (label, value) = hoist::cli::fleet::MADE_BY;
    kubeconfig.metadata.labels = Some([(label.to_string(), value.to_string())].into());
    kubeconfig.string_data = Some([("value".to_string(), member.kubeconfig())].into());
    secrets
        .create(&PostParams::default(), &kubeconfig)
        .await
        .expect("secret");
    let fleet_clusters: Api<hoist::types::Cluster> =
        Api::namespaced(client.clone(), "hoist-system");
    fleet_clusters
        .create(
            &PostParams::default(),
            &hoist::types::Cluster::new(
                "member",
                hoist::types::ClusterSpec {
                    kubeconfig_secret_ref: hoist::types::KubeconfigSecretRef {
                        name: "member-kubeconfig".into(),
                        ..Default::default()
                    },
                    billing: Default::default(),
                },
            ),
        )
        .await
        .expect("cluster");
    // A usage sink that acknowledges everything.
    let sink = common::repo_server::RepoServer::start().await;
    sink.set("/events", common::repo_server::Reply::Body(String::new()));
    // Packages in team-a are written as its account `deployer`, bound to `edit` there
    // (`--default-service-account deployer`): the operator impersonates it.
    let account: k8s_openapi::api::core::v1::ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "deployer"}}))
            .expect("an account");
    Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &account)
        .await
        .expect("deployer");
    let binding: k8s_openapi::api::rbac::v1::RoleBinding =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "deployer-edit"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "team-a"}],
        }))
        .expect("a binding");
    Api::<k8s_openapi::api::rbac::v1::RoleBinding>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding");
    c.counters().reset();
    let repositories = hoist::reflector::watch_repositories(
        &operator_client,
        hoist::repo::fetch::FetchOptions::default(),
        "hoist-system",
    );
    repositories.synced().await;

    // A whole run: elected, installs of both scopes (one with a Namespace and a
    // ClusterRole), then both uninstalled.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = RunOptions {
        leader_election: Some("rbac".into()),
        namespace: "hoist-system".into(),
        lease_duration: Duration::from_secs(3),
        probes: None,
        metrics_auth: None,
        drain: Duration::from_secs(5),
        metrics: std::sync::Arc::new(operator::metrics::Metrics::new()),
        fleet: Some(hoist::fleet::FleetOptions {
            sweep_interval: Duration::from_millis(200),
            relay: Some(hoist::fleet::relay::RelayOptions {
                period: 1,
                grace: 0,
                every: Duration::from_millis(200),
                ..hoist::fleet::relay::RelayOptions::new(sink.url("/events"))
            }),
            ..Default::default()
        }),
    };
    let task = tokio::spawn(hoist::app::operator::run(
        operator_client.clone(),
        repositories.clientset.clone(),
        OperatorOptions {
            default_service_account: Some("deployer".into()),
            ..Default::default()
        },
        run,
        async move {
            let _ = stop_rx.await;
        },
    ));
    let cluster: Api<hoist::types::ClusterPackage> = Api::all(client.clone());
    cluster
        .create(
            &PostParams::default(),
            &package("metrics-agent", "v2.0.1+3"),
        )
        .await
        .expect("create");
    // A cluster-scoped package with a cluster-scoped dependency: the operator creates
    // the ClusterPackage cert-issuer for it, and deletes it with it.
    cluster
        .create(
            &PostParams::default(),
            &package("ingress-gateway", "v0.9.2+1"),
        )
        .await
        .expect("create");
    let namespaced: Api<Package> = Api::namespaced(client.clone(), "team-a");
    namespaced
        .create(
            &PostParams::default(),
            &Package::new(
                "site",
                NamespacedPackageSpec::from(spec("hello-web", "v1.1.0+2")),
            ),
        )
        .await
        .expect("create");
    namespaced
        .create(
            &PostParams::default(),
            &Package::new(
                "guestbook",
                NamespacedPackageSpec::from(spec("guestbook", "v0.3.0+1")),
            ),
        )
        .await
        .expect("create");
    let ready = |s: Option<&hoist::types::PackageStatus>| {
        s.is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    };
    let waits = (
        kube::runtime::wait::await_condition(
            cluster.clone(),
            "metrics-agent",
            move |p: Option<&hoist::types::ClusterPackage>| {
                ready(p.and_then(|p| p.status.as_ref()))
            },
        ),
        kube::runtime::wait::await_condition(
            namespaced.clone(),
            "site",
            move |p: Option<&Package>| ready(p.and_then(|p| p.status.as_ref())),
        ),
    );
    let guestbook = kube::runtime::wait::await_condition(
        namespaced.clone(),
        "guestbook",
        move |p: Option<&Package>| ready(p.and_then(|p| p.status.as_ref())),
    );
    let gateway = kube::runtime::wait::await_condition(
        cluster.clone(),
        "ingress-gateway",
        move |p: Option<&hoist::types::ClusterPackage>| ready(p.and_then(|p| p.status.as_ref())),
    );
    let both = async { tokio::join!(waits.0, waits.1, guestbook, gateway) };
    let _ = tokio::time::timeout(PATIENCE, both)
        .await
        .expect("both Ready in time");
    // A changed value: the operator patches what it applied.
    namespaced
        .patch(
            "site",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                serde_json::json!({"spec": {"values": {"replicas": {"value": "2"}}}}),
            ),
        )
        .await
        .expect("set a value");
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), "team-a");
    let scaled = kube::runtime::wait::await_condition(
        deployments,
        "site-hello-web",
        |d: Option<&k8s_openapi::api::apps::v1::Deployment>| {
            d.is_some_and(|d| d.spec.replicas == Some(2))
        },
    );
    let _ = tokio::time::timeout(PATIENCE, scaled)
        .await
        .expect("patched in time");
    // And a ClusterPackage's (written with the operator's own rights: the broad role).
    cluster
        .patch(
            "metrics-agent",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                serde_json::json!({"spec": {"values": {"scrapeInterval": {"value": "60s"}}}}),
            ),
        )
        .await
        .expect("set a cluster package's value");
    let daemonsets: Api<k8s_openapi::api::apps::v1::DaemonSet> =
        Api::namespaced(client.clone(), "metrics-agent");
    let rescraped = kube::runtime::wait::await_condition(
        daemonsets,
        "metrics-agent",
        |d: Option<&k8s_openapi::api::apps::v1::DaemonSet>| {
            d.map(|d| &d.spec)
                .and_then(|s| s.template.metadata.as_ref())
                .and_then(|m| m.annotations.as_ref())
                .and_then(|a| a.get("prometheus.io/interval"))
                .is_some_and(|v| v == "60s")
        },
    );
    let _ = tokio::time::timeout(PATIENCE, rescraped)
        .await
        .expect("the cluster package's object patched in time");
    // The member is billed (its record made), then deleted (its record stopped).
    let billed = kube::runtime::wait::await_condition(
        fleet_clusters.clone(),
        "member",
        |c: Option<&hoist::types::Cluster>| {
            c.and_then(|c| c.status.as_ref()).is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|x| x.type_ == "Billed" && x.status == "True")
            })
        },
    );
    let _ = tokio::time::timeout(PATIENCE, billed)
        .await
        .expect("the member billed in time");
    fleet_clusters
        .delete("member", &DeleteParams::default())
        .await
        .expect("delete the member");
    let member_gone = kube::runtime::wait::await_condition(
        fleet_clusters.clone(),
        "member",
        |c: Option<&hoist::types::Cluster>| c.is_none(),
    );
    let _ = tokio::time::timeout(PATIENCE, member_gone)
        .await
        .expect("the member's delete completes");
    // Its usage is delivered (the relay records the acknowledgement).
    sink.until("a delivered usage period", |s| s.hits("/events") >= 1)
        .await;
    for name in ["metrics-agent", "ingress-gateway"] {
        cluster
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }
    for name in ["guestbook", "site"] {
        namespaced
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }
    let gone = async {
        tokio::join!(
            kube::runtime::wait::await_condition(
                cluster.clone(),
                "metrics-agent",
                |p: Option<&hoist::types::ClusterPackage>| p.is_none()
            ),
            kube::runtime::wait::await_condition(
                namespaced.clone(),
                "site",
                |p: Option<&Package>| p.is_none()
            ),
            // ingress-gateway's own dependency goes with it.
            kube::runtime::wait::await_condition(
                cluster.clone(),
                "cert-issuer",
                |p: Option<&hoist::types::ClusterPackage>| p.is_none()
            ),
            // guestbook's own dependency goes with it (the operator deletes it).
            kube::runtime::wait::await_condition(
                namespaced.clone(),
                "redis-cache",
                |p: Option<&Package>| p.is_none()
            ),
        )
    };
    let _ = tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("both gone in time");
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(PATIENCE, task)
        .await
        .expect("stops in time");

    assert!(
        refusals(&c, OPERATOR).is_empty(),
        "refused: {:?}",
        refusals(&c, OPERATOR)
    );
    // devcluster counts events.k8s.io Events under the core store they share, and a
    // /status write under its resource. Only the operator's own requests count.
    let by_user = c.counters().snapshot_by_user();
    let used: BTreeSet<Grant> = used(by_user.get(OPERATOR).expect("the operator's requests"))
        .into_iter()
        .filter(|(_, r, _)| r != "discovery")
        .map(|(g, r, v)| {
            if g.is_empty() && r == "events" {
                ("events.k8s.io".into(), r, v)
            } else {
                (g, r, v)
            }
        })
        .collect();
    let own: BTreeSet<Grant> = grants_in("operator.yaml", "ClusterRole", Some("hoist-operator"))
        .union(&grants_in("operator.yaml", "Role", Some("hoist-operator")))
        .cloned()
        .collect();
    let broad = grants_in(
        "operator.yaml",
        "ClusterRole",
        Some("hoist-operator-packages"),
    );
    let broad_verbs: BTreeSet<String> = broad.iter().map(|(_, _, v)| v.clone()).collect();
    assert!(
        broad.iter().all(|(g, r, _)| g == "*" && r == "*"),
        "{broad:?}"
    );
    let own_resources: BTreeSet<(String, String)> = own
        .iter()
        .map(|(g, r, _)| (g.clone(), r.split('/').next().unwrap_or(r).to_string()))
        .collect();
    for (g, r, v) in &used {
        // Before deleting a Namespace it made, the operator lists every kind in it (is
        // anything there someone else's?): that list is the broad role's, whatever
        // the kind.
        let covered = if v == "list" && broad_verbs.contains(v) {
            true
        } else if own_resources.contains(&(g.clone(), r.clone())) {
            own.contains(&(g.clone(), r.clone(), v.clone()))
                || own.contains(&(g.clone(), format!("{r}/status"), v.clone()))
        } else {
            broad_verbs.contains(v)
        };
        assert!(covered, "used but not granted: {v} {r} in {g:?}");
    }
    // Patching an Event is how a repeat is counted (a series); this run repeats none.
    let repeats = (
        "events.k8s.io".to_string(),
        "events".to_string(),
        "patch".to_string(),
    );
    // Impersonation is not a request of its own: it shows as the writes team-a's
    // account made (and the operator's own made none of them).
    const DEPLOYER: &str = "system:serviceaccount:team-a:deployer";
    let deployer = by_user.get(DEPLOYER).cloned().unwrap_or_default();
    assert!(
        deployer
            .get("create deployments.apps")
            .copied()
            .unwrap_or(0)
            >= 1,
        "team-a's Packages were written as its account: {deployer:?}"
    );
    assert!(
        refusals(&c, DEPLOYER).is_empty(),
        "refused: {:?}",
        refusals(&c, DEPLOYER)
    );
    let impersonate = (
        String::new(),
        "serviceaccounts".to_string(),
        "impersonate".to_string(),
    );
    let unused: Vec<&Grant> = own
        .iter()
        .filter(|g| **g != repeats && **g != impersonate)
        .filter(|(g, r, v)| {
            let base = r.split('/').next().unwrap_or(r);
            !used.contains(&(g.clone(), base.to_string(), v.clone()))
        })
        .collect();
    assert!(
        unused.is_empty(),
        "granted to the operator but never used: {unused:?}"
    );
    let broad_unused: Vec<&String> = broad_verbs
        .iter()
        .filter(|v| {
            !used
                .iter()
                .any(|(g, r, u)| u == *v && !own_resources.contains(&(g.clone(), r.clone())))
        })
        .collect();
    assert!(
        broad_unused.is_empty(),
        "broad verbs never used: {broad_unused:?}"
    );
}

#[tokio::test]
async fn the_preview_needs_dashboard_preview_yaml_and_works_as_the_dashboard_with_it() {
    let (c, admin, _samples) = enforcing(&["rbac.yaml"]).await;
    let client = service_account_client(&c, &admin, "hoist-system", "hoist-dashboard").await;
    let running = backend(&client, options()).await;
    running.ready().await;
    let mut g = grpc(&running).await;
    let request = || pb::PreviewRequest {
        install: Some(pb::InstallRequest {
            package: "redis-cache".into(),
            namespace: "team-a".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    // Without the optional grant: refused by the API server, said with the remedy.
    let refused = g.preview(request()).await.expect_err("no dry-run rights");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused}");
    assert!(
        refused.message().contains("deploy/dashboard-preview.yaml"),
        "{refused}"
    );
    assert!(!refusals(&c, DASHBOARD).is_empty());

    // With it, exactly as written: the plan, and no further refusal.
    apply_deploy_rbac(&admin, &["dashboard-preview.yaml"]).await;
    c.counters().reset();
    let plan = g.preview(request()).await.expect("a plan").into_inner();
    assert!(plan.steps.iter().any(|s| s.action == "create"), "{plan:?}");
    assert!(
        refusals(&c, DASHBOARD).is_empty(),
        "refused: {:?}",
        refusals(&c, DASHBOARD)
    );
}
