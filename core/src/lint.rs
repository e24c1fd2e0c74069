//! `hoist repo lint`'s rules: a whole repository (`index.yaml`, every `versions.yaml`,
//! every listed `package.yaml` and the manifests they name) checked against the format
//! (`shared/specs/package-repository.md`, `docs/glasskube-format.md`), for package
//! authors and repository CI.
//!
//! Pure: the caller walks the repository (a directory or a URL) and hands over what it
//! read, parsed ([`Repository`]); [`lint`] returns the [`Finding`]s. What is checked:
//! - the files against the format: unknown fields, scopes, package names and
//!   components' `installedName`s as DNS-1123 labels, versions as semver, value types,
//!   patch operations, `apiGroup`s, the parts of the format nobody installs
//!   (`kustomize`, `helm.releases`, `transformations[].source.resource`);
//! - each package rendered with its default values, as the operator would render it
//!   (values in force by [`effective`], written by [`writes`] and [`apply`], objects
//!   placed by [`effective_namespaces`] with well-known kinds' scopes): every resource
//!   target of every value definition and transformation (with a default or not) that
//!   matches no object, every `chartName` naming another chart, every default that
//!   breaks its constraints or whose patch does not apply, every template that does
//!   not render (or, for a default, renders text that is not JSON);
//! - the repository as a whole: dependencies and components naming no package of the
//!   index or no version in their range, entrypoints naming no Service of the
//!   manifests.
//!
//! # Guarantees
//! - Every error names the file (relative to the repository root, or the URL of an
//!   absolute manifest), and, where they apply, the package, the version and the field
//!   (a dotted path, as unknown fields are named).
//! - What could not be checked (a manifest not fetched with `--offline`, the Services
//!   a Helm chart makes) is a [`Severity::Note`], never an error and never silence.
//! - Findings come in the repository's order: the index, then per package (in the
//!   index's order) its `versions.yaml`, then each listed version (in its order).
//!
//! [`effective`]: crate::operator::values::effective
//! [`writes`]: crate::operator::values::writes
//! [`apply`]: crate::operator::values::apply
//! [`effective_namespaces`]: crate::operator::placement::effective_namespaces

use crate::operator::dependencies::highest;
use crate::operator::placement::{Owner, Rendered, effective_namespaces};
use crate::operator::values::{ValuesError, Write, apply, effective, render, writes};
use crate::repo::format::{
    Documents, Helm, Index, PackageManifest, ValueDefinition, ValueTarget, Versions,
    parse_group_version,
};
use crate::repo::version::PackageVersion;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// How bad a finding is: an error fails `hoist repo lint` (exit 1); a warning is a
/// likely mistake that installs anyway; a note says what was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Note => "note",
        })
    }
}

/// One thing lint found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Relative to the repository root (`web/v1.0.0+1/package.yaml`), or the URL of a
    /// manifest outside it.
    pub file: String,
    pub package: Option<String>,
    pub version: Option<String>,
    /// A dotted path in the file (`valueDefinitions.replicas.targets.0.patch.op`).
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.severity, self.file)?;
        if let Some(field) = &self.field {
            write!(f, " {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One `manifests[]` entry of a package.yaml, as the walker obtained it.
#[derive(Debug, Clone, PartialEq)]
pub enum ManifestFile {
    /// Read and parsed; `file` as findings name it.
    Read { file: String, documents: Documents },
    /// Read, but not a manifest ([`Documents`] refused it): the parser's reason.
    Malformed { file: String, reason: String },
    /// Not obtained: why (unreachable, outside the repository, not http(s)).
    Unavailable { reason: String },
    /// Deliberately not fetched (an absolute URL with `--offline`): why.
    NotChecked { reason: String },
}

/// One version of a package: its package.yaml and, per `manifests[]` entry in order,
/// what was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub manifest: PackageManifest,
    pub manifests: Vec<ManifestFile>,
}

/// A package's folder: its versions.yaml and each listed version's package.yaml (by
/// the version as listed); `Err` says why a file could not be read or parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageFiles {
    pub versions: Result<Versions, String>,
    pub releases: BTreeMap<String, Result<Release, String>>,
}

/// What the walker read of a repository: the index, and per index entry (by name) its
/// folder. Entries the walker did not walk (a name that is not a safe path segment)
/// are simply absent.
#[derive(Debug, Clone, PartialEq)]
pub struct Repository {
    pub index: Result<Index, String>,
    pub packages: BTreeMap<String, PackageFiles>,
}

/// The index's path in the repository.
pub const INDEX_FILE: &str = "index.yaml";

/// `<package>/versions.yaml`.
pub fn versions_file(package: &str) -> String {
    format!("{package}/versions.yaml")
}

/// `<package>/<version>/package.yaml`.
pub fn package_file(package: &str, version: &str) -> String {
    format!("{package}/{version}/package.yaml")
}

/// Whether `s` may be used as one path segment of a repository file without leaving
/// its folder: not empty, not `.` or `..`, no `/`, `\`, `%` or control character.
/// The walker reads nothing under a name or version that is not.
pub fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '%') || c.is_control())
}

pub use crate::repo::destinations::dns_label;

/// Where a `manifests[].url` points, resolved as Glasskube resolves it (RFC 3986,
/// against the package.yaml's URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Relative, inside the repository: its URL and its path from the root.
    Inside { url: url::Url, path: String },
    /// Relative, but it resolves outside the repository root.
    Outside { url: url::Url },
    /// Absolute (it has a scheme of its own).
    Absolute { url: url::Url },
    /// Not a URL: why.
    Invalid(String),
}

