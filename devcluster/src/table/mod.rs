//! Server-side printing: `kubectl get` asks for a `meta.k8s.io` Table
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io, application/json`), and the
//! API server answers with the columns the kind defines, so kubectl prints what the
//! kind's authors chose to show.
//!
//! For custom resources those are, as apiextensions-apiserver prints them: `Name`, then
//! the CRD version's `additionalPrinterColumns` (or `Age` when it lists none), each a
//! JSONPath evaluated against the object (by `serde_json_path`, with `$` in front of
//! Kubernetes' relaxed paths); a `date` cell is the age as Kubernetes words it (`5m`,
//! `3h12m`, `2d`), `integer`/`number`/`boolean` cells are JSON values, a missing value
//! is `null` (kubectl prints `<none>`). Each row carries the object's metadata
//! (`includeObject=Metadata`, the default), the whole object (`Object`), or nothing.
//!
//! Built-in kinds get the columns of the API server's own printers where
//! [`builtin`] has them (Deployments' READY 1/1, Services' ports, Secrets' types);
//! other built-in kinds are answered as lists, and kubectl prints NAME and AGE itself.
//!
//! Caveat: a column whose path does not parse prints `null` in every row (the real API
//! server refuses such a CRD when it is created).

pub mod builtin;

use crate::resources::ResourceType;
use serde_json::{Map, Value, json};

/// What a Table request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, as the client named it.
    pub api_version: &'static str,
    pub include: Include,
}

/// `includeObject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

/// The Table the client asks for in `Accept` (the first media range that is a Table of
/// `meta.k8s.io`), with `includeObject` from the query; `None` when it asks for none.
pub fn requested(accept: &str, include_object: Option<&str>) -> Option<Request> {
    let api_version = accept.split(',').find_map(|range| {
        let mut parts = range.split(';').map(str::trim);
        if parts.next()? != "application/json" {
            return None;
        }
        let (mut table, mut group, mut version) = (false, false, None);
        for p in parts {
            match p.split_once('=') {
                Some(("as", "Table")) => table = true,
                Some(("g", "meta.k8s.io")) => group = true,
                Some(("v", "v1")) => version = Some("meta.k8s.io/v1"),
                Some(("v", "v1beta1")) => version = Some("meta.k8s.io/v1beta1"),
                _ => {}
            }
        }
        (table && group).then_some(version).flatten()
    })?;
    Some(Request {
        api_version,
        include: Include::from_query(include_object),
    })
}

