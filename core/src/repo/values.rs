//! Checking the values a user gives a package against its `valueDefinitions`: known
//! keys, the right type, the options, the constraints, by Glasskube's rules (a number
//! is an integer, lengths count bytes, a pattern is searched for, `required` is met by
//! any value given, even `""`, or by a non-empty default). Pure, so the CLI, the UI
//! and the operator share one set of rules.

use super::format::{Constraints, ValueDefinition};
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
    #[error(
        "value {key:?}: the package's defaultValue is not {expected} (the package is wrong; give the value)"
    )]
    InvalidDefault { key: String, expected: String },
    #[error("value {key:?} is required and has no default")]
    Missing { key: String },
    #[error("value {key:?} has type {type_:?}, which is none of boolean, number, text, options")]
    UnknownType { key: String, type_: String },
}

/// Glasskube's boolean words (`strconv.ParseBool`).
const BOOLEAN_WORDS: &[&str] = &[
    "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False",
];

/// The largest compiled `pattern` a package may ask for: RE2 semantics (linear time),
/// and a bound on the memory a hostile pattern can take.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// Whether `given` is a number as Glasskube reads one (`strconv.Atoi`: a base-10
/// integer with an optional sign, nothing else).
fn integer(given: &str) -> Option<i64> {
    let digits = given.strip_prefix(['+', '-']).unwrap_or(given);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    given.strip_prefix('+').unwrap_or(given).parse().ok()
}

/// `pattern` searched for in `given` (unanchored, as Go's `MatchString`).
fn pattern_matches(pattern: &str, given: &str) -> Result<bool, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map(|re| re.is_match(given))
        .map_err(|e| format!("the package's pattern does not compile: {e}"))
}

