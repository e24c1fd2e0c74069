//! PATCH bodies: JSON merge (RFC 7386), JSON patch (RFC 6902), server-side apply and
//! strategic merge.
//!
//! Caveats, as documented in `docs/decisions/0002-devcluster-fidelity.md`:
//! - strategic merge knows the merge keys of the built-in list fields from a table
//!   ([`strategic`]); on custom resources it is applied as a JSON merge patch;
//! - server-side apply records field ownership and conflicts ([`crate::fields`]), with
//!   lists as atomic fields.

pub mod strategic;

use crate::error::ApiError;
use serde_json::Value;

/// The patch flavours Kubernetes accepts, by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Apply,
    Strategic,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or("").trim();
        Ok(match base {
            "application/merge-patch+json" => Self::Merge,
            "application/json-patch+json" => Self::Json,
            "application/apply-patch+yaml" | "application/apply-patch+json" => Self::Apply,
            "application/strategic-merge-patch+json" => Self::Strategic,
            _ => {
                return Err(ApiError {
                    code: 415,
                    reason: "UnsupportedMediaType",
                    message: format!(
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {base:?})"
                    ),
                    details: None,
                    retry_after: None,
                });
            }
        })
    }
}

/// Parses the patch body for its kind: JSON, or YAML for apply (of which JSON is a subset).
pub fn parse_body(kind: PatchKind, body: &[u8]) -> Result<Value, ApiError> {
    let parsed = match kind {
        // JSON is YAML, and what kube-rs and kubectl send: parse it as JSON, faster.
        PatchKind::Apply if body.trim_ascii_start().starts_with(b"{") => {
            serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())
        }
        PatchKind::Apply => serde_yaml_ng::from_slice::<Value>(body).map_err(|e| e.to_string()),
        _ => serde_json::from_slice::<Value>(body).map_err(|e| e.to_string()),
    };
    let value = parsed.map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    match (kind, &value) {
        (PatchKind::Json, Value::Array(_)) => Ok(value),
        (PatchKind::Json, _) => Err(ApiError::bad_request(
            "a JSON patch must be an array of operations",
        )),
        (_, Value::Object(_)) => Ok(value),
        _ => Err(ApiError::bad_request(
            "a merge or apply patch must be a JSON object",
        )),
    }
}

/// Applies `patch` to `doc` in place. On error `doc` is unchanged. `custom` says the
/// object is a custom resource (strategic patches then merge as JSON merge patches).
///
/// JSON patch follows the apiserver, not RFC 6902 to the letter: a `test` of a missing
/// path against `null` succeeds (kube-rs' finalizer helper depends on it).
pub fn apply(
    kind: PatchKind,
    doc: &mut Value,
    patch: &Value,
    custom: bool,
) -> Result<(), ApiError> {
    match kind {
        PatchKind::Merge | PatchKind::Apply => {
            json_patch::merge(doc, patch);
            Ok(())
        }
        PatchKind::Strategic if !custom => strategic::apply(doc, patch),
        PatchKind::Strategic => {
            let mut patch = patch.clone();
            strip_directives(&mut patch);
            json_patch::merge(doc, &patch);
            Ok(())
        }
        PatchKind::Json => {
            let ops: Vec<json_patch::PatchOperation> = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            let mut work = doc.clone();
            for op in &ops {
                if let json_patch::PatchOperation::Test(t) = op
                    && t.value.is_null()
                    && work.pointer(t.path.as_str()).is_none()
                {
                    continue;
                }
                json_patch::patch(&mut work, std::slice::from_ref(op)).map_err(|e| ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: format!("the JSON patch could not be applied: {e}"),
                    details: None,
                    retry_after: None,
                })?;
            }
            *doc = work;
            Ok(())
        }
    }
}

/// Removes strategic-merge directives (`$setElementOrder/…`, `$retainKeys`, `$patch`,
/// `$deleteFromPrimitiveList/…`): they steer how lists merge, which a JSON merge does
/// not do, and are never part of the object.
fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            m.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_test_of_missing_path_against_null_succeeds() {
        let mut doc = json!({"metadata": {"name": "a"}});
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}
        ]);
        apply(PatchKind::Json, &mut doc, &patch, false).expect("patch applies");
        assert_eq!(doc["metadata"]["finalizers"], json!(["x"]));
    }

    #[test]
    fn failed_json_patch_leaves_document_unchanged() {
        let mut doc = json!({"a": 1});
        let patch = json!([
            {"op": "replace", "path": "/a", "value": 2},
            {"op": "test", "path": "/a", "value": 3}
        ]);
        let err = apply(PatchKind::Json, &mut doc, &patch, false).expect_err("test fails");
        assert_eq!(err.code, 422);
        assert_eq!(doc, json!({"a": 1}));
    }

    #[test]
    fn merge_patch_null_removes_keys() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}});
        apply(
            PatchKind::Merge,
            &mut doc,
            &json!({"a": null, "b": {"c": 5}}),
            false,
        )
        .expect("merges");
        assert_eq!(doc, json!({"b": {"c": 5, "d": 3}}));
    }

    #[test]
    fn strategic_directives_never_reach_a_custom_resource() {
        let mut doc = json!({"spec": {"items": [{"name": "a", "image": "x"}]}});
        let patch = json!({"spec": {"$setElementOrder/items": [{"name": "a"}],
            "items": [{"name": "a", "image": "y"}], "$retainKeys": ["items"]}});
        apply(PatchKind::Strategic, &mut doc, &patch, true).expect("merges");
        assert_eq!(
            doc,
            json!({"spec": {"items": [{"name": "a", "image": "y"}]}})
        );
    }

    #[test]
    fn unknown_patch_content_type_is_415() {
        assert_eq!(
            PatchKind::from_content_type("text/plain").map_err(|e| e.code),
            Err(415)
        );
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json; charset=utf-8"),
            Ok(PatchKind::Merge)
        );
    }
}
