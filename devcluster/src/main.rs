//! `devcluster serve`: run the API server on its own.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "devcluster",
    about = "A Kubernetes API server for development, demos and tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API; prints the bound address on the first line.
    Serve {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Write a kubeconfig for this server here (for kubectl and KUBECONFIG).
        #[arg(long)]
        kubeconfig_out: Option<PathBuf>,
        /// Keep the store in this file across restarts. When authenticating (the
        /// default), also keep the server's identity beside it, in STATE.identity
        /// (mode 0600): the CA, the admin token and the ServiceAccount signing key, so
        /// kubeconfigs and ServiceAccount tokens issued before a restart keep working
        /// after it (listen on the same address too). A new serving certificate is
        /// signed at each start.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Events kept per kind for watches to resume from.
        #[arg(long, default_value_t = 10_000)]
        history: usize,
        /// Seconds an event is kept for resumes at most (etcd's compaction interval as
        /// kube-apiserver runs it); 0 keeps them up to `--history` alone.
        #[arg(long, default_value_t = devcluster::HISTORY_WINDOW.as_secs())]
        history_window: u64,
        /// How long after a change a Deployment, StatefulSet or DaemonSet becomes ready
        /// and a Job completes, in milliseconds (devcluster plays their controllers).
        #[arg(long, default_value_t = 100, conflicts_with = "no_workloads")]
        workload_delay_ms: u64,
        /// Do not play the workload controllers: workloads keep the status their
        /// writers give them.
        #[arg(long)]
        no_workloads: bool,
        /// Serve plain HTTP and let every request do everything: no authentication,
        /// no RBAC (by default devcluster authenticates bearer tokens over HTTPS, the
        /// kubeconfig carrying the admin's, and authorizes by RBAC, as kube-apiserver).
        #[arg(long)]
        no_rbac: bool,
        /// Let requests without credentials in as system:anonymous.
        #[arg(long, conflicts_with = "no_rbac")]
        anonymous: bool,
        /// Extra static users, kube-apiserver's CSV (token,user,uid,"group1,group2").
        #[arg(long, conflicts_with = "no_rbac")]
        token_file: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve {
        listen,
        kubeconfig_out,
        state,
        history,
        history_window,
        workload_delay_ms,
        no_workloads,
        no_rbac,
        anonymous,
        token_file,
    } = Cli::parse().command;
    let opts = devcluster::Options {
        listen,
        state_file: state,
        history_limit: history,
        history_window: (history_window > 0)
            .then(|| std::time::Duration::from_secs(history_window)),
        workloads: (!no_workloads).then(|| std::time::Duration::from_millis(workload_delay_ms)),
        auth: (!no_rbac).then_some(devcluster::AuthOptions {
            anonymous,
            token_file,
        }),
        ..Default::default()
    };
    let cluster = devcluster::DevCluster::start(opts).await?;
    println!("{}", cluster.addr());
    std::io::stdout().flush()?;
    if let Some(path) = kubeconfig_out {
        // It carries the admin's token: readable by its owner only, as kubectl writes one.
        use std::os::unix::fs::OpenOptionsExt;
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(cluster.kubeconfig().as_bytes()));
        written.with_context(|| format!("cannot write kubeconfig to {}", path.display()))?;
        tracing::info!(path = %path.display(), "kubeconfig written");
    }
    tracing::info!(url = %cluster.url(), "devcluster serving; Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    cluster.shutdown().await;
    Ok(())
}
