//! `hoist demo`: seeds a fresh data dir once, keeps the user's changes across restarts.

use hoist::demo::{DemoOptions, start};
use hoist::serve::ServeOptions;
use hoist::types::ClusterPackage;
use kube::{Api, ResourceExt};

fn opts(dir: &std::path::Path) -> DemoOptions {
    DemoOptions {
        data_dir: dir.to_path_buf(),
        serve: ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            dist: dir.to_path_buf(),
            ..Default::default()
        },
        api_latency: None,
        seed_packages: 12,
        repo_disk_cache: true,
    }
}

/// The installs the demo seeded (or the user left), not counting the dependencies the
/// operator installed for them (guestbook's redis-cache).
async fn seeded(demo: &hoist::demo::Demo) -> usize {
    let client = demo.cluster.client().expect("client");
    let dependency = |a: &std::collections::BTreeMap<String, String>| {
        a.get("packages.hoist.dev/installed-as-dependency")
            .is_some()
    };
    let cluster: Api<ClusterPackage> = Api::all(client.clone());
    let namespaced: Api<hoist::types::Package> = Api::all(client);
    let lp = Default::default();
    let c = cluster.list(&lp).await.expect("list");
    let n = namespaced.list(&lp).await.expect("list");
    c.items
        .iter()
        .filter(|p| !dependency(p.annotations()))
        .count()
        + n.items
            .iter()
            .filter(|p| !dependency(p.annotations()))
            .count()
}

#[tokio::test]
async fn demo_seeds_once_and_a_restart_keeps_the_users_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_default())
        .with_test_writer()
        .try_init();
    let demo = start(opts(dir.path())).await.expect("demo starts");
    demo.backend.ready().await;
    assert_eq!(seeded(&demo).await, 12);
    // The sample repository is served over HTTP and registered as the default.
    let catalogue = demo
        .backend
        .catalogue
        .up_to_date(&demo.backend.repositories)
        .await;
    assert_eq!(catalogue.repositories.len(), 1);
    let samples = &catalogue.repositories[0];
    assert!(samples.is_default && samples.error.is_none(), "{samples:?}");
    assert_eq!(samples.url, demo.samples.url());
    let names: Vec<&str> = catalogue.entries.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains(&"hello-web") && names.contains(&"metrics-agent"),
        "{names:?}"
    );
    // The operator installs the samples: Ready is its verdict, and so is the failure of
    // the one that asks for more replicas than its package allows.
    let client = demo.cluster.client().expect("client");
    let team_a: Api<hoist::types::Package> = Api::namespaced(client, "team-a");
    let condition = |p: Option<&hoist::types::Package>, type_: &str| {
        p.and_then(|p| p.status.as_ref())
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_).cloned())
    };
    let wait = |name: &'static str, type_: &'static str| {
        let api = team_a.clone();
        async move {
            let cond = kube::runtime::wait::await_condition(
                api,
                name,
                move |p: Option<&hoist::types::Package>| {
                    condition(p, type_).is_some_and(|c| c.status == "True")
                },
            );
            tokio::time::timeout(std::time::Duration::from_secs(60), cond)
                .await
                .expect("in time")
                .expect("watch")
                .expect("exists")
        }
    };
    let ready = wait("hello-web", "Ready").await;
    assert_eq!(
        ready.status.and_then(|s| s.version).as_deref(),
        Some("v1.1.0+2")
    );
    // Its page opens as a user opens it (`hoist open hello-web -n team-a`): through
    // devcluster's port-forward, to the demo's stand-in for the container.
    let (events, _received) = tokio::sync::mpsc::channel(16);
    let opened = hoist::cli::open::open(
        &demo.cluster.client().expect("client"),
        hoist::serve::DEFAULT_NAMESPACE,
        &hoist_core::install::InstallRef::namespaced("team-a", "hello-web"),
        None,
        Some(0),
        events,
    )
    .await
    .expect("hello-web opens");
    let page = reqwest::get(opened[0].forward.url())
        .await
        .expect("the page answers")
        .text()
        .await
        .expect("body");
    assert!(page.contains(hoist::demo::stand_in::TITLE), "{page}");
    let failed = wait("hello-web-oversized", "Failed").await;
    let why = condition(Some(&failed), "Failed").expect("Failed");
    assert_eq!(why.reason, "ValueConfigurationInvalid");
    assert!(why.message.contains("replicas"), "{}", why.message);
    // The user works on it with their own tools, through the kubeconfig it wrote.
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&demo.kubeconfig).expect("kubeconfig"),
        &Default::default(),
    )
    .await
    .expect("config");
    let api: Api<ClusterPackage> = Api::all(kube::Client::try_from(config).expect("client"));
    api.delete("cert-issuer", &Default::default())
        .await
        .expect("the user deletes a package");
    // The operator uninstalls it (its finalizer), then it is gone.
    let gone =
        kube::runtime::wait::await_condition(api, "cert-issuer", |p: Option<&ClusterPackage>| {
            p.is_none()
        });
    tokio::time::timeout(std::time::Duration::from_secs(30), gone)
        .await
        .expect("uninstalled in time")
        .expect("watch");
    // The fleet: both member clusters identified and billed by the fleet controller.
    let billed = |demo: &hoist::demo::Demo| {
        let clusters: Api<hoist::types::Cluster> =
            Api::namespaced(demo.cluster.client().expect("client"), "hoist-system");
        async move {
            for name in ["edge-a", "edge-b"] {
                let cond = kube::runtime::wait::await_condition(
                    clusters.clone(),
                    name,
                    |c: Option<&hoist::types::Cluster>| {
                        c.and_then(|c| c.status.as_ref()).is_some_and(|s| {
                            s.conditions
                                .iter()
                                .any(|x| x.type_ == "Billed" && x.status == "True")
                        })
                    },
                );
                tokio::time::timeout(std::time::Duration::from_secs(60), cond)
                    .await
                    .expect("billed in time")
                    .expect("watch");
            }
            clusters
        }
    };
    let clusters = billed(&demo).await;
    let identity = |c: hoist::types::Cluster| {
        c.status
            .and_then(|s| s.identity)
            .map(|i| i.kube_system_uid)
            .expect("identity")
    };
    let first = identity(clusters.get("edge-a").await.expect("edge-a"));
    demo.shutdown().await;

    let demo = start(opts(dir.path())).await.expect("demo restarts");
    demo.backend.ready().await;
    assert_eq!(
        seeded(&demo).await,
        11,
        "not seeded again, and the delete was kept"
    );
    // The sample repository moved to a new port; the registration followed it.
    let catalogue = demo
        .backend
        .catalogue
        .up_to_date(&demo.backend.repositories)
        .await;
    assert_eq!(catalogue.repositories[0].url, demo.samples.url());
    assert!(catalogue.repositories[0].error.is_none());
    // The members came back on new ports, as the same clusters: still one record each.
    let clusters = billed(&demo).await;
    assert_eq!(
        identity(clusters.get("edge-a").await.expect("edge-a")),
        first
    );
    let records: Api<hoist::types::UsageRecord> = Api::all(demo.cluster.client().expect("client"));
    let all = records
        .list(&Default::default())
        .await
        .expect("records")
        .items;
    assert_eq!(all.len(), 2, "no Replaced record from a restart: {all:?}");
    demo.shutdown().await;
}

#[tokio::test]
async fn demo_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts(dir.path());
    o.serve.listen = "0.0.0.0:0".parse().expect("addr");
    match start(o).await {
        Err(hoist::demo::DemoError::Serve(hoist::serve::ServeError::NotLoopback(_))) => {}
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("served on a wildcard address without a token"),
    }
}
