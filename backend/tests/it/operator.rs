//! The package operator against devcluster (whose workloads become ready), installing
//! from the sample repository served over HTTP: what a package asks for is really
//! applied, its status says so only when it is so, a pass over an unchanged package
//! costs nothing, and uninstalling removes what it applied.

use crate::common;
use common::operator::*;
use common::spec;

use hoist::operator::{self, OperatorOptions};
use hoist::types::{ClusterPackage, NamespacedPackageSpec, Package, ValueConfiguration};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Client, ResourceExt};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_package_is_really_installed_becomes_ready_only_when_its_workload_is_and_uninstalls_cleanly()
 {
    let h = harness().await;
    let packages = install(&h.client, "team-a", "site", "hello-web", "v1.1.0+2").await;
    let ready = wait_package(&packages, "site", is_ready).await;
    let status = ready.status.clone().expect("status");
    assert_eq!(status.version.as_deref(), Some("v1.1.0+2"));
    // Each object created once (a pass that comes before its watch event reads the
    // create's answer, not the API), and the version's PackageInfo written once.
    let counted = h.setup.cluster.counters();
    for resource in ["deployments.apps", "services"] {
        assert_eq!(
            counted.get("create", resource),
            1,
            "{resource} created once"
        );
        assert_eq!(counted.get("get", resource), 0, "{resource} never read");
    }
    assert_eq!(counted.get("create", "packageinfos.packages.hoist.dev"), 1);
    assert_eq!(
        counted.get("patch", "packageinfos.packages.hoist.dev"),
        1,
        "its status written once, not by every pass"
    );
    let kinds: Vec<(String, String)> = status
        .owned_resources
        .iter()
        .map(|o| (o.kind.to_string(), o.name.to_string()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Service".to_string(), "site-hello-web".to_string()),
            ("Deployment".to_string(), "site-hello-web".to_string())
        ]
    );
    assert!(
        status.objects.iter().all(|o| o.health == "Current"),
        "{:?}",
        status.objects
    );

    // What it says is there is there, labelled, in the package's namespace, and ready.
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "team-a");
    let d = deployments
        .get("site-hello-web")
        .await
        .expect("the Deployment exists");
    assert_eq!(
        d.labels()
            .get("packages.hoist.dev/package")
            .map(String::as_str),
        Some("site")
    );
    assert_eq!(
        d.status.as_ref().and_then(|s| s.available_replicas),
        Some(1),
        "Ready came after the workload became available"
    );
    let services: Api<Service> = Api::namespaced(h.client.clone(), "team-a");
    let svc = services
        .get("site-hello-web")
        .await
        .expect("the Service exists");
    assert_eq!(
        svc.spec
            .and_then(|s| s.selector)
            .and_then(|s| s.get("packages.hoist.dev/instance").cloned()),
        Some("site".to_string())
    );

    // Its story is told in Events, as kubectl describe shows them (published right
    // after the status that says it).
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(h.client.clone(), "team-a");
    let told =
        futures::StreamExt::boxed(kube::runtime::watcher::watcher(events, Default::default()));
    let succeeded =
        futures::StreamExt::filter(kube::runtime::WatchStreamExt::applied_objects(told), |e| {
            futures::future::ready(e.as_ref().is_ok_and(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("site")
                    && e.reason.as_deref() == Some("InstallationSucceeded")
            }))
        });
    let first = tokio::time::timeout(
        PATIENCE,
        futures::StreamExt::into_future(Box::pin(succeeded)),
    )
    .await
    .expect("an InstallationSucceeded event in time");
    assert!(first.0.is_some());

    // A pass over the unchanged package writes nothing and reads nothing from the API.
    let writes_before = h.operator.context.metrics.status_writes();
    let counters = h.setup.cluster.counters();
    let requests = || {
        [
            counters.get("patch", "deployments.apps"),
            counters.get("get", "deployments.apps"),
            counters.get("patch", "services"),
            counters.get("get", "services"),
            counters.get("create", "events"),
            counters.get("patch", "events"),
        ]
    };
    let before = requests();
    let poked = packages
        .patch(
            "site",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"poke": "1"}}})),
        )
        .await
        .expect("poke");
    // Wait for the pass that saw the poke to finish.
    let version = poked.resource_version().expect("resourceVersion");
    let mut passes = h.operator.context.passes.subscribe();
    let seen = passes.wait_for(|done| done.get("team-a/site") == Some(&version));
    tokio::time::timeout(PATIENCE, seen)
        .await
        .expect("in time")
        .expect("operator runs");
    assert_eq!(
        requests(),
        before,
        "no API request for the package's objects, no event"
    );
    assert_eq!(h.operator.context.metrics.status_writes(), writes_before);

    // Uninstall: the objects go, then the package.
    packages
        .delete("site", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = await_condition(packages.clone(), "site", |p: Option<&Package>| p.is_none());
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("in time")
        .expect("watch");
    assert!(
        deployments
            .get_opt("site-hello-web")
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        services
            .get_opt("site-hello-web")
            .await
            .expect("get")
            .is_none()
    );
}

#[tokio::test]
async fn a_changed_value_is_applied_and_rolls_the_workload() {
    let h = harness().await;
    let packages = install(&h.client, "team-b", "web", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "web", is_ready).await;
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "team-b");
    let hash = |d: &Deployment| {
        d.spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get("packages.hoist.dev/values-hash").cloned())
    };
    let before = deployments.get("web-hello-web").await.expect("deployment");
    assert_eq!(before.spec.replicas, Some(1), "the default");
    set_value(&packages, "web", "replicas", "3").await;
    let rolled = await_condition(
        deployments.clone(),
        "web-hello-web",
        |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.available_replicas)
                == Some(3)
        },
    );
    let after = tokio::time::timeout(PATIENCE, rolled)
        .await
        .expect("in time")
        .expect("watch")
        .expect("exists");
    assert_ne!(
        hash(&before),
        hash(&after),
        "the pod template changed: a rollout"
    );
    wait_package(&packages, "web", is_ready).await;
}

