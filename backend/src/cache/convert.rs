//! Kubernetes objects to dashboard packages: the one place that knows both.

use crate::types::{ClusterPackage, Package as PackageCr, PackageSpec, PackageStatus};
use hoist_proto::v1::{Package, PackageKey, Scope};
use kube::ResourceExt;

/// The state a package is in, from its conditions and metadata:
/// `Deleting`, `Failed`, `Ready`, `Pending` (no verdict yet) or `Unknown`.
fn state(deleting: bool, status: Option<&PackageStatus>) -> (String, String, String) {
    if deleting {
        return (
            "Deleting".into(),
            String::new(),
            "the package is being uninstalled".into(),
        );
    }
    let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let find = |t: &str| conditions.iter().find(|c| c.type_ == t);
    match (find("Failed"), find("Ready")) {
        (Some(f), _) if f.status == "True" => {
            ("Failed".into(), f.reason.clone(), f.message.clone())
        }
        (_, Some(r)) if r.status == "True" => ("Ready".into(), r.reason.clone(), r.message.clone()),
        (_, Some(r)) => ("Pending".into(), r.reason.clone(), r.message.clone()),
        _ => (
            "Pending".into(),
            "Pending".into(),
            "waiting for the operator".into(),
        ),
    }
}

fn build(
    key: PackageKey,
    meta: &kube::api::ObjectMeta,
    spec: &PackageSpec,
    status: Option<&PackageStatus>,
) -> Package {
    let (state, reason, message) = state(meta.deletion_timestamp.is_some(), status);
    Package {
        key: Some(key),
        package_name: spec.package_info.name.clone(),
        version: spec.package_info.version.clone(),
        repository: spec
            .package_info
            .repository_name
            .clone()
            .unwrap_or_default(),
        installed_version: status.and_then(|s| s.version.clone()).unwrap_or_default(),
        state,
        reason,
        message,
        suspended: spec.suspend,
        created_unix_ms: meta
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.as_millisecond())
            .unwrap_or(0),
        resource_version: meta.resource_version.clone().unwrap_or_default(),
    }
}

pub fn cluster_key(name: &str) -> PackageKey {
    PackageKey {
        scope: Scope::Cluster as i32,
        namespace: String::new(),
        name: name.into(),
    }
}

pub fn namespaced_key(ns: &str, name: &str) -> PackageKey {
    PackageKey {
        scope: Scope::Namespaced as i32,
        namespace: ns.into(),
        name: name.into(),
    }
}

pub fn from_cluster_package(p: &ClusterPackage) -> Package {
    build(
        cluster_key(&p.name_any()),
        &p.metadata,
        &p.spec,
        p.status.as_ref(),
    )
}

pub fn from_package(p: &PackageCr) -> Package {
    build(
        namespaced_key(&p.namespace().unwrap_or_default(), &p.name_any()),
        &p.metadata,
        &p.spec.spec,
        p.status.as_ref(),
    )
}
