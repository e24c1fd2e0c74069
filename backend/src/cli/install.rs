//! `hoist install PACKAGE`: loads the catalogue once and hands the request to
//! [`crate::install`], which checks everything before it creates the ClusterPackage or
//! Package for the operator. Bad input changes nothing.
//!
//! API requests: one LIST of PackageRepositories (and of Hoist's Secrets when a
//! repository needs one), then the create. No PackageRepository is read per lookup.

use super::repo::fresh_catalogue;
pub use crate::install::{InstallError, InstallRequest};
use kube::Client;

/// Parses `KEY=VALUE`.
pub fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE, e.g. replicas=3")),
    }
}

/// Installs and returns what to print.
pub async fn install(
    client: &Client,
    hoist_namespace: &str,
    req: &InstallRequest,
) -> Result<String, InstallError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let installed = crate::install::install(client, &set, &cat, req).await?;
    Ok(format!("{installed}\n"))
}
