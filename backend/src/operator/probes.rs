//! `hoist operator`'s own port: `/livez` (200 while the process works), `/readyz` (200
//! once the operator runs, or waits ready to take over as a standby), `/metrics`
//! (Prometheus text, controller-runtime's names).

use super::metrics::Metrics;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Clone)]
struct Probes {
    metrics: Arc<Metrics>,
    ready: watch::Receiver<bool>,
}

/// Serves the probes on `listener` until `stopped` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    ready: watch::Receiver<bool>,
    mut stopped: watch::Receiver<bool>,
) {
    let app = axum::Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(Probes { metrics, ready });
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "the probe port stopped");
    }
}

async fn readyz(State(p): State<Probes>) -> impl IntoResponse {
    if *p.ready.borrow() {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

async fn metrics_text(State(p): State<Probes>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        p.metrics.encode(),
    )
}
