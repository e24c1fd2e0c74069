//! The repository format (`shared/specs/package-repository.md`), compatible with
//! Glasskube's: `index.yaml`, `<name>/versions.yaml`, `<name>/<version>/package.yaml`.
//! Every file may be YAML or JSON (JSON is YAML). Missing optional fields default;
//! unknown ones are not installed but remembered ([`UnknownFields`]) so they can be
//! reported. Field by field, Glasskube's meaning and Hoist's: `docs/glasskube-format.md`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} is malformed: {reason}")]
pub struct FormatError {
    pub file: String,
    pub reason: String,
}

/// The largest repository file [`parse`] reads (the fetcher's own limit is the same).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// How deep a repository file may nest: the parser's own recursion limit (128), far
/// beyond the ten levels real package.yaml files use; deeper input is an error, not a
/// stack overflow.
pub const MAX_DEPTH: usize = 128;

/// The longest a reason taken from a parser (which may quote the file) may be.
const MAX_REASON_CHARS: usize = 300;

/// Parses one repository file; the error names the file and the place.
///
/// # Guarantees
/// - Untrusted input is bounded: files over [`MAX_FILE_BYTES`] are refused before
///   parsing, nesting deeper than [`MAX_DEPTH`] is refused, and aliases may not expand
///   a small file into a huge document (a "billion laughs" is an error, not an
///   allocation): serde_yaml_ng's recursion and repetition limits.
/// - The error's reason is cut to a few hundred characters, so a body that is not YAML
///   (an HTML page, a redirect target's text) is not echoed back whole.
pub fn parse<T: serde::de::DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T, FormatError> {
    let malformed = |reason: String| FormatError {
        file: file.into(),
        reason: cut(&reason),
    };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(malformed(format!(
            "{} bytes, more than the {MAX_FILE_BYTES} a repository file may have",
            bytes.len()
        )));
    }
    serde_yaml_ng::from_slice(bytes).map_err(|e| malformed(e.to_string()))
}

/// As [`parse`], and the fields the file carried that `T` does not define (at most
/// [`MAX_UNKNOWN_FIELDS`], each a dotted path cut short).
pub fn parse_reporting<T: serde::de::DeserializeOwned>(
    file: &str,
    bytes: &[u8],
) -> Result<(T, UnknownFields), FormatError> {
    let malformed = |reason: String| FormatError {
        file: file.into(),
        reason: cut(&reason),
    };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(malformed(format!(
            "{} bytes, more than the {MAX_FILE_BYTES} a repository file may have",
            bytes.len()
        )));
    }
    let mut unknown = Vec::new();
    let de = serde_yaml_ng::Deserializer::from_slice(bytes);
    let value = serde_ignored::deserialize(de, |path| {
        if unknown.len() < MAX_UNKNOWN_FIELDS {
            unknown.push(cut(&path.to_string()));
        }
    })
    .map_err(|e| malformed(e.to_string()))?;
    Ok((value, unknown))
}

/// The most unknown fields one file reports.
pub const MAX_UNKNOWN_FIELDS: usize = 50;

/// A file a repository serves, parsed from its bytes (what the fetcher caches).
pub trait RepoFile: Sized {
    /// Parses `bytes`, naming `file` in the error.
    fn parse(file: &str, bytes: &[u8]) -> Result<Self, FormatError>;
}

macro_rules! yaml_files {
    ($($t:ty),*) => {$(
        impl RepoFile for $t {
            fn parse(file: &str, bytes: &[u8]) -> Result<Self, FormatError> {
                let (mut parsed, unknown): (Self, _) = parse_reporting(file, bytes)?;
                parsed.unknown_fields = unknown;
                Ok(parsed)
            }
        }
    )*};
}
yaml_files!(Index, Versions, PackageManifest);

/// A package's manifest file: Kubernetes objects as one or more YAML documents (`---`
/// between them), one JSON document, or a `List` of items (`kind: List`,
/// `kind: DeploymentList`, …), as `kubectl apply -f` reads them.
///
/// Guarantees: the same limits as [`parse`] (size, nesting, aliases); empty documents
/// are skipped; anything that is not an object is an error naming the document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Documents(pub Vec<serde_json::Value>);

