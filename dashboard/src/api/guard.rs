//! The guard in front of every route: who may talk to the dashboard.
//!
//! Two modes, chosen by whether `hoist serve` has a token:
//!
//! **Loopback, no token** (the default). Listening on 127.0.0.1 keeps other machines
//! out, but not other web sites: a page on `evil.example` can make the user's browser
//! send requests to `127.0.0.1:8080`, and a DNS-rebinding name (`evil.example`
//! resolving to 127.0.0.1) even makes them same-origin. So every request must name a
//! loopback host (`localhost`, `127.x.x.x`, `[::1]`, any port; a rebinding name fails,
//! 403).
//!
//! **Token** (required to listen beyond loopback). Every request must carry the token:
//! `Authorization: Bearer TOKEN` (CLI, Prometheus, grpcurl) or the `hoist-token` cookie.
//! A browser gets the cookie by opening any page with `?token=TOKEN` once: the answer
//! sets it (HttpOnly, SameSite=Strict; and Secure when the page came over https, see
//! [`Guard::with_external_url`]) and redirects to the same page without the token in
//! the address. Any host name is accepted (the dashboard is reached through a
//! Service, an Ingress or a port-forward); a rebinding or cross-site page has no
//! cookie. `/livez` and `/readyz` stay open for the kubelet's probes.
//!
//! In both modes a request that is not GET/HEAD and carries an `Origin` must carry the
//! origin of the host it was sent to: a cross-site write fails here (403) before it
//! reaches the service. Clients that are not browsers send no `Origin` and pass.
//!
//! A request that names no host (no readable `Host` header, no `:authority`) is refused
//! in both modes: every rule here is about the host it was sent to.
//!
//! # Caveats
//! - Whoever passes acts with Hoist's own identity: an Install is created by Hoist's
//!   ServiceAccount, which may create ClusterPackages and Packages cluster-wide, and the
//!   operator will install whatever a configured repository's manifests hold. Treat
//!   access to the dashboard as access to that identity.
//! - The token travels in clear over plain HTTP: beyond loopback, put TLS in front
//!   (an Ingress) or reach the dashboard through `kubectl port-forward`.
//! - Without a token, a proxy that rewrites `Host` to a public name gets every request
//!   refused: use a token there.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The cookie a browser keeps the token in.
pub const COOKIE: &str = "hoist-token";

/// Who may talk to the dashboard: see the module doc.
#[derive(Clone, Default)]
pub struct Guard {
    token: Option<Arc<str>>,
    /// Users reach the dashboard at an `https://` address (`--external-url`): every
    /// cookie is `Secure`.
    external_https: bool,
}

impl Guard {
    /// `token`: `None` for loopback-only serving.
    pub fn new(token: Option<secrecy::SecretString>) -> Self {
        use secrecy::ExposeSecret;
        Self {
            token: token.map(|t| Arc::from(t.expose_secret())),
            external_https: false,
        }
    }

    /// The address users reach the dashboard at (`--external-url`), e.g. behind a
    /// TLS-terminating Ingress: when it is `https://`, the cookie is always `Secure`,
    /// whatever the proxy forwards.
    pub fn with_external_url(mut self, url: Option<&str>) -> Self {
        self.external_https = url.is_some_and(is_https_url);
        self
    }

    /// Whether the cookie set in answer to `req` must be `Secure`: the dashboard is
    /// reached over https (its external URL), or this request came over it.
    fn secure_cookie(&self, req: &Request) -> bool {
        self.external_https || came_over_https(req)
    }
}

