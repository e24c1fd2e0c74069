//! PackageInfo names: one object per (repository, package, version) in use, named as
//! Glasskube names them (`[repository--]package--version`), made a valid Kubernetes
//! name: lowercase, characters outside `[a-z0-9.-]` turned into `-` (a version's `+`
//! build revision too), at most 253 characters (a longer one is cut and ends in a hash
//! of the whole, so two long names never collide).

/// The PackageInfo name for `package` at `version` from `repository` (`None`: the
/// default repository, unnamed as in Glasskube).
pub fn name(repository: Option<&str>, package: &str, version: &str) -> String {
    let raw = match repository {
        Some(r) if !r.is_empty() => format!("{r}--{package}--{version}"),
        _ => format!("{package}--{version}"),
    };
    let mut out: String = raw
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.' | '-') => c,
            _ => '-',
        })
        .collect();
    let trimmed = out.trim_matches(|c| c == '-' || c == '.').to_string();
    out = if trimmed.is_empty() {
        "x".into()
    } else {
        trimmed
    };
    if out.len() > 253 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in raw.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        out.truncate(253 - 17);
        out = format!("{}-{h:016x}", out.trim_end_matches(['-', '.']));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_say_which_version_of_what() {
        assert_eq!(name(None, "hello-web", "v1.1.0+2"), "hello-web--v1.1.0-2");
        assert_eq!(
            name(Some("Hoist-Samples"), "hello-web", "v1.0.0"),
            "hoist-samples--hello-web--v1.0.0"
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
