//! What a package's dependencies need, as Glasskube resolves them and with Hoist's
//! scope rule (`InstallRef::serves`): a dependency is met by an install of its package
//! that serves the dependent (a ClusterPackage serves everyone; a Package serves its own
//! namespace) at a version in the declared range; when none exists, the highest version
//! in the range is installed as a dependency (a ClusterPackage for a cluster-scoped
//! package, a Package beside a namespaced dependent for a namespaced one).

use crate::install::{InstallRef, Scope};
use crate::repo::version::{self, PackageVersion, Range};

/// An install of some package, as the dependent's pass sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub at: InstallRef,
    pub package: String,
    /// `spec.packageInfo.version`.
    pub version: String,
    pub state: State,
}

/// Where an install stands, from its conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Ready,
    Failed(String),
    Pending,
}

/// What one dependency needs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Met by this install.
    Met(InstallRef),
    /// An install exists but is not ready (why).
    Wait(InstallRef, String),
    /// Nothing serves it: install this package at this version here.
    Install {
        at: InstallRef,
        package: String,
        version: String,
    },
    /// Cannot be met as things are (terminal until something changes): why.
    Conflict(String),
}

/// The need for dependency `package` (range `range`) of `dependent`.
/// `scope` is the dependency package's scope; `available` its versions.
pub fn need(
    dependent: &InstallRef,
    package: &str,
    range: Option<&str>,
    scope: Scope,
    existing: &[Existing],
    available: &[String],
) -> Need {
    let wanted = range.map_or_else(String::new, |r| format!(" {r}"));
    let range = match range.map(Range::parse).transpose() {
        Ok(r) => r,
        Err(e) => return Need::Conflict(format!("dependency {package}: {e}")),
    };
    let fits = |v: &str| match (&range, PackageVersion::parse(v)) {
        (None, Ok(_)) => true,
        (Some(r), Ok(p)) => p.matches(r),
        (_, Err(_)) => false,
    };
    let serving: Vec<&Existing> = existing
        .iter()
        .filter(|e| e.package == package && e.at.serves(dependent))
        .collect();
    if let Some(e) = serving.iter().find(|e| fits(&e.version)) {
        return match &e.state {
            State::Ready => Need::Met(e.at.clone()),
            State::Pending => Need::Wait(e.at.clone(), "not ready yet".into()),
            State::Failed(why) => Need::Wait(e.at.clone(), format!("failed: {why}")),
        };
    }
    if let Some(e) = serving.first() {
        return Need::Conflict(format!(
            "{dependent} needs {package}{wanted}, but {} installs {}",
            e.at, e.version
        ));
    }
    let at = match (scope, &dependent.namespace) {
        (Scope::Cluster, _) => InstallRef::cluster(package),
        (Scope::Namespaced, Some(ns)) => InstallRef::namespaced(ns, package),
        (Scope::Namespaced, None) => {
            return Need::Conflict(format!(
                "{dependent} needs {package}, which installs into a namespace; a ClusterPackage can only depend on cluster-scoped packages"
            ));
        }
    };
    match version::sorted(available.iter().map(String::as_str))
        .into_iter()
        .find(|v| fits(v.as_str()))
    {
        Some(v) => Need::Install {
            at,
            package: package.into(),
            version: v.as_str().to_string(),
        },
        None => Need::Conflict(format!(
            "no version of {package}{wanted} is offered (offered: {})",
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(at: InstallRef, package: &str, version: &str, state: State) -> Existing {
        Existing {
            at,
            package: package.into(),
            version: version.into(),
            state,
        }
    }

    fn offered() -> Vec<String> {
        ["v7.0.15+1", "v7.2.4+1", "v8.0.0+1"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn a_missing_dependency_is_installed_at_the_highest_version_in_range_in_its_scope() {
        let guestbook = InstallRef::namespaced("team-a", "guestbook");
        assert_eq!(
            need(
                &guestbook,
                "redis-cache",
                Some(">=7.0.0, <8.0.0"),
                Scope::Namespaced,
                &[],
                &offered()
            ),
            Need::Install {
                at: InstallRef::namespaced("team-a", "redis-cache"),
                package: "redis-cache".into(),
                version: "v7.2.4+1".into()
            }
        );
        assert_eq!(
            need(
                &guestbook,
                "cert-issuer",
                None,
                Scope::Cluster,
                &[],
                &["v1.0.0+1".into()]
            ),
            Need::Install {
                at: InstallRef::cluster("cert-issuer"),
                package: "cert-issuer".into(),
                version: "v1.0.0+1".into()
            }
        );
        // Glasskube's `1.x.x` style ranges are semver ranges too.
        assert!(matches!(
            need(&guestbook, "redis-cache", Some("7.x.x"), Scope::Namespaced, &[], &offered()),
            Need::Install { version, .. } if version == "v7.2.4+1"
        ));
    }

    #[test]
    fn an_install_that_serves_the_dependent_is_used_waited_for_or_a_conflict() {
        let guestbook = InstallRef::namespaced("team-a", "guestbook");
        let here = |v: &str, s: State| {
            vec![existing(
                InstallRef::namespaced("team-a", "cache"),
                "redis-cache",
                v,
                s,
            )]
        };
        assert_eq!(
            need(
                &guestbook,
                "redis-cache",
                Some(">=7.0.0"),
                Scope::Namespaced,
                &here("v7.2.4+1", State::Ready),
                &offered()
            ),
            Need::Met(InstallRef::namespaced("team-a", "cache"))
        );
        assert!(matches!(
            need(
                &guestbook,
                "redis-cache",
                None,
                Scope::Namespaced,
                &here("v7.2.4+1", State::Pending),
                &offered()
            ),
            Need::Wait(..)
        ));
        let conflict = need(
            &guestbook,
            "redis-cache",
            Some(">=8.0.0"),
            Scope::Namespaced,
            &here("v7.2.4+1", State::Ready),
            &offered(),
        );
        assert!(
            matches!(&conflict, Need::Conflict(why) if why.contains("installs v7.2.4+1")),
            "{conflict:?}"
        );
        // An install in another namespace does not serve; a cluster-wide one does.
        let elsewhere = vec![existing(
            InstallRef::namespaced("team-b", "redis-cache"),
            "redis-cache",
            "v7.2.4+1",
            State::Ready,
        )];
        assert!(matches!(
            need(
                &guestbook,
                "redis-cache",
                None,
                Scope::Namespaced,
                &elsewhere,
                &offered()
            ),
            Need::Install { .. }
        ));
        let cluster = vec![existing(
            InstallRef::cluster("redis-cache"),
            "redis-cache",
            "v7.2.4+1",
            State::Ready,
        )];
        assert!(matches!(
            need(
                &guestbook,
                "redis-cache",
                None,
                Scope::Namespaced,
                &cluster,
                &offered()
            ),
            Need::Met(_)
        ));
    }

    #[test]
    fn impossible_needs_say_why() {
        let agent = InstallRef::cluster("agent");
        assert!(matches!(
            need(&agent, "redis-cache", None, Scope::Namespaced, &[], &offered()),
            Need::Conflict(why) if why.contains("ClusterPackage can only depend on cluster-scoped")
        ));
        assert!(matches!(
            need(&agent, "redis-cache", Some(">=9.0.0"), Scope::Cluster, &[], &offered()),
            Need::Conflict(why) if why.contains("no version of redis-cache")
        ));
    }
}
