//! Field ownership for server-side apply: `metadata.managedFields`, in the API server's
//! shape (`manager`, `operation` Apply or Update, `apiVersion`, `time`, `fieldsType:
//! FieldsV1`, `fieldsV1`), and the rules an apply follows.
//!
//! # Rules
//! - A manager owns the fields it applied (operation Apply) or changed in another write
//!   (operation Update, the manager being `fieldManager` or the client's user agent).
//! - An apply that sets a field another manager owns to a different value is a
//!   conflict (409, naming each field and manager) unless forced; forcing moves the
//!   field to the applier. Setting it to the value it has is shared ownership.
//! - A field its manager applied before and no longer sends is removed, unless another
//!   manager owns it too.
//! - An Update takes the fields it changed from everyone else.
//!
//! # Caveat
//! Lists are atomic (one field each), where the API server merges lists with merge keys
//! (`containers` by `name`) item by item: two managers applying different containers of
//! one list conflict here, and agree there.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// A field: the keys from the object's root to it.
pub type Path = Vec<String>;

/// Metadata fields nobody owns (identity and bookkeeping the server sets).
const UNOWNED_META: [&str; 10] = [
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The fields `obj` sets: every scalar, list and empty object, by path. `apiVersion`,
/// `kind`, server-set metadata and (when `with_status` is false) `status` are not
/// fields anyone owns.
pub fn fields_of(obj: &Value, with_status: bool) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        if k == "apiVersion" || k == "kind" || (k == "status" && !with_status) {
            continue;
        }
        if k == "metadata"
            && let Some(m) = v.as_object()
        {
            for (mk, mv) in m {
                if !UNOWNED_META.contains(&mk.as_str()) {
                    collect(mv, vec![k.clone(), mk.clone()], &mut out);
                }
            }
            continue;
        }
        collect(v, vec![k.clone()], &mut out);
    }
    out
}

fn collect(v: &Value, path: Path, out: &mut BTreeSet<Path>) {
    match v {
        Value::Null => {}
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let mut p = path.clone();
                p.push(k.clone());
                collect(child, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

/// The value at `path` in `obj`.
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

/// Removes the field at `path`, and objects it leaves empty on the way up.
pub fn remove(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(cur) = value_mut(obj, parents) else {
        return;
    };
    if let Some(m) = cur.as_object_mut() {
        m.remove(last);
    }
    // Drop parents that are now empty (innermost first).
    for depth in (0..parents.len()).rev() {
        let prefix = &parents[..depth];
        let key = &parents[depth];
        let Some(parent) = value_mut(obj, prefix) else {
            return;
        };
        let empty = parent
            .get(key)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty);
        if !empty {
            return;
        }
        if let Some(m) = parent.as_object_mut() {
            m.remove(key);
        }
    }
}

fn value_mut<'a>(obj: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(obj, |v, k| v.get_mut(k))
}

/// `fieldsV1` for a set of paths: `{"f:spec":{"f:replicas":{}}}`.
pub fn to_fields_v1(set: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for k in path {
            let entry = cur
                .entry(format!("f:{k}"))
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = entry else { break };
            cur = next;
        }
    }
    Value::Object(root)
}

/// The paths a `fieldsV1` names (its leaves; `.` entries and `k:`/`v:` keys of other
/// servers' list items are read as their parent list).
pub fn from_fields_v1(v: &Value) -> BTreeSet<Path> {
    fn walk(v: &Value, path: Path, out: &mut BTreeSet<Path>) {
        let children: Vec<(&String, &Value)> = v
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.starts_with("f:")).collect())
            .unwrap_or_default();
        if children.is_empty() {
            if !path.is_empty() {
                out.insert(path);
            }
            return;
        }
        for (k, child) in children {
            let mut p = path.clone();
            p.push(k[2..].to_string());
            walk(child, p, out);
        }
    }
    let mut out = BTreeSet::new();
    walk(v, Vec::new(), &mut out);
    out
}

/// `.spec.replicas`, as the API server names a field in a conflict.
pub fn dotted(path: &[String]) -> String {
    path.iter().map(|k| format!(".{k}")).collect()
}

/// One manager's entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub fields: BTreeSet<Path>,
}

/// Every manager of one object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Managed(pub Vec<Entry>);

/// A conflict: the field, and who owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub path: Path,
}