impl RepoFile for Documents {
    fn parse(file: &str, bytes: &[u8]) -> Result<Self, FormatError> {
        use serde::Deserialize;
        let malformed = |reason: String| FormatError {
            file: file.into(),
            reason: cut(&reason),
        };
        if bytes.len() > MAX_FILE_BYTES {
            return Err(malformed(format!(
                "{} bytes, more than the {MAX_FILE_BYTES} a repository file may have",
                bytes.len()
            )));
        }
        let mut out = Vec::new();
        for (i, doc) in serde_yaml_ng::Deserializer::from_slice(bytes).enumerate() {
            let value = serde_json::Value::deserialize(doc)
                .map_err(|e| malformed(format!("document {}: {e}", i + 1)))?;
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::Object(mut o)
                    if o.get("kind")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|k| k.ends_with("List"))
                        && o.get("items").is_some_and(serde_json::Value::is_array) =>
                {
                    if let Some(serde_json::Value::Array(items)) = o.remove("items") {
                        out.extend(items.into_iter().filter(|v| !v.is_null()));
                    }
                }
                v @ serde_json::Value::Object(_) => out.push(v),
                _ => {
                    return Err(malformed(format!(
                        "document {} is not a Kubernetes object",
                        i + 1
                    )));
                }
            }
        }
        Ok(Self(out))
    }
}

/// `text` cut to `MAX_REASON_CHARS` characters, on a character boundary.
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Fields a file carried that the format does not define, as dotted paths
/// (`valueDefinitions.memory.target`): Glasskube drops them without a word; Hoist keeps
/// them so `hoist show`, the package page, the install's status and `hoist repo lint`
/// can say so.
pub type UnknownFields = Vec<String>;

/// Deserializers for Glasskube's lenient scalars: where its Go type is a `string`, a
/// YAML number or boolean is read as its text (`defaultValue: 465` is `"465"`).
mod scalar {
    use serde::de::{self, Deserializer, Visitor};
    use std::fmt;

    struct Text;

    impl Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, number or boolean")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }

    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(Text)
    }

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or nothing")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                text(d).map(Some)
            }
        }
        d.deserialize_option(Opt)
    }

    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        struct Item(String);
        impl<'de> serde::Deserialize<'de> for Item {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                text(d).map(Item)
            }
        }
        let items: Option<Vec<Item>> = serde::Deserialize::deserialize(d)?;
        Ok(items.unwrap_or_default().into_iter().map(|i| i.0).collect())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub packages: Vec<IndexEntry>,
    #[serde(skip)]
    pub unknown_fields: UnknownFields,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    pub name: String,
    #[serde(default)]
    pub short_description: Option<String>,
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default, deserialize_with = "scalar::optional")]
    pub latest_version: Option<String>,
    /// `Cluster` or `Namespaced`; unset is `Cluster`.
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    /// Written by hand: may disagree with `versions`; see [`super::version::latest`].
    #[serde(default, deserialize_with = "scalar::optional")]
    pub latest_version: Option<String>,
    #[serde(default)]
    pub versions: Vec<VersionEntry>,
    #[serde(skip)]
    pub unknown_fields: UnknownFields,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionEntry {
    #[serde(deserialize_with = "scalar::text")]
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub url: String,
}

/// `manifests[]`: a file of Kubernetes objects. A relative `url` resolves next to
/// `package.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub url: String,
    /// For a ClusterPackage: the namespace of this file's namespaced objects that name
    /// none (over the package's `defaultNamespace`).
    #[serde(default)]
    pub default_namespace: Option<String>,
}

/// `helm`: a chart, installed through Flux.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Helm {
    pub repository_url: String,
    #[serde(default)]
    pub chart_name: String,
    #[serde(default, deserialize_with = "scalar::text")]
    pub chart_version: String,
    #[serde(default)]
    pub values: Option<serde_json::Value>,
    /// Glasskube's several charts from one repository; Hoist refuses them (see
    /// `docs/glasskube-format.md`), never installs only some.
    #[serde(default)]
    pub releases: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub name: String,
    /// A semver range; any version when unset.
    #[serde(default, deserialize_with = "scalar::optional")]
    pub version: Option<String>,
}

/// A package installed as part of another (Glasskube's `components[]`): a Package named
/// `<parent>-<installedName|name>` beside its parent, with these values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub name: String,
    #[serde(default)]
    pub installed_name: Option<String>,
    /// A semver range; any version when unset.
    #[serde(default, deserialize_with = "scalar::optional")]
    pub version: Option<String>,
    #[serde(default)]
    pub values: BTreeMap<String, InlineValue>,
}