#[tokio::test]
async fn an_object_hoist_did_not_create_is_never_taken_over() {
    let h = harness().await;
    let services: Api<Service> = Api::namespaced(h.client.clone(), "team-a");
    let theirs: Service = serde_json::from_value(json!({
        "metadata": {"name": "mine-hello-web", "labels": {"owner": "someone-else"}},
        "spec": {"ports": [{"port": 9999}]}
    }))
    .expect("service");
    services
        .create(&PostParams::default(), &theirs)
        .await
        .expect("create theirs");
    let packages = install(&h.client, "team-a", "mine", "hello-web", "v1.1.0+2").await;
    let failed = wait_package(&packages, "mine", |p| {
        p.and_then(|p| condition(p.status.as_ref(), "Failed"))
            .is_some_and(|(s, _)| s == "True")
    })
    .await;
    let (_, message) = condition(failed.status.as_ref(), "Failed").expect("Failed");
    assert!(
        message.contains("Service team-a/mine-hello-web")
            && message.contains("not created by Hoist"),
        "{message}"
    );
    let after = services.get("mine-hello-web").await.expect("still there");
    assert_eq!(
        after.labels().get("owner").map(String::as_str),
        Some("someone-else")
    );
    assert!(
        after.labels().get("packages.hoist.dev/package").is_none(),
        "not relabelled"
    );
    let port = after
        .spec
        .and_then(|s| s.ports)
        .and_then(|p| p.first().map(|p| p.port));
    assert_eq!(port, Some(9999), "not changed");

    // The CLI says why; once the owner removes their Service, `hoist retry` installs it.
    let target = hoist_core::install::InstallRef {
        namespace: Some("team-a".into()),
        name: "mine".into(),
    };
    let refused = hoist::cli::status::wait(&h.client, &target, PATIENCE, None)
        .await
        .expect_err("failed");
    assert!(
        matches!(&refused, hoist::cli::status::StatusError::Failed { reason, .. } if reason == "ForeignObject"),
        "{refused}"
    );
    services
        .delete("mine-hello-web", &DeleteParams::default())
        .await
        .expect("the owner removes theirs");
    let (said, token) = hoist::cli::status::retry(&h.client, &target)
        .await
        .expect("retry");
    assert!(said.contains("retry requested"), "{said}");
    let text = hoist::cli::status::wait(&h.client, &target, PATIENCE, Some(&token))
        .await
        .expect("installed after the retry");
    assert!(text.contains("Ready        True"), "{text}");
    let shown = hoist::cli::status::status(&h.client, &target)
        .await
        .expect("status");
    assert!(
        shown.contains("Deployment") && shown.contains("Current"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_cluster_package_creates_its_default_namespace_and_removes_it_with_itself() {
    let h = harness().await;
    let packages: Api<ClusterPackage> = Api::all(h.client.clone());
    packages
        .create(
            &PostParams::default(),
            &ClusterPackage::new("metrics-agent", spec("metrics-agent", "v2.0.1+3")),
        )
        .await
        .expect("create");
    let ready = await_condition(
        packages.clone(),
        "metrics-agent",
        |p: Option<&ClusterPackage>| {
            p.and_then(|p| condition(p.status.as_ref(), "Ready"))
                .is_some_and(|(s, _)| s == "True")
        },
    );
    let p = tokio::time::timeout(PATIENCE, ready)
        .await
        .expect("in time")
        .expect("watch")
        .expect("exists");
    let owned: Vec<String> = p
        .status
        .expect("status")
        .owned_resources
        .iter()
        .map(|o| o.kind.to_string())
        .collect();
    assert!(owned.contains(&"Namespace".to_string()), "{owned:?}");
    let namespaces: Api<Namespace> = Api::all(h.client.clone());
    assert!(
        namespaces
            .get_opt("metrics-agent")
            .await
            .expect("get")
            .is_some()
    );
    // A later pass (here a manual retry) finds the namespace existing, and still its own:
    // it stays in the inventory and is not pruned.
    packages
        .patch(
            "metrics-agent",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {operator::reconcile::RETRY_ANNOTATION: "once"}}})),
        )
        .await
        .expect("ask for a pass");
    let handled = await_condition(
        packages.clone(),
        "metrics-agent",
        |p: Option<&ClusterPackage>| {
            p.and_then(|p| p.status.as_ref())
                .is_some_and(|s| s.last_handled_retry.as_deref() == Some("once"))
        },
    );
    let p = tokio::time::timeout(PATIENCE, handled)
        .await
        .expect("in time")
        .expect("watch")
        .expect("exists");
    assert!(
        p.status
            .expect("status")
            .owned_resources
            .iter()
            .any(|o| o.kind == "Namespace"),
        "the namespace left the inventory"
    );
    assert!(
        namespaces
            .get_opt("metrics-agent")
            .await
            .expect("get")
            .is_some_and(|n| n.metadata.deletion_timestamp.is_none()),
        "a later pass pruned the package's own namespace"
    );
    packages
        .delete("metrics-agent", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = await_condition(
        packages.clone(),
        "metrics-agent",
        |p: Option<&ClusterPackage>| p.is_none(),
    );
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("in time")
        .expect("watch");
    assert!(
        namespaces
            .get_opt("metrics-agent")
            .await
            .expect("get")
            .is_none()
    );
    let _: Api<ConfigMap> = Api::all(h.client.clone());
}

#[tokio::test]
async fn of_two_operators_one_leads_and_the_other_takes_over_when_it_stops() {
    let s = setup().await;
    let start = |identity: &str| {
        let metrics = std::sync::Arc::new(operator::metrics::Metrics::new());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let run = hoist::app::operator::RunOptions {
            leader_election: Some(identity.to_string()),
            namespace: "hoist-system".into(),
            lease_duration: Duration::from_secs(3),
            probes: None,
            metrics_auth: None,
            drain: Duration::from_secs(5),
            metrics: metrics.clone(),
            fleet: None,
        };
        let task = tokio::spawn(hoist::app::operator::run(
            s.client.clone(),
            s.repositories.clientset.clone(),
            OperatorOptions::default(),
            run,
            async move {
                let _ = stop_rx.await;
            },
        ));
        (metrics, stop_tx, task)
    };
    let passes = |m: &operator::metrics::Metrics| {
        m.encode()
            .lines()
            .filter(|l| l.starts_with("controller_runtime_reconcile_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let (first, first_stop, first_task) = start("first");
    let (second, second_stop, second_task) = start("second");
    let packages = install(&s.client, "team-a", "site", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "site", is_ready).await;
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(s.client.clone(), "hoist-system");
    let holder = leases
        .get(operator::lease::LEASE_NAME)
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.holder_identity)
        .expect("held");
    let (leader, standby, leader_stop, standby_stop, leader_task, standby_task) =
        if holder == "first" {
            (
                first,
                second,
                first_stop,
                second_stop,
                first_task,
                second_task,
            )
        } else {
            (
                second,
                first,
                second_stop,
                first_stop,
                second_task,
                first_task,
            )
        };
    assert!(passes(&leader) > 0.0, "the leader reconciled");
    assert_eq!(passes(&standby), 0.0, "the standby did nothing");
    let leads = |m: &operator::metrics::Metrics| {
        m.encode()
            .lines()
            .find_map(|l| l.strip_prefix("leader_election_master_status{name=\"hoist-operator\"} "))
            .map(str::to_string)
    };
    assert_eq!(
        leads(&leader).as_deref(),
        Some("1"),
        "the leader says it leads"
    );
    assert_eq!(
        leads(&standby).as_deref(),
        Some("0"),
        "the standby says it stands by"
    );

    // The leader stops (SIGTERM): it releases the Lease, the standby takes over and
    // acts on the next change.
    let _ = leader_stop.send(());
    let exit = tokio::time::timeout(PATIENCE, leader_task)
        .await
        .expect("stops in time")
        .expect("joins")
        .expect("runs");
    assert_eq!(exit, hoist::app::operator::Exit::Stopped);
    set_value(&packages, "site", "replicas", "2").await;
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), "team-a");
    let scaled = await_condition(deployments, "site-hello-web", |d: Option<&Deployment>| {
        d.is_some_and(|d| d.spec.replicas == Some(2))
    });
    tokio::time::timeout(PATIENCE, scaled)
        .await
        .expect("the new leader acted in time")
        .expect("watch");
    // Only the former standby runs now: it made that change, and holds the Lease.
    let holder_now = leases
        .get(operator::lease::LEASE_NAME)
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.holder_identity);
    assert!(
        holder_now.is_some_and(|h| h != holder),
        "the Lease changed hands"
    );
    assert_eq!(
        leads(&standby).as_deref(),
        Some("1"),
        "the new leader says so"
    );
    drop(standby);
    let _ = standby_stop.send(());
    let _ = tokio::time::timeout(PATIENCE, standby_task).await;
}

