//! The day-two verbs as a user runs them (issue 22): the `hoist` binary, a kubeconfig,
//! devcluster, the sample repository over HTTP. `configure`, `suspend`/`resume`, `get
//! -o yaml`, `install|upgrade|configure --dry-run -o yaml|json` and `list --installed
//! -o wide|json`, each checked against what the API server then holds.

use crate::common;
use hoist::types::{AUTO_UPDATE, Package};
use kube::Api;

use common::cli::with_samples;

fn value(p: &Package, key: &str) -> Option<String> {
    p.spec.spec.values.get(key).and_then(|v| v.value.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_checks_the_whole_value_set_writes_only_what_changed_and_refuses_bad_input() {
    let (_cluster, client, _samples, cli) = with_samples().await;
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    cli.ok(&[
        "install",
        "hello-web",
        "-n",
        "team-a",
        "--set",
        "replicas=2",
    ])
    .await;
    let before = packages.get("hello-web").await.expect("installed");

    let out = cli
        .ok(&[
            "configure",
            "hello-web",
            "-n",
            "team-a",
            "--set",
            "replicas=3",
            "--set",
            "message=hi",
        ])
        .await;
    assert!(
        out.contains("replicas: 2 -> 3") && out.contains("message: set to hi"),
        "{out}"
    );
    let after = packages.get("hello-web").await.expect("still there");
    assert_eq!(value(&after, "replicas").as_deref(), Some("3"));
    assert_eq!(value(&after, "message").as_deref(), Some("hi"));
    assert_eq!(
        after.spec.spec.package_info, before.spec.spec.package_info,
        "only values change"
    );

    // A literal replaced by a reference clears the literal (and the other way round).
    let out = cli
        .ok(&[
            "configure",
            "hello-web",
            "-n",
            "team-a",
            "--set-from",
            "message=configmap:greetings/text",
            "--unset",
            "replicas",
        ])
        .await;
    assert!(
        out.contains("message: hi -> from configmap:greetings/text")
            && out.contains("replicas: unset (was 3)"),
        "{out}"
    );
    let after = packages.get("hello-web").await.expect("still there");
    let message = after.spec.spec.values.get("message").expect("message");
    assert_eq!(message.value, None);
    assert_eq!(
        message
            .value_from
            .as_ref()
            .and_then(|f| f.config_map_ref.as_ref())
            .map(|r| (r.name.as_str(), r.key.as_str())),
        Some(("greetings", "text"))
    );
    assert!(!after.spec.spec.values.contains_key("replicas"));

    // Nothing to change: nothing written.
    let rv = after.metadata.resource_version.clone();
    let out = cli
        .ok(&[
            "configure",
            "hello-web",
            "-n",
            "team-a",
            "--set-from",
            "message=configmap:greetings/text",
        ])
        .await;
    assert!(out.contains("nothing to change"), "{out}");
    let same = packages.get("hello-web").await.expect("still there");
    assert_eq!(same.metadata.resource_version, rv, "no write");

    // Bad input: a clear error, nothing changed.
    for (args, says) in [
        (
            vec![
                "configure",
                "hello-web",
                "-n",
                "team-a",
                "--set",
                "replicas=99",
            ],
            "replicas",
        ),
        (
            vec![
                "configure",
                "hello-web",
                "-n",
                "team-a",
                "--set",
                "colour=red",
            ],
            "colour",
        ),
        (
            vec![
                "configure",
                "hello-web",
                "-n",
                "team-a",
                "--unset",
                "replicas",
            ],
            "is not set",
        ),
        (
            vec![
                "configure",
                "hello-web",
                "-n",
                "team-a",
                "--set",
                "replicas=2",
                "--unset",
                "replicas",
            ],
            "both set and unset",
        ),
        (
            vec![
                "configure",
                "hello-web",
                "-n",
                "team-a",
                "--set-from",
                "message=secret:other/db/pw",
            ],
            "message",
        ),
        (
            vec![
                "configure",
                "nowhere",
                "-n",
                "team-a",
                "--set",
                "replicas=2",
            ],
            "is not installed",
        ),
        (
            vec!["configure", "hello-web", "-n", "team-a"],
            "nothing to change",
        ),
    ] {
        let (ok, out) = cli.run(&args).await;
        assert!(
            !ok && out.contains(says),
            "{args:?} should say {says:?}:\n{out}"
        );
        let now = packages.get("hello-web").await.expect("still there");
        assert_eq!(now.metadata.resource_version, rv, "{args:?} changed it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_print_the_object_as_it_would_be_applied_and_write_nothing() {
    let (_cluster, client, _samples, cli) = with_samples().await;
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");

    let yaml = cli
        .ok(&[
            "install",
            "hello-web",
            "-n",
            "team-a",
            "--set",
            "replicas=2",
            "--auto-update",
            "--dry-run",
            "-o",
            "yaml",
        ])
        .await;
    assert!(
        packages.get_opt("hello-web").await.expect("get").is_none(),
        "a dry run writes nothing"
    );
    // What it prints is what `kubectl apply -f` (here: the API) accepts as is.
    let object: Package = serde_yaml_ng::from_str(&yaml).expect("a Package as YAML");
    assert_eq!(object.metadata.namespace.as_deref(), Some("team-a"));
    assert_eq!(value(&object, "replicas").as_deref(), Some("2"));
    assert_eq!(
        object
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(AUTO_UPDATE))
            .map(String::as_str),
        Some("true")
    );
    packages
        .create(&Default::default(), &object)
        .await
        .expect("the printed object applies");

    // `get` prints it back; JSON and YAML agree.
    let json = cli
        .ok(&["get", "hello-web", "-n", "team-a", "-o", "json"])
        .await;
    let got: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(got["kind"], "Package");
    assert_eq!(got["spec"]["values"]["replicas"]["value"], "2");
    assert!(
        got["metadata"].get("managedFields").is_none(),
        "managedFields left out, as kubectl does: {json}"
    );
    let (ok, out) = cli.run(&["get", "nowhere", "-n", "team-a"]).await;
    assert!(!ok && out.contains("is not installed"), "{out}");

    // configure --dry-run -o yaml: the object after the change; nothing written.
    let rv = packages
        .get("hello-web")
        .await
        .expect("there")
        .metadata
        .resource_version;
    let yaml = cli
        .ok(&[
            "configure",
            "hello-web",
            "-n",
            "team-a",
            "--set",
            "replicas=4",
            "--auto-update=false",
            "--dry-run",
            "-o",
            "yaml",
        ])
        .await;
    let would: Package = serde_yaml_ng::from_str(&yaml).expect("a Package as YAML");
    assert_eq!(value(&would, "replicas").as_deref(), Some("4"));
    assert!(
        would
            .metadata
            .annotations
            .as_ref()
            .is_none_or(|a| !a.contains_key(AUTO_UPDATE)),
        "{yaml}"
    );
    let now = packages.get("hello-web").await.expect("there");
    assert_eq!(
        now.metadata.resource_version, rv,
        "a dry run writes nothing"
    );
    assert_eq!(value(&now, "replicas").as_deref(), Some("2"));

    // upgrade --dry-run -o json: the install at the version it would move to.
    cli.ok(&["install", "metrics-agent", "--version", "v1.9.0+1"])
        .await;
    let json = cli
        .ok(&["upgrade", "metrics-agent", "--dry-run", "-o", "json"])
        .await;
    let would: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(would["kind"], "ClusterPackage");
    assert_eq!(would["spec"]["packageInfo"]["version"], "v2.0.1+3");
    let (ok, out) = cli.run(&["upgrade", "metrics-agent", "-o", "json"]).await;
    assert!(
        !ok && out.contains("--dry-run"),
        "-o needs --dry-run: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_resume_and_auto_update_show_in_list_wide_and_json() {
    let (_cluster, client, _samples, cli) = with_samples().await;
    let packages: Api<Package> = Api::namespaced(client.clone(), "team-a");
    cli.ok(&["install", "hello-web", "-n", "team-a"]).await;

    let out = cli.ok(&["suspend", "hello-web", "-n", "team-a"]).await;
    assert!(out.contains("suspended"), "{out}");
    assert!(
        packages
            .get("hello-web")
            .await
            .expect("there")
            .spec
            .spec
            .suspend
    );
    cli.ok(&["configure", "hello-web", "-n", "team-a", "--auto-update"])
        .await;

    let json = cli.ok(&["list", "--installed", "-o", "json"]).await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).expect("json array");
    let row = rows
        .iter()
        .find(|r| r["name"] == "hello-web")
        .unwrap_or_else(|| panic!("no hello-web: {json}"));
    assert_eq!(row["namespace"], "team-a");
    assert_eq!(row["suspended"], true);
    assert_eq!(row["autoUpdate"], true);
    assert_eq!(row["package"], "hello-web");

    let wide = cli.ok(&["list", "--installed", "-o", "wide"]).await;
    let header: Vec<&str> = wide
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert!(
        header.contains(&"SUSPENDED") && header.contains(&"AUTO-UPDATE"),
        "{wide}"
    );
    let line = wide
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("hello-web"))
        .unwrap_or_else(|| panic!("no row: {wide}"));
    assert!(line.contains(" yes ") && line.contains("sample"), "{wide}");

    let out = cli.ok(&["resume", "hello-web", "-n", "team-a"]).await;
    assert!(out.contains("resumed"), "{out}");
    assert!(
        !packages
            .get("hello-web")
            .await
            .expect("there")
            .spec
            .spec
            .suspend
    );
    let (ok, out) = cli.run(&["suspend", "nowhere", "-n", "team-a"]).await;
    assert!(!ok && out.contains("is not installed"), "{out}");
    assert!(
        packages.get_opt("nowhere").await.expect("get").is_none(),
        "a switch never creates"
    );
    let (ok, out) = cli.run(&["list", "-o", "wide"]).await;
    assert!(!ok && out.contains("--installed"), "{out}");
}
