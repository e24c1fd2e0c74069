//! CustomResourceDefinitions: what a CRD serves, and the status that makes it Established.
//!
//! A CRD is stored like any object; on create and update the store registers one
//! [`ResourceType`] per served version, and on create it sets `status.acceptedNames`
//! and the `NamesAccepted` and `Established` conditions (a MODIFIED event), which is
//! what kube-rs' `await_condition(.., is_crd_established())` waits for. Deleting a CRD
//! deletes every object of its kind and its routes.
//!
//! Each version's `openAPIV3Schema` prunes unknown fields from its objects (see
//! [`crate::openapi::prune`]), validates their values as the API server does (see
//! [`crate::openapi::validate`]; no CEL, no defaults) and is published in the OpenAPI
//! documents.

use crate::error::ApiError;
use crate::resources::ResourceType;
use serde_json::{Value, json};

/// The resource types a CRD object serves, one per served version.
///
/// Fails with 422 Invalid when the CRD lacks a group, names, scope or a served version.
pub fn served_types(crd: &Value) -> Result<Vec<ResourceType>, ApiError> {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let invalid = |why: &str| ApiError::invalid("customresourcedefinitions", name, why);
    let spec = crd
        .get("spec")
        .ok_or_else(|| invalid("spec: Required value"))?;
    let s = |p: &str| {
        spec.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (group, plural, kind) = (s("/group"), s("/names/plural"), s("/names/kind"));
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Err(invalid(
            "spec.group, spec.names.plural and spec.names.kind are required",
        ));
    }
    if name != format!("{plural}.{group}") {
        return Err(invalid(&format!(
            "metadata.name: Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"
        )));
    }
    let namespaced = match s("/scope").as_str() {
        "Namespaced" => true,
        "Cluster" => false,
        other => {
            return Err(invalid(&format!(
                "spec.scope: Unsupported value: {other:?}: supported values: \"Cluster\", \"Namespaced\""
            )));
        }
    };
    let singular = match s("/names/singular") {
        x if x.is_empty() => kind.to_lowercase(),
        x => x,
    };
    let short_names: Vec<String> = spec
        .pointer("/names/shortNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let types: Vec<ResourceType> = versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(false))
        .filter_map(|v| {
            Some(ResourceType {
                group: group.clone(),
                version: v.get("name")?.as_str()?.to_string(),
                plural: plural.clone(),
                singular: singular.clone(),
                kind: kind.clone(),
                namespaced,
                short_names: short_names.clone(),
                status_subresource: v.pointer("/subresources/status").is_some(),
                custom: true,
            })
        })
        .collect();
    if types.is_empty() {
        return Err(invalid(
            "spec.versions: Invalid value: must have at least one served version",
        ));
    }
    Ok(types)
}

/// The status the apiserver gives an accepted CRD.
pub fn established_status(crd: &Value) -> Value {
    let now = crate::meta::now();
    let condition = |t: &str, reason: &str, message: &str| json!({"type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    let stored: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool).unwrap_or(false))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "acceptedNames": crd.pointer("/spec/names").cloned().unwrap_or(Value::Null),
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    })
}

/// The `openAPIV3Schema` of one version of a CRD, if it has one.
pub fn version_schema<'a>(crd: &'a Value, version: &str) -> Option<&'a Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))?
        .pointer("/schema/openAPIV3Schema")
}
