//! RFC 3339 (UTC, whole seconds) to the core's Unix seconds and back.

use hoist_core::fleet::Seconds;

pub fn to_rfc3339(t: Seconds) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn parse(s: &str) -> Option<Seconds> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp())
}

pub fn now() -> Seconds {
    chrono::Utc::now().timestamp()
}

/// `30s`, `15m`, `24h`, `7d` (or a bare number of seconds); `0` is zero.
pub fn parse_duration(s: &str) -> Option<Seconds> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: Seconds = n.parse().ok()?;
    Some(match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return None,
    })
}

/// A retention for clap: `400d`, `12h`…; `0` keeps records forever (`None`).
pub fn parse_retention(s: &str) -> Result<Option<Seconds>, String> {
    match parse_duration(s) {
        Some(0) => Ok(None),
        Some(n) => Ok(Some(n)),
        None => Err(format!(
            "invalid retention {s:?}: expected e.g. 400d, 12h or 0 (forever)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_durations_parse() {
        assert_eq!(to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse(&to_rfc3339(1_700_000_000)), Some(1_700_000_000));
        assert_eq!(parse_duration("24h"), Some(86400));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("1w"), None);
    }
}
