//! `POST /api/v1/namespaces/NS/serviceaccounts/NAME/token`: a ServiceAccount token as
//! the API server's TokenRequest issues it (`kubectl create token`, kube-rs
//! `Api::<ServiceAccount>::create_token_request`).
//!
//! # Guarantees
//! - The ServiceAccount must exist (404 otherwise); the token names its uid, so a
//!   deleted or recreated ServiceAccount's tokens stop working.
//! - `spec.audiences`, `spec.expirationSeconds` (at least 600) and a `boundObjectRef`
//!   to a Pod, Secret or Node that exists are honoured; a bad request is a 400 or 422 in
//!   the API server's words, and no token is ever logged.

use super::authn::{BoundObject, ObjectRef};
use super::gate::{Gate, service_account};
use crate::error::ApiError;
use crate::store::Store;
use serde_json::{Value, json};

/// Issues the token `body` (a `TokenRequest`) asks for `ns/name`.
pub fn handle(
    gate: &Gate,
    store: &Store,
    ns: &str,
    name: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let sa = service_account(store, ns, name)
        .ok_or_else(|| ApiError::not_found("serviceaccounts", name))?;
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let audiences: Vec<String> = match spec.get("audiences") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::bad_request("spec.audiences must be a list of strings"))?,
        Some(_) => {
            return Err(ApiError::bad_request(
                "spec.audiences must be a list of strings",
            ));
        }
    };
    let expiration =
        match spec.get("expirationSeconds") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_i64().ok_or_else(|| {
                ApiError::bad_request("spec.expirationSeconds must be an integer")
            })?),
        };
    let bound = match spec.get("boundObjectRef") {
        None | Some(Value::Null) => None,
        Some(r) => Some(bound_object(store, ns, r)?),
    };
    let issued = gate
        .authenticator()
        .issue(ns, name, &sa.uid, &audiences, expiration, bound.as_ref())
        .map_err(|e| {
            ApiError::new(
                422,
                "Invalid",
                format!("TokenRequest.authentication.k8s.io \"{name}\" is invalid: {e}"),
            )
        })?;
    let mut out = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": null},
        "spec": spec,
        "status": {
            "token": issued.token,
            "expirationTimestamp": issued.expiration_timestamp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
    });
    if out["spec"].get("expirationSeconds").is_none() {
        out["spec"]["expirationSeconds"] = json!(super::authn::DEFAULT_EXPIRATION_SECONDS);
    }
    Ok(out)
}

/// The bound object named by `r`, which must exist in `ns`.
fn bound_object(store: &Store, ns: &str, r: &Value) -> Result<BoundObject, ApiError> {
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (kind, name) = (s("kind"), s("name"));
    let (plural, namespaced) = match kind.as_str() {
        "Pod" => ("pods", true),
        "Secret" => ("secrets", true),
        "Node" => ("nodes", false),
        other => {
            return Err(ApiError::invalid(
                "tokenrequests",
                &name,
                format!(
                    "spec.boundObjectRef.kind: Unsupported value: {other:?}: supported values: \"Pod\", \"Secret\", \"Node\""
                ),
            ));
        }
    };
    let state = store.lock();
    let rt = state
        .registry
        .get("", "v1", plural)
        .cloned()
        .ok_or_else(|| ApiError::not_found(plural, &name))?;
    let obj = state.get(&rt, if namespaced { ns } else { "" }, &name)?;
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let given_uid = s("uid");
    if !given_uid.is_empty() && given_uid != uid {
        return Err(ApiError::conflict(
            plural,
            &name,
            format!(
                "the UID in the bound object reference ({given_uid}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        ));
    }
    let object = ObjectRef::new(&name, &uid);
    Ok(match kind.as_str() {
        "Pod" => {
            let node = obj
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(|n| ObjectRef::new(n, ""));
            BoundObject::Pod { pod: object, node }
        }
        "Secret" => BoundObject::Secret(object),
        _ => BoundObject::Node(object),
    })
}