#[tokio::test]
async fn repositories_say_how_many_packages_they_offer_or_why_they_cannot() {
    let h = harness().await;
    let repos: Api<hoist::types::PackageRepository> = Api::all(h.client.clone());
    let broken = hoist::types::PackageRepository::new(
        "nowhere",
        hoist::types::PackageRepositorySpec {
            url: "http://127.0.0.1:9/".into(),
            auth: None,
        },
    );
    repos
        .create(&PostParams::default(), &broken)
        .await
        .expect("create");
    let ready = |r: Option<&hoist::types::PackageRepository>| {
        r.and_then(|r| r.status.as_ref())
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready").cloned())
    };
    let samples = await_condition(
        repos.clone(),
        hoist::demo::samples::REPOSITORY_NAME,
        move |r: Option<&hoist::types::PackageRepository>| ready(r).is_some(),
    );
    let samples = tokio::time::timeout(PATIENCE, samples)
        .await
        .expect("in time")
        .expect("watch");
    let c = ready(samples.as_ref()).expect("Ready");
    assert_eq!(
        (c.status.as_str(), c.message.as_str()),
        ("True", "6 packages")
    );
    let nowhere = await_condition(
        repos.clone(),
        "nowhere",
        move |r: Option<&hoist::types::PackageRepository>| ready(r).is_some(),
    );
    let nowhere = tokio::time::timeout(PATIENCE, nowhere)
        .await
        .expect("in time")
        .expect("watch");
    let c = ready(nowhere.as_ref()).expect("Ready");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "FetchFailed")
    );
    assert!(c.message.contains("127.0.0.1:9"), "{}", c.message);
    drop(h);
}

#[tokio::test]
async fn values_from_a_configmap_follow_it_and_other_namespaces_are_refused() {
    let h = harness().await;
    let configmaps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "team-a");
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "sizes"}, "data": {"replicas": "2"}
    }))
    .expect("configmap");
    configmaps
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    let mut p = Package::new(
        "sized",
        NamespacedPackageSpec::from(spec("hello-web", "v1.1.0+2")),
    );
    let from = |ns: Option<&str>| {
        serde_json::from_value::<ValueConfiguration>(json!({
            "valueFrom": {"configMapRef": {"name": "sizes", "key": "replicas", "namespace": ns}}
        }))
        .expect("value")
    };
    p.spec.spec.values.insert("replicas".into(), from(None));
    packages
        .create(&PostParams::default(), &p)
        .await
        .expect("create");
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "team-a");
    let replicas = |n: i32| {
        await_condition(
            deployments.clone(),
            "sized-hello-web",
            move |d: Option<&Deployment>| d.is_some_and(|d| d.spec.replicas == Some(n)),
        )
    };
    tokio::time::timeout(PATIENCE, replicas(2))
        .await
        .expect("the ConfigMap's value is applied")
        .expect("watch");
    // The ConfigMap changes: the package follows, with no change to it.
    configmaps
        .patch(
            "sizes",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"replicas": "3"}})),
        )
        .await
        .expect("change the ConfigMap");
    tokio::time::timeout(PATIENCE, replicas(3))
        .await
        .expect("the new value is applied")
        .expect("watch");

    // A Package may not read another namespace's ConfigMaps (nor Secrets).
    let mut nosy = Package::new(
        "nosy",
        NamespacedPackageSpec::from(spec("hello-web", "v1.1.0+2")),
    );
    nosy.spec
        .spec
        .values
        .insert("replicas".into(), from(Some("team-b")));
    packages
        .create(&PostParams::default(), &nosy)
        .await
        .expect("create");
    let refused = wait_package(&packages, "nosy", |p| {
        p.and_then(|p| condition(p.status.as_ref(), "Failed"))
            .is_some_and(|(s, _)| s == "True")
    })
    .await;
    let (_, message) = condition(refused.status.as_ref(), "Failed").expect("Failed");
    assert!(
        message.contains("only read values from its own namespace"),
        "{message}"
    );

    // Uninstalled, the package stops following the ConfigMap: nobody uses it, so it is
    // no longer watched (before, every referenced object stayed watched for good).
    assert_eq!(h.operator.context.inputs.watched(), 1);
    packages
        .delete("sized", &DeleteParams::default())
        .await
        .expect("delete");
    tokio::time::timeout(
        PATIENCE,
        await_condition(packages.clone(), "sized", |p: Option<&Package>| p.is_none()),
    )
    .await
    .expect("uninstalled in time")
    .expect("watch");
    assert_eq!(h.operator.context.inputs.watched(), 0);
}

#[tokio::test]
async fn dependencies_are_installed_first_waited_for_and_removed_with_their_last_dependent() {
    let h = harness().await;
    let packages = install(&h.client, "team-b", "guestbook", "guestbook", "v0.3.0+1").await;
    // guestbook needs redis-cache (>=7.0.0) and hello-web: both namespaced, so both are
    // installed beside it, as dependencies, before anything of guestbook is applied.
    let ready = wait_package(&packages, "guestbook", is_ready).await;
    let status = ready.status.expect("status");
    let mut owned: Vec<String> = status
        .owned_packages
        .iter()
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect();
    owned.sort();
    assert_eq!(owned, ["Package/hello-web", "Package/redis-cache"]);
    for dep in ["redis-cache", "hello-web"] {
        let p = packages.get(dep).await.expect("installed as a dependency");
        assert_eq!(
            p.annotations()
                .get("packages.hoist.dev/installed-as-dependency")
                .map(String::as_str),
            Some("true")
        );
        assert!(is_ready(Some(&p)), "{dep} is Ready before guestbook is");
    }
    let redis = packages.get("redis-cache").await.expect("redis-cache");
    assert_eq!(
        redis.spec.spec.package_info.version, "v7.2.4+1",
        "the highest in range"
    );

    // guestbook goes: so do the dependencies only it needed.
    packages
        .delete("guestbook", &DeleteParams::default())
        .await
        .expect("delete");
    for name in ["guestbook", "redis-cache", "hello-web"] {
        let gone = await_condition(packages.clone(), name, |p: Option<&Package>| p.is_none());
        tokio::time::timeout(PATIENCE, gone)
            .await
            .unwrap_or_else(|_| panic!("{name} removed in time"))
            .expect("watch");
    }
}

