//! What a handler reads from a request: its query and its body.

use crate::error::ApiError;
use serde_json::Value;
use std::collections::HashMap;

/// Query parameters; kube-rs starts query strings with `?&`, which is harmless here.
pub type Query = HashMap<String, String>;

/// A request body with its content type, size-limited.
pub struct RequestBody {
    pub content_type: String,
    pub bytes: bytes::Bytes,
}

/// Parses a create/update body: JSON, YAML, or protobuf for the built-in kinds
/// [`crate::protobuf`] decodes.
pub fn parse_object(body: &RequestBody) -> Result<Value, ApiError> {
    let base = body.content_type.split(';').next().unwrap_or("").trim();
    let parsed = match base {
        crate::protobuf::MEDIA_TYPE => return crate::protobuf::decode(&body.bytes),
        "application/json" | "" => {
            serde_json::from_slice::<Value>(&body.bytes).map_err(|e| e.to_string())
        }
        "application/yaml" => {
            serde_yaml_ng::from_slice::<Value>(&body.bytes).map_err(|e| e.to_string())
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    let v = parsed.map_err(|e| {
        ApiError::bad_request(format!("the request body is not a valid object: {e}"))
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    Ok(v)
}
