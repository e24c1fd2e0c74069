//! Unknown fields: the fields an object's schema does not declare, which the API server
//! drops when it decodes a write (or refuses, under `fieldValidation=Strict`; see
//! [`super::FieldValidation`]).
//!
//! Two rule sets, as in the API server:
//! - built-in kinds are decoded into their Go types, so only declared fields survive;
//!   a schema that declares no properties (`RawExtension`, `FieldsV1`) takes anything;
//! - custom resources are pruned by their CRD's structural schema: an object schema
//!   keeps only its `properties` (or the values of `additionalProperties`), unless it
//!   says `x-kubernetes-preserve-unknown-fields: true`; the root and every
//!   `x-kubernetes-embedded-resource` keep `apiVersion`, `kind` and a `metadata` checked
//!   against `ObjectMeta`.
//!
//! Paths are written as the API server writes them in `unknown field "…"`:
//! `spec.template.spec.containers[0].imagee`.

use super::builtin::{OBJECT_META, builtins};
use serde_json::{Map, Value};

/// Removes from a built-in object every field its kind's schema does not declare and
/// returns their paths, in document order.
pub fn builtin(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    Walker::builtin().walk(obj, schema, "", &mut found);
    found
}

/// As [`builtin`], for a custom resource under its CRD version's `openAPIV3Schema`.
pub fn custom(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let walker = Walker {
        definitions: None,
        structural: true,
    };
    walker.embedded(obj, schema, "", &mut found);
    found
}

struct Walker {
    /// Where `$ref`s point (`None`: CRD schemas have none).
    definitions: Option<&'static Map<String, Value>>,
    structural: bool,
}

/// How deep `$ref`/`allOf` chains are followed before a schema is taken as it is.
const MAX_INDIRECTION: usize = 16;

impl Walker {
    fn builtin() -> Self {
        Self {
            definitions: Some(&builtins().definitions),
            structural: false,
        }
    }

    /// Follows `$ref` and a lone `allOf: [{$ref}]` (how a referenced type carries its
    /// own description) to the schema that says what an object holds.
    fn resolve<'s>(&'s self, mut schema: &'s Value) -> &'s Value {
        for _ in 0..MAX_INDIRECTION {
            if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
                let name = r.rsplit('/').next().unwrap_or(r);
                match self.definitions.and_then(|d| d.get(name)) {
                    Some(s) => {
                        schema = s;
                        continue;
                    }
                    None => return schema,
                }
            }
            let declares = ["properties", "additionalProperties", "items"]
                .iter()
                .any(|k| schema.get(*k).is_some());
            if !declares
                && let Some(Value::Array(all)) = schema.get("allOf")
                && let [only] = all.as_slice()
            {
                schema = only;
                continue;
            }
            return schema;
        }
        schema
    }

    fn walk(&self, value: &mut Value, schema: &Value, path: &str, found: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return;
        }
        if schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
            return self.embedded(value, schema, path, found);
        }
        match value {
            Value::Object(map) => self.object(map, schema, path, &[], found),
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter_mut().enumerate() {
                        self.walk(v, item, &format!("{path}[{i}]"), found);
                    }
                }
            }
            _ => {}
        }
    }

    /// An object that is itself a resource: `apiVersion` and `kind` are always known,
    /// `metadata` is `ObjectMeta`.
    fn embedded(&self, value: &mut Value, schema: &Value, path: &str, found: &mut Vec<String>) {
        let Value::Object(map) = value else { return };
        if let Some(meta) = map.get_mut("metadata") {
            let meta_schema = builtins().definitions.get(OBJECT_META);
            if let Some(s) = meta_schema {
                Walker::builtin().walk(meta, s, &join(path, "metadata"), found);
            }
        }
        if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return;
        }
        self.object(
            map,
            schema,
            path,
            &["apiVersion", "kind", "metadata"],
            found,
        );
    }

    fn object(
        &self,
        map: &mut Map<String, Value>,
        schema: &Value,
        path: &str,
        always_known: &[&str],
        found: &mut Vec<String>,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        if properties.is_none() && additional.is_none() && !self.structural {
            // A built-in type that declares nothing holds anything (RawExtension).
            return;
        }
        let mut unknown = Vec::new();
        for (key, v) in map.iter_mut() {
            if always_known.contains(&key.as_str()) {
                continue;
            }
            let child = join(path, key);
            if let Some(s) = properties.and_then(|p| p.get(key)) {
                self.walk(v, s, &child, found);
                continue;
            }
            match additional {
                Some(Value::Bool(true)) => {}
                Some(s @ Value::Object(_)) => self.walk(v, s, &child, found),
                _ => {
                    found.push(child);
                    unknown.push(key.clone());
                }
            }
        }
        for key in unknown {
            map.remove(&key);
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment_schema() -> &'static Value {
        builtins()
            .kind("apps", "v1", "Deployment")
            .expect("Deployment schema")
    }

    #[test]
    fn a_misspelled_built_in_field_is_found_with_its_path_and_removed() {
        let mut d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "lables": {}},
            "spec": {"replicass": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx", "imagee": "x",
                        "resources": {"limits": {"cpu": "1"}}}]}}},
        });
        let found = builtin(&mut d, deployment_schema());
        assert_eq!(
            found,
            [
                "metadata.lables",
                "spec.replicass",
                "spec.template.spec.containers[0].imagee"
            ]
        );
        assert!(d["spec"].get("replicass").is_none());
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx"
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"], "1",
            "maps keep their keys"
        );
    }

    #[test]
    fn a_correct_built_in_object_is_left_as_it_is() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "annotations": {"x": "y"}, "managedFields": [
                {"manager": "m", "operation": "Apply", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:data": {"f:a": {}}}}]},
            "data": {"a": "1"}});
        let before = cm.clone();
        let schema = builtins().kind("", "v1", "ConfigMap").expect("ConfigMap");
        assert!(builtin(&mut cm, schema).is_empty());
        assert_eq!(cm, before, "free-form FieldsV1 keeps its content");
    }

    #[test]
    fn custom_resources_are_pruned_by_their_structural_schema() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "size": {"type": "integer"},
                "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}},
            }},
            "status": {"type": "object"},
        }});
        let mut obj = json!({"apiVersion": "g/v1", "kind": "Gadget",
            "metadata": {"name": "a", "bogus": 1},
            "spec": {"size": 1, "sise": 2, "values": {"any": {"thing": 1}},
                "labels": {"k": "v"}, "items": [{"a": "x", "b": "y"}]},
            "status": {"anything": true}});
        let found = custom(&mut obj, &schema);
        assert_eq!(
            found,
            [
                "metadata.bogus",
                "spec.items[0].b",
                "spec.sise",
                "status.anything"
            ]
        );
        assert_eq!(obj["spec"]["values"]["any"]["thing"], 1);
        assert_eq!(obj["spec"]["labels"]["k"], "v");
        assert_eq!(obj["status"], json!({}));
        assert_eq!(obj["metadata"]["name"], "a");
    }
}
