//! POST: create an object. 201 with the stored object; 409 AlreadyExists on a taken name.

use super::Ctx;
use crate::error::ApiError;
use crate::server::{RequestBody, json_response, parse_object, render};
use axum::response::Response;

pub fn handle(ctx: &Ctx<'_>, body: RequestBody) -> Result<Response, ApiError> {
    let obj = parse_object(&body)?;
    let created = ctx
        .app
        .store
        .write_as(ctx.writer()?, |s| s.create(ctx.rt, ctx.ns, obj))?;
    Ok(json_response(201, &render(ctx.rt, &created)))
}
