//! Protobuf request bodies: what kubectl's `create namespace|configmap|secret|
//! deployment` send (client-go's typed clients speak protobuf to built-in kinds).
//!
//! A body is the `k8s\0` magic followed by a `runtime.Unknown` whose `raw` is the typed
//! message; both are decoded with `k8s-pb` (kube-rs' generated Kubernetes protobuf
//! types), and the typed message becomes the JSON any other write would carry
//! (`kinds`), which is then stored like any JSON body. Answers stay JSON.
//!
//! Guarantees: nothing in a decoded message is dropped silently. Every field of every
//! message below is either converted or, when devcluster does not convert it (volumes,
//! probes, affinity, …), a 415 naming it if it is set; the destructuring in `kinds`
//! makes a field `k8s-pb` adds a compile error until it is placed.
//!
//! Caveat: only the kinds kubectl's `create` subcommands produce most are decoded
//! (Namespace, ConfigMap, Secret, Deployment); another kind is a 415 that says to send
//! JSON.

mod field;
mod kinds;

use crate::error::ApiError;
use prost::Message;
use serde_json::Value;

/// The media type of a protobuf body.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Decodes a protobuf body into the JSON object it stands for.
///
/// Fails with 400 when the envelope or the message is not valid protobuf, and with 415
/// when the kind, an encoding or a set field is one devcluster does not decode.
pub fn decode(bytes: &[u8]) -> Result<Value, ApiError> {
    let body = bytes.strip_prefix(MAGIC).ok_or_else(|| {
        ApiError::bad_request("a protobuf body must start with the Kubernetes magic \"k8s\\0\"")
    })?;
    let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown::decode(body)
        .map_err(|e| ApiError::bad_request(format!("the protobuf envelope is invalid: {e}")))?;
    if unknown
        .content_encoding
        .as_deref()
        .is_some_and(|e| !e.is_empty())
    {
        return Err(unsupported(format!(
            "content encoding {:?}",
            unknown.content_encoding.unwrap_or_default()
        )));
    }
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    let raw = unknown.raw.unwrap_or_default();
    let mut object = kinds::to_json(&api_version, &kind, &raw)?;
    if let Value::Object(o) = &mut object {
        o.insert("apiVersion".into(), Value::String(api_version));
        o.insert("kind".into(), Value::String(kind));
    }
    Ok(object)
}

/// 415: something in a protobuf body devcluster does not decode.
fn unsupported(what: String) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "devcluster does not decode {what} from protobuf; send this object as JSON (for example `kubectl apply -f` with a manifest)"
        ),
    )
}

/// 400: the bytes are not the message they claim to be.
fn invalid(kind: &str, e: prost::DecodeError) -> ApiError {
    ApiError::bad_request(format!("the protobuf {kind} is invalid: {e}"))
}

#[cfg(test)]
mod tests;
