//! What of a repository's URLs may reach a browser, and how a URL is shown.
//!
//! # Guarantees
//! - [`safe_link`] passes only `http` and `https` URLs with a host: a `javascript:`,
//!   `data:` or `file:` URL from a package.yaml never becomes a link or an image source.
//! - Neither function ever returns user info (`user:password@`).

/// `url` if it is http(s), without any `user:password@`; `None` for any other scheme or
/// a URL that does not parse.
pub fn safe_link(url: &str) -> Option<String> {
    let mut u = url::Url::parse(url.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return None;
    }
    // Only fails for URLs that cannot have a host, which http(s) ones always have.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    Some(u.into())
}

/// A URL shown as text (a repository's address, a log line): user info stripped,
/// otherwise as given.
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.into()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_links_pass_and_without_user_info() {
        assert_eq!(
            safe_link("https://example.com/docs").as_deref(),
            Some("https://example.com/docs")
        );
        assert_eq!(
            safe_link("http://me:secret@example.com/x").as_deref(),
            Some("http://example.com/x")
        );
        for bad in [
            "javascript:fetch('/hoist.v1.Dashboard/Install')",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "/relative/path",
            "not a url",
        ] {
            assert_eq!(safe_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_shown_address_loses_its_password_and_keeps_everything_else() {
        assert_eq!(
            shown_url("https://user:pw@repo.example/packages/"),
            "https://repo.example/packages/"
        );
        assert_eq!(
            shown_url("https://repo.example/p/"),
            "https://repo.example/p/"
        );
        assert_eq!(shown_url("not a url"), "not a url");
    }
}
