//! Removing a member Cluster, as `hoist cluster remove` and the dashboard's
//! `RemoveCluster` both do it: refused unless the name was confirmed, and only the
//! delete is asked; billing stops at it, and the controller (`cleanup.rs`) then
//! records the stop and removes the Cluster.

use hoist_kube::types::Cluster;
use kube::Client;
use kube::api::{Api, DeleteParams};

/// Why a Cluster was not removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("no cluster {0:?} (hoist cluster list shows them)")]
    Unknown(String),
    #[error("not removed: the name typed was not {0:?}")]
    NotConfirmed(String),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// Deletes the Cluster `name` of `namespace` once `confirmed` (the user typed its
/// name, or said `--yes`). Returns what to tell the user.
pub async fn remove(
    client: &Client,
    namespace: &str,
    name: &str,
    confirmed: bool,
) -> Result<String, RemoveError> {
    if !confirmed {
        return Err(RemoveError::NotConfirmed(name.into()));
    }
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), namespace);
    if clusters.get_opt(name).await?.is_none() {
        return Err(RemoveError::Unknown(name.into()));
    }
    clusters.delete(name, &DeleteParams::default()).await?;
    Ok(format!(
        "cluster {name} removed: billing stops now (the record keeps the second it was asked); \
         the operator records the stop, then removes the Cluster and the kubeconfig Secret \
         `hoist cluster add` made for it\n"
    ))
}
