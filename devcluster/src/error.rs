//! Errors as Kubernetes clients see them: every failure is a `Status` object.
//!
//! kube-rs decides `is_not_found()` / `is_conflict()` from `reason`, kubectl prints
//! `message`, so both are always set; `code` is also the HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `Status.details`: the object an error concerns and, for 422 Invalid, what is wrong.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Details {
    pub name: String,
    /// The API group (omitted when empty).
    pub group: String,
    /// The kind (`Widget`) or, in devcluster's older errors, the resource plural.
    pub kind: String,
    /// `causes` (omitted when empty).
    pub causes: Vec<Cause>,
}

/// One `Status.details.causes[]` entry: a field error as the API server words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, ...
    pub reason: &'static str,
    /// The error without its field: `Invalid value: "x": spec.a in body should match '^a$'`.
    pub message: String,
    /// The field path (`spec.a`); `<nil>` for an error that names none, as the API
    /// server writes it.
    pub field: String,
}

impl std::fmt::Display for Cause {
    /// `field: message`, as the error appears in a Status message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An API error, rendered as a `v1.Status` body with the matching HTTP status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    /// HTTP status code, also written to `Status.code`.
    pub code: u16,
    /// `Status.reason`, e.g. `NotFound`, `Conflict`.
    pub reason: &'static str,
    /// Human readable message.
    pub message: String,
    /// `Status.details` (the object concerned and, for 422 Invalid, each cause), when
    /// known.
    pub details: Option<Box<Details>>,
    /// `Retry-After` header in seconds (429 and 5xx faults).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// Attaches `details.name` and `details.kind` (the resource plural, as the apiserver does).
    pub fn with_details(mut self, name: &str, kind: &str) -> Self {
        self.details = Some(Box::new(Details {
            name: name.to_string(),
            kind: kind.to_string(),
            ..Details::default()
        }));
        self
    }

    pub fn not_found(plural: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{plural} \"{name}\" not found"))
            .with_details(name, plural)
    }

    /// A path that names no resource this server knows.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    pub fn already_exists(plural: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{plural} \"{name}\" already exists"),
        )
        .with_details(name, plural)
    }

    pub fn conflict(plural: &str, name: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {plural} \"{name}\": {why}"),
        )
        .with_details(name, plural)
    }

    /// The message kube-rs users know from a stale `resourceVersion` on update.
    pub fn stale(plural: &str, name: &str) -> Self {
        Self::conflict(
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn invalid(plural: &str, name: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            422,
            "Invalid",
            format!("{plural} \"{name}\" is invalid: {why}"),
        )
        .with_details(name, plural)
    }

    /// `apierrors.NewInvalid`: 422 naming the object by kind and group
    /// (`Widget.example.com "w" is invalid: …`), every cause once in the message (in
    /// brackets when there are several) and each in `details.causes`.
    pub fn invalid_causes(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let mut seen: Vec<String> = Vec::new();
        for c in &causes {
            let text = c.to_string();
            if !seen.contains(&text) {
                seen.push(text);
            }
        }
        let message = match seen.as_slice() {
            [] => format!("{qualified} \"{name}\" is invalid"),
            [one] => format!("{qualified} \"{name}\" is invalid: {one}"),
            many => format!("{qualified} \"{name}\" is invalid: [{}]", many.join(", ")),
        };
        let mut e = Self::new(422, "Invalid", message);
        e.details = Some(Box::new(Details {
            name: name.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            causes,
        }));
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"
            ),
        )
    }

    /// 406: the client accepts no media type devcluster answers in (JSON).
    pub fn not_acceptable(accept: &str) -> Self {
        Self::new(
            406,
            "NotAcceptable",
            format!(
                "only the following media types are accepted: application/json (the request accepts {accept:?})"
            ),
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    }

    /// `410 Expired`, for watches and continue tokens older than the history window.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// An error from a Status the authorizer wrote (`{code, reason, message, details}`).
    pub fn from_status(status: &serde_json::Value) -> Self {
        let s = |p: &str| status.pointer(p).and_then(serde_json::Value::as_str);
        let code = status
            .get("code")
            .and_then(serde_json::Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(403);
        let reason = match s("/reason").unwrap_or("Forbidden") {
            "NotFound" => "NotFound",
            "Invalid" => "Invalid",
            _ => "Forbidden",
        };
        let mut e = Self::new(code, reason, s("/message").unwrap_or("forbidden"));
        if let Some(kind) = s("/details/kind") {
            e = e.with_details(s("/details/name").unwrap_or(""), kind);
        }
        e
    }

    /// An error with an arbitrary code, as fault injection produces: the reason is the
    /// one the apiserver uses for that code.
    pub fn from_code(code: u16, retry_after: Option<u32>) -> Self {
        let reason = match code {
            400 => "BadRequest",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            410 => "Expired",
            422 => "Invalid",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "InternalError",
        };
        let mut e = Self::new(code, reason, format!("injected fault: {reason}"));
        e.retry_after = retry_after;
        e
    }

    /// The `v1.Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            status["details"] = json!({ "name": d.name, "kind": d.kind });
            if !d.group.is_empty() {
                status["details"]["group"] = json!(d.group);
            }
            if !d.causes.is_empty() {
                let causes: Vec<Value> = d
                    .causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
                status["details"]["causes"] = Value::Array(causes);
            }
        }
        if let Some(secs) = self.retry_after {
            status["details"]["retryAfterSeconds"] = json!(secs);
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.to_status().to_string();
        let mut resp = (code, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// Why a devcluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot read state file {path}: {source}")]
    ReadState {
        path: String,
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt ({reason}); move it away to start with an empty cluster")]
    CorruptState { path: String, reason: String },
    #[error("cannot read identity file {path}: {source}")]
    ReadIdentity {
        path: String,
        source: std::io::Error,
    },
    /// The identity file (the CA, admin token and ServiceAccount signing key kept beside
    /// the state file) exists and cannot be used; it is left as it was.
    #[error(
        "identity file {path} is corrupt ({reason}); restore it, or move it away to start with a new CA, admin token and ServiceAccount signing key (kubeconfigs and ServiceAccount tokens issued before then stop working)"
    )]
    CorruptIdentity { path: String, reason: String },
    #[error("cannot write identity file {path}: {source}")]
    WriteIdentity {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot build a kube client for {url}: {reason}")]
    Client { url: String, reason: String },
    #[error("cannot set up authentication: {reason}")]
    Auth { reason: String },
    /// A [`crate::Forward`] that cannot be used (its target is not loopback).
    #[error("cannot forward image {image}: {reason}")]
    Forward { image: String, reason: String },
}