/// Resolves `written` (a `manifests[].url`) against `package_yaml`'s URL and says
/// whether it stays under `root` (a URL ending in `/`).
///
/// Guarantees: `..` segments are resolved before the check (RFC 3986 removes dot
/// segments), so `../../../etc/passwd` is [`Location::Outside`]; a scheme-relative
/// `//host/x` is relative and, on another host, outside.
pub fn locate(package_yaml: &url::Url, root: &url::Url, written: &str) -> Location {
    let written = written.trim();
    if written.is_empty() {
        return Location::Invalid("the URL is empty".into());
    }
    match url::Url::parse(written) {
        Ok(url) => return Location::Absolute { url },
        Err(url::ParseError::RelativeUrlWithoutBase) => {}
        Err(e) => return Location::Invalid(e.to_string()),
    }
    let url = match package_yaml.join(written) {
        Ok(u) => u,
        Err(e) => return Location::Invalid(e.to_string()),
    };
    let same_origin = url.scheme() == root.scheme()
        && url.host_str() == root.host_str()
        && url.port_or_known_default() == root.port_or_known_default();
    match url.path().strip_prefix(root.path()) {
        Some(rest) if same_origin && !rest.is_empty() => Location::Inside {
            path: percent_decode(rest),
            url,
        },
        _ => Location::Outside { url },
    }
}

/// `%XX` escapes decoded (invalid UTF-8 replaced), for showing a path.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a well-known built-in kind is namespaced: the cluster-scoped core kinds
/// below are not, everything else is (custom kinds a manifest's CRD defines answer
/// for themselves in [`effective_namespaces`]).
pub fn well_known_scope(group: &str, kind: &str) -> Option<bool> {
    const CLUSTER_SCOPED: &[(&str, &str)] = &[
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("storage.k8s.io", "StorageClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("apiregistration.k8s.io", "APIService"),
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
        ),
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
        ),
    ];
    Some(!CLUSTER_SCOPED.contains(&(group, kind)))
}

const VALUE_TYPES: &[&str] = &["boolean", "text", "number", "options"];
const PATCH_OPS: &[&str] = &["add", "remove", "replace", "test"];

/// Where findings about one file go.
#[derive(Clone)]
struct At {
    file: String,
    package: Option<String>,
    version: Option<String>,
}

impl At {
    fn finding(&self, severity: Severity, field: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            file: self.file.clone(),
            package: self.package.clone(),
            version: self.version.clone(),
            field: Some(field.to_string()).filter(|f| !f.is_empty()),
            message: message.into(),
        }
    }
    fn error(&self, field: &str, message: impl Into<String>) -> Finding {
        self.finding(Severity::Error, field, message)
    }
    fn warning(&self, field: &str, message: impl Into<String>) -> Finding {
        self.finding(Severity::Warning, field, message)
    }
    fn note(&self, field: &str, message: impl Into<String>) -> Finding {
        self.finding(Severity::Note, field, message)
    }
    /// The same package and version, another file.
    fn file(&self, file: &str) -> Self {
        Self {
            file: file.into(),
            ..self.clone()
        }
    }
}

fn unknown_fields(at: &At, fields: &[String], out: &mut Vec<Finding>) {
    for f in fields {
        out.push(at.error(
            f,
            "unknown field: not part of the format (Glasskube ignores it without a word, so it has no effect)",
        ));
    }
}

/// The scope as written is one the format knows.
fn scope_ok(scope: Option<&str>) -> bool {
    matches!(scope, None | Some("Cluster" | "Namespaced"))
}

/// Checks the repository; see the module's documentation for what.
pub fn lint(repo: &Repository) -> Vec<Finding> {
    let mut out = Vec::new();
    let at = At {
        file: INDEX_FILE.into(),
        package: None,
        version: None,
    };
    let index = match &repo.index {
        Ok(i) => i,
        Err(why) => {
            out.push(at.error("", why.clone()));
            return out;
        }
    };
    let world = World::of(index, repo);
    lint_index(&at, index, repo, &mut out);
    let mut seen = BTreeSet::new();
    for entry in &index.packages {
        if !seen.insert(entry.name.as_str()) {
            continue;
        }
        let Some(files) = repo.packages.get(&entry.name) else {
            continue;
        };
        let at = At {
            file: versions_file(&entry.name),
            package: Some(entry.name.clone()),
            version: None,
        };
        let listed: Vec<String> = match &files.versions {
            Ok(v) => {
                lint_versions(&at, v, &mut out);
                v.versions.iter().map(|v| v.version.clone()).collect()
            }
            Err(why) => {
                out.push(at.error("", why.clone()));
                Vec::new()
            }
        };
        let mut done = BTreeSet::new();
        for version in &listed {
            if !done.insert(version.as_str()) {
                continue;
            }
            let Some(release) = files.releases.get(version) else {
                continue;
            };
            let at = At {
                file: package_file(&entry.name, version),
                package: Some(entry.name.clone()),
                version: Some(version.clone()),
            };
            match release {
                Ok(r) => lint_release(&at, &entry.name, version, r, &world, &mut out),
                Err(why) => out.push(at.error("", why.clone())),
            }
        }
    }
    out
}

/// What the whole repository offers, for dependencies and components.
struct World<'a> {
    /// Package names in the index.
    names: BTreeSet<&'a str>,
    /// Each package's listed versions (absent: its versions.yaml could not be read).
    versions: BTreeMap<&'a str, Vec<String>>,
    repo: &'a Repository,
}

impl<'a> World<'a> {
    fn of(index: &'a Index, repo: &'a Repository) -> Self {
        let names = index.packages.iter().map(|e| e.name.as_str()).collect();
        let versions = repo
            .packages
            .iter()
            .filter_map(|(name, files)| {
                let v = files.versions.as_ref().ok()?;
                Some((
                    name.as_str(),
                    v.versions.iter().map(|v| v.version.clone()).collect(),
                ))
            })
            .collect();
        Self {
            names,
            versions,
            repo,
        }
    }

    /// The package.yaml of `package` at `version`, if it was read.
    fn release(&self, package: &str, version: &str) -> Option<&'a Release> {
        self.repo
            .packages
            .get(package)?
            .releases
            .get(version)?
            .as_ref()
            .ok()
    }
}

