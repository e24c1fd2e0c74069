//! PUT: replace an object, or its status on `/status`.

use super::Ctx;
use crate::error::ApiError;
use crate::events::render;
use crate::request::{RequestBody, parse_object};
use crate::respond::{json_response, with_warnings};
use crate::store::WriteOpts;
use axum::response::Response;

pub fn handle(ctx: &Ctx<'_>, body: RequestBody) -> Result<Response, ApiError> {
    let obj = parse_object(&body)?;
    let opts = WriteOpts {
        status: ctx.status,
        create_missing: false,
    };
    let (updated, warnings) = ctx.app.store.write_warned(ctx.writer()?, |s| {
        s.update(ctx.rt, ctx.ns, ctx.name, obj, opts)
    });
    let updated = updated?;
    Ok(with_warnings(
        json_response(200, &render(ctx.rt, &updated)),
        &warnings,
    ))
}
