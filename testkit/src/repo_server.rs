//! A package repository served over real HTTP on 127.0.0.1, counting requests and
//! answering conditional requests with 304, with replies the test can change.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the test server answers for a path.
#[derive(Clone)]
pub enum Reply {
    Body(String),
    /// A body (with its ETag, as `Body`) and these extra headers, e.g. Cache-Control.
    BodyWith(String, Vec<(&'static str, String)>),
    /// A 302 to this location.
    Redirect(String),
    Status(u16),
    Slow(Duration),
    /// This body, after this long.
    Delayed(Duration, String),
}

#[derive(Default)]
pub struct Served {
    pub replies: Mutex<HashMap<String, Reply>>,
    pub hits: Mutex<HashMap<String, u32>>,
    pub not_modified: Mutex<u32>,
    pub require_token: Mutex<Option<String>>,
    /// `(username, password)` every request must carry as HTTP basic auth.
    pub require_basic: Mutex<Option<(String, String)>>,
    /// Counts answered requests, so a test can wait for one instead of polling.
    pub answered: tokio::sync::watch::Sender<u64>,
}

/// A repository server on a free loopback port; stops when dropped.
pub struct RepoServer {
    pub base: String,
    pub state: Arc<Served>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl RepoServer {
    pub async fn start() -> Self {
        let state = Arc::new(Served::default());
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            base: format!("http://{addr}"),
            state,
            _stop: stop,
        }
    }

    /// A server answering every file under `dir` at its relative path, as a static
    /// web server would.
    pub async fn serving_dir(dir: &std::path::Path) -> Self {
        let server = Self::start().await;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("fixture folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path.strip_prefix(dir).expect("under dir");
                let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
                let body = std::fs::read_to_string(&path).expect("fixture file");
                server.set(&url, Reply::Body(body));
            }
        }
        server
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.state
            .replies
            .lock()
            .expect("lock")
            .insert(path.into(), reply);
    }

    pub fn hits(&self, path: &str) -> u32 {
        self.state
            .hits
            .lock()
            .expect("lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests of any path so far.
    pub fn total_hits(&self) -> u32 {
        self.state.hits.lock().expect("lock").values().sum()
    }

    pub fn not_modified(&self) -> u32 {
        *self.state.not_modified.lock().expect("lock")
    }

    /// Waits until `cond` holds, re-checking after each answered request.
    pub async fn until(&self, what: &str, cond: impl Fn(&RepoServer) -> bool) {
        let mut answered = self.state.answered.subscribe();
        tokio::time::timeout(crate::PATIENCE, async {
            while !cond(self) {
                answered.changed().await.expect("server alive");
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the repository server never saw {what}"));
    }

    /// Requests of any path so far.
    pub fn total(&self) -> u32 {
        self.state.hits.lock().expect("lock").values().sum()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn serve(State(s): State<Arc<Served>>, req: Request) -> Response {
    let response = answer(&s, req).await;
    s.answered.send_modify(|n| *n += 1);
    response
}

async fn answer(s: &Served, req: Request) -> Response {
    let path = req.uri().path().to_string();
    *s.hits
        .lock()
        .expect("lock")
        .entry(path.clone())
        .or_default() += 1;
    let basic = s.require_basic.lock().expect("lock").clone();
    if let Some((user, password)) = basic {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let ok = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            == Some(expected.as_str());
        if !ok {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let token = s.require_token.lock().expect("lock").clone();
    if let Some(t) = token {
        let ok = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {t}"));
        if !ok {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let reply = s.replies.lock().expect("lock").get(&path).cloned();
    match reply {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Reply::Status(code)) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Some(Reply::Slow(d)) => {
            tokio::time::sleep(d).await;
            "packages: []".into_response()
        }
        Some(Reply::Redirect(to)) => {
            let mut h = HeaderMap::new();
            h.insert(header::LOCATION, to.parse().expect("location"));
            (StatusCode::FOUND, h).into_response()
        }
        Some(Reply::Delayed(d, body)) => {
            tokio::time::sleep(d).await;
            body_reply(s, &req, body, &[])
        }
        Some(Reply::Body(body)) => body_reply(s, &req, body, &[]),
        Some(Reply::BodyWith(body, extra)) => body_reply(s, &req, body, &extra),
    }
}

/// A body with a content ETag; 304 when the request names that ETag. `extra` headers
/// go on both answers, as a server sends Cache-Control with each.
fn body_reply(
    s: &Served,
    req: &Request,
    body: String,
    extra: &[(&'static str, String)],
) -> Response {
    let mut h = HeaderMap::new();
    for (k, v) in extra {
        h.insert(*k, v.parse().expect("header value"));
    }
    let etag = format!(
        "\"{:x}\"",
        body.len() as u64 * 31 + body.bytes().map(u64::from).sum::<u64>()
    );
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        *s.not_modified.lock().expect("lock") += 1;
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    h.insert(header::ETAG, etag.parse().expect("etag"));
    (h, body).into_response()
}
