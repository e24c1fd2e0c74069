//! The browser guard: every request must name a loopback host, and a write from a web
//! page must come from the dashboard's own origin.
//!
//! Listening on 127.0.0.1 keeps other machines out, but not other web sites: a page on
//! `evil.example` can make the user's browser send requests to `127.0.0.1:8080`, and a
//! DNS-rebinding name (`evil.example` resolving to 127.0.0.1) even makes them
//! same-origin. So:
//! - the `Host` (or HTTP/2 `:authority`) must be `localhost`, `127.x.x.x` or `[::1]`,
//!   with any port; a rebinding name fails here (403);
//! - a request that is not GET/HEAD and carries an `Origin` must carry the origin of
//!   the host it was sent to; a cross-site write fails here (403) before it reaches the
//!   service.
//!
//! Clients that are not browsers (the CLI, grpcurl, tonic) send no `Origin` and pass.
//!
//! # Caveats
//! Behind a proxy that rewrites `Host` to a public name, every request is refused: the
//! dashboard is served on loopback only until token authentication exists (decision
//! 0004).

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The axum middleware. See the module doc.
pub async fn browser_guard(req: Request, next: Next) -> Response {
    match check(&req) {
        Ok(()) => next.run(req).await,
        Err(why) => (StatusCode::FORBIDDEN, why).into_response(),
    }
}

fn check(req: &Request) -> Result<(), String> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let Some(host) = host else {
        // HTTP/1.0 without Host: not a browser.
        return Ok(());
    };
    if !is_loopback_host(&host) {
        return Err(format!(
            "hoist answers only requests addressed to a loopback host (localhost, \
             127.0.0.1, [::1]), not {host:?}; open the address `hoist serve` printed"
        ));
    }
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(());
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let same = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| o.eq_ignore_ascii_case(&host));
    if same {
        Ok(())
    } else {
        Err(format!(
            "writes are accepted only from the dashboard's own page (origin http://{host}), \
             not from {origin:?}"
        ))
    }
}

/// Whether `host` (`name[:port]`, `[v6][:port]`) names this machine's loopback.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, _)) => v6,
            None => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(method: Method, host: &str, origin: Option<&str>) -> Request {
        let mut b = Request::builder()
            .method(method)
            .uri("/hoist.v1.Dashboard/Install")
            .header(header::HOST, host);
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(Body::empty()).expect("request")
    }

    #[test]
    fn loopback_hosts_pass_and_other_names_do_not() {
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "127.1.2.3:80",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "[::1]",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "10.0.0.1:8080",
            "localhost.evil.example",
            "[::2]:80",
            "[::1",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn a_rebinding_name_is_refused_even_for_reads() {
        let req = request(Method::GET, "evil.example:8080", None);
        assert!(check(&req).is_err());
    }

    #[test]
    fn writes_from_another_origin_are_refused_and_same_origin_or_none_pass() {
        let host = "127.0.0.1:8080";
        assert!(check(&request(Method::POST, host, Some("http://127.0.0.1:8080"))).is_ok());
        assert!(
            check(&request(Method::POST, host, None)).is_ok(),
            "CLI, grpcurl"
        );
        for other in [
            "http://evil.example",
            "http://127.0.0.1:9999",
            "http://localhost:8080",
            "null",
        ] {
            let err = check(&request(Method::POST, host, Some(other))).expect_err(other);
            assert!(err.contains("own page"), "{err}");
        }
        // A page may read from anywhere it is allowed to load: GET with an Origin passes.
        assert!(check(&request(Method::GET, host, Some("http://evil.example"))).is_ok());
    }
}
