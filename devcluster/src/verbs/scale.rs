//! The `/scale` subresource of Deployments, StatefulSets and ReplicaSets
//! (`kubectl scale`, autoscalers): an `autoscaling/v1` Scale view of `spec.replicas`.
//!
//! GET answers the Scale; PUT takes a Scale (its `metadata.resourceVersion`, when
//! given, must match the object's: 409 otherwise); PATCH applies a merge or JSON patch
//! to the Scale. Either changes only the object's `spec.replicas`, as a new generation
//! (so devcluster's workload controllers roll it, see [`crate::workloads`]).

use super::Ctx;
use crate::error::ApiError;
use crate::patch::{PatchKind, parse_body};
use crate::request::{RequestBody, parse_object};
use crate::resources::ResourceType;
use crate::respond::json_response;
use crate::store::WriteOpts;
use axum::response::Response;
use serde_json::{Value, json};

/// Whether `rt` has a `/scale` subresource.
pub fn has_scale(rt: &ResourceType) -> bool {
    rt.group == "apps"
        && matches!(
            rt.plural.as_str(),
            "deployments" | "statefulsets" | "replicasets"
        )
}

/// The Scale view of `obj`.
fn scale_of(obj: &Value) -> Value {
    let m = obj.get("metadata").cloned().unwrap_or(json!({}));
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"),
            "namespace": m.get("namespace"),
            "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"),
            "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

/// GET, PUT or PATCH on `/scale`.
pub fn handle(ctx: &Ctx<'_>, verb: &str, body: Option<RequestBody>) -> Result<Response, ApiError> {
    let current = ctx.app.store.lock().get(ctx.rt, ctx.ns, ctx.name)?;
    let scale = scale_of(&current);
    let wanted = match (verb, body) {
        ("get", _) => return Ok(json_response(200, &scale)),
        ("update", Some(body)) => {
            let given = parse_object(&body)?;
            if let Some(rv) = given
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                && !rv.is_empty()
                && Some(rv)
                    != current
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
            {
                return Err(ApiError::conflict(
                    &ctx.rt.plural,
                    ctx.name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                ));
            }
            given
        }
        ("patch", Some(body)) => {
            let kind = PatchKind::from_content_type(&body.content_type)?;
            let patch = parse_body(kind, &body.bytes)?;
            let mut patched = scale.clone();
            crate::patch::apply(kind, &mut patched, &patch, false)?;
            patched
        }
        _ => return Err(ApiError::method_not_allowed(format!("{verb} on scale"))),
    };
    let replicas = wanted
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .filter(|r| *r >= 0)
        .ok_or_else(|| {
            ApiError::invalid(
                &ctx.rt.plural,
                ctx.name,
                "spec.replicas: must be a non-negative integer",
            )
        })?;
    let change = json!({"spec": {"replicas": replicas}});
    let updated = ctx.app.store.write_as(ctx.writer()?, |s| {
        s.patch(
            ctx.rt,
            ctx.ns,
            ctx.name,
            PatchKind::Merge,
            &change,
            WriteOpts::default(),
        )
    })?;
    Ok(json_response(200, &scale_of(&updated)))
}
