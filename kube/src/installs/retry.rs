//! A retry of a failed or dead-lettered install, as `hoist retry` and the dashboard's
//! Retry both ask it: a new value of the retry annotation starts a new run of attempts
//! (the operator reads it as a change, and records the value it acted on in
//! `status.lastHandledRetry`).

use super::Installs;
use crate::types::RETRY_ANNOTATION;
use hoist_core::install::InstallRef;
use kube::Client;
use serde_json::json;

/// Why no retry was asked.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("{0} does not exist")]
    NotFound(InstallRef),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// Sets the retry annotation of `target` to now; returns the value set (what
/// `status.lastHandledRetry` will say once the operator acted on it).
pub async fn retry(client: &Client, target: &InstallRef) -> Result<String, RetryError> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let patch = json!({"metadata": {"annotations": {RETRY_ANNOTATION: now}}});
    let done = Installs::new(client)
        .merge_patch(target, &patch)
        .await
        .map_err(kube::Error::from);
    match done {
        Ok(()) => Ok(now),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(RetryError::NotFound(target.clone())),
        Err(e) => Err(e.into()),
    }
}
