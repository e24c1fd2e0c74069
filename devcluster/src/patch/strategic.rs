//! Strategic merge patch, as the API server applies it to built-in kinds (what
//! `kubectl edit`, `kubectl apply` and `kubectl patch` send for them): maps merge as in
//! a JSON merge patch, but lists whose Go field says `patchStrategy:"merge"` merge
//! item by item on their merge key (`containers` by `name`, a container's `ports` by
//! `containerPort`, …) instead of being replaced, and the directives steer the rest:
//! - `$patch: delete` on a list item removes the item with that key, on a map removes
//!   the map; `$patch: replace` replaces the list or map whole;
//! - `$setElementOrder/<list>` gives the order of the merged list;
//! - `$deleteFromPrimitiveList/<list>` removes values from a merged primitive list
//!   (`finalizers`);
//! - `$retainKeys` keeps only the keys it names.
//!
//! Caveats: merge keys come from a table of the built-in fields that have them
//! (`strategy`), not from the schemas; lists not in it are replaced whole, which is
//! the API server's rule for lists without a strategy. Custom resources take no
//! strategic patches on the API server; devcluster applies them as JSON merge patches.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListStrategy {
    /// Replaced whole (no patch strategy).
    Replace,
    /// Items merged by this key.
    Keyed(&'static str),
    /// A set of primitive values: the patch's are added.
    Set,
}

/// The strategy of list field `field`, whose items (old and patched) are `items`.
fn strategy<'a>(field: &str, mut items: impl Iterator<Item = &'a Value>) -> ListStrategy {
    use ListStrategy::*;
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env"
        | "resourceClaims"
        | "schedulingGates"
        | "secrets" => Keyed("name"),
        "volumeMounts" => Keyed("mountPath"),
        "volumeDevices" => Keyed("devicePath"),
        "hostAliases" => Keyed("ip"),
        "topologySpreadConstraints" => Keyed("topologyKey"),
        "conditions" => Keyed("type"),
        "ownerReferences" => Keyed("uid"),
        // A container's ports merge by containerPort, a Service's by port.
        "ports" if items.any(|i| i.get("containerPort").is_some()) => Keyed("containerPort"),
        "ports" => Keyed("port"),
        "finalizers" => Set,
        _ => Replace,
    }
}

/// Applies a strategic merge patch to `doc` (a built-in object).
pub fn apply(doc: &mut Value, patch: &Value) -> Result<(), ApiError> {
    match (doc, patch) {
        (Value::Object(target), Value::Object(p)) => {
            merge_map(target, p);
            Ok(())
        }
        _ => Err(ApiError::bad_request(
            "a strategic merge patch must be a JSON object",
        )),
    }
}

fn directive(v: &Value) -> Option<&str> {
    v.get("$patch").and_then(Value::as_str)
}

/// A patch value as it is stored: directives removed, deleted items dropped.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|i| !matches!(directive(i), Some("delete" | "replace")))
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn merge_map(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        if let Value::Object(m) = clean(&Value::Object(patch.clone())) {
            *target = m;
        }
        return;
    }
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        if value.is_null() || directive(value) == Some("delete") {
            target.remove(key);
            continue;
        }
        match (target.get_mut(key), value) {
            (Some(Value::Object(t)), Value::Object(p)) => merge_map(t, p),
            (Some(Value::Array(t)), Value::Array(p)) => merge_list(key, t, p),
            (_, v) => {
                target.insert(key.clone(), clean(v));
            }
        }
    }
    for (key, value) in patch {
        let Some(list) = value.as_array() else {
            continue;
        };
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/")
            && let Some(Value::Array(t)) = target.get_mut(field)
        {
            t.retain(|v| !list.contains(v));
        }
        if let Some(field) = key.strip_prefix("$setElementOrder/")
            && let Some(Value::Array(t)) = target.get_mut(field)
        {
            reorder(field, t, list);
        }
    }
    if let Some(Value::Array(keep)) = patch.get("$retainKeys") {
        target.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
}