fn lint_index(at: &At, index: &Index, repo: &Repository, out: &mut Vec<Finding>) {
    unknown_fields(at, &index.unknown_fields, out);
    if index.packages.is_empty() {
        out.push(at.warning("packages", "the index lists no packages"));
    }
    let mut seen = BTreeSet::new();
    for (i, e) in index.packages.iter().enumerate() {
        let field = |f: &str| format!("packages.{i}.{f}");
        if !dns_label(&e.name) {
            out.push(at.error(
                &field("name"),
                format!(
                    "{:?} is not a DNS-1123 label (a-z, 0-9 and -, at most 63, starting and ending with a letter or digit): it cannot name a ClusterPackage or Package",
                    e.name
                ),
            ));
        }
        if !seen.insert(e.name.as_str()) {
            out.push(at.error(
                &field("name"),
                format!("{} is listed more than once", e.name),
            ));
        }
        if !scope_ok(e.scope.as_deref()) {
            out.push(at.error(
                &field("scope"),
                format!(
                    "scope {:?} is neither Cluster nor Namespaced",
                    e.scope.as_deref().unwrap_or("")
                ),
            ));
        }
        if let Some(latest) = &e.latest_version
            && let Err(err) = PackageVersion::parse(latest)
        {
            out.push(at.error(&field("latestVersion"), err.to_string()));
        }
        let Some(files) = repo.packages.get(&e.name) else {
            continue;
        };
        let Ok(versions) = &files.versions else {
            continue;
        };
        if let (Some(here), Some(there)) = (&e.latest_version, &versions.latest_version)
            && here != there
        {
            out.push(at.warning(
                &field("latestVersion"),
                format!(
                    "{here}, but {} says {there}: updates compare with the index's",
                    versions_file(&e.name)
                ),
            ));
        }
        let latest = versions
            .latest_version
            .as_deref()
            .or(e.latest_version.as_deref());
        if let Some(Ok(release)) = latest.and_then(|v| files.releases.get(v))
            && scope_ok(e.scope.as_deref())
            && scope_ok(release.manifest.scope.as_deref())
        {
            let said = e.scope.as_deref().unwrap_or("Cluster");
            let is = release.manifest.scope.as_deref().unwrap_or("Cluster");
            if said != is {
                out.push(at.warning(
                    &field("scope"),
                    format!(
                        "{said}, but {} says {is}: listings show the index's",
                        package_file(&e.name, latest.unwrap_or_default())
                    ),
                ));
            }
        }
    }
}

fn lint_versions(at: &At, versions: &Versions, out: &mut Vec<Finding>) {
    unknown_fields(at, &versions.unknown_fields, out);
    if versions.versions.is_empty() {
        out.push(at.error("versions", "lists no versions"));
    }
    let mut seen = BTreeSet::new();
    let mut parsed = Vec::new();
    for (i, v) in versions.versions.iter().enumerate() {
        let field = format!("versions.{i}.version");
        match PackageVersion::parse(&v.version) {
            Ok(p) => parsed.push(p),
            Err(e) => out.push(at.error(&field, e.to_string())),
        }
        if !seen.insert(v.version.as_str()) {
            out.push(at.warning(&field, format!("{} is listed more than once", v.version)));
        }
        if !safe_segment(&v.version) {
            out.push(at.error(
                &field,
                format!(
                    "{:?} cannot be a folder name of the repository: its package.yaml was not read",
                    v.version
                ),
            ));
        }
    }
    match &versions.latest_version {
        None => out.push(at.error(
            "latestVersion",
            "latestVersion is not set: Glasskube installs it when no version is given",
        )),
        Some(latest) if !seen.contains(latest.as_str()) => out.push(at.error(
            "latestVersion",
            format!("{latest} is not one of the versions listed"),
        )),
        Some(latest) => {
            if let (Ok(l), Some(top)) = (PackageVersion::parse(latest), parsed.iter().max())
                && l < *top
            {
                out.push(at.warning(
                    "latestVersion",
                    format!(
                        "{latest} is behind {}, the highest listed: Glasskube installs latestVersion by default, Hoist the highest",
                        top.as_str()
                    ),
                ));
            }
        }
    }
}

