//! The `hoist` binary: `serve`, `demo`, `crdgen`.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hoist::serve::ServeOptions;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "hoist",
    version,
    about = "A Kubernetes package manager with a live dashboard"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to serve the dashboard on (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The built web app.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
}

impl ServeArgs {
    fn options(&self) -> ServeOptions {
        ServeOptions {
            listen: self.listen,
            dist: self.dist.clone(),
            ..Default::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the dashboard against the cluster of the current kubeconfig (KUBECONFIG,
    /// ~/.kube/config or in-cluster).
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
        /// The kubeconfig context to use instead of the current one.
        #[arg(long)]
        context: Option<String>,
    },
    /// Run the embedded default: an in-process API server with sample packages, and
    /// the dashboard against it. No cluster needed.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Where the demo cluster keeps its state across restarts.
        #[arg(long, default_value = ".hoist/demo")]
        data_dir: PathBuf,
        /// Slow every API request down by this much (e.g. 300ms), as on a distant cluster.
        #[arg(long, value_parser = hoist::demo::parse_duration)]
        api_latency: Option<std::time::Duration>,
        /// Sample packages to seed on first start.
        #[arg(long, default_value_t = 12)]
        seed_packages: usize,
    },
    /// Print the CustomResourceDefinitions as YAML.
    Crdgen,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Crdgen => print!("{}", hoist::types::crds_yaml()?),
        Command::Serve { serve, context } => {
            let options = kube::config::KubeConfigOptions {
                context,
                ..Default::default()
            };
            let config = match options.context {
                Some(_) => kube::Config::from_kubeconfig(&options)
                    .await
                    .context("cannot read the kubeconfig context")?,
                None => kube::Config::infer().await.context(
                    "no Kubernetes configuration found (set KUBECONFIG, or run in a cluster)",
                )?,
            };
            let client =
                kube::Client::try_from(config).context("cannot build a Kubernetes client")?;
            let running = hoist::serve::start(client, serve.options()).await?;
            tokio::signal::ctrl_c()
                .await
                .context("cannot wait for Ctrl-C")?;
            running.shutdown().await;
        }
        Command::Demo {
            serve,
            data_dir,
            api_latency,
            seed_packages,
        } => {
            let opts = hoist::demo::DemoOptions {
                data_dir,
                serve: serve.options(),
                api_latency,
                seed_packages,
            };
            let demo = hoist::demo::start(opts).await?;
            eprintln!("Hoist demo: open {} (Ctrl-C to stop)", demo.backend.url());
            tokio::signal::ctrl_c()
                .await
                .context("cannot wait for Ctrl-C")?;
            demo.backend.shutdown().await;
            demo.cluster.shutdown().await;
        }
    }
    Ok(())
}