/// Whether `url` is an `https://` address.
fn is_https_url(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// Whether `req` reached the dashboard over https: its own scheme (an HTTP/2
/// `:scheme`, or the server's own TLS should it have any; `hoist serve` speaks plain
/// HTTP), `X-Forwarded-Proto: https` or `Forwarded: proto=https` from a TLS-terminating
/// proxy.
///
/// The forwarding headers are trusted without knowing who sent them, and that is safe
/// here: they only ever add `Secure`, which makes the browser send the cookie over https
/// only. A client that forges them can only keep its own cookie from travelling in
/// clear; it gains nothing, and a missing header never removes `Secure` that another
/// rule set.
fn came_over_https(req: &Request) -> bool {
    if req
        .uri()
        .scheme()
        .is_some_and(|s| *s == axum::http::uri::Scheme::HTTPS)
    {
        return true;
    }
    let headers = req.headers();
    let forwarded_proto = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(k, v)| {
            k.trim().eq_ignore_ascii_case("proto")
                && v.trim().trim_matches('"').eq_ignore_ascii_case("https")
        });
    forwarded_proto || forwarded
}

/// The `Set-Cookie` value that hands a browser `token`.
fn cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// What the guard decided for one request.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    /// The token arrived in the address: set the cookie, go to this location.
    SetCookie(String),
    Refuse(StatusCode, String),
}

/// The axum middleware. See the module doc.
pub async fn guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    match guard.check(&req) {
        Verdict::Pass => next.run(req).await,
        Verdict::SetCookie(location) => {
            let token = guard.token.as_deref().unwrap_or_default();
            let cookie = cookie(token, guard.secure_cookie(&req));
            let mut res = StatusCode::SEE_OTHER.into_response();
            for (name, value) in [(header::SET_COOKIE, cookie), (header::LOCATION, location)] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    res.headers_mut().insert(name, v);
                }
            }
            res
        }
        Verdict::Refuse(code, why) => match super::grpc_content_type(&req) {
            // A gRPC client reads a status, not an HTTP error page: UNAUTHENTICATED or
            // PERMISSION_DENIED, in the content type it spoke (gRPC or gRPC-web).
            Some(content_type) => {
                let status = if code == StatusCode::UNAUTHORIZED {
                    tonic::Status::unauthenticated(why)
                } else if code == StatusCode::BAD_REQUEST {
                    tonic::Status::invalid_argument(why)
                } else {
                    tonic::Status::permission_denied(why)
                };
                super::grpc_error(status, Some(content_type))
            }
            None => (code, why).into_response(),
        },
    }
}

impl Guard {
    fn check(&self, req: &Request) -> Verdict {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        // Every rule below is about the host a request was sent to; one that names none
        // (or one that is not text) cannot be judged, so it is refused in both modes.
        let Some(host) = host else {
            return Verdict::Refuse(
                StatusCode::BAD_REQUEST,
                "a request must name its host (a readable Host header or :authority)".into(),
            );
        };
        match &self.token {
            None => {
                if !is_loopback_host(&host) {
                    return Verdict::Refuse(
                        StatusCode::FORBIDDEN,
                        format!(
                            "hoist answers only requests addressed to a loopback host \
                             (localhost, 127.0.0.1, [::1]), not {host:?}; open the address \
                             `hoist serve` printed"
                        ),
                    );
                }
            }
            Some(token) => {
                let path = req.uri().path();
                if matches!(path, "/livez" | "/readyz") {
                    return Verdict::Pass;
                }
                if let Some(given) = query_token(req.uri().query()) {
                    return if same(&given, token) {
                        Verdict::SetCookie(path.to_string())
                    } else {
                        Verdict::Refuse(
                            StatusCode::UNAUTHORIZED,
                            "wrong token in the address; ask whoever runs hoist serve for it"
                                .into(),
                        )
                    };
                }
                if !presented(req).is_some_and(|t| same(&t, token)) {
                    return Verdict::Refuse(
                        StatusCode::UNAUTHORIZED,
                        "this dashboard needs its token: open it once as \
                         http://HOST/?token=TOKEN (the browser keeps it in a cookie), or send \
                         Authorization: Bearer TOKEN"
                            .into(),
                    );
                }
            }
        }
        if matches!(*req.method(), Method::GET | Method::HEAD) {
            return Verdict::Pass;
        }
        let Some(origin) = req.headers().get(header::ORIGIN) else {
            return Verdict::Pass;
        };
        let origin = origin.to_str().unwrap_or_default();
        let same_origin = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(&host));
        if same_origin {
            Verdict::Pass
        } else {
            Verdict::Refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "writes are accepted only from the dashboard's own page (origin \
                     http://{host}), not from {origin:?}"
                ),
            )
        }
    }
}