fn lint_release(
    at: &At,
    package: &str,
    version: &str,
    release: &Release,
    world: &World<'_>,
    out: &mut Vec<Finding>,
) {
    let m = &release.manifest;
    unknown_fields(at, &m.unknown_fields, out);
    if m.name != package {
        out.push(at.error(
            "name",
            format!(
                "{:?}, but the index lists this package as {package}",
                m.name
            ),
        ));
    }
    if !scope_ok(m.scope.as_deref()) {
        out.push(at.error(
            "scope",
            format!(
                "scope {:?} is neither Cluster nor Namespaced",
                m.scope.as_deref().unwrap_or("")
            ),
        ));
    }
    match m.default_namespace.as_deref() {
        None | Some("") => out.push(at.warning(
            "defaultNamespace",
            "defaultNamespace is not set: the format requires it",
        )),
        Some(ns) if !dns_label(ns) => out.push(at.error(
            "defaultNamespace",
            format!("{ns:?} is not a DNS-1123 label, so it cannot name a namespace"),
        )),
        Some(_) => {}
    }
    if m.kustomize.is_some() {
        out.push(at.error(
            "kustomize",
            "kustomize is not supported (Glasskube's operator refuses it too)",
        ));
    }
    if let Some(h) = &m.helm {
        if !h.releases.is_empty() {
            out.push(at.error(
                "helm.releases",
                "helm.releases (several charts) is not supported: one chart per package",
            ));
        } else if h.chart_name.is_empty() {
            out.push(at.error("helm.chartName", "the chart's name is missing"));
        }
        if h.repository_url.is_empty() {
            out.push(at.error(
                "helm.repositoryUrl",
                "the chart repository's URL is missing",
            ));
        }
    }
    for (i, t) in m.transformations.iter().enumerate() {
        if t.source.resource.is_some() {
            out.push(at.error(
                &format!("transformations.{i}.source.resource"),
                "a transformation whose source is another object is not supported: it would read that object with the operator's rights",
            ));
        }
    }
    for (i, entry) in m.manifests.iter().enumerate() {
        if entry.url.trim().is_empty() {
            out.push(at.error(&format!("manifests.{i}.url"), "the URL is empty"));
        }
    }

    // The install these values would be written for (transformations read it).
    let namespaced = m.scope.as_deref() == Some("Namespaced");
    let namespace = m
        .default_namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let install = install_object(package, version, namespaced.then_some(namespace.as_str()));
    let transformed = transformation_values(at, m, &install, out);

    // Value definitions, their defaults and their targets as written.
    for (name, def) in &m.value_definitions {
        lint_definition(at, name, def, m.helm.as_ref(), out);
    }
    for (i, t) in m.transformations.iter().enumerate() {
        let value = transformed.get(&i);
        if t.source.path.trim().is_empty() && t.source.resource.is_none() {
            out.push(at.error(
                &format!("transformations.{i}.source.path"),
                "the source path is empty",
            ));
        }
        for (j, target) in t.targets.iter().enumerate() {
            let field = format!("transformations.{i}.targets.{j}");
            lint_target(at, &field, target, m.helm.as_ref(), value, out);
        }
    }

    lint_references(at, m, world, out);

    // The manifests, then the package rendered with its defaults.
    let mut rendered = Vec::new();
    let mut all_read = true;
    for (i, (entry, file)) in m.manifests.iter().zip(&release.manifests).enumerate() {
        let field = format!("manifests.{i}.url");
        match file {
            ManifestFile::Read { file, documents } => {
                let mat = at.file(file);
                for (d, object) in documents.0.iter().enumerate() {
                    let s = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("");
                    let missing: Vec<&str> = [
                        ("apiVersion", "/apiVersion"),
                        ("kind", "/kind"),
                        ("metadata.name", "/metadata/name"),
                    ]
                    .into_iter()
                    .filter(|(_, p)| s(p).is_empty())
                    .map(|(f, _)| f)
                    .collect();
                    if !missing.is_empty() {
                        out.push(mat.error(
                            &format!("documents.{d}"),
                            format!("the object has no {}", missing.join(", ")),
                        ));
                    }
                    rendered.push(Rendered {
                        object: object.clone(),
                        default_namespace: entry.default_namespace.clone(),
                    });
                }
            }
            ManifestFile::Malformed { file, reason } => {
                all_read = false;
                out.push(at.file(file).error("", format!("not a manifest: {reason}")));
            }
            ManifestFile::Unavailable { reason } => {
                all_read = false;
                out.push(at.error(&field, reason.clone()));
            }
            ManifestFile::NotChecked { reason } => {
                all_read = false;
                out.push(at.note(&field, format!("not checked: {reason}")));
            }
        }
    }
    if release.manifests.len() < m.manifests.len() {
        all_read = false;
    }
    let resource_targets = m
        .value_definitions
        .values()
        .flat_map(|d| &d.targets)
        .chain(m.transformations.iter().flat_map(|t| &t.targets))
        .any(|t| t.resource.is_some());
    if !all_read {
        if resource_targets || (!m.entrypoints.is_empty() && m.helm.is_none()) {
            out.push(at.note(
                "",
                "value targets and entrypoints not checked: not every manifest was read",
            ));
        }
        return;
    }
    let owner = if namespaced {
        Owner::Namespaced {
            name: package.into(),
            namespace,
        }
    } else {
        Owner::Cluster {
            name: package.into(),
            default_namespace: m.default_namespace.clone().filter(|n| !n.is_empty()),
        }
    };
    let namespaces = effective_namespaces(&rendered, &owner, well_known_scope);
    render_with_defaults(at, m, &transformed, &mut rendered, &namespaces, out);
    lint_entrypoints(at, m, &rendered, out);
}

/// The Package or ClusterPackage these values would be written for.
fn install_object(package: &str, version: &str, namespace: Option<&str>) -> Value {
    let mut metadata = json!({"name": package});
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "packages.glasskube.dev/v1alpha1",
        "kind": if namespace.is_some() { "Package" } else { "ClusterPackage" },
        "metadata": metadata,
        "spec": {"packageInfo": {"name": package, "version": version}},
    })
}

/// Each transformation's value (by index) from `install`; a source that does not
/// evaluate is an error.
fn transformation_values(
    at: &At,
    m: &PackageManifest,
    install: &Value,
    out: &mut Vec<Finding>,
) -> BTreeMap<usize, Value> {
    let mut values = BTreeMap::new();
    let (no_definitions, no_values) = (BTreeMap::new(), BTreeMap::new());
    for (i, t) in m.transformations.iter().enumerate() {
        if t.source.resource.is_some() {
            continue;
        }
        match writes(
            &no_definitions,
            &no_values,
            std::slice::from_ref(t),
            install,
        ) {
            Ok(w) => {
                if let Some(w) = w.into_iter().next() {
                    values.insert(i, w.value);
                }
            }
            Err(e) => out.push(at.error(
                &format!("transformations.{i}.source.path"),
                match e {
                    ValuesError::Source { why, .. } => format!("does not evaluate: {why}"),
                    other => other.to_string(),
                },
            )),
        }
    }
    values
}