/// A value given inline (`{value: "..."}`), as components give theirs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineValue {
    #[serde(default, deserialize_with = "scalar::text")]
    pub value: String,
}

/// `valueDefinitions.<name>.metadata`: for people, not for the install.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueMetadata {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub hints: Vec<String>,
}

/// `valueDefinitions.<name>.constraints`, as Glasskube checks them
/// (`internal/manifestvalues/validate.go`): `min`/`max` for numbers (integers),
/// `minLength`/`maxLength` (bytes) for text, `pattern` (RE2, unanchored) for text and
/// numbers, `required` for any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraints {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub min_length: Option<i64>,
    #[serde(default)]
    pub max_length: Option<i64>,
    #[serde(default)]
    pub pattern: Option<String>,
}

/// `resource` of a target: an object of the package by group/version, kind, name (as
/// in the manifest, before any prefix) and, if given, namespace (after defaulting).
///
/// `apiGroup` is a **group/version** as in `apiVersion` (`apps/v1`; `v1` for the core
/// group), as Glasskube parses it (`schema.ParseGroupVersion`); `apps` alone is the
/// version `apps` of the core group, and matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTarget {
    #[serde(default)]
    pub api_group: Option<String>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `patch` of a target: one RFC 6902 operation without a value (the value is rendered).
/// Glasskube's type has no `from`, so `move` and `copy` can never apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialPatch {
    #[serde(default)]
    pub op: String,
    #[serde(default)]
    pub path: String,
}

/// Where a value (or a transformation's result) is written: an object of the package
/// (`resource`, which wins when both are set) or the values of the Helm chart named
/// `chartName`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueTarget {
    #[serde(default)]
    pub resource: Option<ResourceTarget>,
    #[serde(default)]
    pub chart_name: Option<String>,
    #[serde(default)]
    pub patch: PartialPatch,
    /// Go `text/template` with the value as `.`; its output must be JSON. Without
    /// one, the value goes in as a JSON string.
    #[serde(default)]
    pub value_template: Option<String>,
}

