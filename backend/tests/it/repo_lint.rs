//! `hoist repo lint`: the sample repository is clean; a small clean fixture seeded with
//! exactly one defect reports exactly that defect; a repository served over HTTP lints
//! by URL; the binary needs no kubeconfig, exits 1 on errors and prints JSON with `-o
//! json`.

use crate::common;
use common::repo_server::RepoServer;
use hoist::cli::lint::{LintOptions, has_errors, lint};
use hoist_core::lint::{Finding, Severity};
use std::path::{Path, PathBuf};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/repository")
}

const INDEX: &str = "\
packages:
- name: web
  scope: Namespaced
  latestVersion: v1.0.0+1
- name: db
  scope: Cluster
  latestVersion: v1.2.0+1
- name: cache
  scope: Namespaced
  latestVersion: v2.0.0+1
";

const WEB: &str = r#"name: web
scope: Namespaced
defaultNamespace: web
manifests:
- url: ./manifests.yaml
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
components:
- name: cache
  installedName: sessions
  version: ">=2.0.0, <3.0.0"
entrypoints:
- serviceName: web
  port: 80
"#;

const WEB_OBJECTS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: page}
data: {}
";

const DB: &str = "\
name: db
scope: Cluster
defaultNamespace: db
manifests:
- url: db.yaml
";

const DB_OBJECTS: &str = "\
apiVersion: v1
kind: Namespace
metadata: {name: db}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: db-settings}
";

const CACHE: &str = "\
name: cache
scope: Namespaced
defaultNamespace: cache
manifests:
- url: manifests.yaml
";

const CACHE_OBJECTS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cache}
spec: {template: {spec: {containers: [{name: redis, image: redis}]}}}
";

fn versions(v: &str) -> String {
    format!("latestVersion: {v}\nversions:\n- version: {v}\n")
}

/// A clean repository in `<temp>/repo` (so `<temp>` is outside it).
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let f = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        f.write("index.yaml", INDEX);
        f.write("web/versions.yaml", &versions("v1.0.0+1"));
        f.write("web/v1.0.0+1/package.yaml", WEB);
        f.write("web/v1.0.0+1/manifests.yaml", WEB_OBJECTS);
        f.write("db/versions.yaml", &versions("v1.2.0+1"));
        f.write("db/v1.2.0+1/package.yaml", DB);
        f.write("db/v1.2.0+1/db.yaml", DB_OBJECTS);
        f.write("cache/versions.yaml", &versions("v2.0.0+1"));
        f.write("cache/v2.0.0+1/package.yaml", CACHE);
        f.write("cache/v2.0.0+1/manifests.yaml", CACHE_OBJECTS);
        f
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).expect("read")
    }

    /// Replaces `from` (which must be there) with `to` in `rel`.
    fn edit(&self, rel: &str, from: &str, to: &str) -> &Self {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} has no {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
        self
    }

    async fn lint(&self) -> Vec<Finding> {
        lint(&self.root().to_string_lossy(), &LintOptions::default())
            .await
            .expect("lints")
    }
}

/// Errors and warnings (notes say what was not checked; they are no defect).
fn problems(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity != Severity::Note)
        .collect()
}

/// Exactly one problem, an error at `file`/`field` whose message has `says`.
#[track_caller]
fn exactly_one_error(findings: &[Finding], file: &str, field: Option<&str>, says: &str) {
    let p = problems(findings);
    assert_eq!(p.len(), 1, "{p:#?}");
    let f = p[0];
    assert_eq!(f.severity, Severity::Error, "{f:#?}");
    assert_eq!(f.file, file, "{f:#?}");
    assert_eq!(f.field.as_deref(), field, "{f:#?}");
    assert!(f.message.contains(says), "{f:#?}");
}

const WEB_PACKAGE: &str = "web/v1.0.0+1/package.yaml";

