//! The DNS-rebinding and cross-site guard of a devcluster listening on loopback.
//!
//! A web page in a developer's browser can reach `127.0.0.1:PORT` two ways: through a
//! name it controls that it re-points at 127.0.0.1 (DNS rebinding: the browser then
//! sends `Host: evil.example:PORT`), or directly, cross-site (the browser sends
//! `Origin: https://evil.example`; a "simple" POST needs no preflight, so its side
//! effect happens even though the page cannot read the answer). Kubernetes clients
//! send neither: their `Host` is the address in the kubeconfig and they send no
//! `Origin`.
//!
//! # Guarantees
//! - On a loopback listener, a request is answered only when its `Host` (or HTTP/2
//!   `:authority`) is `localhost`, an address in 127.0.0.0/8 or `[::1]`, with any port,
//!   and its `Origin`, if any, is `http(s)://` that very host and port (same origin: a
//!   page of another local server, on another port, is refused). Anything else is a 403
//!   that says why, before authentication, routing or faults: nothing is read,
//!   written or counted.
//! - A request with neither header (HTTP/1.0) is allowed: no browser sends one.
//!
//! # Caveats
//! - A listener on another address (`--listen 0.0.0.0:6443`, chosen by whoever runs
//!   it) is not guarded: its users address it by names devcluster cannot know.

use crate::error::ApiError;
use axum::http::{HeaderMap, Uri, header};
use std::net::IpAddr;

/// Whether `host` (a `Host` header value: a name or address, an optional port) names
/// this machine's loopback interface.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[::1]` or `[::1]:8080`.
        match rest.split_once(']') {
            Some((addr, port)) if port.is_empty() || port.starts_with(':') => addr,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            Some(_) => return false,
            None => host,
        }
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a request that a web page, not a Kubernetes client, addressed to a
/// loopback listener (see the module's guarantees).
pub fn check(headers: &HeaderMap, uri: &Uri) -> Result<(), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.as_str().to_string()));
    if let Some(host) = &host
        && !is_loopback_host(host)
    {
        return Err(ApiError::forbidden(format!(
            "forbidden: host {host:?} is not a loopback name or address; devcluster listens on loopback and answers only requests addressed to it (a guard against DNS rebinding)"
        )));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let text = origin.to_str().unwrap_or("");
        let origin_host = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"));
        // Same origin only: a page served by devcluster's own address. Another port on
        // loopback is another origin (another local server's page), and refused too.
        let same = match (origin_host, &host) {
            (Some(o), Some(h)) => is_loopback_host(o) && o.eq_ignore_ascii_case(h),
            (Some(o), None) => is_loopback_host(o),
            (None, _) => false,
        };
        if !same {
            return Err(ApiError::forbidden(format!(
                "forbidden: a request from the web page at origin {text:?}; devcluster answers Kubernetes clients, not pages of other origins"
            )));
        }
    }
    Ok(())
}
