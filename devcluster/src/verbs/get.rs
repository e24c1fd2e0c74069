//! GET of one object (or its status).

use super::Ctx;
use crate::error::ApiError;
use crate::server::{json_response, render};
use axum::response::Response;

pub fn handle(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let obj = ctx.app.store.lock().get(ctx.rt, ctx.ns, ctx.name)?;
    Ok(json_response(200, &render(ctx.rt, &obj)))
}
