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
        /// Where `pods/portforward` sends the ports of pods running IMAGE (devcluster
        /// runs no containers): IMAGE=ADDR for every port, IMAGE#PORT=ADDR for one
        /// (split at the last `=`, then the last `#`; images have neither), ADDR a
        /// loopback IP:PORT. Repeatable, e.g. `--forward nginx:1.27-alpine=127.0.0.1:9000`
        /// or `--forward nginx:1.27-alpine#443=127.0.0.1:9443`. A pod's
        /// devcluster.hoist.dev/forward annotation (ADDR or PORT=ADDR,...) wins.
        #[arg(long = "forward", value_name = "IMAGE[#PORT]=ADDR", value_parser = parse_forward)]
        forwards: Vec<devcluster::Forward>,
    },
}

/// Parses `--forward`: `IMAGE=ADDR` or `IMAGE#PORT=ADDR`, ADDR a loopback address.
fn parse_forward(text: &str) -> Result<devcluster::Forward, String> {
    let (left, to) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("{text:?} is not IMAGE=ADDR or IMAGE#PORT=ADDR"))?;
    let to: SocketAddr = to
        .parse()
        .map_err(|_| format!("{to:?} is not an address (IP:PORT)"))?;
    let (image, port) = match left.rsplit_once('#') {
        Some((image, port)) => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{port:?} is not a port"))?;
            (image, Some(port))
        }
        None => (left, None),
    };
    if image.is_empty() {
        return Err(format!("{text:?} names no image"));
    }
    let forward = devcluster::Forward {
        image: image.to_string(),
        port,
        to,
    };
    forward.check().map_err(|e| e.to_string())?;
    Ok(forward)
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
        forwards,
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
        forwards,
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

#[cfg(test)]
mod tests {
    use super::parse_forward;

    #[test]
    fn forward_flags_split_at_the_last_equals_and_hash() {
        let f = parse_forward("nginx:1.27-alpine=127.0.0.1:9000").expect("every port");
        assert_eq!((f.image.as_str(), f.port), ("nginx:1.27-alpine", None));
        let f = parse_forward("localhost:5000/app:1#443=[::1]:9443").expect("one port");
        assert_eq!(
            (f.image.as_str(), f.port),
            ("localhost:5000/app:1", Some(443))
        );
        assert_eq!(f.to.to_string(), "[::1]:9443");
        for bad in [
            "nginx",
            "=127.0.0.1:1",
            "nginx#0=127.0.0.1:1",
            "nginx=10.0.0.1:80",
            "nginx=x",
        ] {
            assert!(parse_forward(bad).is_err(), "{bad}");
        }
    }
}
