//! The HTTP surface on one port: gRPC (native HTTP/2 and gRPC-web), health, metrics and
//! the web app's static files.

pub mod cached_reads;
pub mod catalogue;
pub mod dashboard;
pub mod deadline;
pub mod fleet;
pub mod guard;
pub mod headers;
pub mod health;
pub mod installs;
pub mod listener;
pub mod open;
pub mod sources;
pub mod status;
pub mod watch;
pub mod watch_route;
pub mod watch_signals;

use crate::cache::hub::Hub;
use crate::metrics::Metrics;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use hoist_kube::reflector::readiness::Gate;
use hoist_proto::v1::dashboard_server::DashboardServer;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower_http::services::{ServeDir, ServeFile};

/// The largest gRPC request message the dashboard decodes: every request it takes is a
/// few names and values, so anything near this is not a dashboard talking.
pub const MAX_REQUEST_MESSAGE: usize = 64 * 1024;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The health of the process's watched tasks (`/livez`).
    pub live: hoist_kube::runtime::Liveness,
    pub gate: Arc<Gate>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    /// The fleet as cached (usage downloads).
    pub fleet: Arc<crate::cache::fleet::FleetView>,
}

/// The router, from the outside in: the security [`headers`] on every answer, the
/// [`guard`], then gRPC-web on the gRPC routes only (layered over everything it would
/// answer 400 to plain requests for index.html) with a [`deadline`] on unary calls,
/// health and metrics, and the SPA with `index.html` as the fallback for client-side
/// routes.
pub fn router(
    state: ApiState,
    service: dashboard::DashboardService,
    dist: &Path,
    guard: guard::Guard,
    unary_limit: Duration,
) -> axum::Router {
    let limit = deadline::UnaryLimit {
        limit: unary_limit,
        metrics: state.metrics.clone(),
    };
    // Watch is served by its own route (changes' bytes shared, `watch_route`); the
    // generated service answers the rest.
    let watch = axum::Router::new()
        .route(watch_route::PATH, axum::routing::post(watch_route::serve))
        .with_state(service.clone());
    let grpc = tonic::service::Routes::new(
        DashboardServer::new(service).max_decoding_message_size(MAX_REQUEST_MESSAGE),
    )
    .into_axum_router()
    .merge(watch)
    .layer(tonic_web::GrpcWebLayer::new())
    .layer(axum::middleware::from_fn_with_state(limit, deadline::limit));
    let http = health::router(state.clone()).merge(fleet::router(state));
    let spa = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    grpc.merge(http)
        .fallback_service(spa)
        .layer(axum::middleware::from_fn_with_state(guard, guard::guard))
        .layer(axum::middleware::from_fn_with_state(
            headers::SecurityHeaders::for_dist(dist),
            headers::add,
        ))
}

/// The content type of a gRPC or gRPC-web request; `None` for plain HTTP.
fn grpc_content_type(req: &Request) -> Option<HeaderValue> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .filter(|ct| ct.as_bytes().starts_with(b"application/grpc"))
        .cloned()
}

/// `status` as a trailers-only gRPC answer in the content type the client spoke (a
/// plain gRPC one when it is unknown).
fn grpc_error(status: tonic::Status, content_type: Option<HeaderValue>) -> Response {
    let mut res = status.into_http::<axum::body::Body>();
    if let Some(ct) = content_type {
        res.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    res
}
