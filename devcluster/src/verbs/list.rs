//! LIST of a collection, with selectors and pagination.
//!
//! Every page carries the list's resourceVersion (kube-rs' watcher fails with
//! `NoResourceVersion` otherwise); continuing pages come from the first page's snapshot.

use super::Ctx;
use crate::error::ApiError;
use crate::request::Query;
use crate::selector::{FieldSelector, LabelSelector, Selectors};
use axum::response::Response;
use serde_json::{Value, json};
use std::borrow::Cow;

/// The selectors of a request; malformed ones are 400 BadRequest.
pub fn selectors(
    query: &Query,
    rt: &crate::resources::ResourceType,
) -> Result<Selectors, ApiError> {
    Ok(Selectors {
        labels: LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse_for(
            query.get("fieldSelector").map_or("", String::as_str),
            crate::events::is_event(rt),
        )?,
    })
}

pub fn handle(ctx: &Ctx<'_>, ns: Option<&str>) -> Result<Response, ApiError> {
    let selectors = selectors(ctx.query, ctx.rt)?;
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
    let mut metadata = json!({ "resourceVersion": page.rv.to_string() });
    if let Some(c) = page.continue_token {
        metadata["continue"] = json!(c);
    }
    if let Some(r) = page.remaining {
        metadata["remainingItemCount"] = json!(r);
    }
    if let Some(partial) = ctx.partial {
        // Metadata is the same in every served version: no rendering.
        let list = partial.list(page.items.iter().map(|o| &**o), metadata);
        return Ok(crate::respond::json_response(200, &list));
    }
    let api_version = ctx.rt.api_version();
    // Objects already in the requested version are serialized where they are stored,
    // not cloned first (a 10k list cloned every object before).
    let items: Vec<Cow<'_, Value>> = page
        .items
        .iter()
        .map(|o| {
            if o.get("apiVersion").and_then(Value::as_str) == Some(api_version.as_str()) {
                Cow::Borrowed(&**o)
            } else {
                Cow::Owned(crate::events::render(ctx.rt, o))
            }
        })
        .collect();
    if let Some(printer) = ctx.table {
        let table = printer.table(items.iter().map(|o| &**o), metadata);
        return Ok(crate::respond::json_response(200, &table));
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List<'a> {
        kind: String,
        api_version: String,
        metadata: Value,
        items: Vec<Cow<'a, Value>>,
    }
    let body = List {
        kind: ctx.rt.list_kind(),
        api_version,
        metadata,
        items,
    };
    Ok(crate::respond::bytes_response(
        200,
        serde_json::to_vec(&body).unwrap_or_default(),
    ))
}
