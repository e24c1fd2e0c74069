//! The order objects are applied in, and the stages a package's apply is cut into.
//!
//! As Flux's `ssa.ApplyAllStaged`: what other objects need to exist first (CRDs,
//! Namespaces, ClusterRoles) is applied and waited for (Established, Active) before the
//! classes (`StorageClass`, `IngressClass`, …), which are applied and waited for before
//! the rest; within a stage, kinds go in a fixed order (Helm's and Flux's, for the same
//! reasons: a ServiceAccount before the Deployment that runs as it, webhooks last so they
//! cannot block the objects they would check), then namespace, then name. Deletion goes
//! in the reverse order.

use std::cmp::Ordering;

/// One stage of an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// CRDs, Namespaces, ClusterRoles: applied and waited for first.
    Definitions,
    /// `*Class` kinds.
    Classes,
    /// Everything else.
    Rest,
}

/// The stage of a kind (`group` may be empty for the core group).
pub fn stage(group: &str, kind: &str) -> Stage {
    match (group, kind) {
        ("apiextensions.k8s.io", "CustomResourceDefinition")
        | ("", "Namespace")
        | ("rbac.authorization.k8s.io", "ClusterRole") => Stage::Definitions,
        (_, k) if k.ends_with("Class") => Stage::Classes,
        _ => Stage::Rest,
    }
}

/// Kinds in apply order; a kind not listed (a custom resource) goes after them and
/// before the webhook configurations.
const ORDER: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Service",
    "Endpoints",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Job",
    "CronJob",
    "Ingress",
    "PodDisruptionBudget",
    "APIService",
];

const LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Where a kind goes: its place in `ORDER`, custom kinds after, webhooks last.
pub fn rank(kind: &str) -> usize {
    if let Some(i) = ORDER.iter().position(|k| *k == kind) {
        return i;
    }
    match LAST.iter().position(|k| *k == kind) {
        Some(i) => ORDER.len() + 1 + i,
        None => ORDER.len(),
    }
}

/// What the apply order compares: stage, kind, namespace, name.
pub trait Ordered {
    fn group(&self) -> &str;
    fn kind(&self) -> &str;
    fn namespace(&self) -> &str;
    fn name(&self) -> &str;
}

/// The apply order of two objects (delete in the reverse).
pub fn compare<A: Ordered, B: Ordered>(a: &A, b: &B) -> Ordering {
    key(a).cmp(&key(b))
}

fn key<T: Ordered>(o: &T) -> (Stage, usize, &str, &str, &str) {
    (
        stage(o.group(), o.kind()),
        rank(o.kind()),
        o.kind(),
        o.namespace(),
        o.name(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct O(&'static str, &'static str, &'static str);
    impl Ordered for O {
        fn group(&self) -> &str {
            self.0
        }
        fn kind(&self) -> &str {
            self.1
        }
        fn namespace(&self) -> &str {
            ""
        }
        fn name(&self) -> &str {
            self.2
        }
    }

    #[test]
    fn definitions_then_classes_then_the_rest_with_custom_kinds_before_webhooks() {
        let mut objs = vec![
            O(
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
                "w",
            ),
            O("example.com", "Widget", "w"),
            O("apps", "Deployment", "d"),
            O("", "ServiceAccount", "sa"),
            O("storage.k8s.io", "StorageClass", "fast"),
            O("", "Namespace", "ns"),
            O(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "widgets.example.com",
            ),
            O("", "ConfigMap", "b"),
            O("", "ConfigMap", "a"),
        ];
        objs.sort_by(compare);
        let kinds: Vec<String> = objs.iter().map(|o| format!("{}/{}", o.1, o.2)).collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition/widgets.example.com",
                "Namespace/ns",
                "StorageClass/fast",
                "ServiceAccount/sa",
                "ConfigMap/a",
                "ConfigMap/b",
                "Deployment/d",
                "Widget/w",
                "ValidatingWebhookConfiguration/w",
            ]
        );
        assert_eq!(stage("", "Namespace"), Stage::Definitions);
        assert_eq!(stage("networking.k8s.io", "IngressClass"), Stage::Classes);
        assert_eq!(stage("example.com", "Widget"), Stage::Rest);
    }
}
