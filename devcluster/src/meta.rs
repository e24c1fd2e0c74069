//! Object metadata rules: names, generation, timestamps, equality.

use serde_json::Value;

/// `metadata.creationTimestamp` style: RFC 3339, seconds, `Z`.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A DNS-1123 subdomain: what most kinds require of `metadata.name`.
pub fn check_subdomain(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() {
        Err("metadata.name: Required value: name or generateName is required".into())
    } else if name.len() > 253 || !ok_chars || !ends_ok {
        Err(format!(
            "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        ))
    } else {
        Ok(())
    }
}

/// A path segment (`path.IsValidPathSegmentName`): what RBAC kinds require of their
/// names, so `system:discovery` is one.
pub fn check_path_segment(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("metadata.name: Required value: name or generateName is required".into());
    }
    if name == "." || name == ".." {
        return Err(format!(
            "metadata.name: Invalid value: {name:?}: may not be '{name}'"
        ));
    }
    for bad in ["/", "%"] {
        if name.contains(bad) {
            return Err(format!(
                "metadata.name: Invalid value: {name:?}: may not contain '{bad}'"
            ));
        }
    }
    Ok(())
}

/// A DNS-1123 label: what Namespaces require.
pub fn check_label(name: &str) -> Result<(), String> {
    check_subdomain(name)?;
    if name.len() > 63 || name.contains('.') {
        return Err(format!(
            "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 label must be at most 63 characters and contain no '.'"
        ));
    }
    Ok(())
}

pub fn name(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn resource_version(obj: &Value) -> &str {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    obj.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// `metadata` as a mutable map, created if missing or not an object.
pub fn metadata_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Default::default());
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// The part of an object whose change bumps `generation`: everything but metadata and
/// status for custom resources, `spec` for built-in kinds.
pub fn generation_relevant(obj: &Value, custom: bool) -> Value {
    match obj {
        Value::Object(m) if custom => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => obj.get("spec").cloned().unwrap_or(Value::Null),
    }
}

/// Whether a write changes nothing but `resourceVersion` / `managedFields`: the
/// apiserver then answers with the stored object and emits no event.
pub fn same_ignoring_version(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(Value::Object(m)) = v.get_mut("metadata") {
            m.remove("resourceVersion");
            m.remove("managedFields");
        }
        v
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rfc_1123() {
        assert!(check_subdomain("a.b-c").is_ok());
        assert!(check_subdomain("Abc").is_err());
        assert!(check_subdomain("-a").is_err());
        assert!(check_subdomain("").is_err());
        assert!(check_label("a.b").is_err());
    }
}
