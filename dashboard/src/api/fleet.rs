//! The fleet on the dashboard's port: removing a member Cluster (the `RemoveCluster`
//! call, on the CLI's code path: [`hoist_fleet::remove`]) and usage for a period as a
//! download (`GET /api/usage?from=&to=&format=`, from the cached ledger).

use super::ApiState;
use crate::cache::fleet::FleetView;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hoist_fleet::{RemoveError, time, usage};
use hoist_proto::v1 as pb;
use tonic::Status;

pub fn router(state: ApiState) -> axum::Router {
    axum::Router::new()
        .route("/api/usage", get(download))
        .with_state(state)
}

/// `RemoveCluster`: refused unless the typed name matches, as `hoist cluster remove`
/// refuses; billing stops at the delete (the operator records it).
pub async fn remove(
    client: &kube::Client,
    view: &FleetView,
    namespace: &str,
    req: pb::RemoveClusterRequest,
) -> Result<String, Status> {
    let ns = if req.namespace.is_empty() {
        namespace
    } else {
        req.namespace.as_str()
    };
    if ns != namespace {
        return Err(Status::invalid_argument(format!(
            "member clusters live in Hoist's namespace {namespace:?}, not {ns:?}"
        )));
    }
    if !view.has_cluster(ns, &req.name) {
        return Err(Status::not_found(
            RemoveError::Unknown(req.name).to_string(),
        ));
    }
    hoist_fleet::remove(client, ns, &req.name, req.confirm == req.name)
        .await
        .map_err(|e| match e {
            RemoveError::NotConfirmed(_) => Status::failed_precondition(e.to_string()),
            RemoveError::Unknown(_) => Status::not_found(e.to_string()),
            RemoveError::Api(k) => super::status::api_error(k),
        })
}

#[derive(Debug, serde::Deserialize)]
pub struct UsageQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// Usage for `[from, to)` (default: this month so far) as CSV (default), JSON lines,
/// CloudEvents or a table, as an attachment. 400 with the reason for bad input; 503
/// until the caches are ready.
async fn download(State(s): State<ApiState>, Query(q): Query<UsageQuery>) -> Response {
    if !s.gate.is_serving() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the caches are still syncing\n",
        )
            .into_response();
    }
    let format = match q.format.as_deref().map(usage::Format::parse) {
        None => usage::Format::Csv,
        Some(Some(f)) => f,
        Some(None) => {
            return (
                StatusCode::BAD_REQUEST,
                "format must be csv, jsonl, cloudevents or table\n",
            )
                .into_response();
        }
    };
    let now = time::now();
    let (from, to) = match usage::period(q.from.as_deref(), q.to.as_deref(), now) {
        Ok(p) => p,
        Err(why) => return (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response(),
    };
    let name = format!(
        "attachment; filename=\"hoist-usage-{}-{}.{}\"",
        time::to_rfc3339(from).replace(':', ""),
        time::to_rfc3339(to).replace(':', ""),
        format.extension()
    );
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        s.fleet.usage(from, to, now, format),
    )
        .into_response()
}