impl Managed {
    /// The entries in `obj.metadata.managedFields`.
    pub fn of(obj: &Value) -> Self {
        let entries = obj
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|e| {
                        Some(Entry {
                            manager: e.get("manager")?.as_str()?.to_string(),
                            operation: e.get("operation")?.as_str()?.to_string(),
                            api_version: e
                                .get("apiVersion")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            time: e
                                .get("time")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(entries)
    }

    /// `metadata.managedFields` as the API server writes it; `None` when nobody manages
    /// anything.
    pub fn to_json(&self) -> Option<Value> {
        let list: Vec<Value> = self
            .0
            .iter()
            .filter(|e| !e.fields.is_empty())
            .map(|e| {
                json!({
                    "manager": e.manager,
                    "operation": e.operation,
                    "apiVersion": e.api_version,
                    "time": e.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": to_fields_v1(&e.fields),
                })
            })
            .collect();
        (!list.is_empty()).then_some(Value::Array(list))
    }

    fn entry_mut(&mut self, manager: &str, operation: &str) -> Option<&mut Entry> {
        self.0
            .iter_mut()
            .find(|e| e.manager == manager && e.operation == operation)
    }

    fn set(
        &mut self,
        manager: &str,
        operation: &str,
        api_version: &str,
        now: &str,
        fields: BTreeSet<Path>,
    ) {
        match self.entry_mut(manager, operation) {
            // Nothing new owned: the entry, its time included, stays as it was, so an
            // apply that changes nothing writes nothing.
            Some(e) if e.fields == fields && e.api_version == api_version => {}
            Some(e) => {
                e.fields = fields;
                e.api_version = api_version.to_string();
                e.time = now.to_string();
            }
            None => self.0.push(Entry {
                manager: manager.to_string(),
                operation: operation.to_string(),
                api_version: api_version.to_string(),
                time: now.to_string(),
                fields,
            }),
        }
        self.0.retain(|e| !e.fields.is_empty());
    }

    /// A write that is not an apply changed `old` into `new`: `manager` owns what
    /// changed, nobody else does, and fields that are gone are owned by nobody.
    pub fn record_update(
        &mut self,
        manager: &str,
        api_version: &str,
        now: &str,
        old: Option<&Value>,
        new: &Value,
        with_status: bool,
    ) {
        let now_fields = fields_of(new, with_status);
        let changed: BTreeSet<Path> = now_fields
            .iter()
            .filter(|p| old.and_then(|o| value_at(o, p)) != value_at(new, p))
            .cloned()
            .collect();
        for e in &mut self.0 {
            e.fields
                .retain(|p| now_fields.contains(p) && !changed.contains(p));
        }
        if !changed.is_empty() {
            let mut mine = self
                .entry_mut(manager, "Update")
                .map(|e| e.fields.clone())
                .unwrap_or_default();
            mine.extend(changed);
            self.set(manager, "Update", api_version, now, mine);
        }
        self.0.retain(|e| !e.fields.is_empty());
    }

    /// Applies `applied` (its fields owned by `manager`) onto `current` (`None`: a new
    /// object). Returns the new object, or every conflict when not `force`d.
    pub fn apply(
        &mut self,
        manager: &str,
        api_version: &str,
        now: &str,
        current: Option<&Value>,
        applied: &Value,
        force: bool,
    ) -> Result<Value, Vec<Conflict>> {
        let mine = fields_of(applied, false);
        let empty = Value::Object(Map::new());
        let base = current.unwrap_or(&empty);
        let mut conflicts = Vec::new();
        for e in &self.0 {
            if e.manager == manager && e.operation == "Apply" {
                continue;
            }
            for p in e.fields.intersection(&mine) {
                if value_at(applied, p) != value_at(base, p) {
                    conflicts.push(Conflict {
                        manager: e.manager.clone(),
                        api_version: e.api_version.clone(),
                        path: p.clone(),
                    });
                }
            }
        }
        if !conflicts.is_empty() && !force {
            return Err(conflicts);
        }
        for c in &conflicts {
            for e in &mut self.0 {
                if e.manager == c.manager && !(e.manager == manager && e.operation == "Apply") {
                    e.fields.remove(&c.path);
                }
            }
        }
        let before = self
            .entry_mut(manager, "Apply")
            .map(|e| e.fields.clone())
            .unwrap_or_default();
        let mut next = base.clone();
        merge(&mut next, applied);
        for p in before.difference(&mine) {
            let shared = self
                .0
                .iter()
                .any(|e| !(e.manager == manager && e.operation == "Apply") && e.fields.contains(p));
            if !shared {
                remove(&mut next, p);
            }
        }
        self.set(manager, "Apply", api_version, now, mine);
        Ok(next)
    }
}

/// Applies `patch` onto `doc`: objects merge key by key, anything else replaces.
fn merge(doc: &mut Value, patch: &Value) {
    match (doc.as_object_mut(), patch.as_object()) {
        (Some(d), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    d.remove(k);
                    continue;
                }
                match d.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        d.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => *doc = patch.clone(),
    }
}

/// The API server's words for conflicts.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    let n = conflicts.len();
    let list: Vec<String> = conflicts
        .iter()
        .map(|c| {
            format!(
                "conflict with \"{}\" using {}: {}",
                c.manager,
                c.api_version,
                dotted(&c.path)
            )
        })
        .collect();
    format!(
        "Apply failed with {n} conflict{}: {}",
        if n == 1 { "" } else { "s" },
        list.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        s.split('.')
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn fields_are_leaves_and_fields_v1_round_trips() {
        let obj = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"app": "x"}, "resourceVersion": "3"},
            "data": {"k": "v", "list": [1, 2]},
        });
        let set = fields_of(&obj, false);
        assert_eq!(
            set,
            [p("metadata.labels.app"), p("data.k"), p("data.list")]
                .into_iter()
                .collect()
        );
        let v1 = to_fields_v1(&set);
        assert_eq!(v1["f:data"]["f:k"], json!({}));
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn a_different_value_for_anothers_field_conflicts_unless_forced_and_force_moves_it() {
        let mut m = Managed::default();
        let first = m
            .apply(
                "a",
                "v1",
                "t",
                None,
                &json!({"spec": {"replicas": 1, "x": 1}}),
                false,
            )
            .expect("applied");
        // Same value: shared, no conflict.
        m.apply(
            "b",
            "v1",
            "t",
            Some(&first),
            &json!({"spec": {"x": 1}}),
            false,
        )
        .expect("same value");
        let e = m
            .apply(
                "b",
                "v1",
                "t",
                Some(&first),
                &json!({"spec": {"replicas": 2}}),
                false,
            )
            .expect_err("conflict");
        assert_eq!(e.len(), 1);
        assert_eq!(
            conflict_message(&e),
            "Apply failed with 1 conflict: conflict with \"a\" using v1: .spec.replicas"
        );
        let forced = m
            .apply(
                "b",
                "v1",
                "t",
                Some(&first),
                &json!({"spec": {"replicas": 2}}),
                true,
            )
            .expect("forced");
        assert_eq!(forced["spec"]["replicas"], 2);
        let a = m.0.iter().find(|e| e.manager == "a").expect("a");
        assert!(!a.fields.contains(&p("spec.replicas")), "moved to b");
    }

