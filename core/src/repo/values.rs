//! Checking the values a user gives a package against its `valueDefinitions`: known
//! keys, the right type, the options, the constraints. Pure, so the CLI, the UI and the
//! operator share one set of rules.

use super::format::ValueDefinition;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{package} has no value {key:?}; it has: {known}")]
    Unknown {
        package: String,
        key: String,
        known: String,
    },
    #[error("value {key:?} must be {expected}, not {given:?}")]
    Invalid {
        key: String,
        expected: String,
        given: String,
    },
    #[error("value {key:?} is required and has no default")]
    Missing { key: String },
}

fn constraint_f64(def: &ValueDefinition, name: &str) -> Option<f64> {
    def.constraints.as_ref()?.get(name)?.as_f64()
}

fn constraint_bool(def: &ValueDefinition, name: &str) -> bool {
    def.constraints
        .as_ref()
        .and_then(|c| c.get(name))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

fn check(key: &str, def: &ValueDefinition, given: &str) -> Result<(), ValueError> {
    let invalid = |expected: String| ValueError::Invalid {
        key: key.into(),
        expected,
        given: given.into(),
    };
    match def.type_.as_str() {
        "boolean" if !matches!(given, "true" | "false") => {
            return Err(invalid("true or false".into()));
        }
        "number" => {
            // `f64::from_str` takes "NaN" and "inf", which compare false with any bound
            // and would pass every range: they are not numbers a package can use.
            let n: f64 = given
                .trim()
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| invalid("a number".into()))?;
            let (min, max) = (constraint_f64(def, "min"), constraint_f64(def, "max"));
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                let range = match (min, max) {
                    (Some(a), Some(b)) => format!("a number from {a} to {b}"),
                    (Some(a), None) => format!("a number of at least {a}"),
                    (None, Some(b)) => format!("a number of at most {b}"),
                    (None, None) => "a number".into(),
                };
                return Err(invalid(range));
            }
        }
        "options" if !def.options.iter().any(|o| o == given) => {
            return Err(invalid(format!("one of {}", def.options.join(", "))));
        }
        "text" => {
            let len = given.chars().count() as f64;
            let min = constraint_f64(def, "minLength");
            let max = constraint_f64(def, "maxLength");
            if min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m) {
                return Err(invalid(format!(
                    "text of {} to {} characters",
                    min.unwrap_or(0.0),
                    max.map_or("any number of".to_string(), |m| m.to_string())
                )));
            }
        }
        _ => {}
    }
    Ok(())
}

fn unknown(package: &str, defs: &BTreeMap<String, ValueDefinition>, key: &str) -> ValueError {
    ValueError::Unknown {
        package: package.into(),
        key: key.into(),
        known: if defs.is_empty() {
            "no values".into()
        } else {
            defs.keys().cloned().collect::<Vec<_>>().join(", ")
        },
    }
}

/// Checks that every key is one `defs` defines (for values whose content is not at
/// hand, such as those read from a ConfigMap or Secret).
pub fn require_known<'a>(
    package: &str,
    defs: &BTreeMap<String, ValueDefinition>,
    keys: impl IntoIterator<Item = &'a String>,
) -> Result<(), ValueError> {
    match keys.into_iter().find(|k| !defs.contains_key(*k)) {
        Some(k) => Err(unknown(package, defs, k)),
        None => Ok(()),
    }
}

/// As [`validate`], where the keys in `present` (values read from elsewhere) are
/// known, count as given, and are not checked against their definition here.
pub fn validate_present(
    package: &str,
    defs: &BTreeMap<String, ValueDefinition>,
    given: &[(String, String)],
    present: &[String],
) -> Result<BTreeMap<String, String>, ValueError> {
    let mut out = BTreeMap::new();
    for (key, value) in given {
        let def = defs.get(key).ok_or_else(|| unknown(package, defs, key))?;
        if !present.contains(key) {
            check(key, def, value)?;
        }
        out.insert(key.clone(), value.clone());
    }
    for (key, def) in defs {
        if constraint_bool(def, "required") && !out.contains_key(key) && def.default_value.is_none()
        {
            return Err(ValueError::Missing { key: key.clone() });
        }
    }
    Ok(out)
}

/// Checks `given` against `defs`: every key known and valid, every required value given
/// or defaulted. Returns the values to store (only those given: defaults stay the
/// package's, so a new version's defaults apply).
pub fn validate(
    package: &str,
    defs: &BTreeMap<String, ValueDefinition>,
    given: &[(String, String)],
) -> Result<BTreeMap<String, String>, ValueError> {
    validate_present(package, defs, given, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> BTreeMap<String, ValueDefinition> {
        serde_json::from_value(json!({
            "replicas": {"type": "number", "defaultValue": "1", "constraints": {"min": 1, "max": 10}},
            "tls": {"type": "boolean"},
            "size": {"type": "options", "options": ["small", "large"]},
            "title": {"type": "text", "constraints": {"required": true, "maxLength": 5}},
        }))
        .expect("definitions")
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keys_from_references_must_be_defined_and_unknown_ones_list_the_known() {
        let known: Vec<String> = vec!["replicas".into(), "tls".into()];
        assert!(require_known("p", &defs(), &known).is_ok());
        let unknown: Vec<String> = vec!["tls".into(), "colour".into()];
        let e = require_known("p", &defs(), &unknown)
            .expect_err("colour is not defined")
            .to_string();
        assert!(
            e.contains("colour") && e.contains("replicas, size, title, tls"),
            "{e}"
        );
    }

    #[test]
    fn valid_values_pass_and_only_given_ones_are_kept() {
        let out = validate(
            "p",
            &defs(),
            &given(&[
                ("replicas", "3"),
                ("tls", "true"),
                ("size", "large"),
                ("title", "hi"),
            ]),
        )
        .expect("valid");
        assert_eq!(out.len(), 4);
        let out = validate("p", &defs(), &given(&[("title", "hi")])).expect("defaults apply");
        assert_eq!(out.keys().collect::<Vec<_>>(), ["title"]);
    }

    #[test]
    fn nan_and_infinities_are_not_numbers_even_without_bounds() {
        let defs: BTreeMap<String, ValueDefinition> =
            serde_json::from_value(json!({"ratio": {"type": "number"}})).expect("definitions");
        for bad in ["NaN", "nan", "inf", "-infinity", "1e999"] {
            let e = validate("p", &defs, &given(&[("ratio", bad)]))
                .expect_err(bad)
                .to_string();
            assert!(e.contains("a number"), "{bad}: {e}");
        }
        assert!(validate("p", &defs, &given(&[("ratio", "-2.5e3")])).is_ok());
    }

    #[test]
    fn each_kind_of_bad_value_says_what_is_expected() {
        let err = |pairs: &[(&str, &str)]| {
            validate("p", &defs(), &given(pairs))
                .expect_err("invalid")
                .to_string()
        };
        let with_title = |k: &'static str, v: &'static str| [("title", "hi"), (k, v)];
        assert!(err(&with_title("replicas", "many")).contains("a number"));
        assert!(err(&with_title("replicas", "11")).contains("from 1 to 10"));
        assert!(err(&with_title("tls", "yes")).contains("true or false"));
        assert!(err(&with_title("size", "huge")).contains("one of small, large"));
        assert!(err(&[("title", "too long")]).contains("characters"));
        assert!(err(&with_title("colour", "red")).contains("has: replicas, size, title, tls"));
        assert!(err(&[]).contains("\"title\" is required"));
    }
}
