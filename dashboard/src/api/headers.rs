//! Headers every answer carries, so no other page can frame the dashboard and no
//! script but the web app's own runs in it.
//!
//! # Guarantees
//! - Every response (the web app, gRPC-web, health, 404s and the guard's refusals)
//!   carries `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`,
//!   `Referrer-Policy: no-referrer` and a `Content-Security-Policy` with
//!   `frame-ancestors 'none'`: a site cannot frame the dashboard and overlay its
//!   Install button (clickjacking).
//! - Scripts run only from the dashboard's own origin, plus the inline loader trunk
//!   writes into `index.html`, allowed by the SHA-256 of its exact text (read from the
//!   `dist/` being served, so a rebuilt app is allowed without a code change);
//!   `'wasm-unsafe-eval'` lets the app compile its WebAssembly. A `javascript:` URL or an
//!   injected inline script does not run.
//!
//! # Caveats
//! - Images may come from any http(s) origin: package icons live on repositories'
//!   hosts. Styles allow `'unsafe-inline'` (the app sets style attributes); a style
//!   cannot run script.
//! - The hashes are taken when the server starts: rebuilding `dist/` under a running
//!   server needs a restart for the new loader to be allowed.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::path::Path;
use std::sync::Arc;

/// The headers added to every response.
#[derive(Clone)]
pub struct SecurityHeaders {
    headers: Arc<[(HeaderName, HeaderValue)]>,
}

impl SecurityHeaders {
    /// For the web app in `dist` (its `index.html` may be missing: then no inline script
    /// is allowed).
    pub fn for_dist(dist: &Path) -> Self {
        let hashes = std::fs::read_to_string(dist.join("index.html"))
            .map(|html| inline_script_hashes(&html))
            .unwrap_or_default();
        Self::with_policy(&content_security_policy(&hashes))
    }

    fn with_policy(csp: &str) -> Self {
        let fixed = |v: &'static str| HeaderValue::from_static(v);
        let mut headers = vec![
            (header::X_FRAME_OPTIONS, fixed("DENY")),
            (header::X_CONTENT_TYPE_OPTIONS, fixed("nosniff")),
            (header::REFERRER_POLICY, fixed("no-referrer")),
        ];
        // Built from base64 hashes and fixed text: always a valid header value.
        if let Ok(v) = HeaderValue::from_str(csp) {
            headers.push((header::CONTENT_SECURITY_POLICY, v));
        }
        Self {
            headers: headers.into(),
        }
    }
}

/// The policy, allowing the inline scripts with these `sha256-…` sources.
pub fn content_security_policy(script_hashes: &[String]) -> String {
    let mut script = String::from("'self' 'wasm-unsafe-eval'");
    for h in script_hashes {
        script.push_str(&format!(" '{h}'"));
    }
    format!(
        "default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: http: https:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `sha256-BASE64` of each inline `<script>` (one without `src`) in `html`, hashed over
/// its exact text as the browser does.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine;
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest =
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &body.as_bytes()[..close]);
            hashes.push(format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
            ));
        }
        rest = &body[close..];
    }
    hashes
}

/// The axum middleware adding the headers (outermost, so refusals carry them too).
pub async fn add(State(h): State<SecurityHeaders>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    for (name, value) in h.headers.iter() {
        res.headers_mut().insert(name.clone(), value.clone());
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_over_their_exact_text_and_external_ones_are_not() {
        let html = "<head><script type=\"module\">alert(1)</script>\
                    <script src=\"/app.js\"></script><script>\n x \n</script></head>";
        let hashes = inline_script_hashes(html);
        // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            hashes,
            vec![
                "sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=".to_string(),
                "sha256-aWTCEn7oB8nSMDDElSGadVrc1oQmAVmikseG4wQyenQ=".to_string(),
            ]
        );
    }

    #[test]
    fn the_policy_forbids_framing_and_allows_only_listed_inline_scripts() {
        let csp = content_security_policy(&["sha256-abc=".into()]);
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc='"),
            "{csp}"
        );
        let script = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .expect("a script-src");
        assert!(!script.contains("unsafe-inline"), "{script}");
        let h = SecurityHeaders::with_policy(&csp);
        assert_eq!(h.headers.len(), 4, "all four headers, the policy included");
    }
}
