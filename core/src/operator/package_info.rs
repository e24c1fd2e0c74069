//! PackageInfo names: one object per (repository, package, version) in use, named as
//! Glasskube names them (`[repository--]package--version`), made a valid Kubernetes
//! name: lowercase, characters outside `[a-z0-9.-]` turned into `-` (a version's `+`
//! build revision too), at most 253 characters.
//!
//! Guarantee: two different inputs never get one name. Whenever a character had to be
//! replaced, or the name cut, it ends in a hash of the whole (so `v1.0.0+1`, a build
//! revision, and `v1.0.0-1`, a prerelease, stay apart).

/// The PackageInfo name for `package` at `version` from `repository` (`None`: the
/// default repository, unnamed as in Glasskube).
pub fn name(repository: Option<&str>, package: &str, version: &str) -> String {
    let raw = match repository {
        Some(r) if !r.is_empty() => format!("{r}--{package}--{version}"),
        _ => format!("{package}--{version}"),
    };
    let mut changed = false;
    let mut out: String = raw
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '-' => c,
            _ => {
                changed = true;
                match c.to_ascii_lowercase() {
                    l @ ('a'..='z' | '0'..='9') => l,
                    _ => '-',
                }
            }
        })
        .collect();
    let trimmed = out.trim_matches(|c| c == '-' || c == '.').to_string();
    changed |= trimmed.len() != out.len();
    out = if trimmed.is_empty() {
        "x".into()
    } else {
        trimmed
    };
    if changed || out.len() > 253 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in raw.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        out.truncate(253 - 9);
        out = format!("{}-{:08x}", out.trim_end_matches(['-', '.']), h as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_say_which_version_of_what() {
        assert_eq!(name(None, "hello-web", "v1.1.0"), "hello-web--v1.1.0");
        let revision = name(None, "hello-web", "v1.1.0+2");
        assert!(revision.starts_with("hello-web--v1.1.0-2-"), "{revision}");
        assert_ne!(
            revision,
            name(None, "hello-web", "v1.1.0-2"),
            "a build revision and a prerelease stay apart"
        );
        assert_ne!(
            name(Some("Samples"), "web", "v1"),
            name(Some("samples"), "web", "v1")
        );
        let long = name(Some(&"r".repeat(200)), &"p".repeat(100), "v1");
        assert!(long.len() <= 253, "{}", long.len());
        let other = name(Some(&"r".repeat(200)), &"p".repeat(100), "v2");
        assert_ne!(long, other, "cut names stay apart");
        assert!(
            long.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        );
    }
}