#[tokio::test]
async fn the_sample_repository_is_clean() {
    let findings = lint(&samples().to_string_lossy(), &LintOptions::default())
        .await
        .expect("lints");
    let errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn the_clean_fixture_has_no_problems() {
    let findings = Fixture::new().lint().await;
    assert!(problems(&findings).is_empty(), "{findings:#?}");
}

#[tokio::test]
async fn an_unknown_field_is_reported_by_its_path() {
    let f = Fixture::new();
    f.edit(
        WEB_PACKAGE,
        "defaultNamespace: web\n",
        "defaultNamespace: web\ndefaultEntrypoint: web\n",
    );
    let findings = f.lint().await;
    exactly_one_error(
        &findings,
        WEB_PACKAGE,
        Some("defaultEntrypoint"),
        "unknown field",
    );
    let p = problems(&findings);
    assert_eq!(p[0].package.as_deref(), Some("web"));
    assert_eq!(p[0].version.as_deref(), Some("v1.0.0+1"));
}

#[tokio::test]
async fn a_target_with_a_group_and_no_version_resolves_to_nothing_and_says_why() {
    let f = Fixture::new();
    f.edit(WEB_PACKAGE, "apiGroup: apps/v1", "apiGroup: apps");
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("valueDefinitions.replicas.targets.0.resource"),
        "write apps/<version>",
    );
}

#[tokio::test]
async fn a_target_of_a_value_without_default_is_checked_too() {
    let f = Fixture::new();
    f.edit(WEB_PACKAGE, "name: page}", "name: pages}");
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("valueDefinitions.title.targets.0.resource"),
        "no v1 ConfigMap pages",
    );
}

#[tokio::test]
async fn a_default_breaking_its_constraint_is_reported() {
    let f = Fixture::new();
    f.edit(WEB_PACKAGE, "defaultValue: \"2\"", "defaultValue: \"9\"");
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("valueDefinitions.replicas.defaultValue"),
        "a number from 1 to 5",
    );
}

#[tokio::test]
async fn a_dependency_naming_no_package_is_reported() {
    let f = Fixture::new();
    f.edit(WEB_PACKAGE, "- name: db\n", "- name: nosuch\n");
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("dependencies.0"),
        "the index has no package nosuch",
    );
}

#[tokio::test]
async fn a_dependency_with_no_version_in_range_is_reported() {
    let f = Fixture::new();
    f.edit(WEB_PACKAGE, "\">=1.0.0\"", "\">=3.0.0\"");
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("dependencies.0"),
        "no version of db >=3.0.0",
    );
}

#[tokio::test]
async fn an_entrypoint_naming_no_service_is_reported() {
    let f = Fixture::new();
    f.edit(WEB_PACKAGE, "serviceName: web", "serviceName: api");
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("entrypoints.0.serviceName"),
        "no Service api",
    );
}

#[tokio::test]
async fn a_component_naming_no_package_is_reported() {
    let f = Fixture::new();
    f.edit(WEB_PACKAGE, "- name: cache\n", "- name: nosuch\n");
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("components.0"),
        "component nosuch: the index has no package nosuch",
    );
}

#[tokio::test]
async fn a_version_that_is_not_semver_is_reported() {
    let f = Fixture::new();
    f.write(
        "web/versions.yaml",
        "latestVersion: v1.0.0+1\nversions:\n- version: v1.0.0+1\n- version: banana\n",
    );
    f.write("web/banana/package.yaml", WEB);
    f.write("web/banana/manifests.yaml", WEB_OBJECTS);
    exactly_one_error(
        &f.lint().await,
        "web/versions.yaml",
        Some("versions.1.version"),
        "\"banana\" is not a package version",
    );
}

#[tokio::test]
async fn a_name_that_is_not_a_dns_label_is_reported() {
    // A package's name.
    let f = Fixture::new();
    f.edit("index.yaml", "- name: db\n", "- name: DB\n");
    f.edit(WEB_PACKAGE, "- name: db\n", "- name: DB\n");
    std::fs::rename(f.root().join("db"), f.root().join("DB")).expect("rename");
    f.edit("DB/v1.2.0+1/package.yaml", "name: db\n", "name: DB\n");
    exactly_one_error(
        &f.lint().await,
        "index.yaml",
        Some("packages.1.name"),
        "DNS-1123",
    );
    // A component's installedName.
    let f = Fixture::new();
    f.edit(
        WEB_PACKAGE,
        "installedName: sessions",
        "installedName: Sessions_1",
    );
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("components.0.installedName"),
        "DNS-1123",
    );
}

#[tokio::test]
async fn an_unparsable_manifest_is_reported_on_its_own_file() {
    let f = Fixture::new();
    f.write("web/v1.0.0+1/manifests.yaml", "kind: [unclosed\n");
    let findings = f.lint().await;
    exactly_one_error(
        &findings,
        "web/v1.0.0+1/manifests.yaml",
        None,
        "not a manifest",
    );
    assert!(
        findings
            .iter()
            .any(|f| f.severity == Severity::Note && f.message.contains("not checked")),
        "what needs the manifest is noted as not checked: {findings:#?}"
    );
}

