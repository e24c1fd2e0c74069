//! One install of either kind.

use crate::types::{ClusterPackage, NamespacedPackageSpec, Package, PackageSpec, PackageStatus};
use hoist_core::install::InstallRef;
use kube::ResourceExt;
use kube::core::ObjectMeta;

/// A ClusterPackage or a Package, with what both have in common.
#[derive(Debug, Clone)]
pub enum Install {
    Cluster(ClusterPackage),
    Namespaced(Package),
}

impl Install {
    /// The object `at` names with `spec`, as it would be created (not written).
    pub fn new(at: &InstallRef, spec: PackageSpec) -> Self {
        match &at.namespace {
            None => Self::Cluster(ClusterPackage::new(&at.name, spec)),
            Some(ns) => {
                let mut p = Package::new(&at.name, NamespacedPackageSpec::from(spec));
                p.metadata.namespace = Some(ns.clone());
                Self::Namespaced(p)
            }
        }
    }

    /// Where it is: `namespace: None` for a ClusterPackage.
    pub fn at(&self) -> InstallRef {
        match self {
            Self::Cluster(p) => InstallRef::cluster(p.name_any()),
            Self::Namespaced(p) => InstallRef::new(p.namespace().as_deref(), p.name_any()),
        }
    }

    pub fn spec(&self) -> &PackageSpec {
        match self {
            Self::Cluster(p) => &p.spec,
            Self::Namespaced(p) => &p.spec.spec,
        }
    }

    pub fn spec_mut(&mut self) -> &mut PackageSpec {
        match self {
            Self::Cluster(p) => &mut p.spec,
            Self::Namespaced(p) => &mut p.spec.spec,
        }
    }

    pub fn status(&self) -> Option<&PackageStatus> {
        match self {
            Self::Cluster(p) => p.status.as_ref(),
            Self::Namespaced(p) => p.status.as_ref(),
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::Cluster(p) => &p.metadata,
            Self::Namespaced(p) => &p.metadata,
        }
    }

    /// Spec, status and metadata, taken apart.
    pub fn into_parts(self) -> (PackageSpec, Option<PackageStatus>, ObjectMeta) {
        match self {
            Self::Cluster(p) => (p.spec, p.status, p.metadata),
            Self::Namespaced(p) => (p.spec.spec, p.status, p.metadata),
        }
    }
}