#[tokio::test]
async fn a_glasskube_format_repository_installs_with_its_dependency_and_component_and_upgrades_cleanly()
 {
    let h = harness().await;
    let _repo = glasskube_format_repository(&h.client).await;
    let mut platform_spec = spec("platform", "v1.0.0+1");
    platform_spec.package_info.repository_name = Some("glasskube-format".into());
    let cluster_packages: Api<ClusterPackage> = Api::all(h.client.clone());
    cluster_packages
        .create(
            &PostParams::default(),
            &ClusterPackage::new("platform", platform_spec.clone()),
        )
        .await
        .expect("create");
    wait_cluster_package(&cluster_packages, "platform", cluster_ready).await;

    // The dependency (`1.x.x`: the highest 1.x, not 2.0.0), its CRD and the custom
    // resource beside it in one file, placed in its defaultNamespace (made for it).
    let lib = cluster_packages.get("crd-lib").await.expect("crd-lib");
    assert_eq!(lib.spec.package_info.version, "v1.4.0");
    assert!(cluster_ready(Some(&lib)));
    let widgets: Api<kube::api::DynamicObject> = Api::namespaced_with(
        h.client.clone(),
        "crd-lib",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("example.dev", "v1", "Widget"),
            "widgets",
        ),
    );
    widgets.get("default").await.expect("the Widget is applied");

    // The component: a Package `<parent>-<installedName>` in the parent's
    // defaultNamespace, at the highest 1.x, with the component's values.
    let in_platform: Api<Package> = Api::namespaced(h.client.clone(), "platform");
    let cache = in_platform.get("platform-cache").await.expect("component");
    assert_eq!(cache.spec.spec.package_info.version, "v1.4.1+2");
    assert_eq!(
        cache.spec.spec.package_info.repository_name.as_deref(),
        Some("glasskube-format")
    );
    assert!(
        is_ready(Some(&cache)),
        "the parent is Ready after its component"
    );
    // Its values went through their templates: `{{ . }}`, if/eq/else, if/else null, base64.
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "platform");
    let kv = deployments.get("platform-cache-kv").await.expect("kv");
    let kv_spec = kv.spec;
    assert_eq!(kv_spec.replicas, Some(2));
    let pod = kv_spec.template.spec.expect("pod spec");
    assert_eq!(pod.automount_service_account_token, Some(true));
    assert_eq!(pod.priority_class_name, None);
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(h.client.clone(), "platform");
    let auth = secrets.get("platform-cache-kv-auth").await.expect("secret");
    assert_eq!(
        auth.data
            .expect("data")
            .get("password")
            .map(|b| b.0.clone()),
        Some(b"changeme".to_vec())
    );
    let configmaps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "platform");
    configmaps
        .get("platform-settings")
        .await
        .expect("the parent's own object");

    // Glasskube's PackageInfo for each version in use, Ready with its package.yaml.
    let infos: Api<hoist::types::PackageInfo> = Api::all(h.client.clone());
    let info = infos
        .get(&hoist_core::operator::package_info::name(
            Some("glasskube-format"),
            "platform",
            "v1.0.0+1",
        ))
        .await
        .expect("the parent's PackageInfo");
    let info_status = info.status.expect("status");
    assert!(
        info_status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True" && c.reason == "SyncCompleted")
    );
    assert_eq!(
        info_status.manifest.as_ref().and_then(|m| m.get("name")),
        Some(&json!("platform"))
    );
    infos
        .get(&hoist_core::operator::package_info::name(
            Some("glasskube-format"),
            "kv-store",
            "v1.4.1+2",
        ))
        .await
        .expect("the component's PackageInfo");

    // v1.1.0 drops the component: it is removed; the namespace the parent made stays.
    cluster_packages
        .patch(
            "platform",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"packageInfo": {"version": "v1.1.0"}}})),
        )
        .await
        .expect("upgrade");
    let gone = await_condition(
        in_platform.clone(),
        "platform-cache",
        |p: Option<&Package>| p.is_none(),
    );
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("the dropped component is removed")
        .expect("watch");
    let upgraded = wait_cluster_package(&cluster_packages, "platform", |p| {
        cluster_ready(p)
            && p.and_then(|p| p.status.as_ref())
                .is_some_and(|s| s.version.as_deref() == Some("v1.1.0"))
    })
    .await
    .expect("platform");
    let status = upgraded.status.expect("status");
    let kinds: Vec<&str> = status
        .owned_resources
        .iter()
        .map(|o| o.kind.as_str())
        .collect();
    assert!(kinds.contains(&"Namespace"), "{kinds:?}");
    let owned: Vec<String> = status
        .owned_packages
        .iter()
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(owned, ["crd-lib"]);
    let namespaces: Api<Namespace> = Api::all(h.client.clone());
    assert!(
        namespaces.get_opt("platform").await.expect("get").is_some(),
        "the upgrade pruned the parent's namespace"
    );
    // The old version's PackageInfo went with the upgrade; the new one is there.
    assert!(
        infos
            .get_opt(&hoist_core::operator::package_info::name(
                Some("glasskube-format"),
                "platform",
                "v1.0.0+1"
            ))
            .await
            .expect("get")
            .is_none()
    );
    infos
        .get("glasskube-format--platform--v1.1.0")
        .await
        .expect("the new version's PackageInfo");
    let settings = configmaps.get("platform-settings").await.expect("settings");
    assert_eq!(
        settings
            .data
            .expect("data")
            .get("version")
            .map(String::as_str),
        Some("v1.1.0")
    );

    // Uninstall: the dependency goes with its last dependent, and so does the namespace.
    cluster_packages
        .delete("platform", &DeleteParams::default())
        .await
        .expect("delete");
    for name in ["platform", "crd-lib"] {
        wait_cluster_package(&cluster_packages, name, |p| p.is_none()).await;
    }
    assert!(
        namespaces
            .get_opt("platform")
            .await
            .expect("get")
            .is_none_or(|n| n.metadata.deletion_timestamp.is_some())
    );
    let left: Vec<String> = infos
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|i| i.name_any())
        .filter(|n| n.starts_with("glasskube-format--platform") || n.contains("crd-lib"))
        .collect();
    assert!(left.is_empty(), "PackageInfos left behind: {left:?}");
}

fn flux_kind(group: &str, version: &str, kind: &str, plural: &str) -> kube::api::ApiResource {
    kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(group, version, kind),
        plural,
    )
}

