//! The HTTP surface on one port: gRPC (native HTTP/2 and gRPC-web), health, metrics and
//! the web app's static files.

pub mod catalogue;
pub mod dashboard;
pub mod guard;
pub mod health;
pub mod watch;

use crate::cache::hub::Hub;
use crate::cache::readiness::Gate;
use crate::metrics::Metrics;
use hoist_proto::v1::dashboard_server::DashboardServer;
use std::path::Path;
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub gate: Arc<Gate>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
}

/// The router: gRPC-web only on the gRPC routes (layered over everything it would
/// answer 400 to plain requests for index.html), then health and metrics, then the SPA
/// with `index.html` as the fallback for client-side routes; [`guard`] in front of all.
pub fn router(
    state: ApiState,
    service: dashboard::DashboardService,
    dist: &Path,
    guard: guard::Guard,
) -> axum::Router {
    let grpc = tonic::service::Routes::new(DashboardServer::new(service))
        .into_axum_router()
        .layer(tonic_web::GrpcWebLayer::new());
    let http = health::router(state);
    let spa = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    grpc.merge(http)
        .fallback_service(spa)
        .layer(axum::middleware::from_fn_with_state(guard, guard::guard))
}
