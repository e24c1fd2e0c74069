//! The run-time control endpoint under `/devcluster/`, outside the Kubernetes API:
//!
//! - `GET /devcluster/counters` (JSON `{"verb resource": n}`), `DELETE` resets them;
//!   `GET /devcluster/counters/users`: the same per user (`{"user": {"verb resource": n}}`),
//!   when the server authenticates; `GET /devcluster/counters/refused`: what
//!   authorization refused, per user (`{"user": {"verb resource": n}}`);
//! - `GET /devcluster/counters/creations`: how many times each object came into
//!   existence (`{"resource namespace/name": n}`, see [`crate::store::State::creations`]);
//! - `GET /devcluster/faults`, `POST` adds one ([`crate::faults::Fault`] as JSON),
//!   `DELETE` clears them all;
//! - `POST /devcluster/compact` forgets the watch history (next old watch gets 410).

use crate::app::App;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::respond::json_response;
use axum::body::Body;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn handle(app: &App, method: Method, path: &str, body: Body) -> Response {
    let result: Result<Response, ApiError> = async {
        match (method, path.trim_end_matches('/')) {
            (Method::GET, "counters") => Ok(json_response(200, &json!(app.counters.snapshot()))),
            (Method::GET, "counters/users") => {
                Ok(json_response(200, &json!(app.counters.snapshot_by_user())))
            }
            (Method::GET, "counters/refused") => {
                Ok(json_response(200, &json!(app.counters.refused_by_user())))
            }
            (Method::GET, "counters/creations") => {
                let creations = app.store.lock().creations();
                Ok(json_response(200, &json!(creations)))
            }
            (Method::DELETE, "counters") => {
                app.counters.reset();
                Ok(json_response(200, &json!({})))
            }
            (Method::GET, "faults") => Ok(json_response(200, &json!(app.faults.list()))),
            (Method::POST, "faults") => {
                let bytes = axum::body::to_bytes(body, 64 * 1024)
                    .await
                    .map_err(|_| ApiError::too_large(64 * 1024))?;
                let fault: Fault = serde_json::from_slice(&bytes)
                    .map_err(|e| ApiError::bad_request(format!("invalid fault: {e}")))?;
                app.faults.add(fault);
                Ok(json_response(201, &json!(app.faults.list())))
            }
            (Method::DELETE, "faults") => {
                app.faults.clear();
                Ok(json_response(200, &json!([])))
            }
            (Method::POST, "compact") => {
                let mut state = app.store.lock();
                state.compact();
                Ok(json_response(
                    200,
                    &json!({"compactedAt": state.resource_version().to_string()}),
                ))
            }
            (m, p) => Err(ApiError::no_route(&format!("{m} /devcluster/{p}"))),
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