/// Checks one value against its definition, by Glasskube's validators per type
/// (`internal/manifestvalues/validate.go`): text (maxLength, minLength in bytes,
/// pattern), number (an integer, min, max, pattern), options (one of them), boolean
/// (`strconv.ParseBool`'s words). Constraints of another type are not checked.
pub fn check(key: &str, def: &ValueDefinition, given: &str) -> Result<(), ValueError> {
    let invalid = |expected: String| ValueError::Invalid {
        key: key.into(),
        expected,
        given: given.into(),
    };
    let none = Constraints::default();
    let c = def.constraints.as_ref().unwrap_or(&none);
    let pattern = |given: &str| -> Result<(), ValueError> {
        match &c.pattern {
            Some(p) => match pattern_matches(p, given) {
                Ok(true) => Ok(()),
                Ok(false) => Err(invalid(format!("text matching {p:?}"))),
                Err(why) => Err(invalid(why)),
            },
            None => Ok(()),
        }
    };
    match def.type_.as_str() {
        "boolean" if !BOOLEAN_WORDS.contains(&given) => Err(invalid("true or false".into())),
        "boolean" => Ok(()),
        "number" => {
            let n = integer(given).ok_or_else(|| invalid("a whole number".into()))?;
            if c.min.is_some_and(|m| n < m) || c.max.is_some_and(|m| n > m) {
                return Err(invalid(match (c.min, c.max) {
                    (Some(a), Some(b)) => format!("a number from {a} to {b}"),
                    (Some(a), None) => format!("a number of at least {a}"),
                    (None, Some(b)) => format!("a number of at most {b}"),
                    (None, None) => "a number".into(),
                }));
            }
            pattern(given)
        }
        "options" if !def.options.iter().any(|o| o == given) => {
            Err(invalid(format!("one of {}", def.options.join(", "))))
        }
        "options" => Ok(()),
        "text" => {
            let len = given.len() as i64;
            if c.min_length.is_some_and(|m| len < m) || c.max_length.is_some_and(|m| len > m) {
                return Err(invalid(format!(
                    "text of {} to {} bytes",
                    c.min_length.unwrap_or(0),
                    c.max_length
                        .map_or("any number of".to_string(), |m| m.to_string())
                )));
            }
            pattern(given)
        }
        other => Err(ValueError::UnknownType {
            key: key.into(),
            type_: other.into(),
        }),
    }
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
        if out.contains_key(key) {
            continue;
        }
        match def.default() {
            None if def.required() => return Err(ValueError::Missing { key: key.clone() }),
            // A default in force is checked as a value is (Glasskube's clients write it
            // into the spec, where its webhook checks it).
            Some(default) => check(key, def, default).map_err(|e| match e {
                ValueError::Invalid { key, expected, .. } => {
                    ValueError::InvalidDefault { key, expected }
                }
                other => other,
            })?,
            None => {}
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
    fn a_number_is_an_integer_as_go_atoi_reads_it() {
        let defs: BTreeMap<String, ValueDefinition> =
            serde_json::from_value(json!({"n": {"type": "number"}})).expect("definitions");
        for bad in [
            "NaN",
            "inf",
            "1e3",
            "1.5",
            " 5",
            "1_000",
            "0x10",
            "",
            "+",
            "99999999999999999999",
        ] {
            let e = validate("p", &defs, &given(&[("n", bad)]))
                .expect_err(bad)
                .to_string();
            assert!(e.contains("a whole number"), "{bad}: {e}");
        }
        for good in ["0", "-3", "+5", "007"] {
            assert!(
                validate("p", &defs, &given(&[("n", good)])).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn booleans_take_go_parsebool_words_and_patterns_are_searched_not_anchored() {
        let defs: BTreeMap<String, ValueDefinition> = serde_json::from_value(json!({
            "b": {"type": "boolean"},
            "key": {"type": "text", "constraints": {"pattern": "sk-.+", "minLength": 4}},
            "n": {"type": "number", "constraints": {"pattern": "^[0-9]$"}},
            "odd": {"type": "colour"},
        }))
        .expect("definitions");
        for ok in ["1", "t", "TRUE", "False", "0"] {
            assert!(validate("p", &defs, &given(&[("b", ok)])).is_ok(), "{ok}");
        }
        assert!(validate("p", &defs, &given(&[("b", "yes")])).is_err());
        assert!(validate("p", &defs, &given(&[("key", "my sk-abc")])).is_ok());
        let e = validate("p", &defs, &given(&[("key", "pk-abcdef")])).expect_err("no sk-");
        assert!(e.to_string().contains("sk-.+"), "{e}");
        assert!(validate("p", &defs, &given(&[("n", "12")])).is_err());
        let e = validate("p", &defs, &given(&[("odd", "red")])).expect_err("no such type");
        assert!(e.to_string().contains("\"colour\""), "{e}");
        // Lengths count bytes: "é" is two.
        assert!(validate("p", &defs, &given(&[("key", "sk-é")])).is_ok());
        assert!(validate("p", &defs, &given(&[("key", "sk-")])).is_err());
    }

    #[test]
    fn required_is_met_by_an_empty_value_but_not_by_an_empty_default() {
        let defs: BTreeMap<String, ValueDefinition> = serde_json::from_value(json!({
            "a": {"type": "text", "defaultValue": "", "constraints": {"required": true}},
        }))
        .expect("definitions");
        assert!(validate("p", &defs, &given(&[("a", "")])).is_ok());
        assert!(validate("p", &defs, &given(&[])).is_err());
    }

    #[test]
    fn each_kind_of_bad_value_says_what_is_expected() {
        let err = |pairs: &[(&str, &str)]| {
            validate("p", &defs(), &given(pairs))
                .expect_err("invalid")
                .to_string()
        };
        let with_title = |k: &'static str, v: &'static str| [("title", "hi"), (k, v)];
        assert!(err(&with_title("replicas", "many")).contains("a whole number"));
        assert!(err(&with_title("replicas", "11")).contains("from 1 to 10"));
        assert!(err(&with_title("tls", "yes")).contains("true or false"));
        assert!(err(&with_title("size", "huge")).contains("one of small, large"));
        assert!(err(&[("title", "too long")]).contains("bytes"));
        assert!(err(&with_title("colour", "red")).contains("has: replicas, size, title, tls"));
        assert!(err(&[]).contains("\"title\" is required"));
    }
}
