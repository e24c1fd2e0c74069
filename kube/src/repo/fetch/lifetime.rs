//! How long a repository's answer may be served without asking again, as the
//! repository says (`Cache-Control`, `Expires`), for a private cache such as ours.
//!
//! # Guarantees
//! - `no-store`: the answer is not kept (not in memory past the call, not on disk).
//! - `no-cache` or `max-age=0`: kept, but revalidated on every lookup.
//! - `max-age=N` wins over `Expires`; `Expires` counts from the answer's `Date` (or now),
//!   and one that does not parse (`Expires: 0`) means already stale, as RFC 9111 says.
//! - Silence (neither header) leaves the choice to the configured TTL.

use std::time::{Duration, SystemTime};

/// What the repository allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Do not keep it.
    NoStore,
    /// Fresh this long after it was received.
    For(Duration),
    /// The repository said nothing: the configured TTL applies.
    Unspecified,
}

/// The lifetime from an answer's headers, received at `now`.
pub fn from_headers(
    cache_control: Option<&str>,
    expires: Option<&str>,
    date: Option<&str>,
    now: SystemTime,
) -> Lifetime {
    let directives: Vec<String> = cache_control
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    if directives.iter().any(|d| d == "no-store") {
        return Lifetime::NoStore;
    }
    if directives.iter().any(|d| d == "no-cache") {
        return Lifetime::For(Duration::ZERO);
    }
    let max_age = directives.iter().find_map(|d| {
        let v = d.strip_prefix("max-age=")?;
        // A malformed max-age is treated as stale, not ignored.
        Some(v.trim_matches('"').parse::<u64>().unwrap_or(0))
    });
    if let Some(secs) = max_age {
        return Lifetime::For(Duration::from_secs(secs));
    }
    let Some(expires) = expires else {
        return Lifetime::Unspecified;
    };
    let Ok(expires) = httpdate::parse_http_date(expires.trim()) else {
        return Lifetime::For(Duration::ZERO);
    };
    let sent = date
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or(now);
    Lifetime::For(expires.duration_since(sent).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        httpdate::parse_http_date(text).expect("date")
    }

    const NOW: &str = "Mon, 30 Nov 2026 10:00:00 GMT";

    #[test]
    fn no_store_wins_over_everything() {
        assert_eq!(
            from_headers(Some("max-age=600, no-store"), None, None, at(NOW)),
            Lifetime::NoStore
        );
    }

    #[test]
    fn max_age_wins_over_expires_and_no_cache_means_always_revalidate() {
        assert_eq!(
            from_headers(
                Some("public, max-age=60"),
                Some("Mon, 30 Nov 2026 11:00:00 GMT"),
                Some(NOW),
                at(NOW)
            ),
            Lifetime::For(Duration::from_secs(60))
        );
        assert_eq!(
            from_headers(Some("no-cache"), None, None, at(NOW)),
            Lifetime::For(Duration::ZERO)
        );
        assert_eq!(
            from_headers(Some("max-age=junk"), None, None, at(NOW)),
            Lifetime::For(Duration::ZERO)
        );
    }

    #[test]
    fn expires_counts_from_the_answers_date_and_garbage_is_already_stale() {
        assert_eq!(
            from_headers(
                None,
                Some("Mon, 30 Nov 2026 10:05:00 GMT"),
                Some(NOW),
                at("Mon, 30 Nov 2026 10:01:00 GMT")
            ),
            Lifetime::For(Duration::from_secs(300)),
            "from Date, not from our clock"
        );
        assert_eq!(
            from_headers(None, Some("0"), None, at(NOW)),
            Lifetime::For(Duration::ZERO)
        );
        assert_eq!(
            from_headers(None, Some("Mon, 30 Nov 2026 09:00:00 GMT"), None, at(NOW)),
            Lifetime::For(Duration::ZERO),
            "in the past"
        );
    }

    #[test]
    fn silence_leaves_it_to_the_configured_ttl() {
        assert_eq!(
            from_headers(Some("public"), None, None, at(NOW)),
            Lifetime::Unspecified
        );
        assert_eq!(
            from_headers(None, None, None, at(NOW)),
            Lifetime::Unspecified
        );
    }
}
