//! Values: what a custom resource's fields may hold under its CRD's `openAPIV3Schema`,
//! checked as `apiextensions-apiserver` checks them with kube-openapi's `validate`
//! package, and worded as the API server words the 422 it answers.
//!
//! [`validate`] (create) and [`validate_update`] (update, patch, apply, `/status`) are
//! pure functions of a schema and an object; they return each cause as a
//! `Status.details.causes[]` entry ([`Cause`]), in the order the API server lists them.
//! [`ApiError::invalid_causes`](crate::error::ApiError::invalid_causes) turns them into
//! the 422.
//!
//! Guarantees:
//! - rules: `type` (`string`, `integer`, `number`, `boolean`, `object`, `array`; an
//!   integral number is an integer, an integer a number), `nullable`,
//!   `x-kubernetes-int-or-string` (type `integer,string`), `enum`, `pattern`,
//!   `maxLength`/`minLength` (in characters), `maximum`/`minimum` with
//!   `exclusiveMaximum`/`exclusiveMinimum`, `multipleOf`, `maxItems`/`minItems`,
//!   `uniqueItems`, `maxProperties`/`minProperties`, `required`, `properties`,
//!   `additionalProperties` (a schema, or `false`), `patternProperties`, `items` (a
//!   schema or one per index), `allOf`/`anyOf`/`oneOf`/`not`;
//! - `format`, after the API server's stripping (a string format it does not know, an
//!   integer format other than `int32`/`int64`, a number format other than
//!   `float`/`double`, any format on another type, is ignored): `int32` and `float`
//!   ranges, `date-time`, `date`, `uuid`/`uuid3`/`uuid4`/`uuid5`, `ipv4`, `ipv6`,
//!   `cidr`, `hostname`, `byte`, `hexcolor`, `password`, `k8s-short-name`,
//!   `k8s-long-name`;
//! - nothing is checked where the schema says nothing: keys no `properties`,
//!   `additionalProperties` or `patternProperties` describes (what
//!   `x-kubernetes-preserve-unknown-fields` keeps) have no rules;
//! - texts are the API server's (kube-openapi's message inside the field error
//!   `apiextensions-apiserver` makes of it): `spec.x: Invalid value: "bad": spec.x in
//!   body should match '^[a-z]+$'`, `spec.x: Required value`, `spec.x: Unsupported
//!   value: "z": supported values: "a", "b"`, `spec.x: Too long: may not be more than
//!   63 bytes`, `spec.x: Too many: 3: must have at most 2 items`, `spec.x: Invalid
//!   value: "integer": spec.x in body must be of type string: "integer"`; errors that
//!   name no field (`anyOf`, a number out of its format's range) have the field
//!   `<nil>`, as there. The texts are those of Kubernetes 1.36 and later (which also
//!   check that an `int32` or `float` value fits its format); kube-openapi's quirks are
//!   kept, e.g. an integer is checked against `int64(multipleOf)`, so `multipleOf: 0.5`
//!   refuses an integer value as "must be positive: 0";
//! - an update is ratcheted as the API server ratchets it (`CRDValidationRatcheting`,
//!   on since 1.30): errors in a part of the object equal to the stored one (map keys
//!   correlated by name, `x-kubernetes-list-type: map` items by their keys) are
//!   forgiven, so an object stored before its CRD got stricter can still be updated
//!   elsewhere.
//!
//! Caveats:
//! - the API server walks maps in Go's random order; here properties and keys come in
//!   sorted order, so causes within one object are listed alphabetically (the set is
//!   the same);
//! - `pattern` is compiled by the `regex` crate, not Go's `regexp` (RE2; kube-openapi
//!   does not use ECMA-262 despite OpenAPI saying so). Both are RE2-family; `\d`, `\w`,
//!   `\s`, `\b` are made ASCII as in Go and a literal `[` in a class is escaped; `\Q…\E`
//!   and octal escapes are not translated, and an invalid pattern's error text is the
//!   crate's;
//! - formats `uri`, `email`, `mac`, `isbn`/`isbn10`/`isbn13`, `creditcard`, `ssn`,
//!   `rgbcolor`, `bsonobjectid` and `duration` are accepted unchecked;
//! - CEL (`x-kubernetes-validations`), `dependencies` and `additionalItems` are not
//!   checked, nor embedded resources' `metadata`;
//! - devcluster does not apply schema `default`s: a `required` property that has one is
//!   not reported missing, and [`prune_nulls`] drops a non-nullable `null` that has one
//!   (the API server would have put the default there).

