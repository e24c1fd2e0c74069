//! POST: create an object. 201 with the stored object; 409 AlreadyExists on a taken name.

use super::Ctx;
use crate::error::ApiError;
use crate::events::render;
use crate::request::{RequestBody, parse_object};
use crate::respond::{json_response, with_warnings};
use axum::response::Response;

pub fn handle(ctx: &Ctx<'_>, body: RequestBody) -> Result<Response, ApiError> {
    let obj = parse_object(&body)?;
    let (created, warnings) = ctx
        .app
        .store
        .write_warned(ctx.writer()?, |s| s.create(ctx.rt, ctx.ns, obj));
    let created = created?;
    Ok(with_warnings(
        json_response(201, &render(ctx.rt, &created)),
        &warnings,
    ))
}