impl Include {
    /// The query's `includeObject` (`Metadata` when absent or unknown).
    pub fn from_query(include_object: Option<&str>) -> Self {
        match include_object {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// A cell computed from the whole object, as a built-in kind's printer computes it.
pub type CellFn = fn(&Value, chrono::DateTime<chrono::Utc>) -> Value;

#[derive(Clone)]
enum Source {
    Name,
    /// A CRD column: its type and its path (`None`: it did not parse).
    Path {
        kind: String,
        path: Option<serde_json_path::JsonPath>,
    },
    Computed(CellFn),
}

#[derive(Clone)]
struct Column {
    definition: Value,
    source: Source,
}

fn name_column() -> Column {
    Column {
        definition: json!({
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": NAME_DESCRIPTION,
            "priority": 0,
        }),
        source: Source::Name,
    }
}

/// Prints objects of one custom kind as Table rows.
#[derive(Clone)]
pub struct Printer {
    request: Request,
    columns: Vec<Column>,
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.";

impl Printer {
    /// The printer of `rt`: from its CRD (`crd`, the stored CustomResourceDefinition)
    /// for a custom kind, from [`builtin`] for a built-in one; `None` for a built-in
    /// kind without one.
    pub fn for_kind(rt: &ResourceType, crd: Option<&Value>, request: Request) -> Option<Self> {
        if !rt.custom {
            let printed = builtin::columns(&rt.group, &rt.plural)?;
            let mut columns = vec![name_column()];
            columns.extend(printed.iter().map(|c| Column {
                definition: json!({
                    "name": c.name,
                    "type": c.kind,
                    "format": "",
                    "description": c.description,
                    "priority": c.priority,
                }),
                source: Source::Computed(c.cell),
            }));
            return Some(Self { request, columns });
        }
        let listed = crd
            .and_then(|c| c.pointer("/spec/versions"))
            .and_then(Value::as_array)
            .and_then(|vs| {
                vs.iter()
                    .find(|v| v.get("name").and_then(Value::as_str) == Some(rt.version.as_str()))
            })
            .and_then(|v| v.get("additionalPrinterColumns"))
            .and_then(Value::as_array)
            .filter(|cols| !cols.is_empty())
            .cloned()
            .unwrap_or_else(|| {
                vec![json!({
                    "name": "Age",
                    "type": "date",
                    "description": CREATED_DESCRIPTION,
                    "jsonPath": ".metadata.creationTimestamp",
                })]
            });
        let mut columns = vec![name_column()];
        for c in listed {
            let text = c.get("jsonPath").and_then(Value::as_str).unwrap_or("");
            let kind = c.get("type").and_then(Value::as_str).unwrap_or("string");
            columns.push(Column {
                definition: json!({
                    "name": c.get("name").cloned().unwrap_or(json!("")),
                    "type": kind,
                    "format": c.get("format").cloned().unwrap_or(json!("")),
                    "description": c.get("description").cloned().unwrap_or(json!("")),
                    "priority": c.get("priority").cloned().unwrap_or(json!(0)),
                }),
                source: Source::Path {
                    kind: kind.to_string(),
                    path: serde_json_path::JsonPath::parse(&format!("${text}")).ok(),
                },
            });
        }
        Some(Self { request, columns })
    }

    /// One row: the cells, and the object as `includeObject` asks.
    fn row(&self, obj: &Value, now: chrono::DateTime<chrono::Utc>) -> Value {
        let cells: Vec<Value> = self
            .columns
            .iter()
            .map(|c| match &c.source {
                Source::Name => obj
                    .pointer("/metadata/name")
                    .cloned()
                    .unwrap_or(Value::Null),
                Source::Path { path: None, .. } => Value::Null,
                Source::Path {
                    kind,
                    path: Some(path),
                } => match path.query(obj).first() {
                    None => Value::Null,
                    Some(v) => cell(kind, v, now),
                },
                Source::Computed(f) => f(obj, now),
            })
            .collect();
        let mut row = Map::new();
        row.insert("cells".into(), Value::Array(cells));
        match self.request.include {
            Include::None => {}
            Include::Object => {
                row.insert("object".into(), obj.clone());
            }
            Include::Metadata => {
                row.insert(
                    "object".into(),
                    json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": self.request.api_version,
                        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
                    }),
                );
            }
        }
        Value::Object(row)
    }

    /// The Table of `objects`, with the list's `metadata` (resourceVersion, continue).
    pub fn table<'a>(
        &self,
        objects: impl IntoIterator<Item = &'a Value>,
        metadata: Value,
    ) -> Value {
        let now = chrono::Utc::now();
        json!({
            "kind": "Table",
            "apiVersion": self.request.api_version,
            "metadata": metadata,
            "columnDefinitions": self.columns.iter().map(|c| c.definition.clone()).collect::<Vec<_>>(),
            "rows": objects.into_iter().map(|o| self.row(o, now)).collect::<Vec<_>>(),
        })
    }
}

/// A cell as apiextensions-apiserver makes it from the column's type.
fn cell(kind: &str, v: &Value, now: chrono::DateTime<chrono::Utc>) -> Value {
    match kind {
        "date" => match v.as_str().map(chrono::DateTime::parse_from_rfc3339) {
            Some(Ok(t)) => Value::String(human_duration(now.signed_duration_since(t))),
            _ => Value::String("<invalid>".into()),
        },
        "integer" => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        "number" => v.as_f64().map_or(Value::Null, Value::from),
        "boolean" => v.as_bool().map_or(Value::Null, Value::Bool),
        _ => match v {
            Value::String(s) => Value::String(s.clone()),
            Value::Null => Value::Null,
            other => Value::String(other.to_string()),
        },
    }
}

/// An age as Kubernetes words it (`k8s.io/apimachinery/pkg/util/duration.HumanDuration`).
pub fn human_duration(d: chrono::Duration) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    fn rt(custom: bool) -> ResourceType {
        ResourceType {
            group: "example.org".into(),
            version: "v1".into(),
            plural: "widgets".into(),
            singular: "widget".into(),
            kind: "Widget".into(),
            namespaced: true,
            short_names: vec![],
            status_subresource: true,
            custom,
        }
    }