use crate::error::Cause;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The causes for which the API server refuses to create `obj` under `schema` (its
/// CRD version's `openAPIV3Schema`); empty when it is valid.
pub fn validate(schema: &Value, obj: &Value) -> Vec<Cause> {
    node(schema, "", obj, None, false).errors
}

/// As [`validate`], for an update of `old` to `new`: errors in parts `new` leaves as
/// they were are ratcheted away.
pub fn validate_update(schema: &Value, new: &Value, old: &Value) -> Vec<Cause> {
    node(schema, "", new, Some(old), true).errors
}

/// Drops the `null`s of fields whose schema is not `nullable`, as the API server's
/// decoder does before anything else looks at them (`PruneNonNullableNullsWithoutDefaults`;
/// see the Caveats for fields with a `default`).
pub fn prune_nulls(obj: &mut Value, schema: &Value) {
    prune_nulls_under(obj, Some(schema));
}

fn prune_nulls_under(x: &mut Value, schema: Option<&Value>) {
    match x {
        Value::Object(map) => map.retain(|key, v| {
            let child = schema.and_then(|s| field_schema(s, key));
            let non_nullable_null = v.is_null() && child.is_some_and(|c| !flag(c, "nullable"));
            if !non_nullable_null {
                prune_nulls_under(v, child);
            }
            !non_nullable_null
        }),
        Value::Array(items) => {
            let item = schema
                .and_then(|s| s.get("items"))
                .filter(|i| i.is_object());
            for v in items {
                prune_nulls_under(v, item);
            }
        }
        _ => {}
    }
}

/// The schema of a map's `key`: its property, else `additionalProperties`.
fn field_schema<'s>(schema: &'s Value, key: &str) -> Option<&'s Value> {
    schema
        .get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
}

/// What one validator found: errors, in order and each once, and kube-openapi's match
/// count (how much of the schema held; `anyOf`/`oneOf` report the branch that matched
/// most).
#[derive(Default)]
struct Res {
    errors: Vec<Cause>,
    count: usize,
}

impl Res {
    fn add(&mut self, c: Cause) {
        if !self.errors.contains(&c) {
            self.errors.push(c);
        }
    }

    fn merge(&mut self, other: Res) {
        for c in other.errors {
            self.add(c);
        }
        self.count += other.count;
    }

    fn error(c: Cause) -> Res {
        Res {
            errors: vec![c],
            count: 0,
        }
    }

    fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// `SchemaValidator.Validate`: every validator that applies to the value's kind, in
/// kube-openapi's order. `old` is the correlated stored value (updates); `ratchet`
/// forgives this node's errors when it is unchanged.
fn node(schema: &Value, path: &str, value: &Value, old: Option<&Value>, ratchet: bool) -> Res {
    let mut res = Res::default();
    if !schema.is_object() {
        return res;
    }
    let types = types(schema);
    let format = format(schema, &types);
    if value.is_null() {
        res.merge(check_type(schema, &types, format, path, value));
        res.merge(check_enum(schema, path, value));
    } else {
        if !types.is_empty() || !format.is_empty() {
            res.merge(check_type(schema, &types, format, path, value));
            res.count += 1;
        }
        res.merge(check_combinators(schema, path, value, old));
        res.count += 1;
        if let Value::String(s) = value {
            res.merge(check_string(schema, path, s));
            res.count += 1;
            if known_format(format) {
                res.merge(check_format(format, path, s));
                res.count += 1;
            }
        }
        if let Some(n) = Num::of(value) {
            res.merge(check_number(schema, &types, format, path, n));
            res.count += 1;
        }
        if let Value::Array(items) = value {
            res.merge(check_array(schema, path, items, old));
            res.count += 1;
        }
        res.merge(check_enum(schema, path, value));
        res.count += 1;
        if let Value::Object(map) = value {
            res.merge(check_object(schema, path, map, old));
            res.count += 1;
        }
        res.count += 1;
    }
    if ratchet && !res.is_valid() && old == Some(value) {
        res.errors.clear();
    }
    res
}

// ---------------------------------------------------------------------------------------
// Causes, as `kubeOpenAPIResultToFieldErrors` makes field errors of kube-openapi's.

/// The field of an error kube-openapi names `name` (`.spec` at the root: `spec`).
fn field(name: &str) -> String {
    if name.is_empty() || name == "." {
        "<nil>".into()
    } else {
        name.strip_prefix('.').unwrap_or(name).to_string()
    }
}

/// `field.Invalid`: `Invalid value: <value>: <detail>`.
fn invalid(name: &str, value: String, detail: String) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("Invalid value: {value}: {detail}"),
        field: field(name),
    }
}

