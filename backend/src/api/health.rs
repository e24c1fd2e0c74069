//! `/livez` (200 while the process works), `/readyz` (503 until every cache synced: a
//! Kubernetes readinessProbe), `/metrics` (Prometheus text).

use super::ApiState;
use crate::cache::readiness::Phase;
use crate::metrics::{KindObserved, Observed};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

pub fn router(state: ApiState) -> axum::Router {
    axum::Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(s): State<ApiState>) -> impl IntoResponse {
    let status = s.gate.status();
    let code = if s.gate.is_serving() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, format!("{:?}: {}\n", status.phase, status.message))
}

async fn metrics(State(s): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(&observed(&s)),
    )
}

/// What the state gauges describe, read from the gate and the hub now.
fn observed(s: &ApiState) -> Observed {
    let status = s.gate.status();
    Observed {
        kinds: status
            .kinds
            .iter()
            .map(|(&kind, k)| KindObserved {
                kind,
                loaded: k.loaded,
                sync_time: k.sync_time,
            })
            .collect(),
        ready: matches!(status.phase, Phase::Ready | Phase::Degraded),
        subscribers: s.hub.subscribers(),
        revision: s.hub.revision(),
    }
}
