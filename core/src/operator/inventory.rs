//! What a package has applied (its inventory, `status.ownedResources`) and what leaves
//! it: objects in the last inventory that the new render no longer has are pruned, in
//! the reverse of the apply order; a delete that fails keeps its entry, so nothing is
//! forgotten while it still exists (Flux's rule; forgetting them is how objects leak).

use super::order::{self, Ordered};
use std::cmp::Ordering;

/// One applied object, by identity. The version is where it was applied, not part of
/// its identity (an object applied as `v1beta1` and then `v1` is one object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    /// Whether two refs name the same object (the version aside).
    pub fn same_object(&self, other: &Self) -> bool {
        self.group == other.group
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }

    /// `apps/Deployment team-a/web`, `Namespace web`: how messages name it.
    pub fn describe(&self) -> String {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}/{}", self.group, self.kind)
        };
        if self.namespace.is_empty() {
            format!("{kind} {}", self.name)
        } else {
            format!("{kind} {}/{}", self.namespace, self.name)
        }
    }
}

impl Ordered for ObjectRef {
    fn group(&self) -> &str {
        &self.group
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The objects of `old` that `new` no longer has, in the order to delete them (the
/// reverse of the apply order: workloads before the ServiceAccounts they run as,
/// custom resources before their CRDs).
pub fn stale(old: &[ObjectRef], new: &[ObjectRef]) -> Vec<ObjectRef> {
    let mut gone: Vec<ObjectRef> = old
        .iter()
        .filter(|o| !new.iter().any(|n| n.same_object(o)))
        .cloned()
        .collect();
    gone.sort_by(|a, b| order::compare(b, a));
    gone.dedup_by(|a, b| a.same_object(b));
    gone
}

/// The inventory to record after a pass: what was applied, in apply order, plus the
/// stale objects whose delete failed (still there, still ours to remove).
pub fn next(applied: &[ObjectRef], failed_deletes: &[ObjectRef]) -> Vec<ObjectRef> {
    let mut out: Vec<ObjectRef> = applied.to_vec();
    for f in failed_deletes {
        if !out.iter().any(|o| o.same_object(f)) {
            out.push(f.clone());
        }
    }
    out.sort_by(order::compare);
    out.dedup_by(|a, b| a.same_object(b) && a.version == b.version);
    out
}

/// Deletion order for a whole inventory (uninstall).
pub fn deletion_order(all: &[ObjectRef]) -> Vec<ObjectRef> {
    let mut out = all.to_vec();
    out.sort_by(|a, b| match order::compare(b, a) {
        Ordering::Equal => a.version.cmp(&b.version),
        o => o,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(group: &str, kind: &str, ns: &str, name: &str) -> ObjectRef {
        ObjectRef {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn objects_that_left_the_package_are_pruned_in_reverse_apply_order() {
        let old = [
            r("", "ServiceAccount", "a", "runner"),
            r("apps", "Deployment", "a", "web"),
            r("", "ConfigMap", "a", "settings"),
            r("", "Service", "a", "web"),
        ];
        let new = [
            r("apps", "Deployment", "a", "web"),
            r("", "Service", "a", "web"),
        ];
        let gone: Vec<String> = stale(&old, &new).iter().map(ObjectRef::describe).collect();
        assert_eq!(gone, ["ConfigMap a/settings", "ServiceAccount a/runner"]);
    }

    #[test]
    fn a_new_api_version_is_the_same_object_and_failed_deletes_stay_in_the_inventory() {
        let mut moved = r("autoscaling", "HorizontalPodAutoscaler", "a", "web");
        moved.version = "v2".into();
        let old = [r("autoscaling", "HorizontalPodAutoscaler", "a", "web")];
        assert!(stale(&old, std::slice::from_ref(&moved)).is_empty());
        let kept = next(&[moved.clone()], &[r("", "ConfigMap", "a", "stuck")]);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].kind, "ConfigMap", "apply order: ConfigMap first");
    }

    #[test]
    fn uninstall_deletes_custom_resources_before_their_crd() {
        let all = [
            r(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "",
                "widgets.example.com",
            ),
            r("example.com", "Widget", "a", "w"),
            r("", "Namespace", "", "a"),
        ];
        let kinds: Vec<String> = deletion_order(&all)
            .iter()
            .map(|o| o.kind.clone())
            .collect();
        assert_eq!(kinds, ["Widget", "Namespace", "CustomResourceDefinition"]);
    }
}
