//! A package's values applied to its objects, as Glasskube applies them, so real
//! packages behave as their authors wrote them: each value (given, else its
//! `defaultValue`) goes through every target of its definition: rendered by the
//! target's `valueTemplate` (Go `text/template`, the syntax package authors write:
//! `{{.}}`, `{{ if eq . "" }}false{{ else }}true{{ end }}`, `{{ . | base64 }}`;
//! `{{.}}` when absent), the output read as JSON (a number, `true`, a quoted string,
//! `null`) or else taken as a string, and written by the target's JSON patch into the
//! object it names by API group, kind and the name in the manifest.
//!
//! Guarantees: the template engine is gtmpl, a port of Go's `text/template`, not string
//! replacement; a template that does not parse or render, or a target naming an object
//! the package does not have, is an error naming the value (terminal: the package is
//! wrong). A workload's pod template carries a hash of the values, so a changed value
//! rolls it.

use super::placement::Rendered;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The annotation on pod templates that changes when the values do.
pub const VALUES_HASH_ANNOTATION: &str = "packages.hoist.dev/values-hash";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValuesError {
    #[error("value {value:?}: the valueTemplate {template:?} does not render: {why}")]
    Template {
        value: String,
        template: String,
        why: String,
    },
    #[error("value {value:?}: a target is malformed: {why}")]
    Target { value: String, why: String },
    #[error("value {value:?}: no {kind} {name:?} in the package to patch")]
    NoSuchObject {
        value: String,
        kind: String,
        name: String,
    },
    #[error("value {value:?}: the patch at {path} does not apply: {why}")]
    Patch {
        value: String,
        path: String,
        why: String,
    },
}

