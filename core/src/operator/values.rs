//! A package's values (and its transformations' results) written into its objects and
//! chart values exactly as Glasskube writes them (`internal/resourcepatch/patch.go`),
//! so real packages behave as their authors wrote them. Every rule below has a row in
//! `core/tests/it/glasskube_rules.rs` and a line in `docs/glasskube-format.md`.
//!
//! For each value in force (a given one, else a non-empty `defaultValue`), in the order
//! of the value names, then each transformation, every target of it:
//! 1. **Renders** the value: without a `valueTemplate` the value goes in as a JSON
//!    string (`"3"`, even for a number); with one, Go `text/template` (gtmpl, a port)
//!    runs with the value as `.` and `base64` as its one added function, and the output
//!    **must be JSON** (`3`, `true`, `"text"`, `null`, an object), else the target fails.
//!    The template runs with limits ([`super::template`]): bounded nesting and calls
//!    (one that calls itself is refused), at most 1 MiB of output, bounded work and
//!    time, a panic inside gtmpl caught.
//! 2. **Resolves** the target: a `resource` names an object by group/version (`apps/v1`,
//!    `v1` for the core group), kind, the name in the manifest and, if given, the
//!    namespace the object is placed in; a target that matches no object is **skipped**,
//!    as Glasskube skips it, and reported as [`Unresolved`]; one that matches several
//!    patches each. A `chartName` target writes into the Helm chart's values
//!    ([`super::helm`]).
//! 3. **Patches** with one RFC 6902 operation as evanphx/json-patch v5 applies it:
//!    `add` needs the parent and appends at `-`, `replace` and `remove` need the path,
//!    a negative array index counts from the end; `move` and `copy` cannot work (the
//!    format has no `from`).
//!
//! Guarantees: a template that does not parse or render, or breaks a template limit
//! (`value "replicas": the valueTemplate exceeds the 1 MiB output limit`), output that
//! is not JSON, an `apiGroup` that is not a group/version, or a patch that does not
//! apply is an error naming the value and the target (terminal: the package is wrong);
//! no value's text is quoted in an error (it may come from a Secret). Rendering never
//! panics, never overflows the stack and returns within the template time limit. A
//! workload's pod template carries a hash of the values, so a changed value rolls it.
//!
//! **Values are data** (unlike Glasskube, which pastes the value's text in): a value
//! fills in a JSON string the template writes, or stands where the template puts it as
//! one number, `true`, `false` or `null`; it never adds, renames or overrides a field,
//! never ends a string, never opens a list or an object. The template runs with the value
//! as data ([`super::template::render_data`]): every string in it is escaped for the
//! inside of a JSON string and marked, so `"{{.}}"` writes exactly the value's JSON
//! string, while `eq`, `len` and `base64` see the value as it was given (`base64` of
//! `p"w` is `cCJ3`, as in Glasskube). After the output parses, two checks, each failing
//! the target with [`ValuesError::NotData`]: the value's text (found by its marks) sits
//! inside a string that is not a field name, or, outside strings, holds only what a
//! number, `true`, `false` or `null` is made of; and every field name anywhere in the
//! output is one the template's text writes between quotes. For the values real
//! packages get, the output is Glasskube's; a value that would have reshaped the JSON
//! in Glasskube is one string here, or an error. Text `print`, `printf` or `urlquery`
//! make from the value is the value's data too (escaped), so a `printf` that writes JSON
//! around the value writes one string's text. Text gtmpl prints from the value without
//! a mark (a map's key written by `range`, an empty list or map printed whole) escapes
//! the first check, but holds no `"`: it cannot write a field name the second misses.

