//! A time limit on every unary gRPC call.
//!
//! # Guarantees
//! - A unary call that has not answered within its limit is answered
//!   `DEADLINE_EXCEEDED` (in the gRPC or gRPC-web framing the client spoke) and its
//!   handler is dropped, so a hung repository or API server never holds a caller, or
//!   the connection slot it uses, for longer than the limit.
//! - Streams are not cut: `Watch` answers its headers at once and the limit covers only
//!   that; the stream then lives until the client or shutdown ends it.
//!
//! # Caveats
//! - A handler dropped at the limit may have sent its write already (an Install whose
//!   create reached the API server): the package then appears on the stream as any
//!   other change. The caller is told the call timed out, not that it failed.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;

/// The limit and where to count calls that hit it.
#[derive(Clone)]
pub struct UnaryLimit {
    pub limit: Duration,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The axum middleware for the gRPC routes.
pub async fn limit(State(l): State<UnaryLimit>, req: Request, next: Next) -> Response {
    let content_type = super::grpc_content_type(&req);
    let path = req.uri().path().to_string();
    match tokio::time::timeout(l.limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            l.metrics.unary_timeout();
            tracing::warn!(%path, limit = ?l.limit, "unary call timed out");
            let status = tonic::Status::deadline_exceeded(format!(
                "{path} did not answer within {:?}; try again",
                l.limit
            ));
            super::grpc_error(status, content_type)
        }
    }
}
