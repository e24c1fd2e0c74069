//! DELETE with DeleteOptions: preconditions, finalizers, background cascade.
//!
//! Answers 200 with the object: still present (with `deletionTimestamp`) while
//! finalizers remain, or as it was when removed.

use super::Ctx;
use crate::error::ApiError;
use crate::events::render;
use crate::request::RequestBody;
use crate::respond::json_response;
use axum::response::Response;
use serde_json::Value;

pub fn handle(ctx: &Ctx<'_>, body: RequestBody) -> Result<Response, ApiError> {
    let protobuf =
        body.content_type.split(';').next().map(str::trim) == Some(crate::protobuf::MEDIA_TYPE);
    let options: Value = if body.bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else if protobuf {
        crate::protobuf::decode(&body.bytes)?
    } else {
        serde_json::from_slice(&body.bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let preconditions = options.get("preconditions").cloned().unwrap_or(Value::Null);
    // kubectl and kube-rs may say it in the query or in DeleteOptions.dryRun.
    let in_options = options
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|v| v == "All"));
    let mut writer = ctx.writer()?;
    writer.dry_run |= in_options;
    let obj = ctx.app.store.write_as(writer, |s| {
        s.delete(ctx.rt, ctx.ns, ctx.name, &preconditions)
    })?;
    Ok(json_response(200, &render(ctx.rt, &obj)))
}
