//! The two switches on an install: `spec.suspend` (the operator changes nothing while
//! it is on) and the auto-update annotation (the operator moves it to each newer
//! version its dependents accept). `hoist suspend|resume`, `hoist configure
//! --auto-update` and the dashboard's buttons all come here.
//!
//! # Guarantees
//! - One merge patch each; a missing install is [`SwitchError::NotInstalled`], and
//!   nothing is created.
//! - Setting a switch to where it already is writes the same value again: harmless,
//!   and the answer says where it is.

use super::Installs;
use crate::types::AUTO_UPDATE;
use hoist_core::install::InstallRef;
use kube::Client;

/// Why a switch was not moved.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("{0} is not installed")]
    NotInstalled(InstallRef),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

async fn merge(
    client: &Client,
    at: &InstallRef,
    patch: serde_json::Value,
) -> Result<(), SwitchError> {
    match Installs::new(client)
        .merge_patch(at, &patch)
        .await
        .map_err(kube::Error::from)
    {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(SwitchError::NotInstalled(at.clone())),
        Err(e) => Err(e.into()),
    }
}

/// Suspends (`true`) or resumes (`false`) the install; returns what to tell the user.
pub async fn suspend(
    client: &Client,
    at: &InstallRef,
    suspend: bool,
) -> Result<String, SwitchError> {
    merge(
        client,
        at,
        serde_json::json!({"spec": {"suspend": suspend}}),
    )
    .await?;
    Ok(if suspend {
        format!("{at} suspended: the operator changes nothing until it is resumed")
    } else {
        format!("{at} resumed")
    })
}

/// Turns unattended upgrades on or off; returns what to tell the user.
pub async fn auto_update(
    client: &Client,
    at: &InstallRef,
    on: bool,
) -> Result<String, SwitchError> {
    let value = if on {
        serde_json::Value::String("true".into())
    } else {
        serde_json::Value::Null
    };
    merge(
        client,
        at,
        serde_json::json!({"metadata": {"annotations": {AUTO_UPDATE: value}}}),
    )
    .await?;
    Ok(format!(
        "{at}: auto-update {}",
        if on {
            "on: the operator moves it to each newer version its dependents accept"
        } else {
            "off"
        }
    ))
}
