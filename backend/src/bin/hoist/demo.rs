//! `hoist demo`.

use crate::args::Demo;
use anyhow::Context;

/// `hoist demo`: the embedded default, until SIGTERM or Ctrl-C.
pub async fn run(args: Demo) -> anyhow::Result<()> {
    let Demo {
        serve,
        data_dir,
        api_latency,
        seed_packages,
    } = args;
    let opts = hoist::demo::DemoOptions {
        data_dir,
        repo_disk_cache: !serve.no_repo_cache,
        serve: serve.options()?,
        api_latency,
        seed_packages,
    };
    let demo = hoist::demo::start(opts).await?;
    eprintln!("Hoist demo: open {} (Ctrl-C to stop)", demo.backend.url());
    eprintln!(
        "The demo cluster for kubectl and the CLI: export KUBECONFIG={}",
        demo.kubeconfig.display()
    );
    let signal = hoist::runtime::stop_signal()
        .await
        .context("cannot wait for a stop signal")?;
    tracing::info!(signal, "stopping: finishing passes and calls in flight");
    demo.shutdown().await;
    Ok(())
}