use super::placement::Rendered;
use super::template::TemplateError;
use crate::repo::format::{Transformation, ValueDefinition, ValueTarget, parse_group_version};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The annotation on pod templates that changes when the values do.
pub const VALUES_HASH_ANNOTATION: &str = "packages.hoist.dev/values-hash";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValuesError {
    /// The template does not parse or render, or breaks a limit (then the message
    /// names the limit, not the template).
    #[error("{value}: the valueTemplate {}", template_failure(.template, .why))]
    Template {
        value: String,
        template: String,
        why: TemplateError,
    },
    #[error("{value}: the valueTemplate {template:?} rendered text that is not JSON ({why})")]
    NotJson {
        value: String,
        template: String,
        why: String,
    },
    #[error("{value}: a target is malformed: {why}")]
    Target { value: String, why: String },
    #[error("{value}: the patch {op} {path} on {target} does not apply: {why}")]
    Patch {
        value: String,
        op: String,
        path: String,
        target: String,
        why: String,
    },
    #[error("transformation {index}: {why}")]
    Source { index: usize, why: String },
    /// The value would have been read as JSON structure, not as data (the value is not
    /// shown: it may come from a Secret).
    #[error(
        "{value}: the valueTemplate {template:?} {why}; a value is data: it fills in a string or stands as one number, true, false or null (the value is not shown)"
    )]
    NotData {
        value: String,
        template: String,
        why: DataRule,
    },
}

/// The rule of "values are data" a render broke ([`ValuesError::NotData`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataRule {
    /// A field name in the output that the template's text does not write.
    #[error("renders a field the template does not write")]
    Field,
    /// The value's text in a field name.
    #[error("puts the value in a field name")]
    InFieldName,
    /// The value's text, outside a string, holds more than a number, `true`, `false` or
    /// `null` are made of (a bracket, brace, comma, colon, quote or backslash).
    #[error("lets the value add JSON structure outside a string")]
    Structure,
    /// The value's text ends the string it is in (its last character escapes the
    /// author's closing quote, or a function gave back a quote).
    #[error("lets the value end a JSON string")]
    EndsString,
    /// The output holds a mark Hoist did not put there (U+E000, U+E001, which Hoist
    /// reserves to mark a value's text), or one left unclosed.
    #[error("writes U+E000 or U+E001, which Hoist reserves to mark a value's text")]
    Marks,
}

/// A target that matched nothing, so nothing was written (Glasskube skips it without a
/// word; Hoist says so in the install's status and in `hoist repo lint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// `value "memory"` or `transformation 1`.
    pub value: String,
    /// What the target names.
    pub target: String,
    /// Why nothing matched, when there is more to say (an `apiGroup` without a version).
    pub hint: Option<String>,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: no {} in the package", self.value, self.target)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

/// One value to write: its label for messages, the value, and where it goes.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    pub label: String,
    pub value: Value,
    pub targets: &'a [ValueTarget],
}

/// The values in force: the given ones over the definitions' non-empty defaults
/// (Glasskube never applies an empty `defaultValue`).
pub fn effective(
    definitions: &BTreeMap<String, ValueDefinition>,
    given: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = definitions
        .iter()
        .filter_map(|(k, d)| Some((k.clone(), d.default()?.to_string())))
        .collect();
    out.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// Every write, in Glasskube's order: the values in force by name, then the
/// transformations in order with the value each one's source yields from `install`
/// (the Package or ClusterPackage as the API server has it).
pub fn writes<'a>(
    definitions: &'a BTreeMap<String, ValueDefinition>,
    values: &BTreeMap<String, String>,
    transformations: &'a [Transformation],
    install: &Value,
) -> Result<Vec<Write<'a>>, ValuesError> {
    let mut out = Vec::new();
    for (name, value) in values {
        if let Some(def) = definitions.get(name) {
            out.push(Write {
                label: format!("value {name:?}"),
                value: Value::String(value.clone()),
                targets: &def.targets,
            });
        }
    }
    for (i, t) in transformations.iter().enumerate() {
        let index = i + 1;
        if t.source.resource.is_some() {
            return Err(ValuesError::Source {
                index,
                why: "a source that reads another object (source.resource) is not supported".into(),
            });
        }
        let value = super::jsonpath::evaluate(&t.source.path, install)
            .map_err(|why| ValuesError::Source { index, why })?;
        out.push(Write {
            label: format!("transformation {index}"),
            value,
            targets: &t.targets,
        });
    }
    Ok(out)
}

