//! GET `/openapi/v2`, `/openapi/v3` and `/openapi/v3/{api/v1 | apis/{group}/{version}}`
//! (see [`document`]). Answers are JSON; a client that accepts only
//! protobuf (client-go asks for Swagger 2.0 that way) gets 406, which it takes as "not
//! served" and falls back from.

pub mod document;

use crate::app::App;
use crate::error::ApiError;
use crate::respond::{accepts_json, json_response};
use axum::http::HeaderMap;
use axum::response::Response;

/// Handles a path under `/openapi/`; `rest` is what follows that prefix.
pub fn handle(app: &App, rest: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    if let Some(accept) = accepts_json(headers).err() {
        return Err(ApiError::not_acceptable(&accept));
    }
    let state = app.store.lock();
    let doc = match rest.trim_end_matches('/') {
        "v2" => Some(document::v2(&state)),
        "v3" => Some(document::v3_root(&state)),
        other => other
            .strip_prefix("v3/")
            .and_then(|gv| document::v3_group_version(&state, gv)),
    };
    drop(state);
    let doc = doc.ok_or_else(|| ApiError::no_route(&format!("/openapi/{rest}")))?;
    Ok(json_response(200, &doc))
}
