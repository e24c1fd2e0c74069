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

    /// Sets (`Some`) or removes (`None`) an annotation on the object in hand (not
    /// written).
    pub fn set_annotation(&mut self, key: &str, value: Option<String>) {
        let meta = match self {
            Self::Cluster(p) => &mut p.metadata,
            Self::Namespaced(p) => &mut p.metadata,
        };
        let annotations = meta.annotations.get_or_insert_with(Default::default);
        match value {
            Some(v) => {
                annotations.insert(key.to_string(), v);
            }
            None => {
                annotations.remove(key);
            }
        }
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }

    /// The object as the API server has it (or would), for `-o yaml|json`: `apiVersion`
    /// and `kind` first, `managedFields` left out as kubectl leaves them out.
    pub fn to_manifest(&self) -> serde_json::Value {
        let mut v = match self {
            Self::Cluster(p) => serde_json::to_value(p),
            Self::Namespaced(p) => serde_json::to_value(p),
        }
        .unwrap_or_default();
        if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.remove("managedFields");
        }
        v
    }

    /// The object as a Git repository would hold it (for "Show YAML"): apiVersion,
    /// kind, name, namespace, the labels and annotations users set, and the spec; no
    /// status and nothing the API server set (uid, resourceVersion, generation,
    /// timestamps, finalizers, managedFields).
    pub fn for_git(&self) -> serde_json::Value {
        let mut v = self.to_manifest();
        if let Some(o) = v.as_object_mut() {
            o.remove("status");
        }
        if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.retain(|k, _| {
                matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations")
            });
            if let Some(a) = meta.get_mut("annotations").and_then(|a| a.as_object_mut()) {
                a.remove("kubectl.kubernetes.io/last-applied-configuration");
                if a.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
        v
    }

    /// Spec, status and metadata, taken apart.
    pub fn into_parts(self) -> (PackageSpec, Option<PackageStatus>, ObjectMeta) {
        match self {
            Self::Cluster(p) => (p.spec, p.status, p.metadata),
            Self::Namespaced(p) => (p.spec.spec, p.status, p.metadata),
        }
    }
}
