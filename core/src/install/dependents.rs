//! Who "needs" an install: the rule behind refusing to uninstall a package another
//! install depends on (and, next, behind removing dependencies nobody needs).

use super::target::InstallRef;
use crate::repo::format::PackageManifest;

/// One install as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub at: InstallRef,
    /// The package it installs (`spec.packageInfo.name`).
    pub package: String,
}

/// The installs whose manifests must be read to know whether removing `target` leaves
/// them without `target`'s package: those `target` serves and that no other install of
/// the same package serves. `others` excludes `target`.
pub fn to_check<'a>(target: &Install, others: &'a [Install]) -> Vec<&'a Install> {
    others
        .iter()
        .filter(|dependent| {
            let still_served = others
                .iter()
                .any(|i| i.package == target.package && i.at.serves(&dependent.at));
            !still_served && target.at.serves(&dependent.at)
        })
        .collect()
}

/// If `manifest` (the dependent's, at its installed version) depends on `package`:
/// `"RESOURCE (needs PACKAGE RANGE)"`, the words a refusal names it with.
pub fn needs(dependent: &InstallRef, manifest: &PackageManifest, package: &str) -> Option<String> {
    let d = manifest.dependencies.iter().find(|d| d.name == package)?;
    Some(match &d.version {
        Some(range) => format!("{dependent} (needs {package} {range})"),
        None => format!("{dependent} (needs {package})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(ns: Option<&str>, name: &str, package: &str) -> Install {
        Install {
            at: InstallRef::new(ns, name),
            package: package.into(),
        }
    }

    fn checked(target: &Install, others: &[Install]) -> Vec<String> {
        to_check(target, others)
            .iter()
            .map(|i| i.at.to_string())
            .collect()
    }

    #[test]
    fn only_dependents_left_without_any_install_of_the_package_are_checked() {
        let target = install(None, "redis", "redis");
        let others = vec![
            install(Some("a"), "app", "guestbook"),
            install(Some("b"), "app", "guestbook"),
            // b keeps a redis of its own: its app is still served.
            install(Some("b"), "redis", "redis"),
        ];
        assert_eq!(checked(&target, &others), ["Package a/app"]);
    }

    #[test]
    fn a_namespaced_install_is_needed_only_in_its_namespace() {
        let target = install(Some("a"), "redis", "redis");
        let others = vec![
            install(Some("a"), "app", "guestbook"),
            install(Some("c"), "app", "guestbook"),
            install(None, "cluster-app", "guestbook"),
        ];
        assert_eq!(checked(&target, &others), ["Package a/app"]);
    }

    #[test]
    fn the_refusal_names_the_dependent_and_the_range_it_asks_for() {
        let m: PackageManifest = crate::repo::format::parse(
            "package.yaml",
            b"name: guestbook\ndependencies:\n- name: redis\n  version: \">=7.0.0\"\n- name: ingress\n",
        )
        .expect("manifest");
        let at = InstallRef::namespaced("a", "app");
        assert_eq!(
            needs(&at, &m, "redis").as_deref(),
            Some("Package a/app (needs redis >=7.0.0)")
        );
        assert_eq!(
            needs(&at, &m, "ingress").as_deref(),
            Some("Package a/app (needs ingress)")
        );
        assert_eq!(needs(&at, &m, "velero"), None);
    }
}