fn lint_definition(
    at: &At,
    name: &str,
    def: &ValueDefinition,
    helm: Option<&Helm>,
    out: &mut Vec<Finding>,
) {
    let field = |f: &str| format!("valueDefinitions.{name}.{f}");
    let typed = VALUE_TYPES.contains(&def.type_.as_str());
    if !typed {
        out.push(at.error(
            &field("type"),
            format!(
                "type {:?} is none of boolean, text, number, options",
                def.type_
            ),
        ));
    }
    if def.type_ == "options" && def.options.is_empty() {
        out.push(at.error(
            &field("options"),
            "lists no options, so no value can be valid",
        ));
    }
    let mut constraints_ok = true;
    if let Some(c) = &def.constraints {
        if let Some(p) = &c.pattern
            && let Err(e) = regex::RegexBuilder::new(p).size_limit(1 << 20).build()
        {
            constraints_ok = false;
            out.push(at.error(
                &field("constraints.pattern"),
                format!("does not compile: {e}"),
            ));
        }
        if let (Some(a), Some(b)) = (c.min, c.max)
            && a > b
        {
            out.push(at.error(
                &field("constraints"),
                format!("min {a} is above max {b}: no number can be valid"),
            ));
        }
        if let (Some(a), Some(b)) = (c.min_length, c.max_length)
            && a > b
        {
            out.push(at.error(
                &field("constraints"),
                format!("minLength {a} is above maxLength {b}: no text can be valid"),
            ));
        }
    }
    if let Some(default) = def.default()
        && typed
        && constraints_ok
        && let Err(e) = crate::repo::values::check(name, def, default)
    {
        out.push(at.error(
            &field("defaultValue"),
            format!("the default breaks its own definition: {e}"),
        ));
    }
    let sample = def.default().map(|d| Value::String(d.into()));
    let mut seen: Vec<&ValueTarget> = Vec::new();
    for (i, target) in def.targets.iter().enumerate() {
        let f = field(&format!("targets.{i}"));
        if seen.contains(&target) {
            out.push(at.warning(&f, "the same target again: it is written twice"));
        }
        seen.push(target);
        lint_target(at, &f, target, helm, sample.as_ref(), out);
    }
}

/// One target as written: what it names, its patch, its template. `value` is what it
/// would be written with (a default, a transformation's result), if anything.
fn lint_target(
    at: &At,
    field: &str,
    target: &ValueTarget,
    helm: Option<&Helm>,
    value: Option<&Value>,
    out: &mut Vec<Finding>,
) {
    let f = |s: &str| format!("{field}.{s}");
    match (&target.resource, &target.chart_name) {
        (None, None) => out.push(at.error(field, "names nothing: give a resource or a chartName")),
        (Some(_), Some(_)) => out.push(at.warning(
            &f("chartName"),
            "ignored: a target with a resource writes to the resource",
        )),
        (None, Some(chart)) => match helm {
            None => out.push(at.error(
                &f("chartName"),
                format!("names chart {chart}, but the package has no helm chart"),
            )),
            Some(h) if h.releases.is_empty() && h.chart_name != *chart => out.push(at.error(
                &f("chartName"),
                format!(
                    "names chart {chart}, but the package's chart is {}",
                    h.chart_name
                ),
            )),
            Some(_) => {}
        },
        (Some(_), None) => {}
    }
    if let Some(r) = &target.resource
        && let Err(e) = parse_group_version(r.api_group.as_deref().unwrap_or(""))
    {
        out.push(at.error(
            &f("resource.apiGroup"),
            format!("{e}: write group/version, e.g. apps/v1, or v1 for the core group"),
        ));
    }
    let op = target.patch.op.as_str();
    let op_ok = PATCH_OPS.contains(&op);
    if !op_ok {
        out.push(at.error(
            &f("patch.op"),
            format!(
                "{op:?} is not an operation a target can do (add, remove, replace, test){}",
                if matches!(op, "move" | "copy") {
                    ": it needs a from, which a target cannot give"
                } else {
                    ""
                }
            ),
        ));
    }
    let path = target.patch.path.as_str();
    if !path.is_empty() && !path.starts_with('/') {
        out.push(at.error(
            &f("patch.path"),
            format!("{path:?} is not a JSON pointer (it must start with /)"),
        ));
    }
    if let Some(template) = target.value_template.as_deref().filter(|t| !t.is_empty()) {
        let given = value
            .cloned()
            .unwrap_or_else(|| Value::String(String::new()));
        match render(template, &given) {
            Err(why) => out.push(at.error(&f("valueTemplate"), format!("does not render: {why}"))),
            Ok(text) if value.is_some() && op_ok && op != "remove" => {
                if let Err(e) = serde_json::from_str::<Value>(&text) {
                    out.push(at.error(
                        &f("valueTemplate"),
                        format!("renders text that is not JSON for the default ({e})"),
                    ));
                }
            }
            Ok(_) => {}
        }
    }
}

/// Dependencies and components: in the index, with a version in range.
fn lint_references(at: &At, m: &PackageManifest, world: &World<'_>, out: &mut Vec<Finding>) {
    let available =
        |field: &str, kind: &str, name: &str, range: Option<&str>, out: &mut Vec<Finding>| {
            if !world.names.contains(name) {
                out.push(at.error(
                    field,
                    format!("{kind} {name}: the index has no package {name}"),
                ));
                return None;
            }
            let offered = world.versions.get(name)?;
            match highest(name, range, offered) {
                Ok(v) => Some(v),
                Err(why) => {
                    out.push(at.error(field, format!("{kind} {why}")));
                    None
                }
            }
        };
    for (i, d) in m.dependencies.iter().enumerate() {
        let field = format!("dependencies.{i}");
        available(&field, "dependency", &d.name, d.version.as_deref(), out);
    }
    for (i, c) in m.components.iter().enumerate() {
        let field = format!("components.{i}");
        if let Some(installed) = c.installed_name.as_deref()
            && !dns_label(installed)
        {
            out.push(at.error(
                &format!("{field}.installedName"),
                format!(
                    "{installed:?} is not a DNS-1123 label (a-z, 0-9 and -, at most 63, starting and ending with a letter or digit)"
                ),
            ));
        }
        let Some(version) = available(&field, "component", &c.name, c.version.as_deref(), out)
        else {
            continue;
        };
        if let Some(r) = world.release(&c.name, &version) {
            let given: Vec<(String, String)> = c
                .values
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect();
            if let Err(e) =
                crate::repo::values::validate(&c.name, &r.manifest.value_definitions, &given)
            {
                out.push(at.error(
                    &format!("{field}.values"),
                    format!("component {} {version}: {e}", c.name),
                ));
            }
        }
    }
}