impl ValueTarget {
    /// What the target names, for messages: `apps/v1 Deployment redis` or `chart redis`.
    pub fn describe(&self) -> String {
        match (&self.resource, &self.chart_name) {
            (Some(r), _) => {
                let mut s = format!(
                    "{} {} {}",
                    r.api_group.as_deref().unwrap_or("(no apiGroup)"),
                    r.kind,
                    r.name
                );
                if let Some(ns) = &r.namespace {
                    s.push_str(&format!(" in namespace {ns}"));
                }
                s
            }
            (None, Some(chart)) => format!("chart {chart}"),
            (None, None) => "nothing (neither resource nor chartName)".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueDefinition {
    /// `boolean`, `text`, `number` or `options`.
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub metadata: Option<ValueMetadata>,
    #[serde(default, deserialize_with = "scalar::optional")]
    pub default_value: Option<String>,
    #[serde(default, deserialize_with = "scalar::list")]
    pub options: Vec<String>,
    #[serde(default)]
    pub constraints: Option<Constraints>,
    #[serde(default)]
    pub targets: Vec<ValueTarget>,
}

impl ValueDefinition {
    /// `constraints.required`.
    pub fn required(&self) -> bool {
        self.constraints.as_ref().is_some_and(|c| c.required)
    }

    /// The default the install uses: `defaultValue` unless empty (Glasskube never
    /// applies an empty default).
    pub fn default(&self) -> Option<&str> {
        self.default_value.as_deref().filter(|d| !d.is_empty())
    }

    /// `metadata.label`, `metadata.description`.
    pub fn label(&self) -> Option<&str> {
        self.metadata.as_ref()?.label.as_deref()
    }

    pub fn description(&self) -> Option<&str> {
        self.metadata.as_ref()?.description.as_deref()
    }
}

/// An object by group/version, kind and name (Kubernetes' `TypedLocalObjectReference`,
/// with `apiGroup` read as a group/version as in value targets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(default)]
    pub api_group: Option<String>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// `transformations[].source`: a Kubernetes JSONPath template (`{ $.metadata.name }`)
/// over the install itself (Package or ClusterPackage) or, with `resource`, over an
/// object of the install's namespace (refused by Hoist: `docs/glasskube-format.md`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformationSource {
    #[serde(default)]
    pub resource: Option<ObjectReference>,
    #[serde(default)]
    pub path: String,
}

/// `transformations[]`: a value taken from the install (its name, mostly) and written
/// through targets exactly as a value is, after all values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transformation {
    #[serde(default)]
    pub source: TransformationSource,
    #[serde(default)]
    pub targets: Vec<ValueTarget>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entrypoint {
    #[serde(default)]
    pub name: Option<String>,
    pub service_name: String,
    pub port: u16,
    #[serde(default)]
    pub local_port: Option<u16>,
    #[serde(default)]
    pub scheme: Option<String>,
}

/// `package.yaml`: one version of one package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageManifest {
    pub name: String,
    /// `Cluster` (also when unset) or `Namespaced`.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub short_description: Option<String>,
    #[serde(default)]
    pub long_description: Option<String>,
    #[serde(default)]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default)]
    pub default_namespace: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Manifest>,
    #[serde(default)]
    pub helm: Option<Helm>,
    /// Glasskube's placeholder: its operator refuses any `kustomize`, and so does Hoist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<serde_json::Value>,
    #[serde(default)]
    pub value_definitions: BTreeMap<String, ValueDefinition>,
    #[serde(default)]
    pub transformations: Vec<Transformation>,
    #[serde(default)]
    pub transitive_resources: Vec<ObjectReference>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    #[serde(default)]
    pub components: Vec<Component>,
    #[serde(default)]
    pub entrypoints: Vec<Entrypoint>,
    #[serde(skip)]
    pub unknown_fields: UnknownFields,
}

impl PackageManifest {
    /// Why this package cannot be installed as written, if it uses a part of the format
    /// that neither Glasskube's operator nor Hoist installs (`kustomize`, several Helm
    /// releases, a transformation reading another object).
    pub fn unsupported(&self) -> Option<String> {
        if self.kustomize.is_some() {
            return Some("kustomize is not supported (Glasskube's operator refuses it too)".into());
        }
        if self.helm.as_ref().is_some_and(|h| !h.releases.is_empty()) {
            return Some(
                "helm.releases (several charts) is not supported: one chart per package".into(),
            );
        }
        if self
            .transformations
            .iter()
            .any(|t| t.source.resource.is_some())
        {
            return Some(
                "a transformation whose source is another object (source.resource) is not supported: it would read that object with the operator's rights".into(),
            );
        }
        None
    }
}

/// A group/version as `schema.ParseGroupVersion` reads it: `""` (or `/`) is empty,
/// `v1` is the core group's `v1`, `apps/v1` is group `apps`, version `v1`; more than
/// one `/` is an error.
pub fn parse_group_version(s: &str) -> Result<(&str, &str), String> {
    if s.is_empty() || s == "/" {
        return Ok(("", ""));
    }
    match s.split_once('/') {
        None => Ok(("", s)),
        Some((_, rest)) if rest.contains('/') => {
            Err(format!("unexpected GroupVersion string: {s}"))
        }
        Some((g, v)) => Ok((g, v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_parse_alike() {
        let y: Index = parse(
            "index.yaml",
            b"packages:\n- name: a\n  latestVersion: v1.0.0+1\n",
        )
        .expect("yaml");
        let j: Index = parse(
            "index.yaml",
            br#"{"packages":[{"name":"a","latestVersion":"v1.0.0+1"}]}"#,
        )
        .expect("json");
        assert_eq!(y, j);
    }

    #[test]
    fn deep_nesting_and_alias_bombs_are_refused_not_expanded() {
        let deep = format!("packages: {}{}", "[".repeat(200), "]".repeat(200));
        let e = parse::<Index>("index.yaml", deep.as_bytes()).expect_err("too deep");
        assert!(e.to_string().starts_with("index.yaml is malformed"), "{e}");
        // A "billion laughs" where the parser must expand it: into the chart's free-form
        // values (10^12 elements if expanded).
        let mut bomb = String::from(
            "name: p\nhelm:\n    repositoryUrl: https://x\n    values:\n      a: &a [x, x, x, x, x, x, x, x, x, x]\n",
        );
        for i in 1..12 {
            let prev = (b'a' + i - 1) as char;
            let this = (b'a' + i) as char;
            bomb.push_str(&format!(
                "      {this}: &{this} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let e = parse::<PackageManifest>("package.yaml", bomb.as_bytes()).expect_err("a bomb");
        assert!(
            e.to_string().starts_with("package.yaml is malformed"),
            "{e}"
        );
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing_and_reasons_are_cut_short() {
        let big = vec![b' '; MAX_FILE_BYTES + 1];
        let e = parse::<Index>("index.yaml", &big).expect_err("too big");
        assert!(e.reason.contains("more than"), "{e}");
        let page = format!("<html>{}</html>", "secret internal text ".repeat(500));
        let e = parse::<Index>("index.yaml", page.as_bytes()).expect_err("not yaml");
        assert!(e.reason.chars().count() <= 301, "{} chars", e.reason.len());
    }

    #[test]
    fn glasskube_style_values_and_build_metadata_versions_parse_as_strings() {
        let m = <PackageManifest as RepoFile>::parse(
            "package.yaml",
            b"name: a\nvalueDefinitions:\n  replicas:\n    type: number\n    defaultValue: 1\n    options: [1, true, x]\n    constraints: {min: 1, max: 10}\n    targets:\n    - resource: {apiGroup: apps/v1, kind: Deployment, name: a}\n      patch: {op: add, path: /spec/replicas}\n      valueTemplate: \"{{.}}\"\ndependencies:\n- name: b\n  version: \">=1.0.0\"\n",
        )
        .expect("parses");
        let r = &m.value_definitions["replicas"];
        assert_eq!(r.constraints.as_ref().and_then(|c| c.max), Some(10));
        assert_eq!(
            r.default_value.as_deref(),
            Some("1"),
            "a YAML number read as its text"
        );
        assert_eq!(r.options, ["1", "true", "x"]);
        assert_eq!(r.targets.len(), 1);
        assert_eq!(
            r.targets[0]
                .resource
                .as_ref()
                .and_then(|t| t.api_group.as_deref()),
            Some("apps/v1")
        );
        assert!(m.unknown_fields.is_empty(), "{:?}", m.unknown_fields);
        assert_eq!(m.dependencies[0].version.as_deref(), Some(">=1.0.0"));
        let v: Versions = parse(
            "versions.yaml",
            b"latestVersion: v1.0.0+1\nversions:\n- version: v1.0.0+1\n",
        )
        .expect("parses");
        assert_eq!(v.versions[0].version, "v1.0.0+1");
    }

    #[test]
    fn manifests_read_as_kubectl_reads_them_multi_document_json_and_lists() {
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n";
        let docs = Documents::parse("m.yaml", yaml).expect("parses");
        let kinds: Vec<&str> = docs.0.iter().filter_map(|d| d["kind"].as_str()).collect();
        assert_eq!(kinds, ["ConfigMap", "Secret"]);
        let json = br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}"#;
        assert_eq!(Documents::parse("m.json", json).expect("json").0.len(), 1);
        let e = Documents::parse("m.yaml", b"a: 1\n---\n- not an object\n").expect_err("a list");
        assert!(e.to_string().contains("document 2"), "{e}");
    }

    #[test]
    fn unknown_fields_are_remembered_by_path_never_silently_dropped() {
        let m = <PackageManifest as RepoFile>::parse(
            "package.yaml",
            b"name: a\ndefaultEntrypoint: ui\nvalueDefinitions:\n  v:\n    type: text\n    targets:\n    - chartName: c\n      patch: {op: add, path: /a, from: /b}\ncomponents:\n- name: b\n  specFilter: x\n",
        )
        .expect("parses");
        assert_eq!(
            m.unknown_fields,
            [
                "defaultEntrypoint",
                "valueDefinitions.v.targets.0.patch.from",
                "components.0.specFilter"
            ]
        );
        let i = <Index as RepoFile>::parse("index.yaml", b"packages:\n- name: a\n  stars: 5\n")
            .expect("parses");
        assert_eq!(i.unknown_fields, ["packages.0.stars"]);
    }

    #[test]
    fn group_versions_parse_as_kubernetes_parses_them() {
        assert_eq!(parse_group_version("v1"), Ok(("", "v1")));
        assert_eq!(parse_group_version("apps/v1"), Ok(("apps", "v1")));
        assert_eq!(parse_group_version("apps"), Ok(("", "apps")));
        assert_eq!(parse_group_version(""), Ok(("", "")));
        assert_eq!(parse_group_version("/"), Ok(("", "")));
        assert!(parse_group_version("a/b/c").is_err());
    }

    #[test]
    fn malformed_files_name_the_file() {
        let e =
            parse::<Versions>("a/versions.yaml", b"versions: [ {version: ").expect_err("malformed");
        assert!(
            e.to_string().starts_with("a/versions.yaml is malformed"),
            "{e}"
        );
    }
}
