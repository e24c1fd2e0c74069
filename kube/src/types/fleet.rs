//! The fleet's resources (group `fleet.hoist.dev`, v1alpha1; issue 11): `Cluster`, a
//! member cluster registered by a kubeconfig Secret beside it, and `UsageRecord`, one
//! billed interval of one cluster (the ledger; rules in `hoist_core::fleet`).

use super::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of the fleet's resources.
pub const FLEET_GROUP: &str = "fleet.hoist.dev";

/// A kubeconfig in a Secret of the Cluster's own namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeconfigSecretRef {
    pub name: String,
    /// The key holding the kubeconfig (default `value`, as Cluster API names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The kubeconfig context (default: its current one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// Billing of a cluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingSpec {
    /// Billed while it lives (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Unreachable this long and billing stops as Vanished (`24h` by default; `0`:
    /// never). Units `s`, `m`, `h`, `d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanish_after: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for BillingSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            vanish_after: None,
        }
    }
}

/// A member cluster.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "fleet.hoist.dev",
    version = "v1alpha1",
    kind = "Cluster",
    namespaced,
    status = "ClusterStatus",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reachable","type":"string","jsonPath":".status.conditions[?(@.type==\"Reachable\")].status"}"#,
    printcolumn = r#"{"name":"Billed","type":"string","jsonPath":".status.conditions[?(@.type==\"Billed\")].status"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.identity.serverVersion"}"#,
    printcolumn = r#"{"name":"Last-Probe","type":"date","jsonPath":".status.probe.lastAttempt"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    pub kubeconfig_secret_ref: KubeconfigSecretRef,
    #[serde(default)]
    pub billing: BillingSpec,
}

/// Who the member is.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIdentity {
    /// The UID of its `kube-system` namespace: a replaced cluster has another.
    #[serde(rename = "kubeSystemUID")]
    pub kube_system_uid: String,
    pub server_version: String,
    pub first_seen: String,
}

/// What the probes saw.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProbeStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    #[serde(default)]
    pub consecutive_failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Billing was closed as Vanished and has not reopened.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vanished: bool,
}

/// Where billing stands.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingStatus {
    /// The open UsageRecord, or the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ClusterIdentity>,
    #[serde(default)]
    pub probe: ProbeStatus,
    #[serde(default)]
    pub billing: BillingStatus,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// One billed interval of one cluster. No owner reference (garbage collection must
/// never delete billing history); its own finalizer keeps it until exported.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "fleet.hoist.dev",
    version = "v1alpha1",
    kind = "UsageRecord",
    status = "UsageRecordStatus",
    printcolumn = r#"{"name":"Cluster","type":"string","jsonPath":".spec.clusterName"}"#,
    printcolumn = r#"{"name":"Start","type":"date","jsonPath":".spec.start"}"#,
    printcolumn = r#"{"name":"Stop","type":"date","jsonPath":".spec.stop"}"#,
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".spec.stopSource"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecordSpec {
    #[serde(rename = "clusterUID")]
    pub cluster_uid: String,
    pub cluster_name: String,
    pub cluster_namespace: String,
    /// The member's `kube-system` UID while billed.
    pub identity: String,
    pub seq: u32,
    /// RFC 3339, UTC.
    pub start: String,
    /// Set once, never moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    /// `Deleted`, `Vanished`, `Replaced` or `Orphaned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_source: Option<String>,
}

/// What the relay has delivered of a record.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecordStatus {
    /// Every period ending at or before this time (RFC 3339) was acknowledged by the
    /// usage sink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_through: Option<String>,
    /// The last failure to deliver, until a delivery succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_export_error: Option<String>,
}
