//! `/livez` (200 while every watched task runs: the reflectors, the catalogue's reload,
//! the gate's ticker; 503 naming the ones that ended), `/readyz` (503 until every cache
//! synced: a Kubernetes readinessProbe), `/metrics` (Prometheus text).

use super::ApiState;
use crate::metrics::{KindObserved, Observed};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use hoist_kube::reflector::readiness::Phase;

pub fn router(state: ApiState) -> axum::Router {
    axum::Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn livez(State(s): State<ApiState>) -> impl IntoResponse {
    let ended = s.live.ended();
    if ended.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("ended: {}\n", ended.join(", ")),
        )
    }
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
