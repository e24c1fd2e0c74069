//! Package repositories over real HTTP, as the soak's faults need them: two servers of
//! the same Glasskube-format folder (so the PackageRepository's URL can be switched
//! between them), both answering normally, slowly, or with 503, and both able to
//! republish kv-store's manifests under the same versions (a changed manifest: the
//! Deployment gains the label [`EDITION_LABEL`]).
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

/// The label a republished kv-store manifest puts on its Deployment.
pub const EDITION_LABEL: &str = "soak.hoist.dev/edition";

/// How both servers answer now, and what they served.
#[derive(Default)]
pub struct Control {
    mode: Mutex<Option<Mode>>,
    /// Which edition of kv-store's manifests is published (0: as in the folder), and
    /// since when.
    edition: Mutex<(u32, Option<std::time::Instant>)>,
    pub served: AtomicU64,
    pub refused: AtomicU64,
}

impl Control {
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner()) = Some(mode);
    }

    /// Republishes kv-store's manifests as the next edition; returns it.
    pub fn republish(&self) -> u32 {
        let mut e = self.edition.lock().unwrap_or_else(|p| p.into_inner());
        *e = (e.0 + 1, Some(std::time::Instant::now()));
        e.0
    }

    /// The edition published now, and when it was (`None`: the folder's, from the start).
    pub fn edition(&self) -> (u32, Option<std::time::Instant>) {
        *self.edition.lock().unwrap_or_else(|p| p.into_inner())
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
            let (edition, _) = s.control.edition();
            if edition > 0 && path.starts_with("kv-store/") && path.ends_with("/kv.yaml") {
                return edited(&bytes, edition).into_response();
            }
            bytes.into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// kv-store's `kv.yaml` as edition `edition` publishes it: the Deployment's labels gain
/// [`EDITION_LABEL`].
fn edited(bytes: &[u8], edition: u32) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    text.replacen(
        "  labels:\n    app: kv\n",
        &format!("  labels:\n    app: kv\n    {EDITION_LABEL}: \"{edition}\"\n"),
        1,
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_republished_manifest_labels_the_deployment_and_nothing_else() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../backend/tests/fixtures/glasskube-format/kv-store/v1.2.0/kv.yaml");
        let bytes = std::fs::read(folder).expect("fixture");
        let edited = String::from_utf8(super::edited(&bytes, 3)).expect("utf-8");
        assert_eq!(edited.matches("soak.hoist.dev/edition: \"3\"").count(), 1);
        assert_eq!(
            edited.len(),
            bytes.len() + "    soak.hoist.dev/edition: \"3\"\n".len()
        );
    }
}
