//! One file per verb, as kubectl and RBAC name them. Each turns an HTTP request into a
//! store call and the store's answer into the response the apiserver would give.

pub mod create;
pub mod delete;
pub mod discovery;
pub mod get;
pub mod list;
pub mod patch;
pub mod scale;
pub mod update;
pub mod watch;

use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::server::{App, Query};

/// What every resource verb gets: the resource type, the namespace and name from the
/// URL (empty when absent), whether it addresses `/status`, and the query.
pub struct Ctx<'a> {
    pub app: &'a std::sync::Arc<App>,
    pub rt: &'a ResourceType,
    pub ns: &'a str,
    pub name: &'a str,
    pub status: bool,
    pub query: &'a Query,
}

impl Ctx<'_> {
    /// `dryRun`: absent (a real write) or `All`; anything else is refused, as the API
    /// server refuses it.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.query.get("dryRun").map(String::as_str) {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Unsupported value: {other:?}: supported values: \"All\""
            ))),
        }
    }
}
