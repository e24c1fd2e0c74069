//! Where an install lives, and the package scope rule.

use crate::repo::format::PackageManifest;

/// An install: a ClusterPackage (no namespace) or a Package in a namespace. The one
/// type the install, upgrade and uninstall rules (and the operator) name installs by,
/// instead of branching on "cluster or namespaced" in each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstallRef {
    /// `None` for a ClusterPackage.
    pub namespace: Option<String>,
    pub name: String,
}

impl InstallRef {
    pub fn cluster(name: impl Into<String>) -> Self {
        Self {
            namespace: None,
            name: name.into(),
        }
    }

    pub fn namespaced(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// From a namespace that may be absent or empty (empty: cluster-scoped).
    pub fn new(namespace: Option<&str>, name: impl Into<String>) -> Self {
        match namespace.filter(|ns| !ns.is_empty()) {
            Some(ns) => Self::namespaced(ns, name),
            None => Self::cluster(name),
        }
    }

    /// `ClusterPackage` or `Package`.
    pub fn kind(&self) -> &'static str {
        match self.namespace {
            None => "ClusterPackage",
            Some(_) => "Package",
        }
    }

    /// The namespace, or `""` for a ClusterPackage.
    pub fn namespace_or_empty(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }

    /// Whether an install here can serve a dependency of an install at `dependent`: a
    /// cluster-scoped one serves everyone, a namespaced one its own namespace.
    pub fn serves(&self, dependent: &InstallRef) -> bool {
        self.namespace.is_none() || self.namespace == dependent.namespace
    }
}

/// `ClusterPackage NAME` or `Package NAMESPACE/NAME`.
impl std::fmt::Display for InstallRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            None => write!(f, "ClusterPackage {}", self.name),
            Some(ns) => write!(f, "Package {ns}/{}", self.name),
        }
    }
}

/// Whether a package installs cluster-wide or into a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Cluster,
    Namespaced,
}

impl Scope {
    /// As in Glasskube's format: cluster-scoped unless the package says `Namespaced`.
    pub fn of(manifest: &PackageManifest) -> Self {
        if manifest.scope.as_deref() == Some("Namespaced") {
            Self::Namespaced
        } else {
            Self::Cluster
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_is_named_as_kubectl_users_know_it() {
        assert_eq!(
            InstallRef::cluster("cert-manager").to_string(),
            "ClusterPackage cert-manager"
        );
        assert_eq!(
            InstallRef::namespaced("team-a", "web").to_string(),
            "Package team-a/web"
        );
        assert_eq!(InstallRef::new(Some(""), "x"), InstallRef::cluster("x"));
    }

    #[test]
    fn cluster_installs_serve_everyone_and_namespaced_ones_their_namespace() {
        let a = InstallRef::namespaced("a", "db");
        let b = InstallRef::namespaced("b", "app");
        assert!(InstallRef::cluster("db").serves(&b));
        assert!(a.serves(&InstallRef::namespaced("a", "app")));
        assert!(!a.serves(&b));
        assert!(!a.serves(&InstallRef::cluster("app")));
    }

    #[test]
    fn a_package_is_cluster_scoped_unless_it_says_namespaced() {
        let mut m = PackageManifest::default();
        assert_eq!(Scope::of(&m), Scope::Cluster);
        m.scope = Some("Namespaced".into());
        assert_eq!(Scope::of(&m), Scope::Namespaced);
        m.scope = Some("Cluster".into());
        assert_eq!(Scope::of(&m), Scope::Cluster);
    }
}
