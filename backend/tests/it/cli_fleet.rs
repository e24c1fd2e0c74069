//! `hoist cluster add|list|remove` and `hoist usage` as a user runs them: the binary
//! against a management devcluster with the fleet controller running, and a member
//! devcluster. Clear errors change nothing; removal asks for the name; usage exports
//! are the ledger's, with stable CloudEvents ids.

use crate::common;

use hoist::fleet::{self, FleetOptions};
use hoist::types::Cluster;
use kube::Api;
use kube::runtime::wait::await_condition;
use std::time::Duration;

struct Cli {
    kubeconfig: tempfile::NamedTempFile,
}

impl Cli {
    async fn run_with_input(&self, args: &[&str], input: &str) -> (bool, String) {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig.path())
            .env("RUST_BACKTRACE", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("hoist runs");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).await.expect("stdin");
        }
        let out = child.wait_with_output().await.expect("hoist ends");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    async fn run(&self, args: &[&str]) -> (bool, String) {
        self.run_with_input(args, "").await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_are_added_listed_billed_removed_and_their_usage_exported() {
    let (management, client) = common::cluster().await;
    let member = devcluster::DevCluster::start(Default::default())
        .await
        .expect("member");
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), management.kubeconfig()).expect("kubeconfig");
    let cli = Cli { kubeconfig };
    let member_kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(member_kubeconfig.path(), member.kubeconfig()).expect("member kubeconfig");
    let member_path = member_kubeconfig.path().to_string_lossy().to_string();

    // Added (Hoist's namespace made on the way); the same name again is refused.
    let (ok, text) = cli
        .run(&["cluster", "add", "edge-1", "--kubeconfig", &member_path])
        .await;
    assert!(ok, "{text}");
    assert!(text.contains("cluster edge-1 added"), "{text}");
    let (ok, text) = cli
        .run(&["cluster", "add", "edge-1", "--kubeconfig", &member_path])
        .await;
    assert!(!ok && text.contains("exists already"), "{text}");
    let (ok, text) = cli
        .run(&[
            "cluster",
            "add",
            "edge-2",
            "--kubeconfig",
            "/nowhere/config",
        ])
        .await;
    assert!(
        !ok && text.contains("cannot read the kubeconfig /nowhere/config"),
        "{text}"
    );
    let (ok, text) = cli
        .run(&[
            "cluster",
            "add",
            "edge-2",
            "--kubeconfig",
            &member_path,
            "--member-context",
            "nope",
        ])
        .await;
    assert!(!ok && text.contains("no context \"nope\""), "{text}");
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), "hoist-system");
    assert!(
        clusters.get_opt("edge-2").await.expect("get").is_none(),
        "nothing made"
    );

    // The controller bills it; list and usage say so.
    let _fleet = fleet::start(
        client.clone(),
        "hoist-system",
        FleetOptions {
            sweep_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .await;
    let billed = await_condition(clusters.clone(), "edge-1", |c: Option<&Cluster>| {
        c.and_then(|c| c.status.as_ref()).is_some_and(|s| {
            s.conditions
                .iter()
                .any(|x| x.type_ == "Billed" && x.status == "True")
        })
    });
    tokio::time::timeout(common::PATIENCE, billed)
        .await
        .expect("billed in time")
        .expect("watch");
    let (ok, text) = cli.run(&["cluster", "list"]).await;
    assert!(ok, "{text}");
    assert!(
        text.contains("edge-1") && text.contains("billed now: 1"),
        "{text}"
    );
    let (ok, text) = cli.run(&["usage", "--format", "jsonl"]).await;
    assert!(ok, "{text}");
    let line: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    assert_eq!(line["cluster"], "edge-1");
    assert!(line["stop"].is_null());

    // Removal asks for the name; a wrong one removes nothing.
    let (ok, text) = cli
        .run_with_input(&["cluster", "remove", "edge-1"], "edge-2\n")
        .await;
    assert!(!ok && text.contains("not removed"), "{text}");
    assert!(clusters.get_opt("edge-1").await.expect("get").is_some());
    let (ok, text) = cli
        .run_with_input(&["cluster", "remove", "edge-1"], "edge-1\n")
        .await;
    assert!(ok && text.contains("billing stops now"), "{text}");
    let gone = await_condition(clusters.clone(), "edge-1", |c: Option<&Cluster>| {
        c.is_none()
    });
    tokio::time::timeout(common::PATIENCE, gone)
        .await
        .expect("removed in time")
        .expect("watch");
    let period = [
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2099-01-01T00:00:00Z",
    ];
    let (ok, text) = cli
        .run(&[&["usage", "--format", "jsonl"][..], &period[..]].concat())
        .await;
    assert!(ok, "{text}");
    let line: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    assert_eq!(line["stopSource"], "Deleted");
    assert!(line["stop"].is_string());
    // CloudEvents: the same period gives the same ids (a sink drops resends).
    let events = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).expect("event")["id"]
                    .as_str()
                    .expect("id")
                    .to_string()
            })
            .collect()
    };
    let (_, first) = cli
        .run(&[&["usage", "--format", "cloudevents"][..], &period[..]].concat())
        .await;
    let (_, again) = cli
        .run(&[&["usage", "--format", "cloudevents"][..], &period[..]].concat())
        .await;
    assert_eq!(events(&first), events(&again));
    assert!(!events(&first).is_empty());
    let (ok, text) = cli.run(&["usage", "--from", "yesterday"]).await;
    assert!(!ok && text.contains("not an RFC 3339 time"), "{text}");
}

/// Found by the soak: `cluster add` right after `cluster remove` met the old Cluster
/// still being deleted (its billing stop and cleanup) and said it "exists already",
/// which reads as a name clash. It says what is happening, and makes nothing.
#[tokio::test]
async fn adding_a_cluster_whose_namesake_is_still_being_removed_says_so_and_makes_nothing() {
    let (management, client) = common::cluster().await;
    let member = devcluster::DevCluster::start(Default::default())
        .await
        .expect("member");
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), management.kubeconfig()).expect("kubeconfig");
    let cli = Cli { kubeconfig };
    let member_kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(member_kubeconfig.path(), member.kubeconfig()).expect("member kubeconfig");
    let member_path = member_kubeconfig.path().to_string_lossy().to_string();
    let (ok, text) = cli
        .run(&["cluster", "add", "edge-1", "--kubeconfig", &member_path])
        .await;
    assert!(ok, "{text}");
    // Held by a finalizer, as the fleet controller holds a Cluster until billing stops.
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), "hoist-system");
    let hold = serde_json::json!({"metadata": {"finalizers": ["example.com/hold"]}});
    clusters
        .patch(
            "edge-1",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&hold),
        )
        .await
        .expect("hold");
    clusters
        .delete("edge-1", &Default::default())
        .await
        .expect("delete");
    let before = clusters.get("edge-1").await.expect("being removed");

    let (ok, text) = cli
        .run(&["cluster", "add", "edge-1", "--kubeconfig", &member_path])
        .await;
    assert!(!ok, "{text}");
    assert!(text.contains("still being removed"), "{text}");
    let after = clusters.get("edge-1").await.expect("still there");
    assert_eq!(
        before.metadata.resource_version, after.metadata.resource_version,
        "nothing changed"
    );
}
