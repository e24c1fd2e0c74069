//! PUT: replace an object, or its status on `/status`.

use super::Ctx;
use crate::error::ApiError;
use crate::server::{RequestBody, json_response, parse_object, render};
use crate::store::WriteOpts;
use axum::response::Response;

pub fn handle(ctx: &Ctx<'_>, body: RequestBody) -> Result<Response, ApiError> {
    let obj = parse_object(&body)?;
    let opts = WriteOpts {
        status: ctx.status,
        create_missing: false,
    };
    let updated = ctx.app.store.write_as(ctx.writer()?, |s| {
        s.update(ctx.rt, ctx.ns, ctx.name, obj, opts)
    })?;
    Ok(json_response(200, &render(ctx.rt, &updated)))
}
