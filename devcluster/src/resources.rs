//! The kinds of resources this server stores, and how URLs name them.
//!
//! Built-in kinds are registered at start; every served version of a
//! CustomResourceDefinition adds one more (see [`crate::crd`]). Objects are stored once
//! per (group, plural): a CRD with several versions serves the same objects under each,
//! with `apiVersion` rewritten (conversion strategy `None`, as the apiserver does).

use std::collections::BTreeMap;

/// The API group of Roles, ClusterRoles and their bindings (whose writes the store
/// counts for the authorizer, see [`crate::store`]).
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Identifies where objects of one kind are stored: `(group, plural)`.
/// The core group is the empty string.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct StoreKey {
    pub group: String,
    pub plural: String,
}

impl std::fmt::Display for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.plural)
        } else {
            write!(f, "{}.{}", self.plural, self.group)
        }
    }
}

/// One served (group, version, resource).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    /// Whether `/status` is a subresource: then main-resource writes keep the old status
    /// and `/status` writes change nothing else.
    pub status_subresource: bool,
    /// Custom resources bump `generation` on any change outside metadata and status;
    /// built-in kinds only on `spec` changes.
    pub custom: bool,
}

impl ResourceType {
    pub fn store_key(&self) -> StoreKey {
        // events.k8s.io/v1 Events are the core ones in another shape: one store.
        if self.group == "events.k8s.io" && self.plural == "events" {
            return StoreKey {
                group: String::new(),
                plural: self.plural.clone(),
            };
        }
        StoreKey {
            group: self.group.clone(),
            plural: self.plural.clone(),
        }
    }

    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    #[allow(clippy::too_many_arguments)]
    fn builtin(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        short: &[&str],
        status: bool,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            namespaced,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            status_subresource: status,
            custom: false,
        }
    }
}

/// The built-in kinds: what Hoist itself uses (Namespace, ConfigMap, Secret, Event,
/// Lease, CRDs) and what package manifests commonly apply.
pub fn builtins() -> Vec<ResourceType> {
    let b = ResourceType::builtin;
    vec![
        b("", "v1", "namespaces", "Namespace", false, &["ns"], true),
        b("", "v1", "configmaps", "ConfigMap", true, &["cm"], false),
        b("", "v1", "secrets", "Secret", true, &[], false),
        b("", "v1", "events", "Event", true, &["ev"], false),
        // The same Events in their newer shape (see `crate::events`).
        b("events.k8s.io", "v1", "events", "Event", true, &[], false),
        b("", "v1", "services", "Service", true, &["svc"], true),
        b(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            true,
            &["sa"],
            false,
        ),
        b("", "v1", "pods", "Pod", true, &["po"], true),
        b(
            "",
            "v1",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            true,
            &["pvc"],
            true,
        ),
        b("", "v1", "endpoints", "Endpoints", true, &["ep"], false),
        b(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            true,
            &["deploy"],
            true,
        ),
        b(
            "apps",
            "v1",
            "statefulsets",
            "StatefulSet",
            true,
            &["sts"],
            true,
        ),
        b("apps", "v1", "daemonsets", "DaemonSet", true, &["ds"], true),
        b(
            "apps",
            "v1",
            "replicasets",
            "ReplicaSet",
            true,
            &["rs"],
            true,
        ),
        b("batch", "v1", "jobs", "Job", true, &[], true),
        b("batch", "v1", "cronjobs", "CronJob", true, &["cj"], true),
        b(
            "coordination.k8s.io",
            "v1",
            "leases",
            "Lease",
            true,
            &[],
            false,
        ),
        b(
            "networking.k8s.io",
            "v1",
            "ingresses",
            "Ingress",
            true,
            &["ing"],
            true,
        ),
        b(
            "networking.k8s.io",
            "v1",
            "ingressclasses",
            "IngressClass",
            false,
            &[],
            false,
        ),
        b(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "NetworkPolicy",
            true,
            &["netpol"],
            false,
        ),
        b(
            "storage.k8s.io",
            "v1",
            "storageclasses",
            "StorageClass",
            false,
            &["sc"],
            false,
        ),
        b(
            "scheduling.k8s.io",
            "v1",
            "priorityclasses",
            "PriorityClass",
            false,
            &["pc"],
            false,
        ),
        b(
            "",
            "v1",
            "resourcequotas",
            "ResourceQuota",
            true,
            &["quota"],
            true,
        ),
        b(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
            &["pdb"],
            true,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            "Role",
            true,
            &[],
            false,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "RoleBinding",
            true,
            &[],
            false,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            false,
            &[],
            false,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            &[],
            false,
        ),
        b(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            true,
        ),
        b(
            "monitoring.coreos.com",
            "v1",
            "servicemonitors",
            "ServiceMonitor",
            true,
            &[],
            false,
        ),
    ]
}

/// All served resource types, by group, then version, then plural.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: BTreeMap<(String, String, String), ResourceType>,
}

impl Registry {
    pub fn with_builtins() -> Self {
        let mut r = Self::default();
        for t in builtins() {
            r.insert(t);
        }
        r
    }

    pub fn insert(&mut self, t: ResourceType) {
        self.types
            .insert((t.group.clone(), t.version.clone(), t.plural.clone()), t);
    }

    /// Removes every version of `(group, plural)`.
    pub fn remove_all_versions(&mut self, key: &StoreKey) {
        self.types
            .retain(|(g, _, p), _| !(g == &key.group && p == &key.plural));
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    /// Whether any resource is served under `group/version`.
    pub fn has_group_version(&self, group: &str, version: &str) -> bool {
        self.types
            .keys()
            .any(|(g, v, _)| g == group && v == version)
    }

    /// The types served under one group/version, in plural order.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ResourceType> + 'a {
        self.types
            .values()
            .filter(move |t| t.group == group && t.version == version)
    }

    /// Non-core groups with their versions, in a stable order.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (g, v, _) in self.types.keys() {
            if g.is_empty() {
                continue;
            }
            let versions = out.entry(g.clone()).or_default();
            if !versions.contains(v) {
                versions.push(v.clone());
            }
        }
        out
    }

    /// Any one served type for `(group, plural)`: used to render objects of a kind.
    pub fn any_version(&self, key: &StoreKey) -> Option<&ResourceType> {
        self.types
            .values()
            .find(|t| t.group == key.group && t.plural == key.plural)
    }
}