    fn crd(columns: Value) -> Value {
        json!({"spec": {"versions": [{"name": "v1", "additionalPrinterColumns": columns}]}})
    }

    #[test]
    fn kubectl_s_accept_header_asks_for_a_v1_table_and_plain_json_for_none() {
        let r = requested(KUBECTL, None).expect("a table");
        assert_eq!(r.api_version, "meta.k8s.io/v1");
        assert_eq!(r.include, Include::Metadata);
        assert_eq!(
            requested(KUBECTL, Some("Object")).map(|r| r.include),
            Some(Include::Object)
        );
        assert!(requested("application/json", None).is_none());
        assert!(
            requested(
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                None
            )
            .is_none()
        );
        assert!(requested("application/json;as=Table;g=example.org;v=v1", None).is_none());
    }

    #[test]
    fn built_in_kinds_without_a_printer_get_none() {
        let r = requested(KUBECTL, None).expect("a table");
        assert!(Printer::for_kind(&rt(false), None, r).is_none());
    }

    #[test]
    fn a_crd_s_columns_are_evaluated_as_jsonpath_with_filters_and_types() {
        let r = requested(KUBECTL, None).expect("a table");
        let columns = json!([
            {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Missing", "type": "string", "jsonPath": ".status.nothing"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ]);
        let p = Printer::for_kind(&rt(true), Some(&crd(columns)), r).expect("printer");
        let created = (chrono::Utc::now() - chrono::Duration::seconds(3 * 3600 + 125))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let obj = json!({
            "metadata": {"name": "w", "namespace": "a", "creationTimestamp": created},
            "spec": {"replicas": 3},
            "status": {"conditions": [
                {"type": "Synced", "status": "False"},
                {"type": "Ready", "status": "True"},
            ]},
        });
        let t = p.table([&obj], json!({"resourceVersion": "7"}));
        assert_eq!(t["kind"], "Table");
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["Name", "Ready", "Replicas", "Missing", "Age"]);
        assert_eq!(t["rows"][0]["cells"], json!(["w", "True", 3, null, "3h2m"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "a");
        assert_eq!(t["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn a_crd_without_columns_prints_name_and_age() {
        let r = requested(KUBECTL, Some("None")).expect("a table");
        let p = Printer::for_kind(&rt(true), Some(&crd(json!([]))), r).expect("printer");
        let t = p.table([&json!({"metadata": {"name": "w"}})], json!({}));
        assert_eq!(t["columnDefinitions"][1]["name"], "Age");
        assert_eq!(t["rows"][0]["cells"], json!(["w", null]));
        assert!(t["rows"][0].get("object").is_none(), "includeObject=None");
    }

    #[test]
    fn ages_read_as_kubernetes_words_them() {
        let d = chrono::Duration::seconds;
        for (secs, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"),
            (50 * 3600, "2d2h"),
            (30 * 86400, "30d"),
            (800 * 86400, "2y70d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(d(secs)), want, "{secs} s");
        }
    }
}
