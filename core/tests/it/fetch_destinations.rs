//! Property tests of where a repository's content may send a fetch (issue 20): no
//! generated package name or version, once accepted as a path segment, changes the
//! origin fetched or leaves the repository's path; no generated manifest URL reaches a
//! private address of another host or downgrades https.

use hoist_core::repo::destinations::{
    check_manifest_url, is_private, package_segment, version_segment,
};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Url;

/// Strings built from what changes a URL (`..`, `/`, `?`, `#`, `%`, `@`, `:`, `\`,
/// spaces, unicode) mixed with what a name or version is made of.
fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "z",
        "0",
        "9",
        "-",
        ".",
        "..",
        "/",
        "?",
        "#",
        "%2e",
        "%2f",
        "%",
        "@",
        ":",
        "\\",
        " ",
        "+",
        "v1",
        "1.2.3",
        "é",
        "A",
        "\u{0}",
        "//evil.example",
        "http://",
        "~",
    ]);
    prop::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

/// The repository bases a package's files hang off (a path prefix, or the root).
fn base() -> impl Strategy<Value = Url> {
    prop::sample::select(vec![
        "https://packages.example.com/",
        "https://example.com/glasskube/packages/",
        "http://127.0.0.1:8080/repo/",
    ])
    .prop_map(|s| Url::parse(s).expect("a base"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn an_accepted_name_and_version_never_change_the_origin_or_leave_the_repository(
        base in base(),
        name in hostile(),
        version in hostile(),
    ) {
        if let (Ok(n), Ok(v)) = (package_segment(&name), version_segment(&version)) {
            for file in [format!("{n}/versions.yaml"), format!("{n}/{v}/package.yaml")] {
                let url = base.join(&file).expect("joins");
                prop_assert_eq!(url.origin(), base.origin(), "{}", url);
                prop_assert!(url.path().starts_with(base.path()), "{}", url);
                prop_assert!(url.query().is_none() && url.fragment().is_none(), "{}", url);
                // Exactly the segments given: nothing normalised away or added.
                let rest = &url.path()[base.path().len()..];
                prop_assert_eq!(rest, file.as_str());
            }
        }
    }

    #[test]
    fn a_manifest_url_never_reaches_a_private_address_of_another_host_or_downgrades(
        repo in base(),
        v4 in any::<u32>(),
        v6 in any::<u128>(),
        which in 0..4u8,
        https in any::<bool>(),
    ) {
        let ip = match which {
            0 => IpAddr::V4(Ipv4Addr::from(v4)),
            1 => IpAddr::V6(Ipv6Addr::from(v6)),
            // Mapped IPv4, and the well-known private ranges, more often than chance.
            2 => IpAddr::V6(Ipv4Addr::from(v4).to_ipv6_mapped()),
            _ => IpAddr::V4(Ipv4Addr::new(
                [127, 10, 169, 172, 192, 100][(v4 % 6) as usize],
                (v4 >> 8) as u8,
                (v4 >> 16) as u8,
                (v4 >> 24) as u8,
            )),
        };
        let host = match ip {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        };
        let scheme = if https { "https" } else { "http" };
        let target = Url::parse(&format!("{scheme}://{host}/m.yaml")).expect("a URL");
        let verdict = check_manifest_url(&repo, &target, false);
        let same_host = repo.host() == target.host();
        if repo.scheme() == "https" && !https {
            prop_assert!(verdict.is_err(), "downgrade allowed: {}", target);
        } else if is_private(ip) && !same_host {
            prop_assert!(verdict.is_err(), "private address allowed: {}", target);
        } else {
            prop_assert!(verdict.is_ok(), "{} refused: {:?}", target, verdict);
        }
    }
}
