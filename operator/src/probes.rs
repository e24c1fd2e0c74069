//! `hoist operator`'s own port: `/livez` (200 while every controller task runs, 503
//! naming the ones that ended), `/readyz` (200 once the operator runs, or waits ready to
//! take over as a standby), `/metrics` (Prometheus text, controller-runtime's names).
//!
//! `/metrics` is guarded as [`crate::metrics_auth`] says (a bearer token, reviewed by
//! the API server; or nobody with `--metrics-auth=none`); `/livez` and `/readyz` stay
//! open for the kubelet.
//!
//! Guarantees: a controller task (or a watch the controllers depend on) that ends while
//! the operator runs, by returning, by panicking or by being cut, fails `/livez` from
//! then on, so the kubelet restarts the pod instead of keeping a process that looks
//! alive and reconciles nothing; an orderly stop ([`Liveness::stopping`]) does not.
//!
//! Caveat: only the tasks spawned through [`Liveness::supervise`] are watched: the
//! operator's controllers and the watches and loops it starts beside them.

use crate::metrics::Metrics;
use crate::metrics_auth::{MetricsAuth, Verdict};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use tokio::sync::watch;

pub use hoist_kube::runtime::Liveness;
#[derive(Clone)]
struct Probes {
    metrics: Arc<Metrics>,
    ready: watch::Receiver<bool>,
    live: Liveness,
    /// `None`: nobody said who may read `/metrics`; it is refused.
    auth: Option<MetricsAuth>,
}

/// Serves the probes on `listener` until `stopped` turns true; `/livez` answers from
/// `live`, `/metrics` is guarded by `auth`; `None` refuses `/metrics` (403): a port
/// nobody configured does not hand its metrics to anyone. `/livez` and `/readyz` are
/// open (the kubelet's probes).
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    ready: watch::Receiver<bool>,
    live: Liveness,
    mut stopped: watch::Receiver<bool>,
    auth: Option<MetricsAuth>,
) {
    let app = axum::Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(Probes {
            metrics,
            ready,
            live,
            auth,
        });
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "the probe port stopped");
    }
}

async fn livez(State(p): State<Probes>) -> impl IntoResponse {
    let ended = p.live.ended();
    if ended.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("ended: {}\n", ended.join(", ")),
        )
    }
}

async fn readyz(State(p): State<Probes>) -> impl IntoResponse {
    if *p.ready.borrow() {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

async fn metrics_text(State(p): State<Probes>, headers: HeaderMap) -> Response {
    let verdict = match &p.auth {
        Some(MetricsAuth::None) => Verdict::Allowed,
        Some(MetricsAuth::Kubernetes(reviewer)) => {
            // HEAD is a GET without the body: the same `get` on the path.
            reviewer.check(bearer(&headers), "/metrics", "get").await
        }
        None => {
            return (
                StatusCode::FORBIDDEN,
                "this probe port was started without a metrics guard; /metrics is not served\n",
            )
                .into_response();
        }
    };
    match verdict {
        Verdict::Allowed => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            p.metrics.encode(),
        )
            .into_response(),
        Verdict::Unauthenticated => {
            let mut res = (
                StatusCode::UNAUTHORIZED,
                "Unauthorized: send Authorization: Bearer with a token the API server accepts \
                 (a ServiceAccount's, e.g. Prometheus')\n",
            )
                .into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hoist-operator\""),
            );
            res
        }
        Verdict::Forbidden { user } => (
            StatusCode::FORBIDDEN,
            format!(
                "Authorization denied for user {user:?}: it needs get on the non-resource \
                 URL /metrics (a ClusterRole with nonResourceURLs: [\"/metrics\"])\n"
            ),
        )
            .into_response(),
        Verdict::Unavailable(_) => {
            let mut res = (
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot check the token with the API server now; retry\n",
            )
                .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
    }
}

/// The token of `Authorization: Bearer …` (the scheme case-insensitive, as RFC 9110
/// has it and as the API server reads it).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get_livez(live: &Liveness) -> (u16, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(
            listener,
            Arc::new(Metrics::new()),
            watch::channel(true).1,
            live.clone(),
            stopped,
            None,
        ));
        let answer = reqwest::get(format!("http://{addr}/livez"))
            .await
            .expect("answered");
        let code = answer.status().as_u16();
        let body = answer.text().await.expect("body");
        let _ = stop.send(true);
        server.await.expect("server stops");
        (code, body)
    }

    #[tokio::test]
    async fn livez_fails_once_a_supervised_task_ended_and_names_it() {
        let live = Liveness::new();
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(live.supervise("the Package controller", std::future::pending()));
        assert_eq!(get_livez(&live).await, (200, "ok\n".into()));

        // A controller task that panics: caught, recorded, the process goes on.
        tasks.spawn(live.supervise("the ClusterPackage controller", async {
            if std::hint::black_box(true) {
                panic!("a bug in a controller");
            }
        }));
        assert!(tasks.join_next().await.expect("one ended").is_ok());
        assert_eq!(
            get_livez(&live).await,
            (503, "ended: the ClusterPackage controller\n".into())
        );

        // One that is cut (aborted) while it should run counts too.
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let (code, body) = get_livez(&live).await;
        assert_eq!(code, 503);
        assert!(body.contains("the Package controller"), "{body}");
    }

    #[tokio::test]
    async fn an_orderly_stop_is_not_a_death() {
        let live = Liveness::new();
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(live.supervise("the Package controller", std::future::pending()));
        tasks.spawn(live.supervise("a watch", std::future::ready(())));
        // Ends before the stop: a death.
        assert!(tasks.join_next().await.expect("ended").is_ok());
        assert_eq!(get_livez(&live).await.0, 503);

        let live = Liveness::new();
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(live.supervise("the Package controller", std::future::pending()));
        live.stopping();
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        assert_eq!(get_livez(&live).await, (200, "ok\n".into()));
    }

    /// Starts a probe port guarded by `auth` and answers `path` without a token.
    async fn get_unguarded(auth: Option<MetricsAuth>, path: &str) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(
            listener,
            Arc::new(Metrics::new()),
            watch::channel(true).1,
            Liveness::new(),
            stopped,
            auth,
        ));
        let code = reqwest::get(format!("http://{addr}{path}"))
            .await
            .expect("answered")
            .status()
            .as_u16();
        let _ = stop.send(true);
        server.await.expect("server stops");
        code
    }

    #[tokio::test]
    async fn metrics_fail_closed_when_nobody_chose_a_guard_and_are_open_with_none() {
        assert_eq!(get_unguarded(None, "/metrics").await, 403);
        assert_eq!(get_unguarded(None, "/livez").await, 200);
        assert_eq!(get_unguarded(None, "/readyz").await, 200);
        assert_eq!(
            get_unguarded(Some(MetricsAuth::None), "/metrics").await,
            200
        );
    }

    #[test]
    fn the_bearer_token_is_read_case_insensitively_and_nothing_else_is_one() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(v).expect("value"),
            );
            h
        };
        assert_eq!(bearer(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&with("Basic YWxhZGRpbjpvcGVuc2VzYW1l")), None);
        assert_eq!(bearer(&with("Bearer ")), None);
        assert_eq!(bearer(&with("Bearer")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