    #[test]
    fn a_field_its_only_applier_stops_sending_is_removed_and_a_shared_one_stays() {
        let mut m = Managed::default();
        let obj = m
            .apply(
                "a",
                "v1",
                "t",
                None,
                &json!({"data": {"k1": "1", "k2": "2", "k3": "3"}}),
                false,
            )
            .expect("applied");
        let obj = m
            .apply(
                "b",
                "v1",
                "t",
                Some(&obj),
                &json!({"data": {"k3": "3"}}),
                false,
            )
            .expect("co-owned");
        let next = m
            .apply(
                "a",
                "v1",
                "t",
                Some(&obj),
                &json!({"data": {"k1": "1"}}),
                false,
            )
            .expect("applied");
        assert_eq!(next["data"], json!({"k1": "1", "k3": "3"}));
    }

    #[test]
    fn an_update_takes_what_it_changed_from_everyone() {
        let mut m = Managed::default();
        let obj = m
            .apply(
                "a",
                "v1",
                "t",
                None,
                &json!({"spec": {"replicas": 1}}),
                false,
            )
            .expect("applied");
        let mut changed = obj.clone();
        changed["spec"]["replicas"] = json!(3);
        m.record_update("kubectl-scale", "v1", "t", Some(&obj), &changed, false);
        assert!(
            m.0.iter().all(|e| e.manager != "a"),
            "a owns nothing now: {m:?}"
        );
        let e = m
            .apply(
                "a",
                "v1",
                "t",
                Some(&changed),
                &json!({"spec": {"replicas": 1}}),
                false,
            )
            .expect_err("now a conflict");
        assert_eq!(e[0].manager, "kubectl-scale");
    }

    #[test]
    fn removing_a_field_drops_parents_it_leaves_empty() {
        let mut obj = json!({"a": {"b": {"c": 1}}, "d": 2});
        remove(&mut obj, &p("a.b.c"));
        assert_eq!(obj, json!({"d": 2}));
    }
}
