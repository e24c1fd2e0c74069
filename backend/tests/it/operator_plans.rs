//! Plans and unattended upgrades, with the operator running in-process against
//! devcluster: the Preview (`install|upgrade --dry-run`) says what would be created,
//! changed, removed or refused and writes nothing, and starts no watch (the dashboard's
//! reads its installs from its caches); `upgrade --all` moves each install
//! as far as its dependents allow; auto-update is done by the operator itself.

use crate::common;
use common::operator::*;

use hoist::cli::install::{InstallRequest, UpgradeRequest};
use hoist::operator::preview::Action;
use hoist::types::{ClusterPackage, NamespacedPackageSpec, Package};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams};

fn kv_request(name: &str, version: &str) -> InstallRequest {
    InstallRequest {
        package: "kv-store".into(),
        version: Some(version.into()),
        repository: Some("glasskube-format".into()),
        name: Some(name.into()),
        namespace: Some("team-a".into()),
        values: vec![("replicas".into(), "2".into())],
        references: Vec::new(),
        auto_update: false,
    }
}

fn steps(plan: &hoist::operator::preview::Plan, action: Action) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| s.action == action)
        .map(|s| s.object.clone())
        .collect()
}

#[tokio::test]
async fn a_preview_shows_what_an_install_and_an_upgrade_would_do_and_writes_nothing() {
    let h = harness().await;
    let _repo = glasskube_format_repository(&h.client).await;
    let (set, cat) = hoist::cli::repo::fresh_catalogue(&h.client, "hoist-system")
        .await
        .expect("catalogue");

    let reads = hoist::operator::preview::Listed::new(&h.client);
    let plan = hoist::operator::preview::install(
        &h.client,
        set.clone(),
        &cat,
        &reads,
        &kv_request("kv", "v1.2.0"),
    )
    .await
    .expect("a plan");
    let mut created = steps(&plan, Action::Create);
    created.sort();
    assert_eq!(
        created,
        [
            "Secret team-a/kv-kv-auth",
            "Service team-a/kv-kv",
            "apps/Deployment team-a/kv-kv"
        ]
    );
    assert_eq!(plan.values.get("replicas").map(String::as_str), Some("2"));
    // Nothing was written.
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    assert!(packages.get_opt("kv").await.expect("get").is_none());
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "team-a");
    assert!(deployments.get_opt("kv-kv").await.expect("get").is_none());
    let text = hoist::operator::preview::render(&plan);
    assert!(
        text.contains("3 to create, 0 to change, 0 to remove"),
        "{text}"
    );

    // Installed for real, then an upgrade previewed: the Deployment's image changes,
    // the rest stays.
    hoist::cli::install::install(&h.client, "hoist-system", &kv_request("kv", "v1.2.0"))
        .await
        .expect("install");
    wait_package(&packages, "kv", is_ready).await;
    let upgrade = UpgradeRequest {
        name: "kv".into(),
        namespace: Some("team-a".into()),
        version: Some("v2.0.0".into()),
    };
    let reads = hoist::operator::preview::Listed::new(&h.client);
    let plan = hoist::operator::preview::upgrade(&h.client, set.clone(), &cat, &reads, &upgrade)
        .await
        .expect("a plan");
    let changed: Vec<&hoist::operator::preview::Step> = plan
        .steps
        .iter()
        .filter(|s| s.action == Action::Change)
        .collect();
    assert_eq!(changed.len(), 1, "{plan:#?}");
    assert!(changed[0].object.ends_with("Deployment team-a/kv-kv"));
    assert!(
        changed[0]
            .changes
            .iter()
            .any(|c| c.contains("image: example.dev/kv:v1.2.0 → example.dev/kv:v2.0.0")),
        "{:?}",
        changed[0].changes
    );
    assert_eq!(plan.count(Action::Unchanged), 2, "{plan:#?}");
    let live = deployments.get("kv-kv").await.expect("deployment");
    let image = live.spec.template.spec.expect("pod").containers[0]
        .image
        .clone();
    assert_eq!(
        image.as_deref(),
        Some("example.dev/kv:v1.2.0"),
        "unchanged by the preview"
    );

    // An object someone else made stands in the way: refused, as the operator would.
    let services: Api<Service> = Api::namespaced(h.client.clone(), "team-a");
    let mut foreign = Service::default();
    foreign.metadata.name = Some("other-kv".into());
    services
        .create(&PostParams::default(), &foreign)
        .await
        .expect("a foreign Service");
    let reads = hoist::operator::preview::Listed::new(&h.client);
    let plan = hoist::operator::preview::install(
        &h.client,
        set,
        &cat,
        &reads,
        &kv_request("other", "v1.2.0"),
    )
    .await
    .expect("a plan");
    let refused: Vec<&hoist::operator::preview::Step> = plan
        .steps
        .iter()
        .filter(|s| s.action == Action::Refused)
        .collect();
    assert_eq!(refused.len(), 1, "{plan:#?}");
    assert!(refused[0].object.ends_with("Service team-a/other-kv"));
    assert!(refused[0].changes[0].contains("never taken over"));
    assert!(hoist::operator::preview::render(&plan).contains("1 refused (the install would fail)"));
}

