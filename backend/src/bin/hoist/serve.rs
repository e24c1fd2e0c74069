//! `hoist serve`, and the dashboard options it shares with `hoist demo`.

use crate::args::{Serve, ServeArgs};
use crate::client::kube_client;
use anyhow::Context;
use hoist::serve::ServeOptions;

impl ServeArgs {
    pub fn options(&self) -> anyhow::Result<ServeOptions> {
        let fetch = hoist::repo::fetch::FetchOptions {
            ttl: if self.no_repo_cache {
                std::time::Duration::ZERO
            } else {
                self.repo_cache_ttl
            },
            disk: self.repo_cache_dir.clone(),
            allow_private_hosts: self.allow_private_manifest_hosts,
            ..Default::default()
        };
        let token = match &self.token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the token file {}", path.display()))?
                    .trim()
                    .to_string(),
            ),
            None => std::env::var("HOIST_TOKEN").ok().filter(|t| !t.is_empty()),
        };
        Ok(ServeOptions {
            listen: self.listen,
            token: token.map(secrecy::SecretString::from),
            dist: self.dist.clone(),
            fetch,
            namespace: self.namespace.clone(),
            external_url: self.external_url.clone(),
            limits: hoist::api::listener::Limits {
                max_connections: self.max_connections as usize,
                ..Default::default()
            },
            ..Default::default()
        })
    }
}

/// `hoist serve`: until SIGTERM or Ctrl-C, then a drain of in-flight calls.
pub async fn run(args: Serve) -> anyhow::Result<()> {
    let Serve { serve, context } = args;
    let client = kube_client(context).await?;
    let running = hoist::serve::start(client, serve.options()?).await?;
    let signal = hoist::runtime::stop_signal()
        .await
        .context("cannot wait for a stop signal")?;
    tracing::info!(signal, "stopping: finishing calls in flight");
    running.shutdown().await;
    Ok(())
}