/// Stands in for Flux's helm-controller: each HelmRelease whose generation it has not
/// observed, and whose HelmRepository exists, gets the status helm-controller writes
/// after a successful install or upgrade (Flux's field names). Any change to either
/// kind looks at every release again, as Flux's requeues would. Stops when dropped.
fn flux_stand_in(client: Client) -> tokio::task::JoinHandle<()> {
    use futures::StreamExt;
    use kube::api::DynamicObject;
    use kube::runtime::{WatchStreamExt, watcher};
    let releases = flux_kind(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
    );
    let repositories = flux_kind(
        "source.toolkit.fluxcd.io",
        "v1",
        "HelmRepository",
        "helmrepositories",
    );
    tokio::spawn(async move {
        let all: Api<DynamicObject> = Api::all_with(client.clone(), &releases);
        let all_sources: Api<DynamicObject> = Api::all_with(client.clone(), &repositories);
        let changes = futures::stream::select(
            watcher::watcher(all.clone(), watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .map(|_| ())
                .boxed(),
            watcher::watcher(all_sources, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .map(|_| ())
                .boxed(),
        );
        futures::pin_mut!(changes);
        while changes.next().await.is_some() {
            let Ok(list) = all.list(&Default::default()).await else {
                continue;
            };
            for hr in list {
                reconcile_release(&client, &hr, &releases, &repositories).await;
            }
        }
    })
}

async fn reconcile_release(
    client: &Client,
    hr: &kube::api::DynamicObject,
    releases: &kube::api::ApiResource,
    repositories: &kube::api::ApiResource,
) {
    let ns = hr.namespace().unwrap_or_default();
    let generation = hr.metadata.generation.unwrap_or(0);
    let observed = hr
        .data
        .pointer("/status/observedGeneration")
        .and_then(|v| v.as_i64());
    if observed == Some(generation) {
        return;
    }
    let source = hr
        .data
        .pointer("/spec/chart/spec/sourceRef/name")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let sources: Api<kube::api::DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, repositories);
    if sources.get_opt(source).await.ok().flatten().is_none() {
        return;
    }
    let version = hr
        .data
        .pointer("/spec/chart/spec/version")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let (reason, verb) = if observed.is_some() {
        ("UpgradeSucceeded", "upgrade")
    } else {
        ("InstallSucceeded", "install")
    };
    let name = hr.name_any();
    let status = json!({"status": {
        "observedGeneration": generation,
        "lastAttemptedGeneration": generation,
        "lastAttemptedRevision": version,
        "helmChart": format!("{ns}/{ns}-{name}"),
        "conditions": [
            {"type": "Ready", "status": "True", "reason": reason,
             "message": format!("Helm {verb} succeeded for release {ns}/{name} with chart podinfo@{version}"),
             "lastTransitionTime": "2026-11-30T00:00:00Z", "observedGeneration": generation},
            {"type": "Released", "status": "True", "reason": reason, "message": "released",
             "lastTransitionTime": "2026-11-30T00:00:00Z", "observedGeneration": generation},
        ],
    }});
    let mine: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), &ns, releases);
    let _ = mine
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
        .await;
}

#[tokio::test]
async fn a_helm_package_waits_for_flux_then_installs_through_a_helm_release_that_follows_its_values()
 {
    let h = harness().await;
    let _repo = glasskube_format_repository(&h.client).await;
    let mut web = spec("podinfo", "v6.5.4");
    web.package_info.repository_name = Some("glasskube-format".into());
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    packages
        .create(
            &PostParams::default(),
            &Package::new("web", NamespacedPackageSpec::from(web)),
        )
        .await
        .expect("create");

    // No Flux in the cluster: a terminal condition that says what to install.
    let stalled = wait_package(&packages, "web", |p| {
        p.and_then(|p| condition(p.status.as_ref(), "Failed"))
            .is_some_and(|(s, _)| s == "True")
    })
    .await;
    let failed = stalled
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Failed"))
        .expect("Failed");
    assert_eq!(failed.reason, "HelmControllerMissing");
    assert!(
        failed.message.contains("helm-controller"),
        "{}",
        failed.message
    );

    // Flux arrives: the package is retried at once (no spec change, no manual retry).
    let _flux = flux_stand_in(h.client.clone());
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(h.client.clone());
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flux-crds.yaml"),
    )
    .expect("fixture");
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde::Deserialize::deserialize(doc).expect("CRD");
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("install the CRD");
    }
    wait_package(&packages, "web", is_ready).await;
    let releases: Api<kube::api::DynamicObject> = Api::namespaced_with(
        h.client.clone(),
        "team-a",
        &flux_kind(
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
            "helmreleases",
        ),
    );
    let release = releases.get("web").await.expect("the HelmRelease");
    let chart = release.data.pointer("/spec/chart/spec").expect("chart");
    assert_eq!(chart["chart"], "podinfo");
    assert_eq!(chart["version"], "6.5.4");
    assert_eq!(
        chart["sourceRef"],
        json!({"kind": "HelmRepository", "name": "web"})
    );
    assert_eq!(
        release.data.pointer("/spec/values"),
        Some(&json!({"replicaCount": 1, "ui": {"message": "installed by Hoist"}}))
    );
    let sources: Api<kube::api::DynamicObject> = Api::namespaced_with(
        h.client.clone(),
        "team-a",
        &flux_kind(
            "source.toolkit.fluxcd.io",
            "v1",
            "HelmRepository",
            "helmrepositories",
        ),
    );
    let source = sources.get("web").await.expect("the HelmRepository");
    assert_eq!(
        source.data.pointer("/spec/url"),
        Some(&json!("https://stefanprodan.github.io/podinfo"))
    );

    // A value goes into the chart values; the package is Ready again only once Flux
    // has observed the new generation.
    set_value(&packages, "web", "replicas", "3").await;
    let upgraded = wait_package(&packages, "web", |p| {
        is_ready(p)
            && p.and_then(|p| p.status.as_ref()).is_some_and(|s| {
                s.objects
                    .iter()
                    .any(|o| o.kind == "HelmRelease" && o.message.contains("upgrade succeeded"))
            })
    })
    .await;
    assert!(is_ready(Some(&upgraded)));
    let release = releases.get("web").await.expect("the HelmRelease");
    assert_eq!(
        release.data.pointer("/spec/values/replicaCount"),
        Some(&json!(3))
    );

    // Uninstall removes both.
    packages
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    wait_package_gone(&packages, "web").await;
    assert!(releases.get_opt("web").await.expect("get").is_none());
    assert!(sources.get_opt("web").await.expect("get").is_none());
}

#[tokio::test]
async fn the_pass_that_adds_the_finalizer_goes_on_to_install_the_package_as_patched() {
    use hoist::operator::finalizer::{OwnWrites, run};
    use hoist::operator::reconcile::FINALIZER;
    use kube::runtime::controller::Action;
    use kube::runtime::finalizer::Event;
    use std::sync::{Arc, Mutex};

    let (cluster, client) = common::cluster().await;
    hoist::demo::seed::namespace(&client, "team-a")
        .await
        .expect("namespace");
    let api = install(&client, "team-a", "site", "hello-web", "v1.1.0+2").await;
    let fresh = Arc::new(api.get("site").await.expect("created"));
    assert!(fresh.finalizers().is_empty());
    let own = OwnWrites::default();
    let seen: Mutex<Vec<Package>> = Mutex::new(Vec::new());
    let remember = |event: Event<Package>| {
        let seen = &seen;
        async move {
            match event {
                Event::Apply(p) => seen.lock().expect("lock").push((*p).clone()),
                Event::Cleanup(_) => panic!("nothing is being deleted"),
            }
            Ok::<_, hoist::operator::Error>(Action::await_change())
        }
    };
    run(&api, &own, FINALIZER, fresh.clone(), remember)
        .await
        .expect("the pass");
    let installed = seen
        .lock()
        .expect("lock")
        .pop()
        .expect("installed in that pass");
    assert_eq!(
        installed.finalizers(),
        [FINALIZER],
        "after the finalizer was accepted"
    );
    let stored = api.get("site").await.expect("read");
    assert_eq!(
        stored.resource_version(),
        installed.resource_version(),
        "as patched"
    );
    let manager = stored
        .managed_fields()
        .iter()
        .find(|m| {
            m.operation.as_deref() == Some("Update")
                && m.fields_v1
                    .as_ref()
                    .is_some_and(|f| f.0.pointer("/f:metadata/f:finalizers").is_some())
        })
        .and_then(|m| m.manager.clone());
    assert_eq!(
        manager.as_deref(),
        Some("hoist-operator"),
        "managedFields say who added it"
    );

    // A second pass over the copy from before (the watch has not delivered the patch):
    // installs, and does not add the finalizer twice.
    run(&api, &own, FINALIZER, fresh, remember)
        .await
        .expect("the second pass");
    assert_eq!(seen.lock().expect("lock").len(), 1);
    assert_eq!(
        cluster
            .counters()
            .get("patch", "packages.packages.hoist.dev"),
        1,
        "one finalizer patch"
    );
    assert!(own.is_echo(&stored), "the patch's echo starts no pass");
    assert!(!own.is_echo(&stored), "only once");
}