#[tokio::test]
async fn a_relative_manifest_leaving_the_root_is_refused_and_not_read() {
    let f = Fixture::new();
    // A valid manifest outside the repository: lint must not read it.
    std::fs::write(f.dir.path().join("outside.yaml"), WEB_OBJECTS).expect("write");
    f.edit(
        WEB_PACKAGE,
        "url: ./manifests.yaml",
        "url: ../../../outside.yaml",
    );
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("manifests.0.url"),
        "leaves the repository",
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_symbolic_link_out_of_the_root_is_not_followed() {
    let f = Fixture::new();
    std::fs::write(f.dir.path().join("outside.yaml"), WEB_OBJECTS).expect("write");
    let link = f.root().join("web/v1.0.0+1/manifests.yaml");
    std::fs::remove_file(&link).expect("rm");
    std::os::unix::fs::symlink(f.dir.path().join("outside.yaml"), &link).expect("symlink");
    exactly_one_error(
        &f.lint().await,
        WEB_PACKAGE,
        Some("manifests.0.url"),
        "leaves the repository's folder",
    );
}

#[tokio::test]
async fn offline_an_absolute_manifest_is_a_note_not_an_error() {
    let f = Fixture::new();
    f.edit(
        WEB_PACKAGE,
        "- url: ./manifests.yaml\n",
        "- url: ./manifests.yaml\n- url: https://example.invalid/extra.yaml\n",
    );
    let opts = LintOptions {
        offline: true,
        ..Default::default()
    };
    let findings = lint(&f.root().to_string_lossy(), &opts)
        .await
        .expect("lints");
    assert!(problems(&findings).is_empty(), "{findings:#?}");
    assert!(
        findings.iter().any(|n| n.severity == Severity::Note
            && n.field.as_deref() == Some("manifests.1.url")
            && n.message.contains("not checked")),
        "{findings:#?}"
    );
}

#[tokio::test]
async fn a_repository_served_over_http_lints_by_url() {
    let f = Fixture::new();
    let server = RepoServer::serving_dir(&f.root()).await;
    let findings = lint(&server.base, &LintOptions::default())
        .await
        .expect("lints");
    assert!(problems(&findings).is_empty(), "{findings:#?}");
    assert!(server.hits("/web/v1.0.0+1/manifests.yaml") >= 1);
    // A defect over HTTP names the same file as on disk.
    f.edit(WEB_PACKAGE, "serviceName: web", "serviceName: api");
    let server = RepoServer::serving_dir(&f.root()).await;
    let findings = lint(&format!("{}/", server.base), &LintOptions::default())
        .await
        .expect("lints");
    exactly_one_error(
        &findings,
        WEB_PACKAGE,
        Some("entrypoints.0.serviceName"),
        "no Service api",
    );
    assert!(has_errors(&findings));
}

fn hoist(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(args)
        // Lint needs no cluster: a kubeconfig that does not exist changes nothing.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("runs hoist")
}

#[test]
fn the_binary_exits_0_on_the_samples_and_1_on_an_error_with_json_on_request() {
    let samples = samples();
    let out = hoist(&["repo", "lint", &samples.to_string_lossy()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("0 errors"), "{stdout}");

    let out = hoist(&["repo", "lint", &samples.to_string_lossy(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let items = json.as_array().expect("an array");
    assert!(items.iter().all(|f| f["severity"] != "error"), "{json:#}");

    let f = Fixture::new();
    f.edit(WEB_PACKAGE, "serviceName: web", "serviceName: api");
    let root = f.root();
    let out = hoist(&["repo", "lint", &root.to_string_lossy(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let errors: Vec<&serde_json::Value> = json
        .as_array()
        .expect("an array")
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{json:#}");
    assert_eq!(errors[0]["file"], WEB_PACKAGE);
    assert_eq!(errors[0]["package"], "web");
    assert_eq!(errors[0]["version"], "v1.0.0+1");
    assert_eq!(errors[0]["field"], "entrypoints.0.serviceName");

    let out = hoist(&["repo", "lint", &root.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("web/v1.0.0+1/package.yaml\n  error: entrypoints.0.serviceName:"),
        "{stdout}"
    );
    assert!(stdout.contains("1 error, 0 warnings"), "{stdout}");
}