/// The requests of `verb` in a counters snapshot.
fn of_verb(counts: &std::collections::BTreeMap<String, u64>, verb: &str) -> Vec<String> {
    counts
        .keys()
        .filter(|k| k.starts_with(&format!("{verb} ")))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_dashboard_preview_reads_installs_from_its_caches_and_starts_no_watch() {
    let h = harness().await;
    let cache = install(&h.client, "team-a", "cache", "redis-cache", "v7.2.4+1").await;
    wait_package(&cache, "cache", is_ready).await;
    let running = common::backend(&h.client, common::options()).await;
    running.ready().await;
    let mut g = common::grpc(&running).await;
    // The dashboard's caches have the dependency, ready.
    let listed_ready = || async {
        let all = common::grpc(&running)
            .await
            .list_packages(hoist_proto::v1::ListPackagesRequest {})
            .await
            .expect("list")
            .into_inner();
        all.packages
            .iter()
            .any(|p| p.key.as_ref().is_some_and(|k| k.name == "cache") && p.state == "Ready")
    };
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while !listed_ready().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cache never listed ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let request = || hoist_proto::v1::PreviewRequest {
        install: Some(hoist_proto::v1::InstallRequest {
            package: "guestbook".into(),
            name: "book".into(),
            namespace: "team-a".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let counters = h.setup.cluster.counters();
    counters.reset();
    for _ in 0..3 {
        let plan = g.preview(request()).await.expect("a plan").into_inner();
        assert!(
            plan.packages
                .iter()
                .any(|p| p == "dependency redis-cache: uses Package team-a/cache"),
            "the ready install the caches hold is used: {:?}",
            plan.packages
        );
        assert!(plan.steps.iter().any(|s| s.action == "create"), "{plan:?}");
    }
    let counts = counters.snapshot();
    assert_eq!(
        of_verb(&counts, "watch"),
        Vec::<String>::new(),
        "{counts:?}"
    );
    assert_eq!(
        of_verb(&counts, "list"),
        Vec::<String>::new(),
        "the installs come from the caches: {counts:?}"
    );

    // `hoist install --dry-run` has no caches: one LIST of each package kind, no watch.
    counters.reset();
    let cli = hoist::cli::install::InstallRequest {
        package: "guestbook".into(),
        version: None,
        repository: None,
        name: Some("book".into()),
        namespace: Some("team-a".into()),
        values: Vec::new(),
        references: Vec::new(),
        auto_update: false,
    };
    let text = hoist::cli::install::preview_install(&h.client, "hoist-system", &cli)
        .await
        .expect("a plan");
    assert!(
        text.contains("dependency redis-cache: uses Package team-a/cache"),
        "{text}"
    );
    let counts = counters.snapshot();
    assert_eq!(
        of_verb(&counts, "watch"),
        Vec::<String>::new(),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("list clusterpackages.packages.hoist.dev"),
        Some(&1),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("list packages.packages.hoist.dev"),
        Some(&1),
        "{counts:?}"
    );
}

#[tokio::test]
async fn upgrade_all_moves_installs_within_their_dependents_ranges_and_leaves_components_to_their_parent()
 {
    let h = harness().await;
    let _repo = glasskube_format_repository(&h.client).await;
    let cluster_packages: Api<ClusterPackage> = Api::all(h.client.clone());
    let mut platform = common::spec("platform", "v1.0.0+1");
    platform.package_info.repository_name = Some("glasskube-format".into());
    cluster_packages
        .create(
            &PostParams::default(),
            &ClusterPackage::new("platform", platform),
        )
        .await
        .expect("create");
    wait_cluster_package(&cluster_packages, "platform", cluster_ready).await;
    let mut kv = common::spec("kv-store", "v1.2.0");
    kv.package_info.repository_name = Some("glasskube-format".into());
    let team_b: Api<Package> = Api::namespaced(h.client.clone(), "team-b");
    team_b
        .create(
            &PostParams::default(),
            &Package::new("kv", NamespacedPackageSpec::from(kv)),
        )
        .await
        .expect("create");

    let done = hoist::cli::install::upgrade_all(&h.client, "hoist-system", None)
        .await
        .expect("upgrade --all");
    let moved: Vec<String> = done
        .upgraded
        .iter()
        .map(|u| format!("{} {}→{}", u.resource, u.from, u.to))
        .collect();
    assert!(
        moved.contains(&"ClusterPackage platform v1.0.0+1→v1.1.0".to_string()),
        "{done}"
    );
    assert!(
        moved.contains(&"Package team-b/kv v1.2.0→v2.0.0".to_string()),
        "{done}"
    );
    assert_eq!(moved.len(), 2, "{done}");
    let held: Vec<String> = done
        .held
        .iter()
        .map(|(at, why)| format!("{at}: {why}"))
        .collect();
    assert!(
        held.contains(
            &"ClusterPackage crd-lib: held by ClusterPackage platform (1.x.x)".to_string()
        ),
        "{done}"
    );
    assert!(
        held.contains(
            &"Package platform/platform-cache: a component: its parent's version decides"
                .to_string()
        ),
        "{done}"
    );
    assert!(done.failed.is_empty(), "{done}");
    let lib = cluster_packages.get("crd-lib").await.expect("crd-lib");
    assert_eq!(
        lib.spec.package_info.version, "v1.4.0",
        "not moved past 1.x.x"
    );
}

#[tokio::test]
async fn a_package_marked_for_auto_update_is_moved_to_the_newest_version_by_the_operator() {
    let h = harness().await;
    let _repo = glasskube_format_repository(&h.client).await;
    let mut kv = common::spec("kv-store", "v1.4.1+2");
    kv.package_info.repository_name = Some("glasskube-format".into());
    let mut pkg = Package::new("kv", NamespacedPackageSpec::from(kv));
    pkg.metadata.annotations = Some(
        [(
            hoist::operator::auto_update::AUTO_UPDATE.to_string(),
            "true".to_string(),
        )]
        .into(),
    );
    let team_b: Api<Package> = Api::namespaced(h.client.clone(), "team-b");
    team_b
        .create(&PostParams::default(), &pkg)
        .await
        .expect("create");
    let updated = wait_package(&team_b, "kv", |p| {
        is_ready(p)
            && p.and_then(|p| p.status.as_ref())
                .is_some_and(|s| s.version.as_deref() == Some("v2.0.0"))
    })
    .await;
    assert_eq!(updated.spec.spec.package_info.version, "v2.0.0");
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(h.client.clone(), "team-b");
    let said = events
        .list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .any(|e| e.reason.as_deref() == Some("AutoUpdated"));
    assert!(said, "an AutoUpdated Event");
}

#[tokio::test]
async fn a_configure_preview_shows_the_change_to_the_applied_objects_and_writes_nothing() {
    let h = harness().await;
    let web = install(&h.client, "team-a", "web", "hello-web", "v1.1.0+2").await;
    wait_package(&web, "web", is_ready).await;
    let running = common::backend(&h.client, common::options()).await;
    running.ready().await;
    let mut g = common::grpc(&running).await;
    let before = web
        .get("web")
        .await
        .expect("there")
        .metadata
        .resource_version;
    // A preview of `replicas` set to `value`.
    let replicas = |value: &str| hoist_proto::v1::PreviewRequest {
        configure: Some(hoist_proto::v1::ConfigureRequest {
            key: Some(hoist_proto::v1::PackageKey {
                scope: hoist_proto::v1::Scope::Namespaced as i32,
                namespace: "team-a".into(),
                name: "web".into(),
            }),
            values: vec![hoist_proto::v1::Setting {
                key: "replicas".into(),
                value: value.into(),
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let plan = g.preview(replicas("3")).await.expect("a plan").into_inner();
    let deployment = plan
        .steps
        .iter()
        .find(|s| s.object.contains("Deployment"))
        .unwrap_or_else(|| panic!("the Deployment in {plan:?}"));
    assert_eq!(deployment.action, "change", "{plan:?}");
    assert!(
        deployment.changes.iter().any(|c| c.contains("replicas")),
        "{plan:?}"
    );
    assert!(
        plan.steps
            .iter()
            .filter(|s| s.object.contains("Service"))
            .all(|s| s.action == "unchanged"),
        "{plan:?}"
    );
    let after = web
        .get("web")
        .await
        .expect("there")
        .metadata
        .resource_version;
    assert_eq!(before, after, "a preview writes nothing");
    let refused = g.preview(replicas("99")).await.expect_err("out of range");
    assert_eq!(
        refused.code(),
        tonic::Code::InvalidArgument,
        "{}",
        refused.message()
    );
}