/// An error kube-openapi does not tie to a field (composite schemas, number ranges):
/// `field.Invalid(nil, "", message)`.
fn unplaced(detail: String) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("Invalid value: \"\": {detail}"),
        field: "<nil>".into(),
    }
}

/// `errors.InvalidType` with a string value, as `field.TypeInvalid`.
fn type_invalid(name: &str, type_name: &str, value: &str) -> Cause {
    let quoted = go_quote(value);
    Cause {
        reason: "FieldValueTypeInvalid",
        message: format!(
            "Invalid value: {quoted}: {name} in body must be of type {type_name}: {quoted}"
        ),
        field: field(name),
    }
}

// ---------------------------------------------------------------------------------------
// The validators.

/// The schema's types: `x-kubernetes-int-or-string` is `integer,string`.
fn types(schema: &Value) -> Vec<&str> {
    if flag(schema, "x-kubernetes-int-or-string") {
        return vec!["integer", "string"];
    }
    match schema.get("type").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => vec![t],
        _ => vec![],
    }
}

/// String formats the API server keeps (normalized: without dashes).
const SUPPORTED_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "k8sshortname",
    "k8slongname",
];

/// The schema's `format` after `StripUnsupportedFormatsPostProcessor`: "" when the API
/// server ignores it.
fn format<'s>(schema: &'s Value, types: &[&str]) -> &'s str {
    let Some(f) = schema.get("format").and_then(Value::as_str) else {
        return "";
    };
    let keep = match types {
        [] | [_, _, ..] | ["string"] => SUPPORTED_FORMATS.contains(&f.replace('-', "").as_str()),
        ["integer"] => f == "int32" || f == "int64",
        ["number"] => f == "float" || f == "double",
        _ => false,
    };
    if keep { f } else { "" }
}

/// Whether kube-openapi's format registry knows `format` (so it checks strings).
fn known_format(format: &str) -> bool {
    !format.is_empty() && SUPPORTED_FORMATS.contains(&format.replace('-', "").as_str())
}

/// `typeValidator`.
fn check_type(schema: &Value, types: &[&str], format: &str, path: &str, value: &Value) -> Res {
    let joined = types.join(",");
    let (kind, inferred) = match value {
        Value::Null => {
            return if !types.is_empty() && !types.contains(&"null") && !flag(schema, "nullable") {
                Res::error(type_invalid(path, &joined, "null"))
            } else {
                Res {
                    errors: vec![],
                    count: 1,
                }
            };
        }
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(_) => match Num::of(value) {
            Some(Num::Int(_)) => ("integer", "int64"),
            _ => ("number", "float64"),
        },
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    };
    let float_int = matches!(Num::of(value), Some(Num::Float(f)) if is_json_integer(f))
        && kind == "number"
        && types.contains(&"integer");
    let int_float = kind == "integer" && types.contains(&"number");
    let stringy = matches!(value, Value::String(_) | Value::Array(_));
    let has_type = types.contains(&kind) || float_int || int_float;
    // A format names a type too: a number or object where a format is expected fails
    // by the format's name.
    let format_fits = format.is_empty() || has_type || inferred == format;
    if !stringy && !format_fits {
        return Res::error(type_invalid(path, format, inferred));
    }
    let numeric = types.contains(&"number") || types.contains(&"integer");
    // kube-openapi passes any string or array where a non-numeric format is declared.
    if stringy && !(numeric || format.is_empty()) {
        return Res {
            errors: vec![],
            count: 1,
        };
    }
    if !has_type {
        return Res::error(type_invalid(path, &joined, kind));
    }
    Res {
        errors: vec![],
        count: 1,
    }
}