/// Writes the defaults (and the transformations' values) into the objects as the
/// operator would, and checks every resource target of every definition, with a
/// default or not, resolves.
fn render_with_defaults(
    at: &At,
    m: &PackageManifest,
    transformed: &BTreeMap<usize, Value>,
    objects: &mut [Rendered],
    namespaces: &[Option<String>],
    out: &mut Vec<Finding>,
) {
    let defs = &m.value_definitions;
    let values = effective(defs, &BTreeMap::new());
    let defaults = writes(defs, &values, &[], &Value::Null).unwrap_or_default();
    let by_name: BTreeMap<&str, &Write<'_>> = values
        .keys()
        .filter(|k| defs.contains_key(*k))
        .map(String::as_str)
        .zip(defaults.iter())
        .collect();
    for (name, def) in defs {
        let label = format!("value {name:?}");
        let write = by_name.get(name.as_str());
        for (i, target) in def.targets.iter().enumerate() {
            let field = format!("valueDefinitions.{name}.targets.{i}");
            let value = write.map(|w| &w.value);
            resolve(at, &field, &label, value, target, objects, namespaces, out);
        }
    }
    for (i, t) in m.transformations.iter().enumerate() {
        let Some(value) = transformed.get(&i) else {
            continue;
        };
        let label = format!("transformation {}", i + 1);
        for (j, target) in t.targets.iter().enumerate() {
            let field = format!("transformations.{i}.targets.{j}");
            resolve(
                at,
                &field,
                &label,
                Some(value),
                target,
                objects,
                namespaces,
                out,
            );
        }
    }
}

/// One resource target against the objects: written with `value` when there is one
/// (its patch must apply), only matched when there is none.
#[allow(clippy::too_many_arguments)]
fn resolve(
    at: &At,
    field: &str,
    label: &str,
    value: Option<&Value>,
    target: &ValueTarget,
    objects: &mut [Rendered],
    namespaces: &[Option<String>],
    out: &mut Vec<Finding>,
) {
    let Some(resource) = &target.resource else {
        return;
    };
    if parse_group_version(resource.api_group.as_deref().unwrap_or("")).is_err()
        || !PATCH_OPS.contains(&target.patch.op.as_str())
    {
        return; // Reported as written.
    }
    let write = [Write {
        label: label.into(),
        value: value
            .cloned()
            .unwrap_or_else(|| Value::String(String::new())),
        targets: std::slice::from_ref(target),
    }];
    let result = match value {
        Some(_) => apply(&write, objects, namespaces),
        None => apply(&write, &mut objects.to_vec(), namespaces),
    };
    match result {
        Ok(unresolved) => {
            for u in unresolved {
                out.push(at.error(&format!("{field}.resource"), u.to_string()));
            }
        }
        Err(e @ ValuesError::Patch { .. }) if value.is_some() => {
            out.push(at.error(&format!("{field}.patch"), format!("with the default, {e}")));
        }
        // A template's failures are reported as written; without a value, the
        // placeholder's patch says nothing about the package.
        Err(_) => {}
    }
}