/// What follows "the valueTemplate" in a [`ValuesError::Template`]: the template and
/// gtmpl's complaint, or the limit it broke (without the template, which may be long).
fn template_failure(template: &str, why: &TemplateError) -> String {
    if why.is_limit() {
        why.to_string()
    } else {
        format!("{template:?} does not render: {why}")
    }
}

/// Renders `template` (Go `text/template`) with `value` as `.`, as data (see the module
/// doc): the text Hoist reads as JSON, before the checks of [`rendered_value`]. `base64`
/// is available. Runs with the limits of [`super::template`].
pub fn render(template: &str, value: &Value) -> Result<String, TemplateError> {
    super::template::render_data(template, value).map(|t| super::template::unmarked(&t))
}

/// What `target` writes for `value`: the value itself when there is no template, else
/// the template's output read as JSON, the value in it as data (module doc).
pub fn rendered_value(
    label: &str,
    value: &Value,
    target: &ValueTarget,
) -> Result<Value, ValuesError> {
    let Some(template) = target.value_template.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(value.clone());
    };
    let marked =
        super::template::render_data(template, value).map_err(|why| ValuesError::Template {
            value: label.into(),
            template: template.into(),
            why,
        })?;
    let out: Value = serde_json::from_str(&super::template::unmarked(&marked)).map_err(|e| {
        ValuesError::NotJson {
            value: label.into(),
            template: template.into(),
            // serde_json's message names a line and column, never the text.
            why: e.to_string(),
        }
    })?;
    let not_data = |why| ValuesError::NotData {
        value: label.into(),
        template: template.into(),
        why,
    };
    value_stays_data(&marked).map_err(not_data)?;
    if !fields_are_written(template, &out) {
        return Err(not_data(DataRule::Field));
    }
    Ok(out)
}

/// Checks the marked output of a render (JSON once the marks are off) for the value's
/// text: inside a string, it is not in a field name and leaves the string as it found it
/// (no quote of its own ends it, no backslash of its own escapes the closing quote);
/// outside strings, it holds only what a number, `true`, `false` or `null` is made of
/// (letters, digits, `+`, `-`, `.`, spaces).
fn value_stays_data(marked: &str) -> Result<(), DataRule> {
    use super::template::{VALUE_END, VALUE_START};
    // Per open list or object, whether it is an object.
    let mut open: Vec<bool> = Vec::new();
    let (mut in_value, mut in_string, mut escaped) = (false, false, false);
    // Whether the next string is a field name, and whether the current one is.
    let (mut key_next, mut in_key) = (false, false);
    for c in marked.chars() {
        match c {
            VALUE_START if in_value => return Err(DataRule::Marks),
            VALUE_START => in_value = true,
            VALUE_END if !in_value => return Err(DataRule::Marks),
            VALUE_END if in_string && escaped => return Err(DataRule::EndsString),
            VALUE_END => in_value = false,
            c if in_string => {
                if in_value && in_key {
                    return Err(DataRule::InFieldName);
                }
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    if in_value {
                        return Err(DataRule::EndsString);
                    }
                    in_string = false;
                }
            }
            c => {
                if in_value && !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | ' ')) {
                    return Err(DataRule::Structure);
                }
                match c {
                    '"' => {
                        in_string = true;
                        in_key = key_next;
                        key_next = false;
                    }
                    '{' => {
                        open.push(true);
                        key_next = true;
                    }
                    '[' => {
                        open.push(false);
                        key_next = false;
                    }
                    '}' | ']' => {
                        open.pop();
                        key_next = false;
                    }
                    ',' => key_next = open.last() == Some(&true),
                    _ => {}
                }
            }
        }
    }
    if in_value {
        return Err(DataRule::Marks);
    }
    Ok(())
}

