//! A fixed set of files over HTTP: a generated package repository for benchmarks.
//!
//! Each file is served with an ETag (its length, which is all a generated file's
//! version needs); a path not in the set answers 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

type Files = Arc<HashMap<String, String>>;

async fn file(State(files): State<Files>, Path(path): Path<String>) -> Response {
    match files.get(&path) {
        Some(body) => ([("etag", format!("\"{}\"", body.len()))], body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves `files` (path → body) on 127.0.0.1; returns the base URL, ending in `/`.
pub async fn serve(files: HashMap<String, String>) -> String {
    let app = axum::Router::new()
        .route("/{*path}", axum::routing::get(file))
        .with_state(Arc::new(files));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}