/// `schemaPropsValidator`: `anyOf`, `oneOf`, `allOf`, `not`, each against the same
/// value at the same path.
fn check_combinators(schema: &Value, path: &str, value: &Value, old: Option<&Value>) -> Res {
    let list = |k: &str| {
        schema
            .get(k)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let quoted = go_quote(path);
    let mut main = Res::default();
    let any_of = list("anyOf");
    if !any_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut success: Option<Res> = None;
        for branch in any_of {
            let r = node(branch, path, value, old, false);
            if r.is_valid() {
                best = None;
                success = Some(r);
                break;
            }
            if best.as_ref().is_none_or(|b| r.count > b.count) {
                best = Some(r);
            }
        }
        if success.is_none() {
            main.add(unplaced(format!(
                "{quoted} must validate at least one schema (anyOf)"
            )));
        }
        if let Some(r) = best.or(success) {
            main.merge(r);
        }
    }
    let one_of = list("oneOf");
    if !one_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut success: Option<Res> = None;
        let mut validated = 0;
        for branch in one_of {
            let r = node(branch, path, value, old, false);
            if r.is_valid() {
                validated += 1;
                best = None;
                if success.is_none() {
                    success = Some(r);
                }
                continue;
            }
            if validated == 0 && best.as_ref().is_none_or(|b| r.count > b.count) {
                best = Some(r);
            }
        }
        if validated != 1 {
            let more = if validated == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {validated} valid alternatives")
            };
            main.add(unplaced(format!(
                "{quoted} must validate one and only one schema (oneOf). {more}"
            )));
            if let Some(r) = best {
                main.merge(r);
            }
        } else if let Some(r) = success {
            main.merge(r);
        }
    }
    let all_of = list("allOf");
    if !all_of.is_empty() {
        let mut validated = 0;
        for branch in all_of {
            let r = node(branch, path, value, old, false);
            if r.is_valid() {
                validated += 1;
            }
            main.merge(r);
        }
        if validated != all_of.len() {
            let more = if validated == 0 {
                ". None validated"
            } else {
                ""
            };
            main.add(unplaced(format!(
                "{quoted} must validate all the schemas (allOf){more}"
            )));
        }
    }
    if let Some(not) = schema.get("not").filter(|n| n.is_object())
        && node(not, path, value, old, false).is_valid()
    {
        main.add(unplaced(format!(
            "{quoted} must not validate the schema (not)"
        )));
    }
    main.count += 1;
    main
}

