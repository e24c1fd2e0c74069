//! The kube client every cluster command starts from.

use crate::args::Target;
use anyhow::Context;

/// A kube client from the usual configuration, or the named context.
pub async fn kube_client(context: Option<String>) -> anyhow::Result<kube::Client> {
    let config = match context {
        Some(context) => {
            let options = kube::config::KubeConfigOptions {
                context: Some(context),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .context("cannot read the kubeconfig context")?
        }
        None => kube::Config::infer()
            .await
            .context("no Kubernetes configuration found (set KUBECONFIG, or run in a cluster)")?,
    };
    hoist::client::from_config(config).context("cannot build a Kubernetes client")
}

impl Target {
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        kube_client(self.context.clone()).await
    }
}
