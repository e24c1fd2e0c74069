//! The answers handlers give: JSON bodies with a status, `Warning` headers, and which
//! media types a client accepts.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A JSON response.
pub fn json_response(code: u16, body: &Value) -> Response {
    bytes_response(code, serde_json::to_vec(body).unwrap_or_default())
}

/// A JSON answer already serialized.
pub fn bytes_response(code: u16, bytes: Vec<u8>) -> Response {
    let status = axum::http::StatusCode::from_u16(code).unwrap_or(axum::http::StatusCode::OK);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(bytes),
    )
        .into_response()
}

/// Adds one `Warning: 299 - "…"` header per warning, as the API server sends them
/// (kubectl prints each as `Warning: …`; kube-rs logs them).
pub fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::Value::String(w.clone()));
        if let Ok(v) = header::HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, v);
        }
    }
    response
}

/// Whether the client takes a JSON answer: no `Accept`, or one naming JSON, a JSON
/// variant (`application/json;as=Table`, `application/json;stream=watch`), `*/*` or
/// `application/*`. `Err` carries the header of a client that takes only other types
/// (protobuf), which the API server answers 406.
pub fn accepts_json(headers: &axum::http::HeaderMap) -> Result<(), String> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if accept.is_empty() {
        return Ok(());
    }
    let json = accept.iter().flat_map(|v| v.split(',')).any(|range| {
        let media = range.split(';').next().unwrap_or("").trim();
        matches!(media, "" | "*/*" | "application/*" | "application/json")
    });
    if json { Ok(()) } else { Err(accept.join(", ")) }
}
