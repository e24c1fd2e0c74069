//! GET of one object (or its status).

use super::Ctx;
use crate::error::ApiError;
use crate::events::render;
use crate::respond::json_response;
use axum::response::Response;

pub fn handle(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let obj = ctx.app.store.lock().get(ctx.rt, ctx.ns, ctx.name)?;
    if let Some(partial) = ctx.partial {
        return Ok(json_response(200, &partial.object(&obj)));
    }
    let obj = render(ctx.rt, &obj);
    match ctx.table {
        // kubectl get NAME: a Table of one row.
        Some(printer) => {
            let rv = obj.pointer("/metadata/resourceVersion").cloned();
            let metadata = serde_json::json!({ "resourceVersion": rv });
            Ok(json_response(200, &printer.table([&obj], metadata)))
        }
        None => Ok(json_response(200, &obj)),
    }
}
