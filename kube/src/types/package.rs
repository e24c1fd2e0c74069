use super::Condition;
use compact_str::CompactString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// The schema refuses what could not be a path segment of a repository (issue 20): the
// name a DNS-1123 label, the version a semantic version of `0-9A-Za-z.+-`; Hoist checks
// both again before fetching (`hoist_core::repo::destinations`).
/// Which package, at which version, from which repository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageInfoTemplate {
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    #[schemars(
        length(min = 1, max = 128),
        regex(pattern = r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
    )]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
}

/// A reference to a key of a ConfigMap or Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub key: String,
}

/// A value from another package's values.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageValueReference {
    pub name: String,
    pub value: String,
}

/// Where a value comes from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<ValueReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<ValueReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_ref: Option<PackageValueReference>,
}

/// A value: literal, or from a ConfigMap, Secret or package.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueSource>,
}

/// The spec shared by ClusterPackage and Package.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "packages.hoist.dev",
    version = "v1alpha1",
    kind = "ClusterPackage",
    shortname = "clpkg",
    status = "PackageStatus",
    printcolumn = r#"{"name":"Package","type":"string","jsonPath":".spec.packageInfo.name"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.packageInfo.version"}"#,
    printcolumn = r#"{"name":"Installed","type":"string","jsonPath":".status.version"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PackageSpec {
    pub package_info: PackageInfoTemplate,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, ValueConfiguration>,
    #[serde(default)]
    pub suspend: bool,
    /// Delete the CustomResourceDefinitions, Namespaces and PersistentVolumeClaims that a
    /// new version of the package no longer has. By default they are kept (deleting a
    /// CRD deletes every object of its kind; a Namespace, everything in it; a claim, its
    /// data) and listed in `status.keptResources`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prune_durable: bool,
}

/// A resource a package created.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnedResource {
    pub group: CompactString,
    pub version: CompactString,
    pub kind: CompactString,
    pub name: CompactString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<CompactString>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub marked_for_deletion: bool,
}

/// One applied object as the last pass left it (a bounded list in the status, so the
/// object holding a package back is named, not counted).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectStatus {
    pub kind: CompactString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<CompactString>,
    pub name: CompactString,
    /// What the operator last did to it: `Created`, `Configured`, or `Unchanged` when
    /// it never had to write it.
    pub action: CompactString,
    /// kstatus' verdict: `Current`, `InProgress`, `Failed` or `Terminating`.
    pub health: CompactString,
    #[serde(default)]
    pub message: CompactString,
}

/// The status shared by ClusterPackage and Package.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageStatus {
    /// The installed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owned_resources: Vec<OwnedResource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owned_package_infos: Vec<OwnedResource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owned_packages: Vec<OwnedResource>,
    /// Each applied object's last action and health (at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectStatus>,
    /// The `packages.hoist.dev/retry` annotation the last pass acted on (as Flux's
    /// `lastHandledReconcileAt`): how `hoist retry` knows its request was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_retry: Option<String>,
    /// What the package says that was not installed as written (at most 20): fields
    /// Hoist does not know, value targets that matched no object. Glasskube skips both
    /// without a word; a package author fixes them (`hoist repo lint` finds them too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Objects a newer version dropped that were kept, not deleted: CRDs, Namespaces and
    /// PersistentVolumeClaims (unless `spec.pruneDurable`). No longer managed by the
    /// package; delete them by hand when they are not needed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_resources: Vec<OwnedResource>,
}

/// A namespaced package: the same spec and status as [`ClusterPackage`].
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "packages.hoist.dev",
    version = "v1alpha1",
    kind = "Package",
    namespaced,
    shortname = "pkg",
    status = "PackageStatus",
    printcolumn = r#"{"name":"Package","type":"string","jsonPath":".spec.packageInfo.name"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.packageInfo.version"}"#,
    printcolumn = r#"{"name":"Installed","type":"string","jsonPath":".status.version"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
pub struct NamespacedPackageSpec {
    #[serde(flatten)]
    pub spec: PackageSpec,
    /// The ServiceAccount of this Package's namespace that the operator impersonates
    /// for every write it makes for the Package (Flux's `serviceAccountName`); unset:
    /// the operator's `--default-service-account`, else the operator's own identity.
    #[serde(
        default,
        rename = "serviceAccountName",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub service_account_name: Option<String>,
}

impl From<PackageSpec> for NamespacedPackageSpec {
    /// A Package's spec with no ServiceAccount of its own.
    fn from(spec: PackageSpec) -> Self {
        Self {
            spec,
            service_account_name: None,
        }
    }
}

impl std::ops::Deref for NamespacedPackageSpec {
    type Target = PackageSpec;
    fn deref(&self) -> &PackageSpec {
        &self.spec
    }
}
