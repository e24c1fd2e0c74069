//! Kubernetes objects to dashboard packages: the one place that knows both.

use super::view::View;
use hoist_core::install::state::Condition;
use hoist_kube::types::{ClusterPackage, Package as PackageCr, PackageSpec, PackageStatus};
use hoist_proto::v1::{Package, PackageKey, Scope};
use kube::ResourceExt;

/// The state a package is in, by `hoist-core`'s rule (`install::state`).
fn state(deleting: bool, conditions: &[hoist_kube::types::Condition]) -> (String, String, String) {
    let conditions: Vec<Condition<'_>> = conditions
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

/// What a row shows of a package, borrowed from the whole object or from its view.
struct Shown<'a> {
    meta: &'a kube::api::ObjectMeta,
    package_name: &'a str,
    version: &'a str,
    repository: Option<&'a str>,
    suspend: bool,
    installed_version: Option<&'a str>,
    conditions: &'a [hoist_kube::types::Condition],
}

impl<'a> Shown<'a> {
    fn of(
        meta: &'a kube::api::ObjectMeta,
        spec: &'a PackageSpec,
        status: Option<&'a PackageStatus>,
    ) -> Self {
        Self {
            meta,
            package_name: &spec.package_info.name,
            version: &spec.package_info.version,
            repository: spec.package_info.repository_name.as_deref(),
            suspend: spec.suspend,
            installed_version: status.and_then(|s| s.version.as_deref()),
            conditions: status.map(|s| s.conditions.as_slice()).unwrap_or_default(),
        }
    }

    fn of_view<K>(v: &'a View<K>) -> Self {
        Self {
            meta: &v.metadata,
            package_name: &v.spec.package_info.name,
            version: &v.spec.package_info.version,
            repository: v.spec.package_info.repository_name.as_deref(),
            suspend: v.spec.suspend,
            installed_version: v.status.as_ref().and_then(|s| s.version.as_deref()),
            conditions: v
                .status
                .as_ref()
                .map(|s| s.conditions.as_slice())
                .unwrap_or_default(),
        }
    }
}

fn build(key: PackageKey, shown: Shown<'_>) -> Package {
    let meta = shown.meta;
    let (state, reason, message) = state(meta.deletion_timestamp.is_some(), shown.conditions);
    Package {
        key: Some(key),
        package_name: shown.package_name.to_string(),
        version: shown.version.to_string(),
        repository: shown.repository.unwrap_or_default().to_string(),
        installed_version: shown.installed_version.unwrap_or_default().to_string(),
        state,
        reason,
        message,
        suspended: shown.suspend,
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
        Shown::of(&p.metadata, &p.spec, p.status.as_ref()),
    )
}

pub fn from_package(p: &PackageCr) -> Package {
    build(
        namespaced_key(&p.namespace().unwrap_or_default(), &p.name_any()),
        Shown::of(&p.metadata, &p.spec.spec, p.status.as_ref()),
    )
}

/// The row of a ClusterPackage read as its [`View`].
pub fn from_cluster_view(v: &View<ClusterPackage>) -> Package {
    build(cluster_key(&v.name_any()), Shown::of_view(v))
}

/// The row of a Package read as its [`View`].
pub fn from_view(v: &View<PackageCr>) -> Package {
    build(
        namespaced_key(&v.namespace().unwrap_or_default(), &v.name_any()),
        Shown::of_view(v),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Package with everything a pass writes: the view's row is the whole object's.
    #[test]
    fn a_view_converts_to_the_row_the_whole_object_does() {
        let json = serde_json::json!({
            "apiVersion": "packages.hoist.dev/v1alpha1",
            "kind": "Package",
            "metadata": {
                "name": "web", "namespace": "team-a", "resourceVersion": "42",
                "creationTimestamp": "2026-12-05T08:35:43Z",
                "deletionTimestamp": "2026-12-05T09:35:43Z",
                "finalizers": ["packages.hoist.dev/cleanup"],
                "managedFields": [{"manager": "hoist-operator", "operation": "Update",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:version": {}}}}],
            },
            "spec": {
                "packageInfo": {"name": "hello", "version": "v1.0.0+2", "repositoryName": "main"},
                "suspend": true,
                "values": {"replicas": {"value": "2"}},
            },
            "status": {
                "version": "v1.0.0+1",
                "conditions": [
                    {"type": "Ready", "status": "False", "reason": "InstallationFailed",
                     "message": "the Deployment web is not available", "observedGeneration": 3},
                    {"type": "Failed", "status": "True", "reason": "InstallationFailed", "message": ""},
                ],
                "ownedResources": [{"group": "apps", "version": "v1", "kind": "Deployment", "name": "web", "namespace": "team-a"}],
                "objects": [{"kind": "Deployment", "name": "web", "action": "Created", "health": "InProgress", "message": "0 of 2"}],
            },
        });
        let whole: PackageCr = serde_json::from_value(json.clone()).expect("a Package");
        let view: View<PackageCr> = serde_json::from_value(json).expect("a view");
        assert_eq!(from_view(&view), from_package(&whole));
        assert_eq!(from_view(&view).state, from_package(&whole).state);
    }
}