fn merge_list(field: &str, target: &mut Vec<Value>, patch: &[Value]) {
    if patch.iter().any(|i| directive(i) == Some("replace")) {
        if let Value::Array(a) = clean(&Value::Array(patch.to_vec())) {
            *target = a;
        }
        return;
    }
    match strategy(field, target.iter().chain(patch)) {
        ListStrategy::Replace => {
            if let Value::Array(a) = clean(&Value::Array(patch.to_vec())) {
                *target = a;
            }
        }
        ListStrategy::Set => {
            for v in patch {
                if !target.contains(v) {
                    target.push(v.clone());
                }
            }
        }
        ListStrategy::Keyed(key) => {
            for item in patch {
                let Some(id) = item.get(key) else {
                    target.push(clean(item));
                    continue;
                };
                let at = target.iter().position(|t| t.get(key) == Some(id));
                match (at, directive(item)) {
                    (Some(i), Some("delete")) => {
                        target.remove(i);
                    }
                    (None, Some("delete")) => {}
                    (Some(i), _) => {
                        if let (Value::Object(t), Value::Object(p)) = (&mut target[i], item) {
                            merge_map(t, p);
                        }
                    }
                    (None, _) => target.push(clean(item)),
                }
            }
        }
    }
}

/// Puts the items `order` names first, in its order; the rest keep theirs, after them.
fn reorder(field: &str, items: &mut Vec<Value>, order: &[Value]) {
    let rank = |item: &Value| -> Option<usize> {
        match strategy(field, std::iter::once(item)) {
            ListStrategy::Keyed(key) => {
                let id = item.get(key)?;
                order.iter().position(|o| o.get(key) == Some(id))
            }
            _ => order.iter().position(|o| o == item),
        }
    };
    let mut ranked: Vec<(usize, usize, Value)> = items
        .drain(..)
        .enumerate()
        .map(|(i, v)| (rank(&v).unwrap_or(usize::MAX), i, v))
        .collect();
    ranked.sort_by_key(|(r, i, _)| (*r, *i));
    items.extend(ranked.into_iter().map(|(_, _, v)| v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(doc: Value, patch: Value) -> Value {
        let mut doc = doc;
        apply(&mut doc, &patch).expect("applies");
        doc
    }

    fn deployment() -> Value {
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "sidecar", "image": "envoy"}
        ]}}}})
    }

    #[test]
    fn a_changed_container_image_merges_into_that_container_only() {
        // What kubectl edit sends after changing one image.
        let doc = patched(
            deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                "containers": [{"name": "web", "image": "nginx:1.28"}]}}}}),
        );
        let containers = &doc["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "nginx:1.28");
        assert_eq!(containers[0]["ports"], json!([{"containerPort": 80}]));
        assert_eq!(containers[1], json!({"name": "sidecar", "image": "envoy"}));
    }

    #[test]
    fn delete_directives_remove_items_and_element_order_sorts_the_result() {
        let doc = patched(
            deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}],
                "containers": [{"name": "web",
                    "$setElementOrder/env": [{"name": "C"}, {"name": "A"}],
                    "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}]}]}}}}),
        );
        let containers = &doc["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["name"], "sidecar");
        assert_eq!(
            containers[1]["env"],
            json!([{"name": "C", "value": "3"}, {"name": "A", "value": "1"}])
        );
    }

    #[test]
    fn lists_without_a_strategy_are_replaced_and_replace_directives_replace() {
        let doc = patched(
            json!({"spec": {"args": ["a", "b"], "selector": {"a": "1", "b": "2"},
                "metadata": {"finalizers": ["x"]}}}),
            json!({"spec": {"args": ["c"], "selector": {"$patch": "replace", "c": "3"},
                "metadata": {"finalizers": ["y"]}}}),
        );
        assert_eq!(doc["spec"]["args"], json!(["c"]));
        assert_eq!(doc["spec"]["selector"], json!({"c": "3"}));
        assert_eq!(
            doc["spec"]["metadata"]["finalizers"],
            json!(["x", "y"]),
            "finalizers are a merged set"
        );
        let doc = patched(
            doc,
            json!({"spec": {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}}}),
        );
        assert_eq!(doc["spec"]["metadata"]["finalizers"], json!(["y"]));
    }

    #[test]
    fn service_ports_merge_by_port_and_null_removes_a_key() {
        let doc = patched(
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}],
                "type": "ClusterIP"}}),
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}], "type": null}}),
        );
        assert_eq!(
            doc["spec"],
            json!({"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]})
        );
    }
}
