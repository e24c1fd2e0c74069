//! Label and field selectors, parsed as the apiserver parses them.
//!
//! Label selectors: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`,
//! joined by commas. Field selectors: `metadata.name` and `metadata.namespace` with
//! `=`, `==`, `!=`. Anything else is a `400 BadRequest`, never a silent match-all.

use crate::error::ApiError;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

/// Splits on commas that are not inside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 317
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && k.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let bad = |why: &str| {
            ApiError::bad_request(format!(
                "unable to parse requirement: invalid label selector {s:?}: {why}"
            ))
        };
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for term in split_terms(s) {
            let term = term.trim();
            if term.is_empty() {
                return Err(bad("empty requirement"));
            }
            let req = if let Some(key) = term.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_string())
            } else if let Some((k, v)) = term.split_once("!=") {
                Requirement::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once("==") {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once('=') {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = split_set_op(term, " notin ") {
                Requirement::NotIn(
                    k,
                    parse_set(rest).ok_or_else(|| bad("malformed value set"))?,
                )
            } else if let Some((k, rest)) = split_set_op(term, " in ") {
                Requirement::In(
                    k,
                    parse_set(rest).ok_or_else(|| bad("malformed value set"))?,
                )
            } else {
                Requirement::Exists(term.to_string())
            };
            let (key, values): (&str, Vec<&String>) = match &req {
                Requirement::Eq(k, v) | Requirement::NotEq(k, v) => (k, vec![v]),
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) => (k, vs.iter().collect()),
                Requirement::Exists(k) | Requirement::NotExists(k) => (k, vec![]),
            };
            if !valid_key(key) {
                return Err(bad(&format!("invalid key {key:?}")));
            }
            if let Some(v) = values.iter().find(|v| !valid_value(v)) {
                return Err(bad(&format!("invalid value {v:?}")));
            }
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

fn split_set_op(term: &str, op: &str) -> Option<(String, String)> {
    term.split_once(op)
        .map(|(k, rest)| (k.trim().to_string(), rest.trim().to_string()))
}

fn parse_set(rest: String) -> Option<Vec<String>> {
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    (!values.iter().any(String::is_empty)).then_some(values)
}

#[derive(Debug, Clone, PartialEq)]
enum FieldReq {
    Eq(Vec<String>, String),
    NotEq(Vec<String>, String),
}

/// The fields of an Event the API server selects on (core `v1` names, and their
/// `events.k8s.io/v1` names, which it converts to these): `(v1 field, events.k8s.io
/// field)`. An Event is stored in the view it was written in, so a field is looked up
/// under both names.
const EVENT_FIELDS: [(&str, &str); 10] = [
    ("involvedObject.kind", "regarding.kind"),
    ("involvedObject.namespace", "regarding.namespace"),
    ("involvedObject.name", "regarding.name"),
    ("involvedObject.uid", "regarding.uid"),
    ("involvedObject.apiVersion", "regarding.apiVersion"),
    (
        "involvedObject.resourceVersion",
        "regarding.resourceVersion",
    ),
    ("involvedObject.fieldPath", "regarding.fieldPath"),
    ("reason", "reason"),
    ("type", "type"),
    ("reportingComponent", "reportingController"),
];

fn pointer(field: &str) -> String {
    format!("/{}", field.replace('.', "/"))
}

/// A parsed field selector over `metadata.name` / `metadata.namespace`, and for Events
/// the fields the API server supports on them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<FieldReq>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        Self::parse_for(s, false)
    }

    /// As [`FieldSelector::parse`], with the Event fields when `events`.
    pub fn parse_for(s: &str, events: bool) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for term in s.split(',') {
            let (field, value, negate) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, v, false)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid field selector {s:?}: {term:?} is not of the form field=value"
                )));
            };
            let field = field.trim();
            let event_field = EVENT_FIELDS
                .iter()
                .find(|(v1, new)| *v1 == field || *new == field)
                .filter(|_| events);
            let pointer: Vec<String> = match (field, event_field) {
                ("metadata.name" | "metadata.namespace", _) => vec![pointer(field)],
                (_, Some((v1, new))) => vec![pointer(v1), pointer(new)],
                (other, None) => {
                    return Err(ApiError::bad_request(format!(
                        "field label not supported: {other} (supported: metadata.name, metadata.namespace{})",
                        if events { ", and the Event fields" } else { "" }
                    )));
                }
            };
            let value = value.trim().to_string();
            reqs.push(if negate {
                FieldReq::NotEq(pointer, value)
            } else {
                FieldReq::Eq(pointer, value)
            });
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let get = |ps: &[String]| {
            ps.iter()
                .find_map(|p| obj.pointer(p).and_then(Value::as_str))
                .unwrap_or("")
        };
        self.0.iter().all(|r| match r {
            FieldReq::Eq(p, v) => get(p) == v,
            FieldReq::NotEq(p, v) => get(p) != v,
        })
    }
}

/// Both selectors of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns", "labels": labels}})
    }

    #[test]
    fn label_selector_operators_match_as_the_apiserver_does() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let m = |s: &str| LabelSelector::parse(s).map(|sel| sel.matches(&o));
        assert_eq!(m("app=web"), Ok(true));
        assert_eq!(m("app==web"), Ok(true));
        assert_eq!(m("app!=web"), Ok(false));
        assert_eq!(m("app in (db, web)"), Ok(true));
        assert_eq!(m("app notin (db,web)"), Ok(false));
        assert_eq!(m("tier,app=web"), Ok(true));
        assert_eq!(m("!tier"), Ok(false));
        assert_eq!(m("!missing"), Ok(true));
        assert_eq!(m("missing notin (x)"), Ok(true));
        assert_eq!(m(""), Ok(true));
    }

    #[test]
    fn malformed_label_selectors_are_bad_requests() {
        for s in ["app in (a", "a=b,,c", "=x", "app in ()", "k=v w"] {
            let err = LabelSelector::parse(s).expect_err(s);
            assert_eq!(err.code, 400, "{s}");
        }
    }

    #[test]
    fn event_field_selectors_work_in_both_views_and_only_for_events() {
        let new = json!({"metadata": {"name": "e"}, "regarding": {"uid": "u1", "kind": "Package"}, "reason": "Ready"});
        let old = json!({"metadata": {"name": "e"}, "involvedObject": {"uid": "u1", "kind": "Package"}, "reason": "Ready"});
        for sel in [
            "regarding.uid=u1",
            "involvedObject.uid=u1",
            "reason=Ready,regarding.kind=Package",
        ] {
            let f = FieldSelector::parse_for(sel, true).expect(sel);
            assert!(f.matches(&new) && f.matches(&old), "{sel}");
        }
        let other = FieldSelector::parse_for("regarding.uid=u2", true).expect("parse");
        assert!(!other.matches(&new));
        assert_eq!(
            FieldSelector::parse_for("regarding.uid=u1", false)
                .expect_err("not an Event")
                .code,
            400
        );
    }

    #[test]
    fn field_selector_supports_name_and_namespace_only() {
        let o = obj(json!({}));
        assert!(
            FieldSelector::parse("metadata.name=a")
                .map(|f| f.matches(&o))
                .unwrap_or(false)
        );
        assert!(FieldSelector::parse("metadata.namespace!=ns").is_ok_and(|f| !f.matches(&o)));
        assert_eq!(
            FieldSelector::parse("spec.x=1").map_err(|e| e.code),
            Err(400)
        );
    }
}