/// Whether every field name anywhere in `out` is one `template` writes between quotes
/// ([`written_strings`]). Walks without recursion.
fn fields_are_written(template: &str, out: &Value) -> bool {
    let written = written_strings(template);
    let mut todo = vec![out];
    while let Some(v) = todo.pop() {
        match v {
            Value::Array(a) => todo.extend(a),
            Value::Object(o) => {
                for (k, v) in o {
                    if !written.contains(k.as_str()) {
                        return false;
                    }
                    todo.push(v);
                }
            }
            _ => {}
        }
    }
    true
}

/// The strings the author wrote between quotes in `template`, JSON escapes read: in the
/// text outside the actions (`{{ … }}`), each JSON string, or each piece of it between
/// actions; inside the actions, each Go string literal, and the JSON strings written
/// inside those (a `printf` format may write JSON).
fn written_strings(template: &str) -> std::collections::HashSet<String> {
    let mut outside = String::with_capacity(template.len());
    let mut literals = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        outside.push_str(&rest[..i]);
        // An action stands between the pieces of a string around it.
        outside.push('\0');
        let action = &rest[i + 2..];
        let mut chars = action.char_indices().peekable();
        let mut end = action.len();
        while let Some((j, c)) = chars.next() {
            match c {
                '}' if action[j..].starts_with("}}") => {
                    end = j + 2;
                    break;
                }
                '"' | '`' | '\'' => {
                    let mut literal = String::new();
                    let mut escaped = false;
                    for (_, d) in chars.by_ref() {
                        if d == c && !escaped {
                            break;
                        }
                        escaped = c != '`' && !escaped && d == '\\';
                        literal.push(d);
                    }
                    if c == '"' {
                        literals.push(json_string(&literal));
                    } else if c == '`' {
                        literals.push(literal);
                    }
                }
                '/' if action[j..].starts_with("/*") => {
                    let close = action[j..].find("*/").map_or(action.len(), |k| j + k + 2);
                    while chars.peek().is_some_and(|(k, _)| *k < close) {
                        chars.next();
                    }
                }
                _ => {}
            }
        }
        rest = &action[end.min(action.len())..];
    }
    outside.push_str(rest);
    let mut written = std::collections::HashSet::new();
    for text in std::iter::once(outside.as_str()).chain(literals.iter().map(String::as_str)) {
        json_strings(text, &mut written);
    }
    written.extend(literals);
    written
}

/// Adds to `into` every JSON string in `text` (read from its first quote on), and each
/// piece of one between actions (`\0`).
fn json_strings(text: &str, into: &mut std::collections::HashSet<String>) {
    let mut chars = text.chars();
    while chars.by_ref().any(|c| c == '"') {
        let mut body = String::new();
        let mut escaped = false;
        let mut closed = false;
        for c in chars.by_ref() {
            if c == '"' && !escaped {
                closed = true;
                break;
            }
            escaped = !escaped && c == '\\';
            body.push(c);
        }
        if !closed {
            return;
        }
        into.extend(body.split('\0').map(json_string));
    }
}

/// `body` (between quotes) with its JSON escapes read, or as it is where they do not
/// read.
fn json_string(body: &str) -> String {
    serde_json::from_str(&format!("\"{body}\"")).unwrap_or_else(|_| body.to_string())
}

/// Whether the object `object`, placed in `namespace` (`None`: cluster-scoped), is the
/// one `target` names: Glasskube's rule, group, version, kind and name equal, and the
/// namespace equal when the target gives one. `Err` when `apiGroup` is not a
/// group/version.
pub fn matches(
    target: &crate::repo::format::ResourceTarget,
    object: &Value,
    namespace: Option<&str>,
) -> Result<bool, String> {
    let (tg, tv) = parse_group_version(target.api_group.as_deref().unwrap_or(""))?;
    let s = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("");
    let Ok((og, ov)) = parse_group_version(s("/apiVersion")) else {
        return Ok(false);
    };
    Ok(tg == og
        && tv == ov
        && target.kind == s("/kind")
        && target.name == s("/metadata/name")
        && target
            .namespace
            .as_deref()
            .is_none_or(|ns| ns == namespace.unwrap_or("")))
}