/// `hoist` as a user runs it, against the harness' devcluster.
async fn hoist_cli(h: &Harness, args: &[&str]) -> (bool, String) {
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), h.setup.cluster.kubeconfig()).expect("kubeconfig");
    common::run_hoist(kubeconfig.path(), args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_in_the_real_glasskube_format_installs_with_its_memory_value_and_uninstalls() {
    let h = harness().await;
    let _repo = glasskube_format_repository(&h.client).await;
    let (ok, out) = hoist_cli(
        &h,
        &[
            "install",
            "redis",
            "-n",
            "default",
            "--repository",
            "glasskube-format",
            "--set",
            "memory=256Mi",
            "--wait",
            "--timeout",
            "60s",
        ],
    )
    .await;
    assert!(ok, "{out}");
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "default");
    let ready = wait_package(&packages, "redis", is_ready).await;
    let status = ready.status.expect("status");
    assert!(
        status.warnings.is_empty(),
        "every target resolved: {:?}",
        status.warnings
    );
    // `apiGroup: apps/v1` matched the Deployment by its name in the manifest; the two
    // `replace`s wrote the value as the string it is (no template).
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "default");
    let d = deployments
        .get("redis-redis")
        .await
        .expect("the prefixed Deployment");
    let container = &d.spec.template.spec.expect("pod").containers[0];
    let resources = container.resources.clone().expect("resources");
    let memory = |m: Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| { m.and_then(|m| m.get("memory").map(|q| q.0.clone())) };
    assert_eq!(memory(resources.requests.clone()).as_deref(), Some("256Mi"));
    assert_eq!(memory(resources.limits).as_deref(), Some("256Mi"));
    let cpu = resources
        .requests
        .and_then(|r| r.get("cpu").map(|q| q.0.clone()));
    assert_eq!(cpu.as_deref(), Some("50m"), "the rest of the manifest kept");
    let services: Api<Service> = Api::namespaced(h.client.clone(), "default");
    services.get("redis-redis").await.expect("the Service");

    let (ok, out) = hoist_cli(&h, &["uninstall", "redis", "-n", "default"]).await;
    assert!(ok, "{out}");
    wait_package_gone(&packages, "redis").await;
    assert!(
        deployments
            .get_opt("redis-redis")
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        services
            .get_opt("redis-redis")
            .await
            .expect("get")
            .is_none()
    );
}

#[tokio::test]
async fn a_target_that_matches_nothing_is_skipped_as_glasskube_skips_it_and_said_in_the_status() {
    let h = harness().await;
    let repo = common::repo_server::RepoServer::start().await;
    repo.set(
        "/index.yaml",
        common::repo_server::Reply::Body("packages:\n- name: cache\n  scope: Namespaced\n".into()),
    );
    repo.set(
        "/cache/versions.yaml",
        common::repo_server::Reply::Body(
            "latestVersion: v1.0.0\nversions:\n- version: v1.0.0\n".into(),
        ),
    );
    // Copied in shape from a real package's slip: a value aimed at a Deployment the
    // package does not have, and a target in the old group-only reading; plus a field
    // Hoist does not know.
    repo.set(
        "/cache/v1.0.0/package.yaml",
        common::repo_server::Reply::Body(
            "name: cache\nscope: Namespaced\nmanifests:\n- url: m.yaml\nsecondaryIcon: x.png\nvalueDefinitions:\n  memory:\n    type: text\n    defaultValue: 256Mi\n    targets:\n    - resource: {apiGroup: apps/v1, kind: Deployment, name: redis}\n      patch: {op: replace, path: /spec/resources/requests/memory}\n  size:\n    type: text\n    defaultValue: small\n    targets:\n    - resource: {apiGroup: \"\", kind: ConfigMap, name: settings}\n      patch: {op: add, path: /data/size}\n    - resource: {apiGroup: v1, kind: ConfigMap, name: settings}\n      patch: {op: add, path: /data/size}\n"
                .into(),
        ),
    );
    repo.set(
        "/cache/v1.0.0/m.yaml",
        common::repo_server::Reply::Body(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n".into(),
        ),
    );
    common::add_repository(&h.client, "slips", &repo.url("/")).await;
    // Said before anyone installs it.
    let (ok, shown) = hoist_cli(&h, &["show", "cache", "--repository", "slips"]).await;
    assert!(ok, "{shown}");
    let said = shown
        .split_once("Not installed exactly as written:")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("hoist show says it: {shown}"));
    for slip in [
        "secondaryIcon",
        "apps/v1 Deployment redis",
        "apiGroup is missing",
    ] {
        assert!(said.contains(slip), "{slip}: {shown}");
    }
    let mut s = spec("cache", "v1.0.0");
    s.package_info.repository_name = Some("slips".into());
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    packages
        .create(
            &PostParams::default(),
            &Package::new("c1", NamespacedPackageSpec::from(s)),
        )
        .await
        .expect("create");
    let ready = wait_package(&packages, "c1", is_ready).await;
    let warnings = ready.status.expect("status").warnings;
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].contains("unknown field secondaryIcon"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("value \"memory\": no apps/v1 Deployment redis"),
        "{warnings:?}"
    );
    assert!(warnings[2].contains("apiGroup is missing"), "{warnings:?}");
    let (ok, status) = hoist_cli(&h, &["status", "c1", "-n", "team-a"]).await;
    assert!(ok, "{status}");
    assert!(
        status.contains("Not installed exactly as written:")
            && status.contains("unknown field secondaryIcon"),
        "{status}"
    );
    let configmaps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "team-a");
    let settings = configmaps.get("c1-settings").await.expect("applied");
    assert_eq!(
        settings.data.expect("data").get("size").map(String::as_str),
        Some("small"),
        "the target that does match is written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_of_targets_transformations_and_transitive_resources_renders_as_in_glasskube() {
    let h = harness().await;
    let _repo = glasskube_format_repository(&h.client).await;
    let mut s = spec("tracker", "v0.3.0+1");
    s.package_info.repository_name = Some("glasskube-format".into());
    for (k, v) in [
        ("domain", "tracker.example.org"),
        ("workers", "3"),
        ("region", "eu"),
    ] {
        s.values.insert(
            k.into(),
            ValueConfiguration {
                value: Some(v.into()),
                ..Default::default()
            },
        );
    }
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    packages
        .create(
            &PostParams::default(),
            &Package::new("t1", NamespacedPackageSpec::from(s)),
        )
        .await
        .expect("create");
    let ready = wait_package(&packages, "t1", is_ready).await;
    // `region` names its ConfigMap in another namespace: skipped, and said.
    let warnings = ready.status.expect("status").warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .contains("value \"region\": no v1 ConfigMap tracker-config in namespace elsewhere"),
        "{warnings:?}"
    );

    let configmaps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "team-a");
    let data = configmaps
        .get("t1-tracker-config")
        .await
        .expect("config")
        .data
        .expect("data");
    let get = |k: &str| data.get(k).map(String::as_str);
    assert_eq!(get("PUBLIC_URL"), Some("https://tracker.example.org"));
    assert_eq!(
        get("SMTP_TLS"),
        Some("1"),
        "`{{ if . }}` is true for the text \"false\", as in Go"
    );
    assert_eq!(
        get("API_URL"),
        Some("http://t1-tracker-api:8000"),
        "the transformation read the install's name"
    );
    assert_eq!(get("LOG_LEVEL"), Some("info"));
    assert_eq!(get("REGION"), None);

    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "team-a");
    let replicas = |d: Deployment| d.spec.replicas;
    let worker = deployments.get("t1-tracker-worker").await.expect("worker");
    assert_eq!(
        replicas(worker),
        Some(3),
        "`{{ . }}` of a number is a number"
    );
    let gpu = deployments.get("t1-tracker-gpu").await.expect("gpu");
    assert_eq!(replicas(gpu), Some(0), "`eq . \"true\"` on the default");
    let ui = deployments.get("t1-tracker-ui").await.expect("ui");
    let pod = ui.spec.template.clone();
    assert_eq!(
        pod.metadata
            .and_then(|m| m.labels)
            .and_then(|l| l.get("packages.glasskube.dev/instance").cloned())
            .as_deref(),
        Some("t1"),
        "Glasskube's instance label, for the downward API"
    );
    let env = pod.spec.expect("pod").containers[0]
        .env
        .clone()
        .expect("env");
    let signing = env
        .iter()
        .find(|e| e.name == "SIGNING_KEY")
        .and_then(|e| e.value_from.clone())
        .and_then(|v| v.secret_key_ref)
        .expect("secretKeyRef");
    assert_eq!(
        signing.name, "t1-tracker-keys",
        "a transitive resource is renamed as if the package had it"
    );

    let ingresses: Api<k8s_openapi::api::networking::v1::Ingress> =
        Api::namespaced(h.client.clone(), "team-a");
    let ingress = ingresses.get("t1-tracker-ui").await.expect("ingress");
    let ingress = serde_json::to_value(ingress).expect("json");
    assert_eq!(ingress["spec"]["rules"][0]["host"], "tracker.example.org");
    assert_eq!(
        ingress["spec"]["tls"][0]["hosts"],
        json!(["tracker.example.org"]),
        "`-` appends"
    );
    assert_eq!(
        ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "t1-tracker-ui"
    );

    let cronjobs: Api<k8s_openapi::api::batch::v1::CronJob> =
        Api::namespaced(h.client.clone(), "team-a");
    let job = serde_json::to_value(cronjobs.get("t1-tracker-cleanup").await.expect("cronjob"))
        .expect("json");
    assert_eq!(
        job["spec"]["schedule"], "0 3 * * *",
        "a default without a template"
    );
    assert_eq!(
        job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]
            ["name"],
        "t1-tracker-config",
        "a reference into another manifest file of the package is renamed"
    );

    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(h.client.clone(), "team-a");
    let api = secrets.get("t1-tracker-api").await.expect("secret");
    assert_eq!(
        api.data.expect("data").get("key").map(|b| b.0.clone()),
        Some(b" ".to_vec()),
        "a default of one space is applied (only an empty one is not)"
    );
}