/// `stringValidator`: the first of `maxLength`, `minLength`, `pattern` that fails.
fn check_string(schema: &Value, path: &str, s: &str) -> Res {
    let chars = s.chars().count() as i64;
    if let Some(max) = int(schema, "maxLength")
        && chars > max
    {
        let unit = if max == 1 { "byte" } else { "bytes" };
        return Res::error(Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: may not be more than {max} {unit}"),
            field: field(path),
        });
    }
    if let Some(min) = int(schema, "minLength")
        && chars < min
    {
        return Res::error(invalid(
            path,
            go_quote(s),
            format!("{path} in body should be at least {min} chars long"),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && !pattern.is_empty()
    {
        let wrong = match compiled(pattern) {
            Ok(re) if re.is_match(s) => return Res::default(),
            Ok(_) => pattern.to_string(),
            Err(e) => format!("{pattern}, but pattern is invalid: {e}"),
        };
        return Res::error(invalid(
            path,
            go_quote(s),
            format!("{path} in body should match '{wrong}'"),
        ));
    }
    Res::default()
}

/// `formatValidator`, for the formats devcluster checks (see the Caveats).
fn check_format(format: &str, path: &str, s: &str) -> Res {
    let normalized = format.replace('-', "");
    let ok = match normalized.as_str() {
        "datetime" => is_date_time(s),
        "date" => is_date(s),
        "uuid" => matches_builtin(UUID, s),
        "uuid3" => matches_builtin(UUID3, s),
        "uuid4" => matches_builtin(UUID4, s),
        "uuid5" => matches_builtin(UUID5, s),
        "ipv4" => s.contains('.') && parse_ip_sloppy(s).is_some(),
        "ipv6" => s.contains(':') && s.parse::<std::net::Ipv6Addr>().is_ok(),
        "cidr" => is_cidr(s),
        "hostname" => {
            s.len() <= 255 && s.split('.').all(|l| l.len() <= 63) && matches_builtin(HOSTNAME, s)
        }
        "byte" => matches_builtin(BASE64, s),
        "hexcolor" => matches_builtin(HEXCOLOR, s),
        "k8sshortname" => s.len() <= 63 && matches_builtin(SHORT_NAME, s),
        "k8slongname" => s.len() <= 253 && matches_builtin(LONG_NAME, s),
        _ => true,
    };
    if ok {
        Res::default()
    } else {
        Res::error(type_invalid(path, format, s))
    }
}

/// A JSON number as the API server decodes it: an integer when it fits `int64`.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn of(v: &Value) -> Option<Num> {
        let n = v.as_number()?;
        match n.as_i64() {
            Some(i) => Some(Num::Int(i)),
            None => n.as_f64().map(Num::Float),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// `%v` of the Go value.
    fn show(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => go_float(f),
        }
    }
}

/// `numberValidator`: the value's range for its format, then `multipleOf`, `minimum`,
/// `maximum`: an integer against the bound as an integer when the bound fits the
/// schema's type, else as floats (how kube-openapi prints them too).
fn check_number(schema: &Value, types: &[&str], format: &str, path: &str, n: Num) -> Res {
    let (type_name, format) = match types {
        ["integer"] => ("integer", format),
        ["number"] => ("number", format),
        _ => ("", ""),
    };
    let range = |what: &str, v: Num| -> Option<Cause> {
        if fits(v, type_name, format) {
            return None;
        }
        Some(unplaced(if format.is_empty() {
            format!("{what} value must be of type {type_name} (default format) in {path}")
        } else {
            format!("{what} value must be of type {type_name} with format {format} in {path}")
        }))
    };
    let mut res = Res::default();
    if let Some(c) = range("Checked", n) {
        res.add(c);
    }
    if let Some(factor) = float(schema, "multipleOf") {
        let (data, shown, positive, multiple) = match (range("MultipleOf", Num::Float(factor)), n) {
            (None, Num::Int(i)) => {
                let f = factor as i64;
                (i.to_string(), f.to_string(), f > 0, f > 0 && i % f == 0)
            }
            (boundary, _) => {
                if let Some(c) = boundary {
                    res.add(c);
                }
                let data = n.as_f64();
                let mult = if factor < 1.0 {
                    1.0 / factor * data
                } else {
                    data / factor
                };
                let positive = factor > 0.0;
                (
                    go_float(data),
                    go_float(factor),
                    positive,
                    positive && is_json_integer(mult),
                )
            }
        };
        if !positive {
            res.add(invalid(
                path,
                shown.clone(),
                format!("factor MultipleOf declared for {path} must be positive: {shown}"),
            ));
        } else if !multiple {
            res.add(invalid(
                path,
                data,
                format!("{path} in body should be a multiple of {shown}"),
            ));
        }
    }
    for (key, exclusive, min) in [
        ("minimum", "exclusiveMinimum", true),
        ("maximum", "exclusiveMaximum", false),
    ] {
        let Some(bound) = float(schema, key) else {
            continue;
        };
        let exclusive = flag(schema, exclusive);
        let what = if min {
            "Minimum boundary"
        } else {
            "Maximum boundary"
        };
        let (data, shown, out) = match (range(what, Num::Float(bound)), n) {
            (None, Num::Int(i)) => {
                let b = bound as i64;
                let out = if min {
                    i < b || (exclusive && i <= b)
                } else {
                    i > b || (exclusive && i >= b)
                };
                (i.to_string(), b.to_string(), out)
            }
            (boundary, _) => {
                if let Some(c) = boundary {
                    res.add(c);
                }
                let data = n.as_f64();
                let out = if min {
                    data < bound || (exclusive && data <= bound)
                } else {
                    data > bound || (exclusive && data >= bound)
                };
                (go_float(data), go_float(bound), out)
            }
        };
        if out {
            let relation = match (min, exclusive) {
                (true, false) => "greater than or equal to",
                (true, true) => "greater than",
                (false, false) => "less than or equal to",
                (false, true) => "less than",
            };
            res.add(invalid(
                path,
                data,
                format!("{path} in body should be {relation} {shown}"),
            ));
        }
    }
    res.count += 1;
    res
}

/// `IsValueValidAgainstRange`: whether `v` (printed as Go prints it) parses as the
/// type and format.
fn fits(v: Num, type_name: &str, format: &str) -> bool {
    let text = match v {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => format!("{f}"),
    };
    match (type_name, format) {
        ("integer", "int32") => text.parse::<i32>().is_ok(),
        ("integer", _) => text.parse::<i64>().is_ok(),
        (_, "float") => text
            .parse::<f64>()
            .is_ok_and(|f| f.abs() <= f64::from(f32::MAX)),
        _ => true,
    }
}

/// `swag.IsFloat64AJSONInteger`: integral, or within 1e-9 relative of it.
fn is_json_integer(f: f64) -> bool {
    const MAX_JSON: f64 = 9_007_199_254_740_991.0;
    if !f.is_finite() || !(-MAX_JSON..=MAX_JSON).contains(&f) {
        return false;
    }
    let g = f.trunc();
    if f == g {
        return true;
    }
    let diff = (f - g).abs();
    if g == 0.0 {
        return false;
    }
    diff / (f.abs() + g.abs()) < 1e-9
}

/// `schemaSliceValidator`: each item, then `minItems`, `maxItems`, `uniqueItems`.
fn check_array(schema: &Value, path: &str, items: &[Value], old: Option<&Value>) -> Res {
    let mut res = Res::default();
    let old_items = old.and_then(Value::as_array);
    match schema.get("items") {
        Some(item @ Value::Object(_)) => {
            for (i, v) in items.iter().enumerate() {
                let o = old_items.and_then(|olds| correlate_item(schema, v, olds));
                res.merge(node(item, &format!("{path}[{i}]"), v, o, o.is_some()));
            }
        }
        Some(Value::Array(each)) => {
            for (i, (s, v)) in each.iter().zip(items).enumerate() {
                let o = old_items.and_then(|olds| correlate_item(schema, v, olds));
                res.merge(node(s, &format!("{path}[{i}]"), v, o, o.is_some()));
            }
        }
        _ => {}
    }
    let size = items.len() as i64;
    if let Some(min) = int(schema, "minItems")
        && size < min
    {
        res.add(invalid(
            path,
            size.to_string(),
            format!("{path} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = int(schema, "maxItems")
        && size > max
    {
        res.add(too_many(path, size, max));
    }
    if flag(schema, "uniqueItems")
        && items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].iter().any(|b| deep_equal(a, b)))
    {
        res.add(invalid(
            path,
            "\"\"".into(),
            format!("{path} in body shouldn't contain duplicates"),
        ));
    }
    res.count += 1;
    res
}

/// `field.TooMany` (`maxItems`, `maxProperties`).
fn too_many(path: &str, actual: i64, max: i64) -> Cause {
    let unit = if max == 1 { "item" } else { "items" };
    Cause {
        reason: "FieldValueTooMany",
        message: format!("Too many: {actual}: must have at most {max} {unit}"),
        field: field(path),
    }
}

/// The stored item an item of a new list is compared with: only lists of
/// `x-kubernetes-list-type: map` correlate items, by their keys.
fn correlate_item<'o>(schema: &Value, item: &Value, olds: &'o [Value]) -> Option<&'o Value> {
    if schema.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("map") {
        return None;
    }
    let keys: Vec<&str> = schema
        .get("x-kubernetes-list-map-keys")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let item = item.as_object()?;
    olds.iter().find(|o| {
        o.as_object()
            .is_some_and(|o| keys.iter().all(|k| o.get(*k) == item.get(*k)))
    })
}

/// `basicCommonValidator`: `enum`.
fn check_enum(schema: &Value, path: &str, value: &Value) -> Res {
    let Some(allowed) = schema.get("enum").and_then(Value::as_array) else {
        return Res::default();
    };
    if allowed.is_empty() || allowed.iter().any(|a| enum_equal(value, a)) {
        return Res::default();
    }
    let supported: Vec<String> = allowed
        .iter()
        .map(|a| match a {
            Value::String(s) => go_quote(s),
            other => go_quote(&go_json(other)),
        })
        .collect();
    Res::error(Cause {
        reason: "FieldValueNotSupported",
        message: format!(
            "Unsupported value: {}: supported values: {}",
            go_value(value),
            supported.join(", ")
        ),
        field: field(path),
    })
}

/// Whether `data` is `allowed` after Go's conversion of `data` to `allowed`'s type
/// (an integer enum accepts a float it truncates to, as kube-openapi does).
fn enum_equal(data: &Value, allowed: &Value) -> bool {
    match (Num::of(data), Num::of(allowed)) {
        (Some(d), Some(a)) => match (d, a) {
            (Num::Int(d), Num::Int(a)) => d == a,
            (Num::Int(d), Num::Float(a)) => d as f64 == a,
            (Num::Float(d), Num::Int(a)) => d as i64 == a,
            (Num::Float(d), Num::Float(a)) => d == a,
        },
        _ => match (data, allowed) {
            (Value::Null, _) => false,
            (Value::Number(_), Value::String(a)) => match Num::of(data) {
                // Go converts an integer to the string of that code point.
                Some(Num::Int(i)) => {
                    let c = u32::try_from(i)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}');
                    a.chars().eq([c])
                }
                _ => false,
            },
            _ => deep_equal(data, allowed),
        },
    }
}

