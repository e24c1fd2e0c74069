//! Whether an applied object drifted from what its package sets: the live object holds
//! every field the package sets (what the server adds, defaults and status, is not
//! drift). Judged against the operator's watch, so a pass over an unchanged package
//! writes nothing ([`crate::apply`]).

use serde_json::Value;

/// Whether `live` already holds every field `desired` sets (metadata: only labels and
/// annotations count). Lists must match item for item. A Secret's `stringData` is
/// write-only (the API server stores it in `data`, base64): it is compared there.
pub fn holds(desired: &Value, live: &Value) -> bool {
    let (Value::Object(d), Value::Object(l)) = (desired, live) else {
        return false;
    };
    let secret = desired.get("kind").and_then(Value::as_str) == Some("Secret");
    d.iter().all(|(k, v)| match k.as_str() {
        "metadata" => ["labels", "annotations"].iter().all(|f| match v.get(*f) {
            None => true,
            Some(want) => live
                .pointer(&format!("/metadata/{f}"))
                .is_some_and(|have| contains(want, have)),
        }),
        "status" => true,
        "stringData" if secret => string_data_held(v, l.get("data")),
        _ => l.get(k).is_some_and(|have| contains(v, have)),
    })
}

/// Whether every `stringData` entry is in `data`, base64-encoded.
fn string_data_held(string_data: &Value, data: Option<&Value>) -> bool {
    use base64::Engine;
    let Some(entries) = string_data.as_object() else {
        return string_data.is_null();
    };
    entries.iter().all(|(key, value)| {
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        data.and_then(|d| d.get(key)).and_then(Value::as_str) == Some(encoded.as_str())
    })
}

fn contains(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, v)| {
            h.get(k).is_some_and(|x| contains(v, x)) || (v.is_null() && !h.contains_key(k))
        }),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| contains(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_holding_every_field_the_package_sets_has_not_drifted() {
        let desired = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "labels": {"a": "1"}},
            "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}});
        let live = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "uid": "u", "resourceVersion": "9", "labels": {"a": "1", "b": "2"}},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "web"}, "clusterIP": "10.0.0.1"},
            "status": {}});
        assert!(
            holds(&desired, &live),
            "defaults added by the server are not drift"
        );
        let mut edited = live.clone();
        edited["spec"]["selector"]["app"] = json!("other");
        assert!(!holds(&desired, &edited), "a changed field is drift");
        let mut extra_port = live.clone();
        extra_port["spec"]["ports"] = json!([{"port": 80}, {"port": 81}]);
        assert!(!holds(&desired, &extra_port), "lists match item for item");
        let mut relabelled = live;
        relabelled["metadata"]["labels"]["a"] = json!("x");
        assert!(!holds(&desired, &relabelled));
    }

    #[test]
    fn a_secrets_string_data_is_compared_with_what_the_server_stores_in_data() {
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"token": "not-a-secret"}});
        // The API server keeps stringData only as base64 in data.
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"token": "bm90LWEtc2VjcmV0"}, "type": "Opaque"});
        assert!(holds(&desired, &live));
        let changed = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"token": "b3RoZXI="}});
        assert!(!holds(&desired, &changed), "a changed value is drift");
    }
}