/// The repository whose value templates are hostile (`fixtures/untrusted-templates`),
/// served and registered.
async fn untrusted_templates_repository(client: &Client) -> common::repo_server::RepoServer {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("untrusted-templates");
    let repo = common::repo_server::RepoServer::serving_dir(&fixture).await;
    common::add_repository(client, "untrusted-templates", &repo.url("/")).await;
    repo
}

/// `/livez` of the probe port serving `live`: its code and body.
async fn livez(addr: std::net::SocketAddr) -> (u16, String) {
    let answer = reqwest::get(format!("http://{addr}/livez"))
        .await
        .expect("the probe port answers");
    let code = answer.status().as_u16();
    (code, answer.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_value_templates_fail_only_their_package_and_the_operator_stays_alive() {
    let h = harness().await;
    let _repo = untrusted_templates_repository(&h.client).await;
    // The operator's probe port, as `hoist operator` serves it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_probes, probes_stopped) = tokio::sync::watch::channel(false);
    let probes = tokio::spawn(operator::probes::serve(
        listener,
        std::sync::Arc::new(operator::metrics::Metrics::new()),
        tokio::sync::watch::channel(true).1,
        h.operator.liveness(),
        probes_stopped,
        None,
    ));
    assert_eq!(livez(addr).await, (200, "ok\n".to_string()));

    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    let create = |name: &str| {
        let mut s = spec(name, "v1.0.0");
        s.package_info.repository_name = Some("untrusted-templates".into());
        let p = Package::new(name, NamespacedPackageSpec::from(s));
        let packages = packages.clone();
        async move {
            packages
                .create(&PostParams::default(), &p)
                .await
                .expect("create")
        }
    };
    // Before the template limits, the first aborted the process (a stack overflow) and
    // the second ended the Package controller (a panic) while /livez said ok.
    create("recursive").await;
    create("printf-bomb").await;
    let failed = |p: Option<&Package>| {
        p.and_then(|p| condition(p.status.as_ref(), "Failed"))
            .is_some_and(|(s, _)| s == "True")
    };
    let recursive = wait_package(&packages, "recursive", failed).await;
    let bomb = wait_package(&packages, "printf-bomb", failed).await;
    // An ordinary package after them, in the same run: the controller carried on.
    create("settings").await;
    wait_package(&packages, "settings", is_ready).await;

    for (p, said) in [
        (
            &recursive,
            "value \"size\": the valueTemplate calls template \"loop\" recursively, which is refused (template calls are limited to 100 deep, without recursion)",
        ),
        (
            &bomb,
            "value \"width\": the valueTemplate asks printf for a width or precision of 200000000, over the 65535 limit",
        ),
    ] {
        let status = p.status.as_ref().expect("status");
        let (_, message) = condition(Some(status), "Failed").expect("Failed");
        assert!(message.contains(said), "{message}");
        let ready = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .expect("Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "ValueConfigurationInvalid"),
            "a terminal value error, as any other"
        );
    }
    let configmaps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "team-a");
    let settings = configmaps
        .get("settings-settings")
        .await
        .expect("the ordinary package applied its ConfigMap");
    assert_eq!(
        settings
            .data
            .expect("data")
            .get("greeting")
            .map(String::as_str),
        Some("hello, world")
    );
    // Nothing the packages did ended a controller.
    assert_eq!(livez(addr).await, (200, "ok\n".to_string()));
    assert!(h.operator.liveness().ended().is_empty());
    let _ = stop_probes.send(true);
    probes.await.expect("the probe port stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_labelled_as_hoists_that_no_inventory_lists_are_not_kept() {
    use hoist_core::operator::placement::{MANAGED_BY, PACKAGE_LABEL, PACKAGE_NAMESPACE_LABEL};
    let h = harness().await;
    let _repo = untrusted_templates_repository(&h.client).await;
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    let mut s = spec("settings", "v1.0.0");
    s.package_info.repository_name = Some("untrusted-templates".into());
    packages
        .create(
            &PostParams::default(),
            &Package::new("settings", NamespacedPackageSpec::from(s)),
        )
        .await
        .expect("create");
    wait_package(&packages, "settings", is_ready).await;
    let objects = &h.operator.context.objects;
    let before = objects.stored();
    assert!(
        objects
            .text_of("ConfigMap", Some("team-a"), "settings-settings")
            .is_some(),
        "the package's own ConfigMap is kept"
    );
    // Clutter: large ConfigMaps labelled as the package's (and as a package that does not
    // exist), in its namespace, listed by no inventory. Before, each was stored whole.
    let maps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "team-a");
    let filler = "x".repeat(256 * 1024);
    for (i, owner) in ["settings", "settings", "settings", "nobody"]
        .iter()
        .enumerate()
    {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": format!("clutter-{i}"), "labels": {
                MANAGED_BY.0: MANAGED_BY.1,
                PACKAGE_LABEL: owner,
                PACKAGE_NAMESPACE_LABEL: "team-a",
            }},
            "data": {"filler": filler},
        }))
        .expect("a ConfigMap");
        maps.create(&PostParams::default(), &cm)
            .await
            .expect("clutter");
    }
    // A change the package makes to its own ConfigMap after the clutter: once the watch
    // delivered it, it delivered the clutter before it (one stream, in order).
    packages
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"values": {"greeting": {"value": "hi"}}}})),
        )
        .await
        .expect("a value");
    let delivered = async {
        let mut ticks = tokio::time::interval(std::time::Duration::from_millis(20));
        loop {
            ticks.tick().await;
            if objects
                .text_of("ConfigMap", Some("team-a"), "settings-settings")
                .is_some_and(|t| t.contains("hi, world"))
            {
                break;
            }
        }
    };
    tokio::time::timeout(PATIENCE, delivered)
        .await
        .expect("the package's change reached the watch");
    for i in 0..4 {
        assert!(
            objects
                .text_of("ConfigMap", Some("team-a"), &format!("clutter-{i}"))
                .is_none(),
            "clutter-{i} is not kept"
        );
    }
    assert_eq!(objects.stored(), before, "nothing more is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_a_package_made_is_kept_at_uninstall_while_it_holds_someone_elses_objects() {
    let h = harness().await;
    let packages: Api<ClusterPackage> = Api::all(h.client.clone());
    packages
        .create(
            &PostParams::default(),
            &ClusterPackage::new("metrics-agent", spec("metrics-agent", "v2.0.1+3")),
        )
        .await
        .expect("create");
    let ready = await_condition(
        packages.clone(),
        "metrics-agent",
        |p: Option<&ClusterPackage>| {
            p.and_then(|p| condition(p.status.as_ref(), "Ready"))
                .is_some_and(|(s, _)| s == "True")
        },
    );
    tokio::time::timeout(PATIENCE, ready)
        .await
        .expect("in time")
        .expect("watch");
    // Someone keeps their own notes in the package's namespace.
    let notes: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "team-notes"}, "data": {"keep": "me"}
    }))
    .expect("a ConfigMap");
    Api::<ConfigMap>::namespaced(h.client.clone(), "metrics-agent")
        .create(&PostParams::default(), &notes)
        .await
        .expect("notes");
    packages
        .delete("metrics-agent", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = await_condition(
        packages.clone(),
        "metrics-agent",
        |p: Option<&ClusterPackage>| p.is_none(),
    );
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("in time")
        .expect("watch");
    // The package's own objects went; the namespace, and the notes in it, stayed.
    let namespaces: Api<Namespace> = Api::all(h.client.clone());
    assert!(
        namespaces
            .get_opt("metrics-agent")
            .await
            .expect("get")
            .is_some_and(|n| n.metadata.deletion_timestamp.is_none()),
        "the namespace holding someone else's ConfigMap was deleted"
    );
    let daemonsets: Api<k8s_openapi::api::apps::v1::DaemonSet> =
        Api::namespaced(h.client.clone(), "metrics-agent");
    assert!(
        daemonsets
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .is_empty(),
        "the package's own objects were removed"
    );
    Api::<ConfigMap>::namespaced(h.client.clone(), "metrics-agent")
        .get("team-notes")
        .await
        .expect("the notes are still there");
}