/// `reflect.DeepEqual` of decoded JSON: an integer never equals a float.
fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => match (Num::of(a), Num::of(b)) {
            (Some(Num::Int(x)), Some(Num::Int(y))) => x == y,
            (Some(Num::Float(x)), Some(Num::Float(y))) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| deep_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => a == b,
    }
}

/// `objectValidator`: `minProperties`, `maxProperties`, what is not a property
/// (`additionalProperties`, `patternProperties`), each property, `required`.
fn check_object(schema: &Value, path: &str, map: &Map<String, Value>, old: Option<&Value>) -> Res {
    let mut res = Res::default();
    let size = map.len() as i64;
    if let Some(min) = int(schema, "minProperties")
        && size < min
    {
        res.add(invalid(
            path,
            size.to_string(),
            format!("{path} in body should have at least {min} properties"),
        ));
    }
    if let Some(max) = int(schema, "maxProperties")
        && size > max
    {
        res.add(too_many(path, size, max));
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let patterns: Vec<(&String, &Value)> = schema
        .get("patternProperties")
        .and_then(Value::as_object)
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let is_property = |k: &str| properties.is_some_and(|p| p.contains_key(k));
    let matching = |k: &str| -> Vec<&Value> {
        patterns
            .iter()
            .filter(|(p, _)| compiled(p).is_ok_and(|re| re.is_match(k)))
            .map(|(_, s)| *s)
            .collect()
    };
    let child = |k: &str| format!("{path}.{k}");
    let old_map = old.and_then(Value::as_object);
    let old_of = |k: &str| {
        if path.is_empty() && (k == "kind" || k == "apiVersion") {
            return None;
        }
        old_map.and_then(|m| m.get(k))
    };
    let additional = schema.get("additionalProperties");
    if additional == Some(&Value::Bool(false)) {
        for k in map.keys() {
            if !is_property(k) && matching(k).is_empty() {
                res.add(invalid(
                    path,
                    go_quote(k),
                    format!("{path}.{k} in body is a forbidden property"),
                ));
            }
        }
    } else {
        for (k, v) in map {
            let matched = matching(k);
            for s in &matched {
                let o = old_of(k);
                res.merge(node(s, &child(k), v, o, o.is_some()));
            }
            if !is_property(k)
                && matched.is_empty()
                && let Some(s @ Value::Object(_)) = additional
            {
                let o = old_of(k);
                res.merge(node(s, &child(k), v, o, o.is_some()));
            }
        }
    }
    if let Some(props) = properties {
        for (k, s) in props {
            if let Some(v) = map.get(k) {
                let name = if path.is_empty() { k.clone() } else { child(k) };
                let o = old_of(k);
                res.merge(node(s, &name, v, o, o.is_some()));
            }
        }
    }
    for k in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let defaulted = properties
            .and_then(|p| p.get(k))
            .and_then(|s| s.get("default"))
            .is_some_and(|d| !d.is_null());
        if !map.contains_key(k) && !defaulted {
            res.add(Cause {
                reason: "FieldValueRequired",
                message: "Required value".into(),
                field: field(&child(k)),
            });
        }
    }
    // Pattern properties once more for what is not a property, as kube-openapi does
    // (repeats are dropped).
    for (k, v) in map {
        if !is_property(k) {
            for s in matching(k) {
                let o = old_of(k);
                res.merge(node(s, &child(k), v, o, o.is_some()));
            }
        }
    }
    res
}

