//! The JSONPath templates of Glasskube's transformations (`source.path`), read as
//! Kubernetes' `k8s.io/client-go/util/jsonpath` reads them with missing keys refused
//! and one result required: `{ $.metadata.name }`, `{.spec.packageInfo.version}`.
//!
//! Guarantees: the expression inside the braces is evaluated by `serde_json_path`
//! (RFC 9535), with `$` put in front when the template leaves it out, as Kubernetes
//! does; a template without braces is literal text (its value is that text); anything
//! else (text beside a `{...}`, two blocks, no result, several results) is an error
//! that names the path, never the data.

use serde_json::Value;

/// The one value `template` selects in `doc`.
pub fn evaluate(template: &str, doc: &Value) -> Result<Value, String> {
    let t = template.trim();
    if !t.contains('{') {
        return Ok(Value::String(template.to_string()));
    }
    let inner = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .filter(|inner| !inner.contains('{') && !inner.contains('}'))
        .ok_or_else(|| {
            format!(
                "source.path {template:?}: one {{...}} block is expected, with nothing beside it"
            )
        })?
        .trim();
    let expr = if inner.starts_with('$') {
        inner.to_string()
    } else if inner.starts_with('.') || inner.starts_with('[') {
        format!("${inner}")
    } else {
        format!("$.{inner}")
    };
    let path = serde_json_path::JsonPath::parse(&expr)
        .map_err(|e| format!("source.path {template:?} is not a JSONPath: {e}"))?;
    let found = path.query(doc).all();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("source.path {template:?} selects nothing")),
        many => Err(format!(
            "source.path {template:?} selects {} values, one is expected",
            many.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubernetes_templates_select_one_value_and_text_without_braces_is_literal() {
        let doc = json!({"metadata": {"name": "t1"}, "spec": {"values": {"a": {"value": "x"}}}});
        assert_eq!(evaluate("{ $.metadata.name }", &doc), Ok(json!("t1")));
        assert_eq!(evaluate("{.metadata.name}", &doc), Ok(json!("t1")));
        assert_eq!(evaluate("{.spec.values.a.value}", &doc), Ok(json!("x")));
        assert_eq!(evaluate("plain", &doc), Ok(json!("plain")));
        assert!(evaluate("{.metadata.missing}", &doc).is_err());
        assert!(evaluate("x{.metadata.name}", &doc).is_err());
        assert!(evaluate("{.metadata.name}{.metadata.name}", &doc).is_err());
        let e = evaluate("{$..*}", &doc).expect_err("several");
        assert!(e.contains("one is expected") && !e.contains("t1"), "{e}");
    }
}
