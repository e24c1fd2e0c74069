//! LIST of a collection, with selectors and pagination.
//!
//! Every page carries the list's resourceVersion (kube-rs' watcher fails with
//! `NoResourceVersion` otherwise); continuing pages come from the first page's snapshot.

use super::Ctx;
use crate::error::ApiError;
use crate::selector::{FieldSelector, LabelSelector, Selectors};
use crate::server::{Query, json_response};
use axum::response::Response;
use serde_json::{Value, json};

/// The selectors of a request; malformed ones are 400 BadRequest.
pub fn selectors(query: &Query) -> Result<Selectors, ApiError> {
    Ok(Selectors {
        labels: LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?,
    })
}

pub fn handle(ctx: &Ctx<'_>, ns: Option<&str>) -> Result<Response, ApiError> {
    let selectors = selectors(ctx.query)?;
    let limit = match ctx.query.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        ),
        None => None,
    };
    if let Some(rv) = ctx.query.get("resourceVersion").filter(|v| !v.is_empty()) {
        rv.parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?;
    }
    let token = ctx
        .query
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(String::as_str);
    let page = ctx
        .app
        .store
        .lock()
        .list(ctx.rt, ns, &selectors, limit, token)?;
    let api_version = ctx.rt.api_version();
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|o| crate::server::render(ctx.rt, o))
        .collect();
    let mut metadata = json!({ "resourceVersion": page.rv.to_string() });
    if let Some(c) = page.continue_token {
        metadata["continue"] = json!(c);
    }
    if let Some(r) = page.remaining {
        metadata["remainingItemCount"] = json!(r);
    }
    Ok(json_response(
        200,
        &json!({
            "kind": ctx.rt.list_kind(),
            "apiVersion": api_version,
            "metadata": metadata,
            "items": items,
        }),
    ))
}
