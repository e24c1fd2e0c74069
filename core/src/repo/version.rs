//! Package versions: semver, with build metadata read as a numeric revision
//! (`v1.17.0+2` is newer than `v1.17.0+1`), as Glasskube repositories number them.

use std::cmp::Ordering;

/// A parsed package version. Ordered by semver precedence, then by revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageVersion {
    semver: semver::Version,
    revision: u64,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a package version (expected semver such as v1.2.3+1): {reason}")]
pub struct VersionError {
    pub text: String,
    pub reason: String,
}

impl PackageVersion {
    /// Parses `1.2.3`, `v1.2.3`, `v1.2.3-rc.1+4`. Build metadata that is not a number
    /// counts as revision 0.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let trimmed = text.trim();
        let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let semver = semver::Version::parse(bare).map_err(|e| VersionError {
            text: text.into(),
            reason: e.to_string(),
        })?;
        let revision = semver.build.as_str().parse().unwrap_or(0);
        Ok(Self {
            semver,
            revision,
            text: trimmed.to_string(),
        })
    }

    /// The version as written in the repository.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this version is in `range` (build metadata is ignored, as semver says).
    pub fn matches(&self, range: &Range) -> bool {
        range.0.matches(&self.semver)
    }
}

/// A dependency's version range, such as `>=1.2.0, <2.0.0` (a leading `v` on any
/// bound is accepted, as repositories write versions with one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range(semver::VersionReq);

impl Range {
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let cleaned: String = text
            .split(',')
            .map(|part| {
                let p = part.trim();
                let op_end = p
                    .find(|c: char| c.is_ascii_digit() || c == 'v')
                    .unwrap_or(0);
                let (op, rest) = p.split_at(op_end);
                format!("{op}{}", rest.strip_prefix('v').unwrap_or(rest))
            })
            .collect::<Vec<_>>()
            .join(", ");
        semver::VersionReq::parse(&cleaned)
            .map(Range)
            .map_err(|e| VersionError {
                text: text.into(),
                reason: e.to_string(),
            })
    }
}

/// Every version of `versions` that parses, highest first.
pub fn sorted<'a>(versions: impl IntoIterator<Item = &'a str>) -> Vec<PackageVersion> {
    let mut all: Vec<PackageVersion> = versions
        .into_iter()
        .filter_map(|v| PackageVersion::parse(v).ok())
        .collect();
    all.sort_by(|a, b| b.cmp(a));
    all
}

impl Ord for PackageVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.semver
            .cmp_precedence(&other.semver)
            .then(self.revision.cmp(&other.revision))
    }
}

impl PartialOrd for PackageVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The highest of `versions`, skipping (and returning) the ones that do not parse.
pub fn latest<'a>(
    versions: impl IntoIterator<Item = &'a str>,
) -> (Option<PackageVersion>, Vec<VersionError>) {
    let mut bad = Vec::new();
    let best = versions
        .into_iter()
        .filter_map(|v| PackageVersion::parse(v).map_err(|e| bad.push(e)).ok())
        .max();
    (best, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PackageVersion {
        PackageVersion::parse(s).expect(s)
    }

    #[test]
    fn build_metadata_is_a_numeric_revision() {
        assert!(v("v1.17.0+2") > v("v1.17.0+1"));
        assert!(v("v1.17.0+10") > v("v1.17.0+9"), "numeric, not lexical");
        assert!(v("v1.18.0+1") > v("v1.17.0+9"));
        assert!(v("v1.17.0") < v("v1.17.0+1"));
        assert!(v("1.0.0-rc.1+5") < v("1.0.0+1"), "pre-releases come first");
    }

    #[test]
    fn latest_skips_what_does_not_parse_and_says_so() {
        let (best, bad) = latest(["v1.0.0+1", "garbage", "v1.2.0+1", "v1.2.0+3"]);
        assert_eq!(
            best.map(|b| b.as_str().to_string()),
            Some("v1.2.0+3".into())
        );
        assert_eq!(bad.len(), 1);
        assert!(bad[0].to_string().contains("garbage"));
    }

    #[test]
    fn ranges_accept_a_leading_v_and_ignore_revisions() {
        let r = Range::parse(">=v1.0.0, <2.0.0").expect("range");
        assert!(v("v1.0.0+7").matches(&r));
        assert!(v("v1.9.3+1").matches(&r));
        assert!(!v("v2.0.0+1").matches(&r));
        assert!(!v("v0.9.0+1").matches(&r));
        assert!(Range::parse("not a range").is_err());
    }

    #[test]
    fn sorted_puts_the_newest_first_and_drops_garbage() {
        let s = sorted(["v1.0.0+1", "x", "v1.1.0+2", "v1.1.0+1"]);
        let texts: Vec<&str> = s.iter().map(PackageVersion::as_str).collect();
        assert_eq!(texts, ["v1.1.0+2", "v1.1.0+1", "v1.0.0+1"]);
    }
}
