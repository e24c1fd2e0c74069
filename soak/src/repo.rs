//! Package repositories over real HTTP, as the soak's faults need them: two servers of
//! the same Glasskube-format folder (so the PackageRepository's URL can be switched
//! between them), both answering normally, slowly, or with 503.
//!
//! Guarantees: only files under the served folder are read (a path with `..` or a
//! backslash is a 404); each server binds 127.0.0.1 on a free port and stops with the
//! harness.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Slow(Duration),
    Down,
}

/// How both servers answer now, and what they served.
#[derive(Default)]
pub struct Control {
    mode: Mutex<Option<Mode>>,
    pub served: AtomicU64,
    pub refused: AtomicU64,
}

impl Control {
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner()) = Some(mode);
    }

    fn mode(&self) -> Mode {
        self.mode
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or(Mode::Normal)
    }
}

#[derive(Clone)]
struct Served {
    root: Arc<PathBuf>,
    control: Arc<Control>,
}

/// Starts one server of `root`; returns its base URL (`http://127.0.0.1:PORT/`).
pub async fn serve(root: PathBuf, control: Arc<Control>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(file).with_state(Served {
        root: Arc::new(root),
        control,
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/"))
}

async fn file(State(s): State<Served>, uri: Uri) -> Response {
    match s.control.mode() {
        Mode::Down => {
            s.control.refused.fetch_add(1, Ordering::Relaxed);
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        Mode::Slow(d) => tokio::time::sleep(d).await,
        Mode::Normal => {}
    }
    let path = uri.path().trim_start_matches('/');
    if path.split('/').any(|p| p == ".." || p.contains('\\')) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(s.root.join(path)).await {
        Ok(bytes) => {
            s.control.served.fetch_add(1, Ordering::Relaxed);
            bytes.into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