// ---------------------------------------------------------------------------------------
// Schema keywords.

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// An integer keyword (`maxLength`), truncated as Go's `int64` is.
fn int(schema: &Value, key: &str) -> Option<i64> {
    let v = schema.get(key)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

fn float(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key)?.as_f64()
}

// ---------------------------------------------------------------------------------------
// Patterns: Go's regexp syntax through the `regex` crate.

/// Compiled patterns, by their Go text (a schema's patterns are few and reused).
fn compiled(pattern: &str) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Result<Regex, String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(r) = cache.get(pattern) {
        return r.clone();
    }
    let r = Regex::new(&go_regex(pattern)).map_err(|e| {
        let text = e.to_string();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        format!("error parsing regexp: {last}")
    });
    if cache.len() >= 4096 {
        cache.clear();
    }
    cache.insert(pattern.to_string(), r.clone());
    r
}

/// Go's regexp syntax in the `regex` crate's: `\d`, `\w`, `\s`, `\b` are ASCII as in
/// Go; inside a class, `[` (not `[:`), `&` and `~` are literal as in Go.
fn go_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let first_in_class = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = match e {
                    'd' => Some(("0-9", false)),
                    'D' => Some(("0-9", true)),
                    'w' => Some(("0-9A-Za-z_", false)),
                    'W' => Some(("0-9A-Za-z_", true)),
                    's' => Some(("\\t\\n\\x0C\\r ", false)),
                    'S' => Some(("\\t\\n\\x0C\\r ", true)),
                    _ => None,
                };
                match class {
                    Some((set, negated)) => {
                        out.push('[');
                        if negated {
                            out.push('^');
                        }
                        out.push_str(set);
                        out.push(']');
                    }
                    None if !in_class && (e == 'b' || e == 'B') => {
                        out.push_str("(?-u:\\");
                        out.push(e);
                        out.push(')');
                    }
                    None => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                class_start = true;
            }
            '[' if chars.peek() == Some(&':') => {
                // An ASCII class (`[:alpha:]`): copied through its closing `:]`.
                out.push('[');
                let mut prev = '[';
                for n in chars.by_ref() {
                    out.push(n);
                    if prev == ':' && n == ']' {
                        break;
                    }
                    prev = n;
                }
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class && !first_in_class => {
                in_class = false;
                out.push(']');
            }
            ']' if in_class => out.push_str("\\]"),
            _ => out.push(c),
        }
    }
    out
}