/// Each entrypoint names a Service of the manifests (plain-manifest packages; a chart
/// makes Services of its own that lint cannot see).
fn lint_entrypoints(at: &At, m: &PackageManifest, objects: &[Rendered], out: &mut Vec<Finding>) {
    if m.entrypoints.is_empty() {
        return;
    }
    for (i, e) in m.entrypoints.iter().enumerate() {
        if e.port == 0 {
            out.push(at.error(&format!("entrypoints.{i}.port"), "the port is 0"));
        }
    }
    if m.helm.is_some() {
        out.push(at.note(
            "entrypoints",
            "not checked: the Services may come from the Helm chart",
        ));
        return;
    }
    let services: BTreeSet<&str> = objects
        .iter()
        .filter(|r| {
            r.object.get("apiVersion").and_then(Value::as_str) == Some("v1")
                && r.object.get("kind").and_then(Value::as_str) == Some("Service")
        })
        .filter_map(|r| r.object.pointer("/metadata/name").and_then(Value::as_str))
        .collect();
    for (i, e) in m.entrypoints.iter().enumerate() {
        if !services.contains(e.service_name.as_str()) {
            out.push(at.error(
                &format!("entrypoints.{i}.serviceName"),
                format!(
                    "the manifests have no Service {}{}",
                    e.service_name,
                    if services.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (they have: {})",
                            services.iter().copied().collect::<Vec<_>>().join(", ")
                        )
                    }
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::format::RepoFile;

    const WEB: &str = r#"
name: web
scope: Namespaced
defaultNamespace: web
manifests:
- url: manifests.yaml
valueDefinitions:
  replicas:
    type: number
    defaultValue: "2"
    constraints: {min: 1, max: 5}
    targets:
    - resource: {apiGroup: apps/v1, kind: Deployment, name: web}
      patch: {op: add, path: /spec/replicas}
      valueTemplate: "{{.}}"
  title:
    type: text
    targets:
    - resource: {apiGroup: v1, kind: ConfigMap, name: page}
      patch: {op: add, path: /data/title}
dependencies:
- name: db
  version: ">=1.0.0"
entrypoints:
- serviceName: web
  port: 80
"#;

    const OBJECTS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {template: {spec: {containers: [{name: web, image: nginx}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: page}
data: {}
"#;

    fn repo(web: &str, objects: &str) -> Repository {
        let index = <Index as RepoFile>::parse(
            "index.yaml",
            b"packages:\n- name: web\n  scope: Namespaced\n  latestVersion: v1.0.0+1\n- name: db\n  latestVersion: v1.2.0+1\n",
        )
        .expect("index");
        let versions = |v: &str| {
            <Versions as RepoFile>::parse(
                "versions.yaml",
                format!("latestVersion: {v}\nversions:\n- version: {v}\n").as_bytes(),
            )
            .expect("versions")
        };
        let manifest = <PackageManifest as RepoFile>::parse("package.yaml", web.as_bytes())
            .expect("package.yaml");
        let documents = match Documents::parse("manifests.yaml", objects.as_bytes()) {
            Ok(documents) => ManifestFile::Read {
                file: "web/v1.0.0+1/manifests.yaml".into(),
                documents,
            },
            Err(e) => ManifestFile::Malformed {
                file: "web/v1.0.0+1/manifests.yaml".into(),
                reason: e.reason,
            },
        };
        let db = <PackageManifest as RepoFile>::parse(
            "package.yaml",
            b"name: db\ndefaultNamespace: db\n",
        )
        .expect("db");
        Repository {
            index: Ok(index),
            packages: [
                (
                    "web".to_string(),
                    PackageFiles {
                        versions: Ok(versions("v1.0.0+1")),
                        releases: [(
                            "v1.0.0+1".to_string(),
                            Ok(Release {
                                manifest,
                                manifests: vec![documents],
                            }),
                        )]
                        .into(),
                    },
                ),
                (
                    "db".to_string(),
                    PackageFiles {
                        versions: Ok(versions("v1.2.0+1")),
                        releases: [(
                            "v1.2.0+1".to_string(),
                            Ok(Release {
                                manifest: db,
                                manifests: vec![],
                            }),
                        )]
                        .into(),
                    },
                ),
            ]
            .into(),
        }
    }

    /// The non-note findings, as `field: message`.
    fn problems(web: &str, objects: &str) -> Vec<String> {
        lint(&repo(web, objects))
            .into_iter()
            .filter(|f| f.severity != Severity::Note)
            .map(|f| {
                format!(
                    "{} {} {}: {}",
                    f.severity,
                    f.file,
                    f.field.unwrap_or_default(),
                    f.message
                )
            })
            .collect()
    }

    #[test]
    fn a_clean_repository_has_no_findings() {
        assert_eq!(problems(WEB, OBJECTS), Vec::<String>::new());
    }

    #[test]
    fn unsafe_path_segments_are_refused() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a%2f", "a\nb"] {
            assert!(!safe_segment(bad), "{bad:?}");
        }
        assert!(safe_segment("v1.0.0+1"));
    }

    #[test]
    fn relative_manifests_resolve_next_to_package_yaml_and_may_not_leave_the_root() {
        let root = url::Url::parse("file:///repo/").expect("url");
        let pkg = root.join("web/v1.0.0+1/package.yaml").expect("url");
        assert_eq!(
            locate(&pkg, &root, "./manifests.yaml"),
            Location::Inside {
                url: root.join("web/v1.0.0+1/manifests.yaml").expect("url"),
                path: "web/v1.0.0+1/manifests.yaml".into()
            }
        );
        assert!(matches!(
            locate(&pkg, &root, "../shared/crds.yaml"),
            Location::Inside { path, .. } if path == "web/shared/crds.yaml"
        ));
        assert!(matches!(
            locate(&pkg, &root, "../../../etc/passwd"),
            Location::Outside { .. }
        ));
        assert!(matches!(
            locate(&pkg, &root, "//elsewhere/x.yaml"),
            Location::Outside { .. }
        ));
        assert!(matches!(
            locate(&pkg, &root, "https://example.com/x.yaml"),
            Location::Absolute { .. }
        ));
        assert!(matches!(locate(&pkg, &root, " "), Location::Invalid(_)));
        let http = url::Url::parse("http://127.0.0.1:8080/repo/").expect("url");
        let pkg = http.join("web/v1/package.yaml").expect("url");
        assert!(matches!(
            locate(&pkg, &http, "m%20x.yaml"),
            Location::Inside { path, .. } if path == "web/v1/m x.yaml"
        ));
    }

    #[test]
    fn well_known_cluster_kinds_are_cluster_scoped_and_the_rest_namespaced() {
        assert_eq!(well_known_scope("", "Namespace"), Some(false));
        assert_eq!(
            well_known_scope("rbac.authorization.k8s.io", "ClusterRole"),
            Some(false)
        );
        assert_eq!(well_known_scope("apps", "Deployment"), Some(true));
        assert_eq!(well_known_scope("example.com", "Widget"), Some(true));
    }

    #[test]
    fn unknown_fields_bad_scopes_and_unsupported_parts_are_errors_by_field() {
        let web = format!("{WEB}defaultEntrypoint: web\nkustomize: {{}}\n")
            .replace("scope: Namespaced", "scope: namespaced");
        let p = problems(&web, OBJECTS);
        assert!(
            p.iter()
                .any(|p| p.contains(" defaultEntrypoint: unknown field")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.contains(" scope: scope \"namespaced\"")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|p| p.contains(" kustomize: kustomize is not supported")),
            "{p:?}"
        );
    }

    #[test]
    fn a_target_naming_no_object_is_an_error_with_the_hint_with_a_default_or_not() {
        let web = WEB
            .replace("apiGroup: apps/v1", "apiGroup: apps")
            .replace("name: page}", "name: nope}");
        let p = problems(&web, OBJECTS);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[1].contains("title.targets.0.resource") && p[1].contains("no v1 ConfigMap nope"),
            "{p:?}"
        );
        assert!(
            p[0].contains("replicas.targets.0.resource") && p[0].contains("write apps/<version>"),
            "{p:?}"
        );
    }

    #[test]
    fn a_default_breaking_its_constraints_or_failing_its_patch_is_an_error() {
        let p = problems(
            &WEB.replace("defaultValue: \"2\"", "defaultValue: \"9\""),
            OBJECTS,
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("replicas.defaultValue") && p[0].contains("from 1 to 5"),
            "{p:?}"
        );
        let p = problems(
            &WEB.replace(
                "op: add, path: /spec/replicas",
                "op: replace, path: /spec/nope",
            ),
            OBJECTS,
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("replicas.targets.0.patch: with the default"),
            "{p:?}"
        );
    }

    #[test]
    fn patch_ops_group_versions_templates_and_chart_names_are_checked_as_written() {
        let web = WEB
            .replace("op: add, path: /data/title", "op: move, path: data")
            .replace("apiGroup: apps/v1", "apiGroup: a/b/c")
            .replace("valueTemplate: \"{{.}}\"", "valueTemplate: \"{{ if }}\"")
            + "transformations:\n- source: {path: '{ $.metadata.name }'}\n  targets:\n  - chartName: other\n    patch: {op: add, path: /x}\n    valueTemplate: '{{.}}'\n";
        let p = problems(&web, OBJECTS);
        let has = |s: &str| p.iter().any(|p| p.contains(s));
        assert!(
            has("title.targets.0.patch.op: \"move\" is not an operation"),
            "{p:?}"
        );
        assert!(
            has("title.targets.0.patch.path: \"data\" is not a JSON pointer"),
            "{p:?}"
        );
        assert!(
            has("replicas.targets.0.resource.apiGroup: unexpected GroupVersion"),
            "{p:?}"
        );
        assert!(
            has("replicas.targets.0.valueTemplate: does not render"),
            "{p:?}"
        );
        assert!(
            has(
                "transformations.0.targets.0.chartName: names chart other, but the package has no helm chart"
            ),
            "{p:?}"
        );
        assert!(
            has("transformations.0.targets.0.valueTemplate: renders text that is not JSON"),
            "{p:?}"
        );
        assert_eq!(p.len(), 6, "{p:?}");
    }

    #[test]
    fn dependencies_and_components_must_be_offered_in_range() {
        let web = WEB.replace(">=1.0.0", ">=2.0.0")
            + "components:\n- name: nosuch\n- name: db\n  installedName: Db_1\n  values: {size: {value: x}}\n";
        let p = problems(&web, OBJECTS);
        let has = |s: &str| p.iter().any(|p| p.contains(s));
        assert!(
            has("dependencies.0: dependency no version of db >=2.0.0"),
            "{p:?}"
        );
        assert!(
            has("components.0: component nosuch: the index has no package nosuch"),
            "{p:?}"
        );
        assert!(
            has("components.1.installedName: \"Db_1\" is not a DNS-1123 label"),
            "{p:?}"
        );
        assert!(
            has("components.1.values: component db v1.2.0+1: db has no value \"size\""),
            "{p:?}"
        );
        assert_eq!(p.len(), 4, "{p:?}");
    }

    #[test]
    fn entrypoints_must_name_a_service_of_plain_manifests_and_are_noted_for_charts() {
        let p = problems(
            &WEB.replace("serviceName: web", "serviceName: api"),
            OBJECTS,
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains(
                "entrypoints.0.serviceName: the manifests have no Service api (they have: web)"
            ),
            "{p:?}"
        );
        let helm = WEB.replace("serviceName: web", "serviceName: api")
            + "helm: {repositoryUrl: https://charts.example, chartName: web, chartVersion: 1.0.0}\n";
        let all = lint(&repo(&helm, OBJECTS));
        assert!(all.iter().all(|f| f.severity == Severity::Note), "{all:?}");
        assert!(
            all.iter()
                .any(|f| f.field.as_deref() == Some("entrypoints"))
        );
    }

    #[test]
    fn an_unparsable_manifest_names_its_file_and_skips_what_needs_it() {
        let all = lint(&repo(WEB, "kind: [\n"));
        let errors: Vec<&Finding> = all
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert_eq!(errors.len(), 1, "{all:?}");
        assert_eq!(errors[0].file, "web/v1.0.0+1/manifests.yaml");
        assert_eq!(errors[0].package.as_deref(), Some("web"));
        assert_eq!(errors[0].version.as_deref(), Some("v1.0.0+1"));
        assert!(
            all.iter()
                .any(|f| f.severity == Severity::Note && f.message.contains("not every manifest"))
        );
    }

    #[test]
    fn versions_and_index_entries_are_semver_labels_and_agree() {
        let mut r = repo(WEB, OBJECTS);
        if let Ok(index) = &mut r.index {
            index.packages[1].name = "DB".into();
            index.packages[1].latest_version = Some("latest".into());
        }
        if let Some(web) = r.packages.get_mut("web")
            && let Ok(v) = &mut web.versions
        {
            v.versions.push(crate::repo::format::VersionEntry {
                version: "banana".into(),
            });
            v.versions.push(crate::repo::format::VersionEntry {
                version: "v2.0.0+1".into(),
            });
        }
        let all = lint(&r);
        let at = |file: &str, field: &str| {
            all.iter()
                .find(|f| f.file == file && f.field.as_deref() == Some(field))
                .map(|f| (f.severity, f.message.clone()))
        };
        assert!(
            matches!(at("index.yaml", "packages.1.name"), Some((Severity::Error, m)) if m.contains("DNS-1123")),
            "{all:?}"
        );
        assert!(
            matches!(
                at("index.yaml", "packages.1.latestVersion"),
                Some((Severity::Error, _))
            ),
            "{all:?}"
        );
        assert!(
            matches!(at("web/versions.yaml", "versions.1.version"), Some((Severity::Error, m)) if m.contains("banana")),
            "{all:?}"
        );
        assert!(
            matches!(at("web/versions.yaml", "latestVersion"), Some((Severity::Warning, m)) if m.contains("behind v2.0.0+1")),
            "{all:?}"
        );
    }
}
