//! One file per verb, as kubectl and RBAC name them. Each turns an HTTP request into a
//! store call and the store's answer into the response the apiserver would give.

pub mod create;
pub mod delete;
pub mod discovery;
pub mod get;
pub mod list;
pub mod openapi;
pub mod patch;
pub mod scale;
pub mod update;
pub mod watch;

use crate::app::App;
use crate::error::ApiError;
use crate::request::Query;
use crate::resources::ResourceType;

/// What every resource verb gets: the resource type, the namespace and name from the
/// URL (empty when absent), whether it addresses `/status`, and the query.
pub struct Ctx<'a> {
    pub app: &'a std::sync::Arc<App>,
    pub rt: &'a ResourceType,
    pub ns: &'a str,
    pub name: &'a str,
    pub status: bool,
    pub query: &'a Query,
    /// The client's user agent, up to its first `/` (the field manager of writes that
    /// name none, as the API server takes it).
    pub user_agent: &'a str,
    /// A custom kind's printer when the client asked for a Table (reads only).
    pub table: Option<&'a crate::table::Printer>,
    /// Metadata only, when the client asked for `PartialObjectMetadata` (GET, WATCH)
    /// or `PartialObjectMetadataList` (LIST); see [`crate::partial`].
    pub partial: Option<crate::partial::Partial>,
    /// Who asks, when the server authenticates.
    pub user: Option<&'a crate::auth::rbac::UserInfo>,
}

impl Ctx<'_> {
    /// Who this write is from (see [`crate::store::Writer`]).
    pub fn writer(&self) -> Result<crate::store::Writer, ApiError> {
        let manager = match self.query.get("fieldManager").filter(|m| !m.is_empty()) {
            Some(m) => m.clone(),
            None if !self.user_agent.is_empty() => self.user_agent.to_string(),
            None => "unknown".to_string(),
        };
        Ok(crate::store::Writer {
            manager,
            force: self.query.get("force").is_some_and(|f| f == "true"),
            dry_run: self.dry_run()?,
            field_validation: Some(crate::openapi::FieldValidation::from_query(
                self.query.get("fieldValidation").map(String::as_str),
            )?),
            admission: self.admission(),
        })
    }

    /// The escalation check of a Role, ClusterRole or binding write by someone outside
    /// `system:masters` (see [`crate::auth::rbac::Authorizer::authorize_write`]), over
    /// the RBAC objects as they are when the request arrives.
    fn admission(&self) -> Option<crate::store::Admission> {
        use crate::auth::rbac::{RBAC_GROUP, RbacWrite};
        let (Some(gate), Some(user)) = (&self.app.gate, self.user) else {
            return None;
        };
        if self.rt.group != RBAC_GROUP || user.is_master() {
            return None;
        }
        let authorizer = gate.authorizer(&self.app.store);
        let user = user.clone();
        let app = self.app.clone();
        Some(crate::store::Admission(std::sync::Arc::new(
            move |rt, namespace, object, old| {
                let write = RbacWrite {
                    resource: &rt.plural,
                    namespace,
                    object,
                    old,
                };
                authorizer
                    .authorize_write(&user, &write)
                    .map_err(|refused| {
                        if refused.code() == 403 {
                            let what = format!("escalate {}.{RBAC_GROUP}", rt.plural);
                            app.counters.record_refused(&user.name, &what);
                        }
                        ApiError::from_status(&refused.to_status())
                    })
            },
        )))
    }

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
