//! Where a repository's content may send Hoist: the rules that keep names, versions and
//! manifest URLs written by a repository author (or a tenant's Package) from choosing
//! what is fetched beyond the package's own files (issue 20).
//!
//! # Guarantees
//! - A package name becomes a path segment only when it is a DNS-1123 label, and a
//!   version only when it is a semantic version (`v` allowed) of the characters
//!   `0-9A-Za-z.+-`: nothing a repository lists can add `..`, `/`, `?`, `#` or `%` to
//!   a URL ([`package_segment`], [`version_segment`]).
//! - A manifest URL keeps the repository's scheme or a stronger one (an https
//!   repository's manifests are https), and names no address on this machine, its
//!   link-local network (cloud metadata at 169.254.169.254), a private or shared range
//!   (where cluster Services live), unless the repository itself is on that host or the
//!   operator was started with `--allow-private-manifest-hosts` ([`check_manifest_url`],
//!   [`is_private`]). Names that resolve to such addresses are the resolver's to refuse
//!   (the backend's fetch client does, with the same rule).
//!
//! # Caveats
//! - A cluster's service range is not known here; the private ranges cover the usual
//!   ones (10.96.0.0/12 is in 10.0.0.0/8), not a public range a cluster chose.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a name, version or URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error(
        "package name {0:?} is not a DNS-1123 label (a-z, 0-9 and -, at most 63, starting and ending with a letter or digit)"
    )]
    PackageName(String),
    #[error("version {0:?} is not a semantic version (like v1.2.3+1)")]
    Version(String),
    #[error("a manifest of an https repository must be fetched over https, not {0}")]
    Downgrade(String),
    #[error(
        "{host} is a loopback, link-local, private or unspecified address; manifests are fetched from there only when the repository is on that host or Hoist runs with --allow-private-manifest-hosts"
    )]
    PrivateAddress { host: String },
}

/// `name` as a URL path segment, if it is a DNS-1123 label.
/// Whether `s` is a DNS-1123 label, as Kubernetes names packages and namespaces: at
/// most 63 of `a-z`, `0-9`, `-`, starting and ending with a letter or digit.
pub fn dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

pub fn package_segment(name: &str) -> Result<&str, DestinationError> {
    if dns_label(name) {
        Ok(name)
    } else {
        Err(DestinationError::PackageName(super::links::shown_url(name)))
    }
}

/// `version` as a URL path segment, if it is a semantic version of safe characters.
pub fn version_segment(version: &str) -> Result<&str, DestinationError> {
    let safe = !version.is_empty()
        && version.len() <= 128
        && version
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-'));
    if safe && super::version::PackageVersion::parse(version).is_ok() {
        Ok(version)
    } else {
        Err(DestinationError::Version(super::links::shown_url(version)))
    }
}

/// Whether `ip` is an address a repository's content must not make Hoist fetch from:
/// loopback, link-local, unspecified, private (RFC 1918, unique local), shared
/// (100.64.0.0/10), broadcast and multicast, also when written as an IPv4-mapped IPv6
/// address.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => private_v6(v6),
        },
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_private()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xffc0) == 0xfe80
        || (first & 0xfe00) == 0xfc00
}

/// The host of `url` as an IP address, when it is written as one.
pub fn ip_literal(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Whether a manifest at `target` may be fetched for a repository at `repository`:
/// its scheme no weaker, and no private address written into it unless it is the
/// repository's own host or `allow_private` (see the module's guarantees).
pub fn check_manifest_url(
    repository: &url::Url,
    target: &url::Url,
    allow_private: bool,
) -> Result<(), DestinationError> {
    if repository.scheme() == "https" && target.scheme() != "https" {
        return Err(DestinationError::Downgrade(target.scheme().to_string()));
    }
    if allow_private || repository.host() == target.host() {
        return Ok(());
    }
    match ip_literal(target) {
        Some(ip) if is_private(ip) => Err(DestinationError::PrivateAddress {
            host: target.host_str().unwrap_or("").to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_are_kubernetes_names() {
        for ok in ["a", "web", "cert-manager", "a1", "0ab", &"a".repeat(63)] {
            assert!(dns_label(ok), "{ok}");
        }
        for bad in ["", "Web", "web_app", "-a", "a-", "a.b", &"a".repeat(64)] {
            assert!(!dns_label(bad), "{bad}");
        }
    }

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).expect("url")
    }

    #[test]
    fn names_and_versions_that_could_change_a_path_are_refused() {
        for bad in ["..", "a/b", "a?x", "a#x", "a%2e", "A", "-a", "a-", "", "é"] {
            assert!(package_segment(bad).is_err(), "{bad:?}");
        }
        assert_eq!(package_segment("hello-web"), Ok("hello-web"));
        for bad in [
            "../x",
            "v1.0.0/..",
            "v1.0.0?x",
            "v1.0.0#",
            "1.0",
            "v1.0.0%2f",
            "",
        ] {
            assert!(version_segment(bad).is_err(), "{bad:?}");
        }
        for good in ["v1.1.0+2", "1.0.0", "v2.0.0-rc.1+3"] {
            assert_eq!(version_segment(good), Ok(good));
        }
    }

    #[test]
    fn private_addresses_are_the_ones_a_repository_must_not_reach() {
        for ip in [
            "127.0.0.1",
            "169.254.169.254",
            "10.96.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["1.1.1.1", "140.82.112.3", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn manifests_keep_the_repositorys_scheme_and_stay_off_private_addresses() {
        let repo = u("https://repo.example/packages/");
        assert!(check_manifest_url(&repo, &u("https://cdn.example/a.yaml"), false).is_ok());
        assert_eq!(
            check_manifest_url(&repo, &u("http://cdn.example/a.yaml"), false),
            Err(DestinationError::Downgrade("http".into()))
        );
        assert!(matches!(
            check_manifest_url(&repo, &u("https://169.254.169.254/latest"), false),
            Err(DestinationError::PrivateAddress { .. })
        ));
        assert!(matches!(
            check_manifest_url(&repo, &u("https://[::ffff:7f00:1]/x"), false),
            Err(DestinationError::PrivateAddress { .. })
        ));
        assert!(check_manifest_url(&repo, &u("https://169.254.169.254/latest"), true).is_ok());
        // A repository on loopback (the demo's) may list manifests on loopback.
        let local = u("http://127.0.0.1:8080/");
        assert!(check_manifest_url(&local, &u("http://127.0.0.1:9090/a.yaml"), false).is_ok());
        assert!(check_manifest_url(&local, &u("http://10.0.0.1/a.yaml"), false).is_err());
    }
}
