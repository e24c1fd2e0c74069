//! What starts a controller's pass: a hash of what a user (or a finalizer) changed on
//! an object, for kube-runtime's `predicate_filter`. Status-only changes (a
//! controller's own writes, above all) hash the same, so they start no pass: each
//! would be a pass that finds nothing to do (for the fleet, a probe nobody scheduled).
//!
//! Shared by the package operator and the fleet controller; it reads only an object's
//! metadata, so neither imports the other.

use kube::Resource;
use kube::api::ObjectMeta;
use std::hash::{Hash, Hasher};

/// The object's spec (its generation), its finalizers and whether it is being deleted.
pub fn intent<K: Resource>(obj: &K) -> Option<u64> {
    Some(hash(obj.meta(), false))
}

/// [`intent`] and the object's annotations (the operator's retry annotation starts a
/// pass).
pub fn intent_with_annotations<K: Resource>(obj: &K) -> Option<u64> {
    Some(hash(obj.meta(), true))
}

fn hash(meta: &ObjectMeta, annotations: bool) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut h);
    if annotations {
        meta.annotations.hash(&mut h);
    }
    meta.finalizers.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn object() -> ConfigMap {
        let mut o = ConfigMap::default();
        o.metadata.generation = Some(1);
        o
    }

    #[test]
    fn the_spec_finalizers_and_deletion_start_a_pass_and_nothing_else() {
        let base = object();
        let same = |o: &ConfigMap| intent(o) == intent(&base);
        let mut status_only = object();
        status_only.metadata.resource_version = Some("2".into());
        status_only.metadata.labels = Some([("a".into(), "b".into())].into());
        assert!(same(&status_only), "a write that is not intent");
        let mut spec = object();
        spec.metadata.generation = Some(2);
        assert!(!same(&spec), "a new generation");
        let mut finalizers = object();
        finalizers.metadata.finalizers = Some(vec!["x".into()]);
        assert!(!same(&finalizers), "a finalizer");
        let mut deleting = object();
        deleting.metadata.deletion_timestamp =
            Some(serde_json::from_value(serde_json::json!("2025-01-01T00:00:00Z")).expect("time"));
        assert!(!same(&deleting), "a delete");
        let mut annotated = object();
        annotated.metadata.annotations = Some([("retry".into(), "1".into())].into());
        assert!(same(&annotated), "annotations are not the fleet's intent");
        assert_ne!(
            intent_with_annotations(&annotated),
            intent_with_annotations(&base),
            "they are the operator's"
        );
    }
}
