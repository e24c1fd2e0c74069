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
    let range_text = range;
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
    match highest(package, range_text, available) {
        Ok(version) => Need::Install {
            at,
            package: package.into(),
            version,
        },
        Err(why) => Need::Conflict(why),
    }
}

/// The highest of `available` in `range` (any when `None`), or why there is none.
pub fn highest(package: &str, range: Option<&str>, available: &[String]) -> Result<String, String> {
    let wanted = range.map_or_else(String::new, |r| format!(" {r}"));
    let parsed = range
        .map(Range::parse)
        .transpose()
        .map_err(|e| format!("{package}: {e}"))?;
    version::sorted(available.iter().map(String::as_str))
        .into_iter()
        .find(|v| parsed.as_ref().is_none_or(|r| v.matches(r)))
        .map(|v| v.as_str().to_string())
        .ok_or_else(|| {
            format!(
                "no version of {package}{wanted} is offered (offered: {})",
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.join(", ")
                }
            )
        })
}

/// Where component `name` (installed as `installed_name` when given) of `parent` goes:
/// a Package named `<parent>-<installedName|name>` in the parent's namespace, or, for
/// a ClusterPackage, in its package's `defaultNamespace` (Glasskube's rule). Err says
/// why it cannot go anywhere (terminal: the package itself is wrong).
pub fn component_at(
    parent: &InstallRef,
    parent_default_namespace: Option<&str>,
    name: &str,
    installed_name: Option<&str>,
) -> Result<InstallRef, String> {
    let suffix = installed_name.filter(|n| !n.is_empty()).unwrap_or(name);
    let install = format!("{}-{suffix}", parent.name);
    match (&parent.namespace, parent_default_namespace) {
        (Some(ns), _) => Ok(InstallRef::namespaced(ns, install)),
        (None, Some(ns)) if !ns.is_empty() => Ok(InstallRef::namespaced(ns, install)),
        (None, _) => Err(format!(
            "component {name}: {parent} has no defaultNamespace to install it into"
        )),
    }
}

/// The version a component should be at: the one installed while it still fits the
/// range (a component is not moved by a repository alone), else the highest in range.
pub fn component_version(
    package: &str,
    range: Option<&str>,
    installed: Option<&str>,
    available: &[String],
) -> Result<String, String> {
    let fits = |v: &str| match (
        range.map(Range::parse).transpose(),
        PackageVersion::parse(v),
    ) {
        (Ok(None), Ok(_)) => true,
        (Ok(Some(r)), Ok(p)) => p.matches(&r),
        _ => false,
    };
    match installed {
        Some(v) if fits(v) => Ok(v.to_string()),
        _ => highest(package, range, available),
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

    #[test]
    fn components_go_beside_their_parent_named_after_it() {
        let web = InstallRef::namespaced("team-a", "web");
        assert_eq!(
            component_at(&web, Some("ignored"), "kv-store", Some("cache")),
            Ok(InstallRef::namespaced("team-a", "web-cache"))
        );
        assert_eq!(
            component_at(&web, None, "kv-store", None),
            Ok(InstallRef::namespaced("team-a", "web-kv-store"))
        );
        let platform = InstallRef::cluster("platform");
        assert_eq!(
            component_at(&platform, Some("platform"), "kv-store", Some("")),
            Ok(InstallRef::namespaced("platform", "platform-kv-store"))
        );
        assert!(
            component_at(&platform, None, "kv-store", None)
                .is_err_and(|e| e.contains("no defaultNamespace"))
        );
    }

    #[test]
    fn a_component_keeps_its_version_while_it_fits_and_takes_the_highest_in_range_otherwise() {
        let offered = vec!["v1.2.0".to_string(), "v1.4.1+2".into(), "v2.0.0".into()];
        assert_eq!(
            component_version("kv", Some("1.x.x"), None, &offered),
            Ok("v1.4.1+2".into())
        );
        assert_eq!(
            component_version("kv", Some("1.x.x"), Some("v1.2.0"), &offered),
            Ok("v1.2.0".into())
        );
        assert_eq!(
            component_version("kv", Some("1.x.x"), Some("v2.0.0"), &offered),
            Ok("v1.4.1+2".into())
        );
        assert_eq!(
            component_version("kv", None, None, &offered),
            Ok("v2.0.0".into())
        );
        assert!(
            component_version("kv", Some(">=3"), None, &offered)
                .is_err_and(|e| e.contains("no version of kv >=3"))
        );
    }
}