const UUID: &str = "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$";
const UUID3: &str = "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$";
const UUID4: &str = "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$";
const UUID5: &str = "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$";
const HOSTNAME: &str = r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$";
const BASE64: &str =
    r"^(?:[A-Za-z0-9+\/]{4})*(?:[A-Za-z0-9+\/]{2}==|[A-Za-z0-9+\/]{3}=|[A-Za-z0-9+\/]{4})$";
const HEXCOLOR: &str = "^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$";
const SHORT_NAME: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const LONG_NAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DATE_TIME_TAIL: &str =
    r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$";

/// One of the format patterns above (Go syntax, as strfmt writes them).
fn matches_builtin(pattern: &str, s: &str) -> bool {
    compiled(pattern).is_ok_and(|re| re.is_match(s))
}

/// strfmt's `IsDateTime`: a date, `t`, a time with seconds and a zone.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(time)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let Ok(re) = compiled(DATE_TIME_TAIL) else {
        return false;
    };
    let Some(m) = re.captures(time) else {
        return false;
    };
    let part = |i: usize| m.get(i).map_or("", |g| g.as_str());
    part(1) <= "23" && part(2) <= "59" && part(3) <= "59"
}

/// Go's `time.Parse("2006-01-02", s)`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let all_digits = b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    match (all_digits, num(0..4), num(5..7), num(8..10)) {
        (true, Some(y), Some(m), Some(d)) => i32::try_from(y)
            .ok()
            .and_then(|y| chrono::NaiveDate::from_ymd_opt(y, m, d))
            .is_some(),
        _ => false,
    }
}

/// Go's `ParseIPSloppy`: an IP address, IPv4 parts may have leading zeros.
fn parse_ip_sloppy(s: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    Some(std::net::IpAddr::from(octets))
}

/// Go's `ParseCIDRSloppy`.
fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Some(ip) = parse_ip_sloppy(ip) else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.bytes().all(|c| c.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|b| b <= max)
}

// ---------------------------------------------------------------------------------------
// Go's renderings.

/// `strconv.Quote` (`%q`).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' ' => out.push(' '),
            c if (c as u32) < 0x80 && (c.is_ascii_control()) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || c.is_whitespace() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e21... as Go's
/// `%g` with shortest precision (exponent form from 1e6: `1e+06`).
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// `encoding/json` of decoded JSON (floats without a needless `.0`).
fn go_json(v: &Value) -> String {
    match v {
        Value::Number(_) => match Num::of(v) {
            Some(Num::Float(f)) => {
                let a = f.abs();
                if a == 0.0 || (1e-6..1e21).contains(&a) {
                    format!("{f}")
                } else {
                    let sci = format!("{f:e}");
                    let (m, e) = sci.split_once('e').unwrap_or((&sci, "0"));
                    let e: i32 = e.parse().unwrap_or(0);
                    let sign = if e < 0 { '-' } else { '+' };
                    format!("{m}e{sign}{}", e.abs())
                }
            }
            _ => v.to_string(),
        },
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_json).collect();
            format!("[{}]", inner.join(","))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), go_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        other => other.to_string(),
    }
}

/// A field error's bad value as `ErrorBody` prints it: strings quoted, numbers and
/// booleans bare, anything else as JSON.
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Number(_) => Num::of(v).map_or_else(|| v.to_string(), Num::show),
        Value::Bool(b) => b.to_string(),
        other => go_json(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(go_float(10.0), "10");
        assert_eq!(go_float(10.5), "10.5");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-2.5e-7), "-2.5e-07");
    }

    #[test]
    fn go_patterns_keep_go_meaning() {
        assert_eq!(go_regex(r"^\d+$"), "^[0-9]+$");
        assert_eq!(go_regex(r"[\w.-]"), r"[[0-9A-Za-z_].-]");
        assert_eq!(go_regex(r"[[a]"), r"[\[a]");
        assert_eq!(go_regex(r"[]a]"), r"[\]a]");
        assert_eq!(go_regex(r"[[:alpha:]&&x]"), r"[[:alpha:]\&\&x]");
        let re = compiled(r"^\d\b").expect("compiles");
        assert!(re.is_match("1"));
        assert!(!compiled(r"^\d$").expect("compiles").is_match("٣"));
    }

    #[test]
    fn quoting_is_strconv_quote() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
