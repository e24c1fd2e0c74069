//! The operator's client, observed: each request's latency and outcome go to the
//! limiters (a `tower` service around the client, as [`crate::identity`] wraps it for
//! impersonation; every client a pass uses is built on this one).
//!
//! Guarantees: requests and answers pass through unchanged (the default namespace
//! and the credentials' expiry too); watches are not observed (they last as long as
//! the watch); a read's outcome counts, its latency does not (a list may be of any
//! size).
//!
//! Caveat: the answer is seen after kube's retry layer (see [`super`]'s caveats).

use super::{Limiters, Outcome, Sample};
use http::{Method, StatusCode, Uri};
use kube::Client;
use std::time::Instant;

/// `client`, its answers fed to `limiters`.
pub fn observed(client: Client, limiters: Limiters) -> Client {
    let namespace = client.default_namespace().to_string();
    let valid_until = *client.valid_until();
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let (base, limiters) = (client.clone(), limiters.clone());
        async move {
            let watch = is_watch(request.uri());
            let timed = is_write(request.method());
            let started = Instant::now();
            let answer = base.send(request).await;
            if !watch {
                let outcome = match &answer {
                    Ok(response) => outcome(response.status()),
                    Err(_) => Outcome::Failed,
                };
                limiters.observe(&Sample {
                    started,
                    took: started.elapsed(),
                    outcome,
                    timed,
                });
            }
            answer
        }
    });
    Client::new(service, namespace).with_valid_until(valid_until)
}

/// Whether the request is a watch (`?watch=true`).
fn is_watch(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| matches!(pair, "watch=true" | "watch=1"))
    })
}

fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// What a status says of the API server's load.
pub(super) fn outcome(status: StatusCode) -> Outcome {
    match status.as_u16() {
        429 => Outcome::Throttled,
        501 => Outcome::Answered,
        500..=599 => Outcome::Failed,
        _ => Outcome::Answered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_are_not_observed_and_only_writes_are_timed() {
        let uri = |s: &str| s.parse::<Uri>().expect("uri");
        assert!(is_watch(&uri("/api/v1/pods?watch=true&resourceVersion=1")));
        assert!(is_watch(&uri(
            "/api/v1/pods?allowWatchBookmarks=true&watch=1"
        )));
        assert!(!is_watch(&uri("/api/v1/pods?limit=500")));
        assert!(!is_watch(&uri("/api/v1/namespaces/a/pods/watch")));
        assert!(is_write(&Method::PATCH) && is_write(&Method::POST));
        assert!(!is_write(&Method::GET));
    }

    #[test]
    fn throttling_and_server_errors_are_refusals() {
        assert_eq!(outcome(StatusCode::TOO_MANY_REQUESTS), Outcome::Throttled);
        for code in [500, 502, 503, 504] {
            let s = StatusCode::from_u16(code).expect("code");
            assert_eq!(outcome(s), Outcome::Failed, "{code}");
        }
        for code in [200, 201, 404, 409, 422, 501] {
            let s = StatusCode::from_u16(code).expect("code");
            assert_eq!(outcome(s), Outcome::Answered, "{code}");
        }
    }
}
