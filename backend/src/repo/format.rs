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

/// Parses one repository file; the error names the file and the place.
pub fn parse<T: serde::de::DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T, FormatError> {
    serde_yaml::from_slice(bytes).map_err(|e| FormatError {
        file: file.into(),
        reason: e.to_string(),
    })
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
    pub components: Vec<serde_json::Value>,
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
    fn malformed_files_name_the_file() {
        let e =
            parse::<Versions>("a/versions.yaml", b"versions: [ {version: ").expect_err("malformed");
        assert!(
            e.to_string().starts_with("a/versions.yaml is malformed"),
            "{e}"
        );
    }
}
