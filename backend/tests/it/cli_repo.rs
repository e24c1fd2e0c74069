//! `hoist repo …` as a user runs it: the binary, a kubeconfig, devcluster, and
//! repositories served over HTTP.

use crate::common;
use common::repo_server::{Reply, RepoServer};
use hoist::types::PackageRepository;
use kube::Api;

use common::cli::{Cli, with_samples};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_add_list_update_remove_with_clear_errors() {
    let (good, newer) = (RepoServer::start().await, RepoServer::start().await);
    good.set(
        "/index.yaml",
        Reply::Body("packages:\n- name: cert-manager\n- name: velero\n".into()),
    );
    newer.set(
        "/index.yaml",
        Reply::Body("packages:\n- name: velero\n".into()),
    );
    let (cluster, client) = common::cluster().await;
    let cli = Cli::for_cluster(&cluster);
    let api: Api<PackageRepository> = Api::all(client.clone());

    let (ok, out) = cli
        .run(&["repo", "add", "main", &good.base, "--default"])
        .await;
    assert!(ok && out.contains("repository main added"), "{out}");
    let (ok, out) = cli.run(&["repo", "add", "bad", "not-a-url"]).await;
    assert!(!ok && out.contains("not a repository URL"), "{out}");
    assert!(
        api.get_opt("bad").await.expect("get").is_none(),
        "bad input changes nothing"
    );
    let (ok, out) = cli
        .run(&["repo", "add", "down", "http://127.0.0.1:9"])
        .await;
    assert!(ok, "an unreachable repository is still added: {out}");
    let (ok, out) = cli.run(&["repo", "add", "main", &good.base]).await;
    assert!(!ok && out.contains("already exists"), "{out}");

    let (ok, out) = cli.run(&["repo", "list"]).await;
    assert!(ok, "{out}");
    let main_line = out
        .lines()
        .find(|l| l.starts_with("main"))
        .expect("main listed");
    assert!(
        main_line.contains("yes") && main_line.contains(" 2 ") && main_line.contains(&good.base),
        "{out}"
    );
    assert!(
        out.contains("error: cannot reach http://127.0.0.1:9/index.yaml"),
        "the list says why: {out}"
    );

    let (ok, out) = cli
        .run(&["repo", "update", "main", "--url", &newer.base])
        .await;
    assert!(ok, "{out}");
    let (_, out) = cli.run(&["repo", "list"]).await;
    assert!(
        out.contains(&newer.base) && !out.contains(&good.base),
        "the new URL at once: {out}"
    );
    let (ok, out) = cli
        .run(&["repo", "update", "nope", "--url", &newer.base])
        .await;
    assert!(!ok && out.contains("no repository named \"nope\""), "{out}");

    let (ok, out) = cli.run(&["repo", "remove", "down"]).await;
    assert!(ok && out.contains("removed"), "{out}");
    assert!(api.get_opt("down").await.expect("get").is_none());
    let (ok, out) = cli.run(&["repo", "remove", "down"]).await;
    assert!(!ok && out.contains("no repository named"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_show_read_the_catalogue_with_credentials_from_a_secret() {
    use hoist::demo::samples::SampleRepository;
    let samples = SampleRepository::start().await.expect("sample repository");
    let private = RepoServer::start().await;
    private.set(
        "/index.yaml",
        Reply::Body("packages:\n- name: internal-tool\n  shortDescription: ours\n".into()),
    );
    *private.state.require_token.lock().expect("lock") = Some("t0ken".into());
    let (cluster, client) = common::cluster().await;
    samples.register(&client).await.expect("registered");
    let cli = Cli::for_cluster(&cluster);

    let (ok, out) = cli.run(&["list"]).await;
    assert!(ok, "{out}");
    for name in ["hello-web", "redis-cache", "guestbook", "metrics-agent"] {
        assert!(out.contains(name), "{name} listed:\n{out}");
    }
    let names = |out: &str| -> Vec<String> {
        out.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    };
    let (ok, out) = cli.run(&["list", "redis"]).await;
    assert!(ok, "{out}");
    assert_eq!(
        names(&out),
        ["guestbook", "redis-cache"],
        "by name or description"
    );
    let (ok, out) = cli.run(&["list", "--scope", "Cluster"]).await;
    assert!(ok, "{out}");
    assert_eq!(
        names(&out),
        ["cert-issuer", "ingress-gateway", "metrics-agent"]
    );
    let (ok, out) = cli.run(&["list", "no-such-thing"]).await;
    assert!(!ok && out.contains("no package matches"), "{out}");

    let (ok, out) = cli.run(&["show", "hello-web"]).await;
    assert!(ok, "{out}");
    assert!(
        out.starts_with("hello-web v1.1.0+2"),
        "the computed newest:\n{out}"
    );
    assert!(
        out.contains("declares v1.1.0+1, which is not the highest"),
        "{out}"
    );
    assert!(out.contains("replicas (number) = 1"), "{out}");
    let (ok, out) = cli
        .run(&["show", "guestbook", "--version", "v0.2.0+1"])
        .await;
    assert!(ok && out.contains("redis-cache >=7.0.0"), "{out}");
    let (ok, out) = cli.run(&["show", "hello-web", "--version", "v7"]).await;
    assert!(
        !ok && out.contains("available: v1.1.0+2, v1.1.0+1, v1.0.0+1"),
        "{out}"
    );

    // A private repository whose token is in a Secret of Hoist's namespace.
    hoist::demo::seed::namespace(&client, "hoist-system")
        .await
        .expect("namespace");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), "hoist-system");
    let secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "private-token"}, "stringData": {"token": "t0ken"},
    }))
    .expect("secret");
    secrets
        .create(&Default::default(), &secret)
        .await
        .expect("secret");
    let (ok, out) = cli
        .run(&[
            "repo",
            "add",
            "private",
            &private.base,
            "--token-secret",
            "private-token:token",
        ])
        .await;
    assert!(ok, "{out}");
    let (ok, out) = cli.run(&["list", "internal"]).await;
    assert!(ok && out.contains("internal-tool"), "{out}");
    assert!(!out.contains("warning"), "{out}");
    let (ok, out) = cli
        .run(&[
            "repo",
            "add",
            "x",
            &private.base,
            "--token-secret",
            "no-colon",
        ])
        .await;
    assert!(!ok && out.contains("expected SECRET:KEY"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_resolves_checks_values_and_creates_the_package_without_reading_repositories() {
    use hoist::types::{ClusterPackage, Package};
    let (cluster, client, _samples, cli) = with_samples().await;
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    let cluster_packages: Api<ClusterPackage> = Api::all(client.clone());

    // Bad input of every kind: a clear error, nothing created.
    for (args, says) in [
        (vec!["install", "no-such"], "no repository offers"),
        (
            vec!["install", "hello-web", "-n", "team-a", "--version", "v9"],
            "available:",
        ),
        (
            vec![
                "install",
                "hello-web",
                "-n",
                "team-a",
                "--set",
                "replicas=99",
            ],
            "from 1 to 10",
        ),
        (
            vec![
                "install",
                "hello-web",
                "-n",
                "team-a",
                "--set",
                "colour=red",
            ],
            "has: message, replicas",
        ),
        (
            vec!["install", "hello-web", "-n", "nowhere"],
            "does not exist",
        ),
        (
            vec!["install", "metrics-agent", "-n", "team-a"],
            "cluster-scoped",
        ),
        (
            vec!["install", "hello-web", "--set", "novalue"],
            "expected KEY=VALUE",
        ),
    ] {
        let (ok, out) = cli.run(&args).await;
        assert!(!ok && out.contains(says), "{args:?}: {out}");
    }
    common::nothing_installed(&client).await;

    // A namespaced package: the newest version, the repository, the values given.
    cluster.counters().reset();
    let (ok, out) = cli
        .run(&[
            "install",
            "hello-web",
            "-n",
            "team-a",
            "--set",
            "replicas=3",
        ])
        .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("hello-web v1.1.0+2 from hoist-samples"),
        "{out}"
    );
    let reads = cluster.counters().snapshot();
    assert_eq!(
        cluster
            .counters()
            .get("get", "packagerepositories.packages.hoist.dev"),
        0,
        "no PackageRepository is read per lookup: {reads:?}"
    );
    assert_eq!(
        cluster
            .counters()
            .get("list", "packagerepositories.packages.hoist.dev"),
        1,
        "one LIST for the whole command: {reads:?}"
    );
    let p = packages.get("hello-web").await.expect("created");
    assert_eq!(p.spec.spec.package_info.version, "v1.1.0+2");
    assert_eq!(
        p.spec.spec.package_info.repository_name.as_deref(),
        Some("hoist-samples")
    );
    assert_eq!(p.spec.spec.values["replicas"].value.as_deref(), Some("3"));

    // A cluster package at an older version; a second install of it says so.
    let (ok, out) = cli
        .run(&["install", "metrics-agent", "--version", "v1.9.0+1"])
        .await;
    assert!(ok, "{out}");
    let c = cluster_packages
        .get("metrics-agent")
        .await
        .expect("created");
    assert_eq!(c.spec.package_info.version, "v1.9.0+1");
    let (ok, out) = cli.run(&["install", "metrics-agent"]).await;
    assert!(!ok && out.contains("already exists"), "{out}");
    // Dependencies are named for the user.
    let (ok, out) = cli.run(&["install", "guestbook", "-n", "team-a"]).await;
    assert!(
        ok && out.contains("depends on: redis-cache >=7.0.0, hello-web"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_refuses_while_another_install_needs_the_package_and_deletes_otherwise() {
    use hoist::types::Package;
    use kube::ResourceExt;
    let (cluster, client, _samples, cli) = with_samples().await;
    for package in ["redis-cache", "hello-web", "guestbook"] {
        let (ok, out) = cli.run(&["install", package, "-n", "team-a"]).await;
        assert!(ok, "{out}");
    }
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    let names = || async {
        let mut n: Vec<String> = packages
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .iter()
            .map(|p| p.name_any())
            .collect();
        n.sort();
        n
    };

    // guestbook needs redis-cache: refused, with who needs it and which range.
    cluster.counters().reset();
    let (ok, out) = cli.run(&["uninstall", "redis-cache", "-n", "team-a"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("still needed by Package team-a/guestbook (needs redis-cache >=7.0.0)"),
        "{out}"
    );
    assert_eq!(names().await, ["guestbook", "hello-web", "redis-cache"]);
    assert_eq!(
        cluster
            .counters()
            .get("get", "packagerepositories.packages.hoist.dev"),
        0,
        "the dependency check reads manifests through the repository cache"
    );
    // An unknown name says what is installed there.
    let (ok, out) = cli.run(&["uninstall", "nope", "-n", "team-a"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "Package team-a/nope is not installed (installed there: guestbook, hello-web, redis-cache)"
        ),
        "{out}"
    );
    // A cluster-scoped lookup does not find a namespaced install.
    let (ok, out) = cli.run(&["uninstall", "guestbook"]).await;
    assert!(
        !ok && out.contains("ClusterPackage guestbook is not installed"),
        "{out}"
    );

    // A second redis-cache in the namespace serves guestbook: the first may go.
    let (ok, out) = cli
        .run(&[
            "install",
            "redis-cache",
            "-n",
            "team-a",
            "--name",
            "redis-2",
        ])
        .await;
    assert!(ok, "{out}");
    let (ok, out) = cli.run(&["uninstall", "redis-cache", "-n", "team-a"]).await;
    assert!(
        ok && out.contains("Package team-a/redis-cache deleted"),
        "{out}"
    );
    // --force deletes what is still needed.
    let (ok, out) = cli.run(&["uninstall", "hello-web", "-n", "team-a"]).await;
    assert!(!ok && out.contains("--force"), "{out}");
    let (ok, out) = cli
        .run(&["uninstall", "hello-web", "-n", "team-a", "--force"])
        .await;
    assert!(ok, "{out}");
    assert_eq!(names().await, ["guestbook", "redis-2"]);

    // A dependent whose repository is gone cannot be checked: named, and not blocking.
    let orphan = Package::new(
        "orphan",
        hoist::types::NamespacedPackageSpec {
            spec: hoist::types::PackageSpec {
                package_info: hoist::types::PackageInfoTemplate {
                    name: "guestbook".into(),
                    version: "v0.3.0+1".into(),
                    repository_name: Some("gone".into()),
                },
                ..Default::default()
            },
            service_account_name: None,
        },
    );
    packages
        .create(&Default::default(), &orphan)
        .await
        .expect("orphan");
    let (ok, out) = cli.run(&["uninstall", "guestbook", "-n", "team-a"]).await;
    assert!(ok, "{out}");
    let (ok, out) = cli.run(&["uninstall", "redis-2", "-n", "team-a"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: could not check whether Package team-a/orphan needs redis-cache"),
        "{out}"
    );
    assert_eq!(names().await, ["orphan"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_installed_shows_each_install_with_its_status_and_any_newer_version() {
    let (_cluster, _client, _samples, cli) = with_samples().await;
    let (ok, out) = cli.run(&["list", "--installed"]).await;
    assert!(ok && out.contains("nothing installed"), "{out}");

    for args in [
        vec!["install", "metrics-agent", "--version", "v1.9.0+1"],
        vec!["install", "hello-web", "-n", "team-a"],
    ] {
        let (ok, out) = cli.run(&args).await;
        assert!(ok, "{out}");
    }
    let (ok, out) = cli.run(&["list", "--installed"]).await;
    assert!(ok, "{out}");
    let row = |name: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // NAMESPACE NAME PACKAGE VERSION INSTALLED STATUS UPDATE
    assert_eq!(
        row("metrics-agent"),
        [
            "(cluster)",
            "metrics-agent",
            "metrics-agent",
            "v1.9.0+1",
            "-",
            "Pending",
            "v2.0.1+3"
        ],
        "an older version: the newer one is offered\n{out}"
    );
    assert_eq!(
        row("hello-web"),
        [
            "team-a",
            "hello-web",
            "hello-web",
            "v1.1.0+2",
            "-",
            "Pending"
        ],
        "the newest version: no update\n{out}"
    );
    let (ok, out) = cli.run(&["list", "--installed", "metrics"]).await;
    assert!(ok && out.lines().count() == 2, "header and one row: {out}");
    let (ok, out) = cli
        .run(&["list", "--installed", "--scope", "Cluster"])
        .await;
    assert!(!ok && out.contains("cannot be used with"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_moves_to_the_newest_version_only_forward_and_only_if_the_values_fit() {
    use hoist::types::{ClusterPackage, Package};
    let (cluster, client, _samples, cli) = with_samples().await;
    let clusters: Api<ClusterPackage> = Api::all(client.clone());
    let version = |p: ClusterPackage| p.spec.package_info.version;

    let (ok, out) = cli
        .run(&["install", "metrics-agent", "--version", "v1.9.0+1"])
        .await;
    assert!(ok, "{out}");
    let (ok, out) = cli.run(&["upgrade", "metrics-agent"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("ClusterPackage metrics-agent moves from v1.9.0+1 to v2.0.1+3"),
        "{out}"
    );
    let now = clusters.get("metrics-agent").await.expect("still there");
    assert_eq!(version(now), "v2.0.1+3");
    // Nothing newer: said, and nothing changes.
    let (ok, out) = cli.run(&["upgrade", "metrics-agent"]).await;
    assert!(!ok && out.contains("is at v2.0.1+3, the newest"), "{out}");
    // An explicit older version is a rollback.
    let (ok, out) = cli
        .run(&["upgrade", "metrics-agent", "--version", "v1.9.0+1"])
        .await;
    assert!(ok, "{out}");
    let now = clusters.get("metrics-agent").await.expect("still there");
    assert_eq!(version(now), "v1.9.0+1");
    // Someone else writes first: a conflict, said, not overwritten.
    use devcluster::faults::{Fault, FaultAction};
    cluster
        .faults()
        .add(Fault::new(FaultAction::Conflict).verb("patch").times(1));
    let (ok, out) = cli.run(&["upgrade", "metrics-agent"]).await;
    assert!(
        !ok && out.contains("changed while it was being upgraded"),
        "{out}"
    );
    let now = clusters.get("metrics-agent").await.expect("still there");
    assert_eq!(version(now), "v1.9.0+1");
    let (ok, out) = cli
        .run(&["upgrade", "metrics-agent", "--version", "v1.9.0+1"])
        .await;
    assert!(!ok && out.contains("is already at v1.9.0+1"), "{out}");
    // Unknown installs and versions.
    let (ok, out) = cli.run(&["upgrade", "nope"]).await;
    assert!(
        !ok && out.contains("ClusterPackage nope is not installed"),
        "{out}"
    );
    let (ok, out) = cli
        .run(&["upgrade", "metrics-agent", "--version", "v9"])
        .await;
    assert!(!ok && out.contains("available:"), "{out}");

    // Values the new version does not define: refused by key, version unchanged.
    let odd: Package = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "odd", "namespace": "team-a"},
        "spec": {
            "packageInfo": {"name": "hello-web", "version": "v1.0.0+1"},
            "values": {"colour": {"value": "red"}},
        },
    }))
    .expect("package");
    let team: Api<Package> = Api::namespaced(client.clone(), "team-a");
    team.create(&Default::default(), &odd)
        .await
        .expect("created");
    let (ok, out) = cli.run(&["upgrade", "odd", "-n", "team-a"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("Package team-a/odd's values do not fit v1.1.0+2")
            && out.contains("has: message, replicas"),
        "{out}"
    );
    let odd = team.get("odd").await.expect("still there");
    assert_eq!(odd.spec.spec.package_info.version, "v1.0.0+1");
}
