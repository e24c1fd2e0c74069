//! What the demo's hello-web pods answer when opened: devcluster runs no containers,
//! so its `pods/portforward` goes to a target configured per image
//! ([`devcluster::Forward`]). This is that target for hello-web's image, said plainly
//! on the page itself: a stand-in for the nginx container, not the container.

use axum::http::header;
use axum::response::IntoResponse;
use std::net::SocketAddr;

/// The image hello-web's Deployment runs (`samples/repository/hello-web`).
pub const HELLO_WEB_IMAGE: &str = "nginx:1.27-alpine";

/// The page's title, which tests look for.
pub const TITLE: &str = "hello-web, opened through Hoist";

/// A running stand-in server; stops when dropped.
pub struct StandIn {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl StandIn {
    /// Serves the page on `127.0.0.1` at a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().fallback(page);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "hello-web stand-in failed");
            }
        });
        Ok(Self { addr, task })
    }

    /// devcluster's forward of hello-web's image to this server.
    pub fn forward(&self) -> devcluster::Forward {
        devcluster::Forward {
            image: HELLO_WEB_IMAGE.into(),
            port: None,
            to: self.addr,
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{TITLE}</title></head>\
             <body><h1>{TITLE}</h1>\
             <p>This page came through a port-forward: your browser, a local port, the API \
             server's <code>pods/portforward</code>, a ready pod behind hello-web's Service.</p>\
             <p>The demo's cluster is devcluster, which runs no containers: it forwards the \
             pod's port to this stand-in for the <code>{HELLO_WEB_IMAGE}</code> container. On \
             a real cluster, <code>hoist open</code> reaches nginx itself.</p></body></html>"
        ),
    )
}