/// Why a target that matched nothing may have been meant for something else.
fn hint(target: &crate::repo::format::ResourceTarget) -> Option<String> {
    let group = target.api_group.as_deref().unwrap_or("");
    if group.is_empty() {
        return Some("apiGroup is missing: write the group/version, v1 for the core group".into());
    }
    if !group.contains('/') && !looks_like_version(group) {
        return Some(format!(
            "apiGroup {group:?} is read as a group/version, as Glasskube reads it: write {group}/<version>, e.g. apps/v1"
        ));
    }
    None
}

fn looks_like_version(s: &str) -> bool {
    s.strip_prefix('v')
        .and_then(|r| r.chars().next())
        .is_some_and(|c| c.is_ascii_digit())
}

/// Writes every resource target of `writes` into `objects` (names as in the manifest),
/// each placed in `namespaces[i]` (`None`: cluster-scoped). Returns the targets that
/// matched nothing.
///
/// As Glasskube (`GeneratePatches`), every target's patch is made before any is
/// matched: a template that fails, an operation that is not one, an `apiGroup` that is
/// not a group/version fail the package even where the target names nothing.
pub fn apply(
    writes: &[Write<'_>],
    objects: &mut [Rendered],
    namespaces: &[Option<String>],
) -> Result<Vec<Unresolved>, ValuesError> {
    let mut prepared = Vec::new();
    for w in writes {
        for target in w.targets {
            let op = prepare(&w.label, &w.value, target)?;
            if let Some(resource) = &target.resource {
                parse_group_version(resource.api_group.as_deref().unwrap_or("")).map_err(
                    |why| ValuesError::Target {
                        value: w.label.clone(),
                        why,
                    },
                )?;
            }
            prepared.push((w, target, op));
        }
    }
    let mut unresolved = Vec::new();
    for (w, target, op) in prepared {
        let Some(resource) = &target.resource else {
            // A chart target: written into the Helm release's values.
            continue;
        };
        let mut found = false;
        for (i, r) in objects.iter_mut().enumerate() {
            let ns = namespaces.get(i).and_then(Option::as_deref);
            let hit = matches(resource, &r.object, ns).map_err(|why| ValuesError::Target {
                value: w.label.clone(),
                why,
            })?;
            if hit {
                found = true;
                op.apply(&w.label, target, &mut r.object)?;
            }
        }
        if !found {
            unresolved.push(Unresolved {
                value: w.label.clone(),
                target: target.describe(),
                hint: hint(resource),
            });
        }
    }
    Ok(unresolved)
}

/// Marks every pod template in `objects` with the values' hash, so a changed value
/// rolls the workload.
pub fn mark_pod_templates(values: &BTreeMap<String, String>, objects: &mut [Rendered]) {
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
}

/// One target's patch, made: the operation checked and the value rendered.
#[derive(Debug, Clone)]
pub struct Prepared {
    op: String,
    path: String,
    value: Value,
}

/// Makes `target`'s patch for `value`: the operation must be one RFC 6902 names and
/// can work without a `from`; the value is rendered ([`rendered_value`]).
pub fn prepare(label: &str, value: &Value, target: &ValueTarget) -> Result<Prepared, ValuesError> {
    let op = target.patch.op.as_str();
    let bad = |why: String| ValuesError::Target {
        value: label.into(),
        why,
    };
    if !matches!(op, "add" | "remove" | "replace" | "move" | "copy" | "test") {
        return Err(bad(format!(
            "patch op {op:?} is not an RFC 6902 operation (add, remove, replace, test)"
        )));
    }
    if matches!(op, "move" | "copy") {
        return Err(bad(format!(
            "patch op {op:?} needs a from, which a value target cannot give"
        )));
    }
    Ok(Prepared {
        op: op.into(),
        path: target.patch.path.clone(),
        value: rendered_value(label, value, target)?,
    })
}

impl Prepared {
    /// Applies the patch to `doc` (an object for a resource target, the chart's values
    /// for a chart target).
    pub fn apply(
        &self,
        label: &str,
        target: &ValueTarget,
        doc: &mut Value,
    ) -> Result<(), ValuesError> {
        let failed = |why: String| ValuesError::Patch {
            value: label.into(),
            op: self.op.clone(),
            path: self.path.clone(),
            target: target.describe(),
            why,
        };
        let path = with_negative_indices(doc, &self.op, &self.path).map_err(failed)?;
        let mut op_json = json!({"op": self.op, "path": path});
        if self.op != "remove" {
            op_json["value"] = self.value.clone();
        }
        let ops: json_patch::Patch =
            serde_json::from_value(json!([op_json])).map_err(|e| ValuesError::Target {
                value: label.into(),
                why: e.to_string(),
            })?;
        json_patch::patch(doc, &ops).map_err(|e| failed(e.to_string()))
    }
}

/// Renders `target` for `value` and applies its patch to `doc`.
pub fn patch(
    label: &str,
    value: &Value,
    target: &ValueTarget,
    doc: &mut Value,
) -> Result<(), ValuesError> {
    prepare(label, value, target)?.apply(label, target, doc)
}

/// `path` with every negative array index made positive as evanphx/json-patch reads it
/// (`-1` is the last item; for `add` as the last token, the end): RFC 6901 has no
/// negative indices, real packages' authors test with Glasskube, which takes them.
fn with_negative_indices(doc: &Value, op: &str, path: &str) -> Result<String, String> {
    if !path.contains("/-") {
        return Ok(path.to_string());
    }
    let tokens: Vec<&str> = path.split('/').skip(1).collect();
    let mut node = Some(doc);
    let mut out = String::new();
    for (i, token) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        let mut token = token.to_string();
        if let (Some(Value::Array(items)), Ok(n)) = (node, token.parse::<i64>())
            && n < 0
        {
            let len = items.len() as i64;
            let at = if last && op == "add" {
                n + len + 1
            } else {
                n + len
            };
            if at < 0 {
                return Err(format!("Unable to access invalid index: {n}"));
            }
            token = at.to_string();
        }
        node = match node {
            Some(Value::Array(items)) => token.parse::<usize>().ok().and_then(|n| items.get(n)),
            Some(Value::Object(o)) => o.get(&token.replace("~1", "/").replace("~0", "~")),
            _ => None,
        };
        out.push('/');
        out.push_str(&token);
    }
    Ok(out)
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

    fn run(
        defs: &BTreeMap<String, ValueDefinition>,
        given: &BTreeMap<String, String>,
        objs: &mut [Rendered],
    ) -> Result<Vec<Unresolved>, ValuesError> {
        let values = effective(defs, given);
        let w = writes(defs, &values, &[], &json!({}))?;
        let ns = vec![Some("default".to_string()); objs.len()];
        let out = apply(&w, objs, &ns)?;
        mark_pod_templates(&values, objs);
        Ok(out)
    }

    #[test]
    fn go_templates_as_real_packages_write_them() {
        let s = |v: &str| Value::String(v.into());
        assert_eq!(render("{{.}}", &s("3")).as_deref(), Ok("3"));
        assert_eq!(
            render(r#"{{ if eq . "" }}false{{ else }}true{{ end }}"#, &s("")).as_deref(),
            Ok("false")
        );
        assert_eq!(
            render(r#"{{if .}}"{{.}}"{{else}}null{{end}}"#, &s("abc")).as_deref(),
            Ok("\"abc\"")
        );
        assert_eq!(
            render("{{ . | base64 }}", &s("hunter2")).as_deref(),
            Ok("aHVudGVyMg==")
        );
        assert!(render("{{ if }}", &s("x")).is_err());
    }

    #[test]
    fn a_template_that_breaks_a_limit_fails_its_value_naming_the_limit_not_the_value() {
        let target = |template: &str| -> ValueTarget {
            serde_json::from_value(json!({
                "resource": {"apiGroup": "apps/v1", "kind": "Deployment", "name": "web"},
                "patch": {"op": "add", "path": "/spec/replicas"},
                "valueTemplate": template,
            }))
            .expect("target")
        };
        let secret = Value::String("hunter2-secret".into());
        let label = "value \"replicas\"";
        let recursive = target(r#"{{define "x"}}{{template "x"}}{{end}}{{template "x"}}"#);
        let e = prepare(label, &secret, &recursive).expect_err("recursive");
        assert!(
            e.to_string().starts_with(
                "value \"replicas\": the valueTemplate calls template \"x\" recursively"
            ),
            "{e}"
        );
        let bomb = target(r#"{{printf "%0200000000d" 1}}"#);
        let e = prepare(label, &secret, &bomb).expect_err("printf bomb");
        assert_eq!(
            e.to_string(),
            "value \"replicas\": the valueTemplate asks printf for a width or precision of 200000000, over the 65535 limit"
        );
        let big = target(&format!("{{{{printf \"{}\" 1}}}}", "%065535d".repeat(20)));
        let e = prepare(label, &secret, &big).expect_err("too big");
        assert_eq!(
            e.to_string(),
            "value \"replicas\": the valueTemplate exceeds the 1 MiB output limit"
        );
        for e in [
            prepare(label, &secret, &target("{{range .}}{{end}}")).expect_err("range"),
            prepare(label, &secret, &target(r#"{{printf "%d" .}}"#)).expect_err("printf"),
        ] {
            assert!(matches!(e, ValuesError::Template { .. }), "{e:?}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn values_and_defaults_patch_their_targets_and_a_changed_value_rolls_the_pods() {
        let t = |path: &str, template: Option<&str>| {
            let mut t = json!({"resource": {"apiGroup": "apps/v1", "kind": "Deployment", "name": "web"},
                "patch": {"op": "add", "path": path}});
            if let Some(template) = template {
                t["valueTemplate"] = json!(template);
            }
            json!([t])
        };
        let defs: BTreeMap<String, ValueDefinition> = [
            (
                "replicas".to_string(),
                def(Some("1"), t("/spec/replicas", Some("{{.}}"))),
            ),
            (
                "greeting".to_string(),
                def(
                    Some("Hello there"),
                    t(
                        "/spec/template/spec/containers/0/env/-",
                        Some("{\"name\": \"GREETING\", \"value\": \"{{.}}\"}"),
                    ),
                ),
            ),
            (
                "debug".to_string(),
                def(None, t("/metadata/annotations", None)),
            ),
            (
                "empty".to_string(),
                def(Some(""), t("/metadata/labels", None)),
            ),
        ]
        .into();
        let given: BTreeMap<String, String> = [("replicas".to_string(), "3".to_string())].into();
        let mut objs = deployment();
        assert_eq!(run(&defs, &given, &mut objs), Ok(vec![]));
        let d = &objs[0].object;
        assert_eq!(d["spec"]["replicas"], 3, "a number, not \"3\"");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["env"][0],
            json!({"name": "GREETING", "value": "Hello there"})
        );
        assert!(
            d.pointer("/metadata/annotations").is_none(),
            "no default, not given"
        );
        assert!(
            d.pointer("/metadata/labels").is_none(),
            "an empty default is not applied"
        );
        let hash = d["spec"]["template"]["metadata"]["annotations"][VALUES_HASH_ANNOTATION].clone();
        let mut again = deployment();
        let more: BTreeMap<String, String> = [("replicas".to_string(), "4".to_string())].into();
        run(&defs, &more, &mut again).expect("applies");
        assert_ne!(
            again[0].object["spec"]["template"]["metadata"]["annotations"][VALUES_HASH_ANNOTATION],
            hash,
        );
    }

    #[test]
    fn a_target_naming_nothing_is_skipped_and_reported_with_a_hint_for_a_bare_group() {
        let defs: BTreeMap<String, ValueDefinition> = [
            (
                "a".to_string(),
                def(
                    Some("1"),
                    json!([{"resource": {"apiGroup": "apps/v1", "kind": "Deployment", "name": "nope"},
                    "patch": {"op": "add", "path": "/spec/replicas"}}]),
                ),
            ),
            (
                "b".to_string(),
                def(
                    Some("1"),
                    json!([{"resource": {"apiGroup": "apps", "kind": "Deployment", "name": "web"},
                    "patch": {"op": "add", "path": "/spec/replicas"}}]),
                ),
            ),
        ]
        .into();
        let mut objs = deployment();
        let before = objs[0].object["spec"]["replicas"].clone();
        let unresolved = run(&defs, &BTreeMap::new(), &mut objs).expect("skipped, not failed");
        assert_eq!(objs[0].object["spec"]["replicas"], before);
        assert_eq!(unresolved.len(), 2);
        assert_eq!(unresolved[0].target, "apps/v1 Deployment nope");
        assert!(unresolved[0].hint.is_none());
        assert!(
            unresolved[1].to_string().contains("write apps/<version>"),
            "{}",
            unresolved[1]
        );
    }

    #[test]
    fn the_marked_output_reader_finds_value_text_that_leaves_its_place() {
        let m = |s: &str| s.replace('<', "\u{E000}").replace('>', "\u{E001}");
        for (text, want) in [
            (r#"{"a": "<x\"y>", "b": [<1>, <-2.5e3>, <true>]}"#, Ok(())),
            (r#"["<a\>"", "b"]"#, Err(DataRule::EndsString)),
            (r#"["<a">, "b"]"#, Err(DataRule::EndsString)),
            (r#"{"<a>": 1}"#, Err(DataRule::InFieldName)),
            (r#"{"a": 1, "b<c>": 1}"#, Err(DataRule::InFieldName)),
            (r#"{"a": [{"b": "<c>"}], "d": "<e>"}"#, Ok(())),
            ("<[1]>", Err(DataRule::Structure)),
            ("[1<,2>]", Err(DataRule::Structure)),
            (r#"{"a": <{}>}"#, Err(DataRule::Structure)),
            ("<1", Err(DataRule::Marks)),
            ("1>", Err(DataRule::Marks)),
            ("<<1>>", Err(DataRule::Marks)),
        ] {
            assert_eq!(value_stays_data(&m(text)), want, "{text}");
        }
    }

    #[test]
    fn the_strings_a_template_writes_are_read_around_its_actions() {
        let w = written_strings(
            r#"{"a": "{{ printf "%s" . }}", "b{{ if . }}c{{ end }}": "{{/* "d" */}}", "k8s.io\/e": {{ printf "{\"f\": 1}" }}, "g": `h`}"#,
        );
        for k in ["a", "b", "c", "k8s.io/e", "f", "g", "%s"] {
            assert!(w.contains(k), "{k}: {w:?}");
        }
        for k in ["bc", "d", ", "] {
            assert!(!w.contains(k), "{k}: {w:?}");
        }
    }

    #[test]
    fn errors_never_quote_the_value() {
        let defs: BTreeMap<String, ValueDefinition> = [(
            "password".to_string(),
            def(
                None,
                json!([{"resource": {"apiGroup": "apps/v1", "kind": "Deployment", "name": "web"},
                "patch": {"op": "add", "path": "/spec/replicas"}, "valueTemplate": "{{.}}"}]),
            ),
        )]
        .into();
        let given: BTreeMap<String, String> =
            [("password".to_string(), "hunter2-secret".to_string())].into();
        let e = run(&defs, &given, &mut deployment()).expect_err("not JSON");
        assert!(matches!(e, ValuesError::NotJson { .. }), "{e:?}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
