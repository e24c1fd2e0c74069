//! Kubernetes objects to dashboard packages: the one place that knows both.

use hoist_core::install::state::Condition;
use hoist_kube::types::{ClusterPackage, Package as PackageCr, PackageSpec, PackageStatus};
use hoist_proto::v1::{Package, PackageKey, Scope};
use kube::ResourceExt;

/// The state a package is in, by `hoist-core`'s rule (`install::state`).
fn state(deleting: bool, status: Option<&PackageStatus>) -> (String, String, String) {
    let conditions: Vec<Condition<'_>> = status
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| Condition {
            type_: &c.type_,
            status: &c.status,
            reason: &c.reason,
            message: &c.message,
        })
        .collect();
    let s = hoist_core::install::state::state(deleting, &conditions);
    (s.word.as_str().to_string(), s.reason, s.message)
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
