//! What the dashboard's package reflectors read of a Package or ClusterPackage: the
//! fields a dashboard row shows, parsed straight from the API server's JSON.
//!
//! A whole `Package` is parsed into its `managedFields` (a tree of JSON objects per
//! field manager), its inventory and each applied object's health, and all of it is
//! thrown away by the conversion to the row. Here serde skips those without building
//! them, so a list of ten thousand packages costs the dashboard less than it costs a
//! bare kube-rs reflector of the full type (`cargo xtask bench`, time to READY).
//!
//! # Guarantees
//! - [`View`] is the same resource as its kind `K` (group, version, kind, plural, scope),
//!   so `Api<View<Package>>` lists and watches exactly what `Api<Package>` does.
//! - Its `metadata` carries name, namespace, uid, resourceVersion, creation and deletion
//!   timestamps, generation, labels and annotations; nothing else of the object's
//!   metadata (never `managedFields`).
//! - Converting a view gives the very row converting the whole object gives
//!   (`convert::from_view`, tested against `convert::from_package`).

use hoist_kube::types::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Resource;
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// The shown part of a `K` (a Package or a ClusterPackage); see the module.
#[derive(Deserialize)]
#[serde(bound = "")]
pub struct View<K> {
    #[serde(default, deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Spec,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(skip)]
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for View<K> {
    fn clone(&self) -> Self {
        Self {
            metadata: self.metadata.clone(),
            spec: self.spec.clone(),
            status: self.status.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for View<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("metadata", &self.metadata)
            .field("spec", &self.spec)
            .field("status", &self.status)
            .finish()
    }
}

/// The spec's shown fields.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub package_info: PackageInfo,
    #[serde(default)]
    pub suspend: bool,
}

/// Which package, which version, from which repository.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct PackageInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub repository_name: Option<String>,
}

/// The status' shown fields.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Status {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// The metadata a row and a watch need, without `managedFields` and the rest.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LeanMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

fn lean_meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let m = LeanMeta::deserialize(d)?;
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        generation: m.generation,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        labels: m.labels,
        annotations: m.annotations,
        ..Default::default()
    })
}

impl<K: Resource<DynamicType = ()>> Resource for View<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(_: &()) -> Cow<'_, str> {
        K::kind(&())
    }
    fn group(_: &()) -> Cow<'_, str> {
        K::group(&())
    }
    fn version(_: &()) -> Cow<'_, str> {
        K::version(&())
    }
    fn plural(_: &()) -> Cow<'_, str> {
        K::plural(&())
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_kube::types::Package;

    #[test]
    fn a_view_is_the_same_resource_as_its_kind() {
        assert_eq!(View::<Package>::kind(&()), Package::kind(&()));
        assert_eq!(View::<Package>::group(&()), Package::group(&()));
        assert_eq!(View::<Package>::version(&()), Package::version(&()));
        assert_eq!(View::<Package>::plural(&()), Package::plural(&()));
        assert_eq!(
            View::<Package>::url_path(&(), Some("team-a")),
            Package::url_path(&(), Some("team-a"))
        );
    }

    #[test]
    fn a_view_skips_managed_fields_and_the_inventory() {
        let json = serde_json::json!({
            "apiVersion": "packages.hoist.dev/v1alpha1",
            "kind": "Package",
            "metadata": {
                "name": "web", "namespace": "team-a", "resourceVersion": "7",
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
            },
            "spec": {"packageInfo": {"name": "hello", "version": "v1"}, "suspend": true},
            "status": {
                "version": "v1",
                "conditions": [{"type": "Ready", "status": "True", "reason": "InstallationSucceeded"}],
                "ownedResources": [{"group": "", "version": "v1", "kind": "ConfigMap", "name": "x"}],
            },
        });
        let v: View<Package> = serde_json::from_value(json).expect("a view");
        assert_eq!(v.metadata.name.as_deref(), Some("web"));
        assert_eq!(v.metadata.resource_version.as_deref(), Some("7"));
        assert!(v.metadata.managed_fields.is_none());
        assert_eq!(v.spec.package_info.name, "hello");
        assert!(v.spec.suspend);
        let status = v.status.expect("a status");
        assert_eq!(status.version.as_deref(), Some("v1"));
        assert_eq!(status.conditions[0].type_, "Ready");
    }
}