/// The values in force: the given ones over the definitions' defaults.
pub fn effective(
    definitions: &BTreeMap<String, crate::repo::format::ValueDefinition>,
    given: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = definitions
        .iter()
        .filter_map(|(k, d)| Some((k.clone(), d.default_value.clone()?)))
        .collect();
    out.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// Renders `template` (Go `text/template`) with `value` as `.`; `base64` is available.
pub fn render(template: &str, value: &str) -> Result<String, String> {
    let mut t = gtmpl::Template::default();
    t.add_func("base64", base64_func);
    t.parse(template).map_err(|e| e.to_string())?;
    let ctx = gtmpl::Context::from(gtmpl::Value::from(value.to_string()));
    t.render(&ctx).map_err(|e| e.to_string())
}

fn base64_func(args: &[gtmpl::Value]) -> Result<gtmpl::Value, gtmpl::FuncError> {
    use base64::Engine;
    let text = match args {
        [gtmpl::Value::String(s)] => s.clone(),
        [other] => other.to_string(),
        _ => return Err(gtmpl::FuncError::ExactlyXArgs("base64".into(), 1)),
    };
    Ok(gtmpl::Value::from(
        base64::engine::general_purpose::STANDARD.encode(text),
    ))
}

/// A rendered value as JSON: what it parses as, else the text as a string.
fn as_json(rendered: &str) -> Value {
    serde_json::from_str(rendered.trim()).unwrap_or_else(|_| Value::String(rendered.to_string()))
}

/// Applies `values` (already [`effective`]) through the resource targets of
/// `definitions` to `objects` (before placement: names as in the manifest), and marks
/// every pod template with the values' hash.
pub fn apply(
    definitions: &BTreeMap<String, crate::repo::format::ValueDefinition>,
    values: &BTreeMap<String, String>,
    objects: &mut [Rendered],
) -> Result<(), ValuesError> {
    for (name, value) in values {
        let Some(def) = definitions.get(name) else {
            continue;
        };
        for target in &def.targets {
            let Some(resource) = target.get("resource") else {
                // A chart target: applied to the Helm release's values, not to objects.
                continue;
            };
            apply_target(name, value, resource, target, objects)?;
        }
    }
    let hash = values_hash(values);
    for r in objects.iter_mut() {
        let path = match r.object.get("kind").and_then(Value::as_str) {
            Some("Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job") => {
                "/spec/template"
            }
            Some("CronJob") => "/spec/jobTemplate/spec/template",
            _ => continue,
        };
        if let Some(template) = r.object.pointer_mut(path)
            && template.is_object()
        {
            if !template.get("metadata").is_some_and(Value::is_object) {
                template["metadata"] = json!({});
            }
            let meta = &mut template["metadata"];
            if !meta.get("annotations").is_some_and(Value::is_object) {
                meta["annotations"] = json!({});
            }
            meta["annotations"][VALUES_HASH_ANNOTATION] = Value::String(hash.clone());
        }
    }
    Ok(())
}

fn apply_target(
    name: &str,
    value: &str,
    resource: &Value,
    target: &Value,
    objects: &mut [Rendered],
) -> Result<(), ValuesError> {
    let bad = |why: &str| ValuesError::Target {
        value: name.into(),
        why: why.into(),
    };
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (group, kind, object) = (
        s(resource, "apiGroup"),
        s(resource, "kind"),
        s(resource, "name"),
    );
    if kind.is_empty() || object.is_empty() {
        return Err(bad("resource needs kind and name"));
    }
    let found = objects.iter_mut().find(|r| {
        let o = &r.object;
        let av = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let g = av.rsplit_once('/').map_or("", |(g, _)| g);
        g == group
            && o.get("kind").and_then(Value::as_str) == Some(kind.as_str())
            && o.pointer("/metadata/name").and_then(Value::as_str) == Some(object.as_str())
    });
    let Some(r) = found else {
        return Err(ValuesError::NoSuchObject {
            value: name.into(),
            kind,
            name: object,
        });
    };
    render_target(name, value, target, &mut r.object)
}

/// Renders `target`'s `valueTemplate` with `value` and applies its `patch` (one RFC
/// 6902 operation) to `doc`: an object for a resource target, the chart's values for a
/// chart target.
pub fn render_target(
    name: &str,
    value: &str,
    target: &Value,
    doc: &mut Value,
) -> Result<(), ValuesError> {
    let bad = |why: &str| ValuesError::Target {
        value: name.into(),
        why: why.into(),
    };
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let patch = target.get("patch").ok_or_else(|| bad("no patch"))?;
    let (op, path) = (s(patch, "op"), s(patch, "path"));
    if op.is_empty() || path.is_empty() {
        return Err(bad("patch needs op and path"));
    }
    let template = target
        .get("valueTemplate")
        .and_then(Value::as_str)
        .unwrap_or("{{.}}");
    let rendered = render(template, value).map_err(|why| ValuesError::Template {
        value: name.into(),
        template: template.into(),
        why,
    })?;
    let mut op_json = json!({"op": op, "path": path});
    if op != "remove" {
        op_json["value"] = as_json(&rendered);
    }
    let ops: json_patch::Patch =
        serde_json::from_value(json!([op_json])).map_err(|e| bad(&e.to_string()))?;
    json_patch::patch(doc, &ops).map_err(|e| ValuesError::Patch {
        value: name.into(),
        path,
        why: e.to_string(),
    })
}

/// A short, stable hash of the values (FNV-1a over `key=value` lines).
pub fn values_hash(values: &BTreeMap<String, String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in values {
        for b in k.bytes().chain([b'=']).chain(v.bytes()).chain([b'\n']) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::format::ValueDefinition;

    fn def(default: Option<&str>, targets: Value) -> ValueDefinition {
        ValueDefinition {
            type_: "text".into(),
            default_value: default.map(str::to_string),
            targets: serde_json::from_value(targets).expect("targets"),
            ..Default::default()
        }
    }

    fn deployment() -> Vec<Rendered> {
        vec![Rendered {
            object: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 1, "template": {"metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "web", "env": []}]}}}}),
            default_namespace: None,
        }]
    }

    #[test]
    fn go_templates_as_real_packages_write_them() {
        assert_eq!(render("{{.}}", "3").as_deref(), Ok("3"));
        assert_eq!(
            render(r#"{{ if eq . "" }}false{{ else }}true{{ end }}"#, "").as_deref(),
            Ok("false")
        );
        assert_eq!(
            render(r#"{{ if eq . "" }}false{{ else }}true{{ end }}"#, "x").as_deref(),
            Ok("true")
        );
        assert_eq!(
            render(r#"{{if .}}"{{.}}"{{else}}null{{end}}"#, "").as_deref(),
            Ok("null")
        );
        assert_eq!(
            render(r#"{{if .}}"{{.}}"{{else}}null{{end}}"#, "abc").as_deref(),
            Ok("\"abc\"")
        );
        assert_eq!(
            render("{{ . | base64 }}", "hunter2").as_deref(),
            Ok("aHVudGVyMg==")
        );
        assert!(render("{{ if }}", "x").is_err());
    }

    #[test]
    fn values_and_defaults_patch_their_targets_as_json_or_text() {
        let defs: BTreeMap<String, ValueDefinition> = [
            (
                "replicas".to_string(),
                def(
                    Some("1"),
                    json!([{"resource": {"apiGroup": "apps", "kind": "Deployment", "name": "web"},
                    "patch": {"op": "add", "path": "/spec/replicas"}, "valueTemplate": "{{.}}"}]),
                ),
            ),
            (
                "greeting".to_string(),
                def(
                    Some("Hello there"),
                    json!([{"resource": {"apiGroup": "apps", "kind": "Deployment", "name": "web"},
                    "patch": {"op": "add", "path": "/spec/template/spec/containers/0/env/-"},
                    "valueTemplate": "{\"name\": \"GREETING\", \"value\": \"{{.}}\"}"}]),
                ),
            ),
            (
                "debug".to_string(),
                def(
                    None,
                    json!([{"resource": {"apiGroup": "apps", "kind": "Deployment", "name": "web"},
                    "patch": {"op": "add", "path": "/metadata/annotations"},
                    "valueTemplate": "{\"debug\": \"{{.}}\"}"}]),
                ),
            ),
        ]
        .into();
        let given: BTreeMap<String, String> = [("replicas".to_string(), "3".to_string())].into();
        let values = effective(&defs, &given);
        assert_eq!(values.len(), 2, "debug has no default and was not given");
        let mut objs = deployment();
        apply(&defs, &values, &mut objs).expect("applies");
        let d = &objs[0].object;
        assert_eq!(d["spec"]["replicas"], 3, "a number, not \"3\"");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["env"][0],
            json!({"name": "GREETING", "value": "Hello there"})
        );
        assert!(d.pointer("/metadata/annotations").is_none());
        let hash = d["spec"]["template"]["metadata"]["annotations"][VALUES_HASH_ANNOTATION].clone();
        let mut again = deployment();
        let more: BTreeMap<String, String> = [("replicas".to_string(), "4".to_string())].into();
        apply(&defs, &effective(&defs, &more), &mut again).expect("applies");
        assert_ne!(
            again[0].object["spec"]["template"]["metadata"]["annotations"][VALUES_HASH_ANNOTATION],
            hash,
            "a changed value changes the pod template, which rolls the workload"
        );
    }

    #[test]
    fn a_target_naming_nothing_in_the_package_is_refused_by_name() {
        let defs: BTreeMap<String, ValueDefinition> = [(
            "replicas".to_string(),
            def(
                Some("1"),
                json!([{"resource": {"apiGroup": "apps", "kind": "Deployment", "name": "nope"},
                "patch": {"op": "add", "path": "/spec/replicas"}}]),
            ),
        )]
        .into();
        let e = apply(
            &defs,
            &effective(&defs, &BTreeMap::new()),
            &mut deployment(),
        )
        .expect_err("no such object");
        assert_eq!(
            e,
            ValuesError::NoSuchObject {
                value: "replicas".into(),
                kind: "Deployment".into(),
                name: "nope".into()
            }
        );
    }
}
