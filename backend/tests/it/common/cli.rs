//! The `hoist` binary as a user runs it, pointed at a devcluster by a kubeconfig file.

/// A kubeconfig for one devcluster, and the binary run with it.
pub struct Cli {
    kubeconfig: tempfile::NamedTempFile,
}

impl Cli {
    /// A kubeconfig file for `cluster`.
    pub fn for_cluster(cluster: &devcluster::DevCluster) -> Self {
        let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(kubeconfig.path(), cluster.kubeconfig()).expect("kubeconfig");
        Self { kubeconfig }
    }

    /// Whether it succeeded, and what it printed (stdout, then stderr).
    pub async fn run(&self, args: &[&str]) -> (bool, String) {
        super::run_hoist(self.kubeconfig.path(), args).await
    }

    /// Starts a long-running command (`open`): stdout piped, killed when dropped.
    pub fn spawn(&self, args: &[&str]) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig.path())
            .env("RUST_BACKTRACE", "0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("hoist starts")
    }

    /// Runs and expects success; returns what it printed.
    pub async fn ok(&self, args: &[&str]) -> String {
        let (ok, out) = self.run(args).await;
        assert!(ok, "hoist {args:?} failed:\n{out}");
        out
    }
}

/// devcluster with the sample repository as the default, namespace team-a, and the CLI
/// pointed at it. Keep the repository alive for the test.
pub async fn with_samples() -> (
    devcluster::DevCluster,
    kube::Client,
    hoist::demo::samples::SampleRepository,
    Cli,
) {
    let (cluster, client, samples) = super::cluster_with_samples().await;
    let cli = Cli::for_cluster(&cluster);
    (cluster, client, samples, cli)
}
