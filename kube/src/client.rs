//! Kubernetes clients whose idle connections close.
//!
//! `kube::Client::try_from(Config)` builds hyper's connection pool without a timer, and
//! hyper-util's pool only reaps idle connections with one (the same defect linkerd2-proxy
//! fixed in its HTTP/1 client, linkerd/linkerd2-proxy#4004; smithy-rs#4282). Without it
//! a connection made for a burst of concurrent requests stays open, with its task and
//! its file descriptor, until the server closes it; against an API server that keeps
//! idle connections the pool only ever grows to the highest concurrency it has seen.
//! The soak found exactly that in the operator (decision 0030, defect 5). client-go
//! closes idle connections after 90 s (`http.DefaultTransport`'s `IdleConnTimeout`) and
//! kube-apiserver does the same from its side (`IdleTimeout: 90 * time.Second` in its
//! secure serving); [`from_config`] gives kube's client the same rule.
//!
//! Guarantees:
//! - The client is kube's own stack as `Client::try_from` builds it (the config's base
//!   URI, TLS and CA, authentication with token refresh, extra headers, kube's retry of
//!   429/503/504 when `default_retry` is set, the connect/read/write timeouts), with one
//!   difference: a connection idle for [`IDLE_TIMEOUT`] is closed by the client.
//! - Requests, errors and the default namespace are the same as from
//!   `Client::try_from`: everything above the HTTP pool is kube's.
//!
//! Caveats:
//! - A config that goes through a proxy, or whose credentials come from an exec plugin
//!   (which may hand out a client certificate with an expiry kube tracks privately), is
//!   built by `Client::try_from` itself: correct, but with kube's pool.
//! - kube's per-request tracing spans (`HTTP` at debug level) are not added.

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::{Body, ConfigExt, retry::RetryPolicy};
use kube::{Client, Config};
use std::time::Duration;
use tower::{BoxError, ServiceBuilder};

/// How long a pooled connection may stay idle before the client closes it: client-go's
/// and kube-apiserver's 90 s.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A client for `config` whose idle connections close after [`IDLE_TIMEOUT`].
///
/// Caveat: must be called within a Tokio runtime (the client starts its buffer task).
pub fn from_config(config: Config) -> Result<Client, kube::Error> {
    with_idle_timeout(config, IDLE_TIMEOUT)
}

/// [`from_config`] with another idle timeout (tests use a short one).
pub fn with_idle_timeout(config: Config, idle: Duration) -> Result<Client, kube::Error> {
    if config.proxy_url.is_some() || config.auth_info.exec.is_some() {
        return Client::try_from(config);
    }
    // What kube's own builder does first: the one TLS provider it is built with.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let pool: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(idle)
            .build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| tower::retry::RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(pool);
    Ok(Client::new(service, config.default_namespace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::net::TcpListener;

    /// An HTTP/1 server answering `/version` that counts its open connections and holds
    /// each answer until `concurrent` requests are in, so the client must open that
    /// many connections.
    async fn counting_server(concurrent: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let open = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(tokio::sync::Barrier::new(concurrent));
        let counted = open.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let (open, barrier) = (counted.clone(), barrier.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_req| {
                        let barrier = barrier.clone();
                        async move {
                            barrier.wait().await;
                            let body = r#"{"major":"1","minor":"32","gitVersion":"v1.32.0","gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"","compiler":"","platform":""}"#;
                            Ok::<_, std::convert::Infallible>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                                    .expect("response"),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                        .await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        (format!("http://{addr}"), open)
    }

    #[tokio::test]
    async fn connections_opened_for_a_burst_close_once_idle() {
        let (url, open) = counting_server(4).await;
        let config = Config::new(url.parse().expect("url"));
        let client = with_idle_timeout(config, Duration::from_millis(200)).expect("client builds");
        let calls = (0..4).map(|_| client.apiserver_version());
        for answer in futures::future::join_all(calls).await {
            answer.expect("the server answers");
        }
        assert_eq!(open.load(Ordering::SeqCst), 4, "a burst of four opens four");
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            while open.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "idle connections still open: {}",
            open.load(Ordering::SeqCst)
        );
    }

    #[tokio::test]
    async fn the_client_answers_as_kubes_own_does() {
        let (url, _open) = counting_server(1).await;
        let config = Config::new(url.parse().expect("url"));
        let ours = from_config(config.clone()).expect("ours");
        let kubes = Client::try_from(config).expect("kube's");
        let (a, b) = (
            ours.apiserver_version().await.expect("ours answers"),
            kubes.apiserver_version().await.expect("kube's answers"),
        );
        assert_eq!(a.git_version, b.git_version);
        assert_eq!(ours.default_namespace(), kubes.default_namespace());
    }
}
