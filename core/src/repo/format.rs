//! The repository format (`shared/specs/package-repository.md`), compatible with
//! Glasskube's: `index.yaml`, `<name>/versions.yaml`, `<name>/<version>/package.yaml`.
//! Every file may be YAML or JSON (JSON is YAML). Unknown fields are kept out, missing
//! optional ones default.

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

/// A file a repository serves, parsed from its bytes (what the fetcher caches).
pub trait RepoFile: Sized {
    /// Parses `bytes`, naming `file` in the error.
    fn parse(file: &str, bytes: &[u8]) -> Result<Self, FormatError>;
}

macro_rules! yaml_files {
    ($($t:ty),*) => {$(
        impl RepoFile for $t {
            fn parse(file: &str, bytes: &[u8]) -> Result<Self, FormatError> {
                parse(file, bytes)
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

/// `text` cut to [`MAX_REASON_CHARS`] characters, on a character boundary.
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub packages: Vec<IndexEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    pub name: String,
    #[serde(default)]
    pub short_description: Option<String>,
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default)]
    pub latest_version: Option<String>,
    /// `Cluster` or `Namespaced`.
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    /// Written by hand: may disagree with `versions`; see [`super::version::latest`].
    #[serde(default)]
    pub latest_version: Option<String>,
    #[serde(default)]
    pub versions: Vec<VersionEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionEntry {
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    pub label: String,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub url: String,
    #[serde(default)]
    pub default_namespace: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Helm {
    pub repository_url: String,
    pub chart_name: String,
    pub chart_version: String,
    #[serde(default)]
    pub values: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub name: String,
    /// A semver range; any version when unset.
    #[serde(default)]
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
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub values: BTreeMap<String, InlineValue>,
}

/// A value given inline (`{value: "..."}`), as components give theirs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineValue {
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueDefinition {
    /// `boolean`, `text`, `number` or `options`.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    #[serde(default)]
    pub default_value: Option<String>,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub constraints: Option<serde_json::Value>,
    #[serde(default)]
    pub targets: Vec<serde_json::Value>,
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
    #[serde(default)]
    pub value_definitions: BTreeMap<String, ValueDefinition>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    #[serde(default)]
    pub components: Vec<Component>,
    #[serde(default)]
    pub entrypoints: Vec<Entrypoint>,
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
        // A "billion laughs" where the parser must expand it: into a value definition's
        // free-form metadata (10^12 elements if expanded).
        let mut bomb = String::from(
            "name: p\nvalueDefinitions:\n  v:\n    type: text\n    metadata:\n      a: &a [x, x, x, x, x, x, x, x, x, x]\n",
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
        let m: PackageManifest = parse(
            "package.yaml",
            b"name: a\nvalueDefinitions:\n  replicas:\n    type: number\n    defaultValue: \"1\"\n    constraints: {min: 1, max: 10}\n    targets:\n    - resource: {apiGroup: apps, kind: Deployment, name: a}\n      patch: {op: add, path: /spec/replicas}\n      valueTemplate: \"{{.}}\"\ndependencies:\n- name: b\n  version: \">=1.0.0\"\n",
        )
        .expect("parses");
        let r = &m.value_definitions["replicas"];
        assert_eq!(
            r.constraints
                .as_ref()
                .and_then(|c| c.get("max"))
                .and_then(|v| v.as_f64()),
            Some(10.0)
        );
        assert_eq!(r.targets.len(), 1);
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
    fn malformed_files_name_the_file() {
        let e =
            parse::<Versions>("a/versions.yaml", b"versions: [ {version: ").expect_err("malformed");
        assert!(
            e.to_string().starts_with("a/versions.yaml is malformed"),
            "{e}"
        );
    }
}