/// Found by the soak (decision 0030): after an uninstall, the operator's store may still
/// hold the deleted Package for a moment, and a pass over that copy ran the cleanup
/// again and removed "its" finalizer by name — from a Package the user had meanwhile
/// made again under that name, deleting the new install's objects.
#[tokio::test]
async fn a_stale_pass_over_a_released_package_neither_cleans_up_again_nor_touches_one_made_again_under_its_name()
 {
    use hoist::operator::finalizer::{self, OwnWrites};
    use hoist::operator::reconcile::FINALIZER;
    use kube::runtime::controller::Action;
    use kube::runtime::finalizer::Event;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let (_cluster, client) = common::cluster().await;
    hoist::demo::seed::namespace(&client, "team-a")
        .await
        .expect("namespace");
    let api: Api<Package> = Api::namespaced(client.clone(), "team-a");
    let mut kv = Package::new(
        "kv",
        NamespacedPackageSpec::from(spec("kv-store", "v1.2.0")),
    );
    kv.metadata.finalizers = Some(vec![FINALIZER.to_string()]);
    api.create(&PostParams::default(), &kv)
        .await
        .expect("create");
    api.delete("kv", &DeleteParams::default())
        .await
        .expect("delete");
    let stale = Arc::new(api.get("kv").await.expect("held by its finalizer"));
    let cleanups = AtomicUsize::new(0);
    async fn pass(
        api: &Api<Package>,
        own: &OwnWrites,
        obj: Arc<Package>,
        cleanups: &AtomicUsize,
    ) -> Result<Action, kube::runtime::finalizer::Error<hoist::operator::Error>> {
        finalizer::run(api, own, FINALIZER, obj, |event| async move {
            if matches!(event, Event::Cleanup(_)) {
                cleanups.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Action::await_change())
        })
        .await
    }

    let own = OwnWrites::default();
    pass(&api, &own, stale.clone(), &cleanups)
        .await
        .expect("the cleanup pass");
    assert!(api.get_opt("kv").await.expect("get").is_none(), "released");
    api.create(&PostParams::default(), &kv)
        .await
        .expect("made again under its name");

    pass(&api, &own, stale.clone(), &cleanups)
        .await
        .expect("a stale pass is no error");
    assert_eq!(cleanups.load(Ordering::SeqCst), 1, "no second cleanup");
    let again = api.get("kv").await.expect("the new Package");
    assert_eq!(
        again.finalizers(),
        [FINALIZER.to_string()],
        "its finalizer kept"
    );

    // A replica without that memory: the removal tests the uid, so the new Package
    // keeps its finalizer even then.
    let _ = pass(&api, &OwnWrites::default(), stale, &cleanups).await;
    let again = api.get("kv").await.expect("the new Package");
    assert_eq!(
        again.finalizers(),
        [FINALIZER.to_string()],
        "the uid test held"
    );
}
