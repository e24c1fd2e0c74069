//! PATCH: merge, JSON, apply and strategic patches (see [`crate::patch`]).
//!
//! Server-side apply needs `fieldManager` (400 otherwise, as the apiserver says) and
//! creates the object when it is missing.

use super::Ctx;
use crate::error::ApiError;
use crate::events::render;
use crate::patch::{PatchKind, parse_body};
use crate::request::RequestBody;
use crate::respond::{json_response, with_warnings};
use crate::store::WriteOpts;
use axum::response::Response;

pub fn handle(ctx: &Ctx<'_>, body: RequestBody) -> Result<Response, ApiError> {
    let kind = PatchKind::from_content_type(&body.content_type)?;
    let patch = parse_body(kind, &body.bytes)?;
    let apply = kind == PatchKind::Apply;
    if apply && ctx.query.get("fieldManager").is_none_or(String::is_empty) {
        return Err(ApiError::bad_request(
            "PATCH with an apply patch requires the fieldManager parameter",
        ));
    }
    let opts = WriteOpts {
        status: ctx.status,
        create_missing: apply && !ctx.status,
    };
    let (patched, warnings) = ctx.app.store.write_warned(ctx.writer()?, |s| {
        s.patch(ctx.rt, ctx.ns, ctx.name, kind, &patch, opts)
    });
    let patched = patched?;
    Ok(with_warnings(
        json_response(200, &render(ctx.rt, &patched)),
        &warnings,
    ))
}
