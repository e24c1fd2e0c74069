//! The fleet controller's error: what a pass, the sweep or a removal met at the API
//! server.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}
