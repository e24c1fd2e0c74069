//! `hoist repo …` as a user runs it: the binary, a kubeconfig, devcluster, and
//! repositories served over HTTP.

mod common;
use common::repo_server::{Reply, RepoServer};
use hoist::types::PackageRepository;
use kube::Api;

struct Cli {
    kubeconfig: tempfile::NamedTempFile,
}

impl Cli {
    async fn run(&self, args: &[&str]) -> (bool, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig.path())
            .env("RUST_BACKTRACE", "0")
            .output()
            .await
            .expect("hoist runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

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
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), cluster.kubeconfig()).expect("kubeconfig");
    let cli = Cli { kubeconfig };
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
