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

/// What stands at a component's place (see [`component_at`]) as the parent's pass
/// finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The package it installs (`spec.packageInfo.name`).
    pub package: String,
    /// It carries the as-dependency mark (installed by the operator for someone).
    pub as_dependency: bool,
    /// Its spec is the one the component wants (version, values, not suspended).
    pub as_wanted: bool,
    /// Where it stands, from its conditions.
    pub state: State,
}

/// The facts a component's step is decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentFacts<'a> {
    /// The package whose component it is.
    pub parent: &'a InstallRef,
    /// Where the component goes ([`component_at`]).
    pub at: &'a InstallRef,
    /// The component's package.
    pub package: &'a str,
    /// The version it is wanted at ([`component_version`]).
    pub version: &'a str,
    /// That version of its package is cluster-scoped.
    pub cluster_scoped: bool,
    /// What stands at its place; `None`: nothing.
    pub found: Option<&'a Found>,
}

/// What the parent's pass does about one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentStep {
    /// Not ours, or not installable as a component: the parent fails with this
    /// (terminal until something changes).
    Refuse(String),
    /// Nothing there: create the component's Package (marked as a dependency and as
    /// the parent's component), and wait for it.
    Create,
    /// Ours, but not as wanted: correct its spec, and wait for it.
    Correct,
    /// Ours and as wanted: wait for it (why), or `None`: it is ready.
    Wait(Option<String>),
}

impl ComponentStep {
    /// What the parent waits for, said as its status says it; `None`: nothing.
    pub fn waiting(&self, facts: &ComponentFacts<'_>) -> Option<String> {
        let (at, package, version) = (facts.at, facts.package, facts.version);
        match self {
            Self::Refuse(_) | Self::Wait(None) => None,
            Self::Create => Some(format!("{at}: installing {package} {version}")),
            Self::Correct => Some(format!("{at}: updating to {package} {version}")),
            Self::Wait(Some(why)) => Some(format!("{at}: {why}")),
        }
    }
}

/// Whether what stands at component `package`'s place `at` is `parent`'s to take:
/// nothing, or an install of that package the operator made as a dependency. Err says
/// whose it is instead (someone else's install is never taken over).
pub fn component_claim(
    parent: &InstallRef,
    at: &InstallRef,
    package: &str,
    found: Option<&Found>,
) -> Result<(), String> {
    match found {
        Some(f) if !f.as_dependency || f.package != package => Err(format!(
            "component {package} would be installed as {at}, but {at} exists and was not installed for {parent} (it installs {}); rename or remove it",
            f.package
        )),
        _ => Ok(()),
    }
}

/// What the parent's pass does about one component (see [`ComponentStep`]): refused
/// when its place is not ours ([`component_claim`]) or its package is cluster-scoped;
/// else created, corrected, or waited for until ready.
///
/// Caveat: the caller may check [`component_claim`] first, before it looks up the
/// version and scope (a refusal then costs no lookup); this decision checks it again.
pub fn component_step(facts: &ComponentFacts<'_>) -> ComponentStep {
    if let Err(why) = component_claim(facts.parent, facts.at, facts.package, facts.found) {
        return ComponentStep::Refuse(why);
    }
    if facts.cluster_scoped {
        return ComponentStep::Refuse(format!(
            "component {}: it is a cluster-scoped package; components are installed as Packages",
            facts.package
        ));
    }
    match facts.found {
        None => ComponentStep::Create,
        Some(f) if !f.as_wanted => ComponentStep::Correct,
        Some(f) => ComponentStep::Wait(match &f.state {
            State::Ready => None,
            State::Pending => Some("not ready yet".into()),
            State::Failed(why) => Some(format!("failed: {why}")),
        }),
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

    #[test]
    fn a_component_is_created_corrected_or_waited_for_only_where_its_place_is_ours() {
        let parent = InstallRef::namespaced("team", "web");
        let at = InstallRef::namespaced("team", "web-kv");
        let found = |package: &str, as_dependency: bool, as_wanted: bool, state: State| Found {
            package: package.into(),
            as_dependency,
            as_wanted,
            state,
        };
        let refused = |why: &str| ComponentStep::Refuse(why.into());
        let not_ours = "component kv would be installed as Package team/web-kv, but Package team/web-kv exists and was not installed for Package team/web (it installs {}); rename or remove it";
        // (what stands there, cluster-scoped, the step, what the parent waits for, why)
        type Case = (
            Option<Found>,
            bool,
            ComponentStep,
            Option<&'static str>,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (
                None,
                false,
                ComponentStep::Create,
                Some("Package team/web-kv: installing kv v1.2.0"),
                "nothing there",
            ),
            (
                Some(found("kv", true, false, State::Ready)),
                false,
                ComponentStep::Correct,
                Some("Package team/web-kv: updating to kv v1.2.0"),
                "ours, at another version or values",
            ),
            (
                Some(found("kv", true, true, State::Ready)),
                false,
                ComponentStep::Wait(None),
                None,
                "ours and ready",
            ),
            (
                Some(found("kv", true, true, State::Pending)),
                false,
                ComponentStep::Wait(Some("not ready yet".into())),
                Some("Package team/web-kv: not ready yet"),
                "ours, on its way",
            ),
            (
                Some(found("kv", true, true, State::Failed("boom".into()))),
                false,
                ComponentStep::Wait(Some("failed: boom".into())),
                Some("Package team/web-kv: failed: boom"),
                "ours, failed",
            ),
            (
                Some(found("kv", false, true, State::Ready)),
                false,
                refused(&not_ours.replace("{}", "kv")),
                None,
                "someone's own install of the same package",
            ),
            (
                Some(found("db", true, true, State::Ready)),
                false,
                refused(&not_ours.replace("{}", "db")),
                None,
                "another package's dependency",
            ),
            (
                Some(found("db", false, false, State::Ready)),
                true,
                refused(&not_ours.replace("{}", "db")),
                None,
                "not ours comes before cluster-scoped",
            ),
            (
                None,
                true,
                refused(
                    "component kv: it is a cluster-scoped package; components are installed as Packages",
                ),
                None,
                "a cluster-scoped component",
            ),
        ];
        for (found, cluster_scoped, step, waiting, why) in &cases {
            let facts = ComponentFacts {
                parent: &parent,
                at: &at,
                package: "kv",
                version: "v1.2.0",
                cluster_scoped: *cluster_scoped,
                found: found.as_ref(),
            };
            let got = component_step(&facts);
            assert_eq!(got, *step, "{why}");
            assert_eq!(got.waiting(&facts).as_deref(), *waiting, "{why}: waiting");
            assert_eq!(
                component_claim(&parent, &at, "kv", found.as_ref()).is_ok(),
                !matches!(step, ComponentStep::Refuse(_)) || *cluster_scoped && found.is_none(),
                "{why}: claim"
            );
        }
    }
}
