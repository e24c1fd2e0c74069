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

/// The annotation that keeps an object from ever being pruned (Flux's convention):
/// `packages.hoist.dev/prune: disabled`.
pub const PRUNE_ANNOTATION: &str = "packages.hoist.dev/prune";

/// Whether an object's annotations say it must never be pruned.
pub fn prune_disabled(annotations: Option<&serde_json::Map<String, serde_json::Value>>) -> bool {
    annotations
        .and_then(|a| a.get(PRUNE_ANNOTATION))
        .and_then(serde_json::Value::as_str)
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
}

/// Whether a kind holds data or other objects that outlive a version of a package:
/// CustomResourceDefinitions (deleting one deletes every object of its kind),
/// Namespaces (everything in them) and PersistentVolumeClaims (the volume's data).
pub fn is_durable(r: &ObjectRef) -> bool {
    matches!(
        (r.group.as_str(), r.kind.as_str()),
        ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("", "Namespace")
            | ("", "PersistentVolumeClaim")
    )
}

/// What a pass removes from the cluster and what it keeps though the package dropped it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunePlan {
    /// To delete, in order (see [`stale`]).
    pub delete: Vec<ObjectRef>,
    /// Left out of the new render but kept: durable kinds the install did not opt in to
    /// pruning. They leave the inventory (the package no longer manages them) and the
    /// status lists them.
    pub kept: Vec<ObjectRef>,
}

/// Why a pass refuses to prune at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PruneError {
    /// The new render has no object though the package has some: a repository answering
    /// an empty manifest must not uninstall everything.
    #[error(
        "the package rendered no objects but has {had} installed; refusing to delete them all (a repository answering an empty manifest?); uninstall to remove them"
    )]
    EmptyRender { had: usize },
}

/// The prune brakes of issue 20 over [`stale`]: an empty render of a package that has
/// objects is an error, never "delete everything"; durable kinds ([`is_durable`]) that a
/// new version drops are kept unless `prune_durable`.
pub fn plan_prune(
    old: &[ObjectRef],
    new: &[ObjectRef],
    prune_durable: bool,
) -> Result<PrunePlan, PruneError> {
    if new.is_empty() && !old.is_empty() {
        return Err(PruneError::EmptyRender { had: old.len() });
    }
    let (kept, delete) = stale(old, new)
        .into_iter()
        .partition(|r| is_durable(r) && !prune_durable);
    Ok(PrunePlan { delete, kept })
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
    fn an_empty_render_never_deletes_everything_and_durable_kinds_are_kept_unless_asked() {
        let old = [
            r("", "Namespace", "", "a"),
            r("", "PersistentVolumeClaim", "a", "data"),
            r(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "",
                "widgets.example.com",
            ),
            r("apps", "Deployment", "a", "web"),
        ];
        assert_eq!(
            plan_prune(&old, &[], true),
            Err(PruneError::EmptyRender { had: 4 })
        );
        assert_eq!(plan_prune(&[], &[], false), Ok(PrunePlan::default()));
        let new = [r("", "ConfigMap", "a", "settings")];
        let plan = plan_prune(&old, &new, false).expect("a plan");
        let names = |v: &[ObjectRef]| v.iter().map(|o| o.kind.clone()).collect::<Vec<_>>();
        assert_eq!(names(&plan.delete), ["Deployment"]);
        assert_eq!(
            names(&plan.kept),
            [
                "PersistentVolumeClaim",
                "Namespace",
                "CustomResourceDefinition"
            ]
        );
        let all = plan_prune(&old, &new, true).expect("a plan");
        assert_eq!(all.delete.len(), 4);
        assert!(all.kept.is_empty());
    }

    #[test]
    fn the_prune_annotation_is_read_as_flux_reads_it() {
        let ann = |v: &str| {
            let mut m = serde_json::Map::new();
            m.insert(PRUNE_ANNOTATION.into(), serde_json::Value::String(v.into()));
            m
        };
        assert!(prune_disabled(Some(&ann("disabled"))));
        assert!(!prune_disabled(Some(&ann("enabled"))));
        assert!(!prune_disabled(None));
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