/// The token a request presents: `Authorization: Bearer …`, else the cookie.
fn presented(req: &Request) -> Option<String> {
    let headers = req.headers();
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return auth.strip_prefix("Bearer ").map(str::to_string);
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_string())
        })
}

/// `token=…` from a query string (percent-decoding is not needed: tokens are printable
/// ASCII without `&`, `=` or `%`, as `hoist serve` requires).
fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token=").map(str::to_string))
}

/// Compares in time independent of where the first difference is.
fn same(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// Why a token cannot be used (it must fit in a cookie and an address unescaped).
pub fn check_token(token: &str) -> Result<(), String> {
    if token.len() < 16 {
        return Err("the token must be at least 16 characters".into());
    }
    if let Some(c) = token
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '&' | '=' | '%' | ';' | ',' | '"' | '\\'))
    {
        return Err(format!(
            "the token may not contain {c:?}: use letters, digits and -._~+/ (e.g. `openssl rand -hex 32`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    const TOKEN: &str = "0123456789abcdef0123";

    fn request(method: Method, uri: &str, host: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, host);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).expect("request")
    }

    fn refused(v: Verdict) -> StatusCode {
        match v {
            Verdict::Refuse(code, _) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
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
    fn without_a_token_a_rebinding_name_is_refused_even_for_reads() {
        let g = Guard::new(None);
        let req = request(Method::GET, "/", "evil.example:8080", &[]);
        assert_eq!(refused(g.check(&req)), StatusCode::FORBIDDEN);
    }

    #[test]
    fn writes_from_another_origin_are_refused_and_same_origin_or_none_pass() {
        let host = "127.0.0.1:8080";
        let g = Guard::new(None);
        let post = |origin: Option<&str>| {
            let headers: Vec<(&str, &str)> = origin.iter().map(|o| ("origin", *o)).collect();
            g.check(&request(Method::POST, "/x", host, &headers))
        };
        assert_eq!(post(Some("http://127.0.0.1:8080")), Verdict::Pass);
        assert_eq!(post(None), Verdict::Pass, "CLI, grpcurl");
        for other in [
            "http://evil.example",
            "http://127.0.0.1:9999",
            "http://localhost:8080",
            "null",
        ] {
            assert_eq!(refused(post(Some(other))), StatusCode::FORBIDDEN, "{other}");
        }
        // A page may read from anywhere it is allowed to load: GET with an Origin passes.
        let get = request(Method::GET, "/", host, &[("origin", "http://evil.example")]);
        assert_eq!(g.check(&get), Verdict::Pass);
    }

    #[test]
    fn with_a_token_every_request_needs_it_except_the_probes() {
        let g = Guard::new(Some(TOKEN.into()));
        let host = "hoist.example.com";
        assert_eq!(
            refused(g.check(&request(Method::GET, "/", host, &[]))),
            StatusCode::UNAUTHORIZED
        );
        for probe in ["/livez", "/readyz"] {
            assert_eq!(
                g.check(&request(Method::GET, probe, host, &[])),
                Verdict::Pass
            );
        }
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(
            g.check(&request(
                Method::GET,
                "/metrics",
                host,
                &[("authorization", &bearer)]
            )),
            Verdict::Pass,
            "any host name, with the token"
        );
        let cookie = format!("theme=dark; {COOKIE}={TOKEN}");
        assert_eq!(
            g.check(&request(Method::POST, "/x", host, &[("cookie", &cookie)])),
            Verdict::Pass
        );
        let wrong = format!("{COOKIE}={TOKEN}x");
        assert_eq!(
            refused(g.check(&request(Method::GET, "/", host, &[("cookie", &wrong)]))),
            StatusCode::UNAUTHORIZED
        );
        // Writes still need the dashboard's own origin.
        assert_eq!(
            refused(g.check(&request(
                Method::POST,
                "/x",
                host,
                &[("cookie", &cookie), ("origin", "http://evil.example")]
            ))),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn the_token_in_the_address_becomes_a_cookie_and_leaves_the_address() {
        let g = Guard::new(Some(TOKEN.into()));
        let uri = format!("/?token={TOKEN}");
        assert_eq!(
            g.check(&request(Method::GET, &uri, "h", &[])),
            Verdict::SetCookie("/".into())
        );
        assert_eq!(
            refused(g.check(&request(Method::GET, "/?token=nope", "h", &[]))),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn a_request_that_names_no_host_is_refused_in_both_modes() {
        for g in [Guard::new(None), Guard::new(Some(TOKEN.into()))] {
            let bare = Request::builder()
                .method(Method::POST)
                .uri("/hoist.v1.Dashboard/Install")
                .body(Body::empty())
                .expect("request");
            assert_eq!(refused(g.check(&bare)), StatusCode::BAD_REQUEST);
            let unreadable = Request::builder()
                .uri("/")
                .header(
                    header::HOST,
                    HeaderValue::from_bytes(b"caf\xe9").expect("bytes"),
                )
                .body(Body::empty())
                .expect("request");
            assert_eq!(refused(g.check(&unreadable)), StatusCode::BAD_REQUEST);
        }
        // HTTP/2 carries the host as :authority, which lands in the URI.
        let h2 = Request::builder()
            .uri("http://127.0.0.1:8080/")
            .body(Body::empty())
            .expect("request");
        assert_eq!(Guard::new(None).check(&h2), Verdict::Pass);
    }

    #[test]
    fn tokens_must_be_long_and_fit_a_cookie() {
        assert!(check_token(TOKEN).is_ok());
        assert!(check_token("short").is_err());
        assert!(check_token("0123456789abcdef;x").is_err());
        assert!(check_token("0123456789abcdef x").is_err());
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(same(TOKEN, TOKEN));
        assert!(!same("0123456789abcdef0124", TOKEN));
        assert!(!same("0123456789abcdef012", TOKEN));
    }

    #[test]
    fn the_cookie_is_secure_over_https_and_only_then() {
        let g = Guard::new(Some(TOKEN.into()));
        let get = |headers: &[(&str, &str)]| request(Method::GET, "/", "h", headers);
        assert!(!g.secure_cookie(&get(&[])), "plain http");
        assert!(!g.secure_cookie(&get(&[("x-forwarded-proto", "http")])));
        for https in [
            &[("x-forwarded-proto", "https")][..],
            &[("x-forwarded-proto", "HTTPS")],
            &[("x-forwarded-proto", "https, http")],
            &[("forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43")],
            &[("forwarded", "proto=\"https\"")],
        ] {
            assert!(g.secure_cookie(&get(https)), "{https:?}");
        }
        // HTTP/2's :scheme lands in the URI.
        let h2 = Request::builder()
            .uri("https://hoist.example.com/")
            .body(Body::empty())
            .expect("request");
        assert!(g.secure_cookie(&h2));
        // An https external URL makes every cookie Secure; an http one changes nothing.
        let external = g
            .clone()
            .with_external_url(Some("https://hoist.example.com"));
        assert!(external.secure_cookie(&get(&[])));
        let plain = g.with_external_url(Some("http://hoist.example.com"));
        assert!(!plain.secure_cookie(&get(&[])));
        assert!(cookie(TOKEN, true).ends_with("; HttpOnly; SameSite=Strict; Secure"));
        assert!(!cookie(TOKEN, false).contains("Secure"));
    }
}
