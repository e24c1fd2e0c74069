//! Glasskube's package-format rules, one row each, run through Hoist's own pipeline:
//! `values::effective` → `values::writes` → `placement::effective_namespaces` →
//! `values::apply` (then `placement::place_with` or `helm::chart_values` where the row
//! asks), and `repo::values::validate` for the validation rules. Rule ids follow
//! Glasskube's source as read for `docs/glasskube-format.md` (R-T*, R-V*, R-D1, the
//! examples E1..E24, validation, transformations, transitive resources). Every row
//! expects what Glasskube does, except rows marked DIFFERS, where Hoist deliberately
//! does otherwise and the row names the section of `docs/glasskube-format.md` that says
//! why.
//!
//! Base object `D` (§2.5): a Deployment `web` in namespace `app`. Rows whose package
//! text starts with `{` give one target (YAML flow) of a text value `v`; others give a
//! whole package.yaml (`name: t` is added when missing). The install is a ClusterPackage
//! `t` unless the package says `scope: Namespaced` (then Package `p1` in `ns1`).

use hoist_core::operator::helm;
use hoist_core::operator::placement::{self, Owner, Rendered};
use hoist_core::operator::values::{self, ValuesError};
use hoist_core::repo::format::{Documents, PackageManifest, RepoFile, ValueTarget};
use hoist_core::repo::values::{ValueError, validate};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Marks a JSON pointer that must not resolve.
const ABSENT: &str = "<absent>";

/// §2.5's base object `D`.
const D: &str = r#"{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "app"},
  "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}"#;

const CFG: &str =
    r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}}"#;

/// A Secret `test` and a Deployment referring to `test` and `test1` (§4.2's example).
const SECRETS: &str = r#"[
  {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "test"}},
  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
   "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i", "env": [
     {"name": "A", "valueFrom": {"secretKeyRef": {"name": "test", "key": "k"}}},
     {"name": "B", "valueFrom": {"secretKeyRef": {"name": "test1", "key": "k"}}}]}]}}}}]"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    /// The template does not parse or run.
    Template,
    /// The template's output is not JSON.
    NotJson,
    /// The target is malformed (apiGroup, op, move/copy, chart).
    Target,
    /// The JSON patch does not apply.
    Patch,
    /// A transformation's source.
    Source,
    /// The value would have been read as JSON structure, not as data.
    NotData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// A value that breaks its definition.
    Value,
    /// A required value not given.
    Missing,
    /// A value for a definition whose type is none of the four.
    UnknownType,
    /// A value without a definition.
    Unknown,
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// After the writes, no target unresolved, and at each JSON pointer into the array
    /// of objects (`""`: the whole array) this JSON (or [`ABSENT`]).
    Objects(&'static [(&'static str, &'static str)]),
    /// Every target matched nothing: objects unchanged, these targets reported.
    Skipped(&'static [&'static str]),
    /// These targets reported unresolved, and the others' writes at these pointers.
    Partly(
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    ),
    /// The Helm chart's values (`helm::chart_values`), pointers as in `Objects`.
    Chart(&'static [(&'static str, &'static str)]),
    /// These targets reported, and the chart's values at these pointers.
    ChartPartly(
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    ),
    /// After placement (`placement::place_with`), pointers into the placed objects.
    Placed(&'static [(&'static str, &'static str)]),
    /// Rendering fails with this kind of error.
    Error(Fail),
    /// `validate` accepts the values.
    Valid,
    /// `validate` refuses them.
    Invalid(Refused),
}

struct Row {
    id: &'static str,
    /// Objects as JSON (one or an array); `@manifests` reads the sample's manifests.
    input: &'static str,
    /// package.yaml (YAML), a single target of value `v` (`{...}`), or
    /// `@samples/<name>/<version>`.
    package: &'static str,
    /// The values given.
    values: &'static [(&'static str, &'static str)],
    expect: Expect,
}

use Expect::*;

const fn row(
    id: &'static str,
    input: &'static str,
    package: &'static str,
    values: &'static [(&'static str, &'static str)],
    expect: Expect,
) -> Row {
    Row {
        id,
        input,
        package,
        values,
        expect,
    }
}

const ROWS: &[Row] = &[
    // ---- §2.5 examples --------------------------------------------------------------
    row(
        "E1 R-V1 no template: the value goes in as a JSON string",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Objects(&[(
            "/0",
            r#"{"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "app"},
              "spec": {"replicas": "3", "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}"#,
        )]),
    ),
    row(
        "E2 {{.}} renders JSON: a number",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}"#,
        &[("v", "3")],
        Objects(&[("/0/spec/replicas", "3")]),
    ),
    row(
        "E3 template output that is not JSON fails the target",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}"#,
        &[("v", "abc")],
        Error(Fail::NotJson),
    ),
    row(
        "E4 add needs the parent: missing metadata.labels is an error",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /metadata/labels/tier}, valueTemplate: '"{{.}}"'}"#,
        &[("v", "gold")],
        Error(Fail::Patch),
    ),
    row(
        "E5 add on an object key writes the rendered object",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /metadata/annotations}, valueTemplate: '{"tier":"{{.}}"}'}"#,
        &[("v", "gold")],
        Objects(&[("/0/metadata/annotations", r#"{"tier": "gold"}"#)]),
    ),
    row(
        "E5 add over an existing map replaces it",
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "annotations": {"old": "x"}}}"#,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /metadata/annotations}, valueTemplate: '{"tier":"{{.}}"}'}"#,
        &[("v", "gold")],
        Objects(&[("/0/metadata/annotations", r#"{"tier": "gold"}"#)]),
    ),
    row(
        "E6 add at - appends to an array",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /spec/template/spec/containers/-}, valueTemplate: '{"name":"side","image":"{{.}}"}'}"#,
        &[("v", "busybox")],
        Objects(&[(
            "/0/spec/template/spec/containers",
            r#"[{"name": "c", "image": "nginx"}, {"name": "side", "image": "busybox"}]"#,
        )]),
    ),
    row(
        "E7 negative index: replace -1 is the last item",
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
          "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}}"#,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/template/spec/containers/-1/image}}",
        &[("v", "nginx:2")],
        Objects(&[
            ("/0/spec/template/spec/containers/0/image", r#""x""#),
            ("/0/spec/template/spec/containers/1/image", r#""nginx:2""#),
        ]),
    ),
    row(
        "E7 negative index: add at -1 appends (i += len+1)",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /spec/template/spec/containers/-1}, valueTemplate: '{"name":"{{.}}"}'}"#,
        &[("v", "z")],
        Objects(&[
            ("/0/spec/template/spec/containers/0/name", r#""c""#),
            ("/0/spec/template/spec/containers/1/name", r#""z""#),
        ]),
    ),
    row(
        "E7 negative index beyond the start is an error",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/template/spec/containers/-2/image}}",
        &[("v", "nginx:2")],
        Error(Fail::Patch),
    ),
    row(
        "E8 R-T1 bare apps is version apps of the core group: unresolved",
        D,
        "{resource: {apiGroup: apps, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Skipped(&["apps Deployment web"]),
    ),
    row(
        "E9 R-T3 namespace mismatch: unresolved",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web, namespace: other}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Skipped(&["apps/v1 Deployment web in namespace other"]),
    ),
    row(
        "E9 R-T3 namespace equal: patched",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web, namespace: app}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Objects(&[("/0/spec/replicas", r#""3""#)]),
    ),
    row(
        "E10 no apiGroup: empty group/version, unresolved",
        D,
        "{resource: {kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Skipped(&["(no apiGroup) Deployment web"]),
    ),
    row(
        "E11 R-T1 core objects are apiGroup v1; a JSON string template",
        CFG,
        r#"{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/URL}, valueTemplate: '"https://{{ . }}"'}"#,
        &[("v", "x.io")],
        Objects(&[("/0/data", r#"{"URL": "https://x.io"}"#)]),
    ),
    row(
        "E12 DIFFERS (docs/glasskube-format.md §22 #7) a quote in the value stays in its string, where Glasskube's JSON breaks",
        CFG,
        r#"{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/URL}, valueTemplate: '"https://{{ . }}"'}"#,
        &[("v", "x\"y")],
        Objects(&[("/0/data/URL", r#""https://x\"y""#)]),
    ),
    row(
        "E13 go truthiness: {{ if . }} on \"false\" is true",
        CFG,
        r#"{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/B}, valueTemplate: '{{ if . }}"1"{{else}}"0"{{end}}'}"#,
        &[("v", "false")],
        Objects(&[("/0/data/B", r#""1""#)]),
    ),
    row(
        "E13 go truthiness: {{ if . }} on \"\" is false",
        CFG,
        r#"{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/B}, valueTemplate: '{{ if . }}"1"{{else}}"0"{{end}}'}"#,
        &[("v", "")],
        Objects(&[("/0/data/B", r#""0""#)]),
    ),
    row(
        "E14 eq compares strings: \"true\" is true",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /spec/paused}, valueTemplate: '{{ if eq . "true" }}true{{ else }}false{{ end }}'}"#,
        &[("v", "true")],
        Objects(&[("/0/spec/paused", "true")]),
    ),
    row(
        "E14 eq compares strings: \"1\" is false (no ParseBool)",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /spec/paused}, valueTemplate: '{{ if eq . "true" }}true{{ else }}false{{ end }}'}"#,
        &[("v", "1")],
        Objects(&[("/0/spec/paused", "false")]),
    ),
    row(
        "E15 base64 is the one added function",
        r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {}}"#,
        r#"{resource: {apiGroup: v1, kind: Secret, name: s}, patch: {op: add, path: /data/key}, valueTemplate: '"{{ . | base64 }}"'}"#,
        &[("v", "abc")],
        Objects(&[("/0/data/key", r#""YWJj""#)]),
    ),
    row(
        "E16 chartName target patches the chart's values",
        "[]",
        r#"name: t
helm: {repositoryUrl: "https://charts.example", chartName: temporal, chartVersion: 1.0.0,
       values: {server: {config: {namespaces: {create: true}}}}}
valueDefinitions:
  v:
    type: boolean
    targets:
    - chartName: temporal
      patch: {op: replace, path: /server/config/namespaces/create}
      valueTemplate: "{{ if . }}true{{ else }}false{{ end }}"
"#,
        &[("v", "")],
        Chart(&[(
            "",
            r#"{"server": {"config": {"namespaces": {"create": false}}}}"#,
        )]),
    ),
    row(
        "E17 chart values absent start as {}: add /a/b has no parent",
        "[]",
        r#"name: t
helm: {repositoryUrl: "https://charts.example", chartName: foo, chartVersion: 1.0.0}
valueDefinitions:
  v: {type: text, targets: [{chartName: foo, patch: {op: add, path: /a/b}}]}
"#,
        &[("v", "x")],
        Error(Fail::Patch),
    ),
    row(
        "E17 chart values absent start as {}: add /a writes",
        "[]",
        r#"name: t
helm: {repositoryUrl: "https://charts.example", chartName: foo, chartVersion: 1.0.0}
valueDefinitions:
  v: {type: text, targets: [{chartName: foo, patch: {op: add, path: /a}}]}
"#,
        &[("v", "x")],
        Chart(&[("", r#"{"a": "x"}"#)]),
    ),
    row(
        "E18 move cannot work (no from)",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: move, path: /spec/replicas}}",
        &[("v", "3")],
        Error(Fail::Target),
    ),
    row(
        "E18 copy cannot work (no from)",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: copy, path: /spec/replicas}}",
        &[("v", "3")],
        Error(Fail::Target),
    ),
    row(
        "E19 ops are case-sensitive: Add is unsupported",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: Add, path: /spec/replicas}}",
        &[("v", "3")],
        Error(Fail::Target),
    ),
    row(
        "E20 remove removes (the value is ignored)",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: remove, path: /spec/replicas}}",
        &[("v", "x")],
        Objects(&[
            ("/0/spec/replicas", ABSENT),
            ("/0/spec/template/spec/containers/0/name", r#""c""#),
        ]),
    ),
    row(
        "E20 remove of a missing key is an error",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: remove, path: /spec/paused}}",
        &[("v", "x")],
        Error(Fail::Patch),
    ),
    row(
        "E21 \"null\" through {{.}} writes null",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /spec/replicas}, valueTemplate: "{{.}}"}"#,
        &[("v", "null")],
        Objects(&[("/0/spec/replicas", "null")]),
    ),
    row(
        "E22 values in sorted name order, last write wins",
        D,
        r#"name: t
valueDefinitions:
  b: {type: number, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}]}
  a: {type: number, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}]}
"#,
        &[("b", "5"), ("a", "2")],
        Objects(&[("/0/spec/replicas", "5")]),
    ),
    row(
        "E23 DIFFERS (docs/glasskube-format.md §22 #7) JSON injection: the value stays one string, where in Glasskube a quote adds a key",
        CFG,
        r#"{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data}, valueTemplate: '{"a":"{{.}}"}'}"#,
        &[("v", r#"x","b":"y"#)],
        Objects(&[("/0/data", r#"{"a": "x\",\"b\":\"y"}"#)]),
    ),
    row(
        "E24 R-T3 a namespaced Package matches the pre-prefix name, then renames",
        D,
        r#"name: t
scope: Namespaced
valueDefinitions:
  v: {type: number, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}]}
"#,
        &[("v", "3")],
        Placed(&[
            ("/0/metadata/name", r#""p1-web""#),
            ("/0/metadata/namespace", r#""ns1""#),
            ("/0/spec/replicas", "3"),
        ]),
    ),
    row(
        "E24 the prefixed name matches nothing",
        D,
        r#"name: t
scope: Namespaced
valueDefinitions:
  v: {type: number, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: p1-web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}]}
"#,
        &[("v", "3")],
        Skipped(&["apps/v1 Deployment p1-web"]),
    ),
    // ---- §2.2 matching -------------------------------------------------------------
    row(
        "R-T2 version must equal the manifest's: apps/v1beta1 unresolved",
        D,
        "{resource: {apiGroup: apps/v1beta1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Skipped(&["apps/v1beta1 Deployment web"]),
    ),
    row(
        "R-T2 kind is case-sensitive: deployment unresolved",
        D,
        "{resource: {apiGroup: apps/v1, kind: deployment, name: web}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Skipped(&["apps/v1 deployment web"]),
    ),
    row(
        "R-T1 apiGroup a/b/c is not a group/version: error",
        D,
        "{resource: {apiGroup: a/b/c, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Error(Fail::Target),
    ),
    row(
        "R-T1 apiGroup /v1 parses as the core group's v1",
        CFG,
        "{resource: {apiGroup: /v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/k}}",
        &[("v", "x")],
        Objects(&[("/0/data/k", r#""x""#)]),
    ),
    row(
        "R-T3 namespace \"\" matches a cluster-scoped object",
        r#"{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}"#,
        "{resource: {apiGroup: rbac.authorization.k8s.io/v1, kind: ClusterRole, name: r, namespace: ''}, patch: {op: add, path: /rules}, valueTemplate: '[]'}",
        &[("v", "x")],
        Objects(&[("/0/rules", "[]")]),
    ),
    row(
        "R-T3 a cluster-scoped object keeps the namespace its manifest declares (GK never clears it before matching)",
        r#"{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r", "namespace": "x"}}"#,
        "{resource: {apiGroup: rbac.authorization.k8s.io/v1, kind: ClusterRole, name: r, namespace: x}, patch: {op: add, path: /rules}, valueTemplate: '[]'}",
        &[("v", "x")],
        Objects(&[("/0/rules", "[]")]),
    ),
    row(
        "R-T3 namespace \"\" does not match a namespaced object",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web, namespace: ''}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Skipped(&["apps/v1 Deployment web in namespace "]),
    ),
    row(
        "R-T3 namespace nil is a wildcard",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Objects(&[("/0/spec/replicas", r#""3""#)]),
    ),
    row(
        "R-T3 ClusterPackage: the effective namespace is the defaultNamespace",
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}"#,
        r#"name: t
defaultNamespace: tools
valueDefinitions:
  v: {type: text, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web, namespace: tools}, patch: {op: add, path: /spec}, valueTemplate: '{}'}]}
"#,
        &[("v", "x")],
        Objects(&[("/0/spec", "{}")]),
    ),
    row(
        "R-T3 namespaced Package: the manifest's namespace is overridden (app no longer matches)",
        D,
        r#"name: t
scope: Namespaced
valueDefinitions:
  v: {type: text, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web, namespace: app}, patch: {op: replace, path: /spec/replicas}}]}
"#,
        &[("v", "3")],
        Skipped(&["apps/v1 Deployment web in namespace app"]),
    ),
    row(
        "R-T3 namespaced Package: the Package's namespace matches",
        D,
        r#"name: t
scope: Namespaced
valueDefinitions:
  v: {type: text, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web, namespace: ns1}, patch: {op: replace, path: /spec/replicas}}]}
"#,
        &[("v", "3")],
        Objects(&[("/0/spec/replicas", r#""3""#)]),
    ),
    row(
        "R-T5 several matches (same name, two namespaces): each is patched",
        r#"[{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a"}, "spec": {"replicas": 1}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "a"}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "b"}, "spec": {"replicas": 1}}]"#,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}"#,
        &[("v", "4")],
        Objects(&[
            ("/0/spec/replicas", "4"),
            ("/1/spec", ABSENT),
            ("/2/spec/replicas", "4"),
        ]),
    ),
    row(
        "R-T6 a value's targets apply in order; later ones see earlier results",
        D,
        r#"name: t
valueDefinitions:
  v:
    type: text
    targets:
    - {resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /metadata/labels}, valueTemplate: '{}'}
    - {resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /metadata/labels/tier}}
"#,
        &[("v", "gold")],
        Objects(&[("/0/metadata/labels", r#"{"tier": "gold"}"#)]),
    ),
    row(
        "R-T4 one target unresolved, another patched: only the first is reported",
        D,
        r#"name: t
valueDefinitions:
  v:
    type: text
    targets:
    - {resource: {apiGroup: apps/v1, kind: Deployment, name: nope}, patch: {op: replace, path: /spec/replicas}}
    - {resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}}
"#,
        &[("v", "3")],
        Partly(
            &["apps/v1 Deployment nope"],
            &[("/0/spec/replicas", r#""3""#)],
        ),
    ),
    row(
        "R-T patch op test: equal passes",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: test, path: /spec/replicas}, valueTemplate: "{{.}}"}"#,
        &[("v", "1")],
        Objects(&[("/0/spec/replicas", "1")]),
    ),
    row(
        "R-T patch op test: different fails",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: test, path: /spec/replicas}, valueTemplate: "{{.}}"}"#,
        &[("v", "2")],
        Error(Fail::Patch),
    ),
    row(
        "R-T replace of a missing key is an error",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/paused}}",
        &[("v", "x")],
        Error(Fail::Patch),
    ),
    row(
        "R-T a template that does not parse is an error",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: '{{ if }}'}",
        &[("v", "x")],
        Error(Fail::Template),
    ),
    row(
        "R-T {{.Value}} on a string fails (the data is the bare value)",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: '{{ .Value }}'}",
        &[("v", "x")],
        Error(Fail::Template),
    ),
    row(
        "R-T empty template output is not JSON",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: '{{ if eq . "y" }}1{{ end }}'}"#,
        &[("v", "x")],
        Error(Fail::NotJson),
    ),
    row(
        "R-T surrounding whitespace in template output is fine",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: \" {{.}}\\n\\n\"}",
        &[("v", "7")],
        Objects(&[("/0/spec/replicas", "7")]),
    ),
    row(
        "R-T escaped pointer tokens (~1 is /)",
        r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "annotations": {}}}"#,
        "{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /metadata/annotations/example.com~1foo}}",
        &[("v", "bar")],
        Objects(&[("/0/metadata/annotations", r#"{"example.com/foo": "bar"}"#)]),
    ),
    row(
        "R-T2.3 a chart target in a plain-manifest package touches no object",
        CFG,
        "{chartName: foo, patch: {op: add, path: /data/k}}",
        &[("v", "x")],
        Objects(&[("/0/data", "{}")]),
    ),
    row(
        "R-T2.3 resource wins when a target has both resource and chartName",
        CFG,
        "{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, chartName: foo, patch: {op: add, path: /data/k}}",
        &[("v", "x")],
        Objects(&[("/0/data/k", r#""x""#)]),
    ),
    row(
        "R-V2 a definition without a value writes nothing",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}"#,
        &[],
        Objects(&[("/0/spec/replicas", "1")]),
    ),
    // ---- Glasskube generates every patch before matching (resourcepatch
    // GeneratePatches → GenerateTargetPatch: template, DecodePatch, ParseGroupVersion),
    // so a broken target fails the install even when it names nothing. ----------------
    row(
        "R-G1 non-JSON template output fails even on a target that matches nothing",
        D,
        r#"{resource: {apiGroup: apps/v1, kind: Deployment, name: nope}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}"#,
        &[("v", "abc")],
        Error(Fail::NotJson),
    ),
    row(
        "R-G1 an unsupported op fails even on a target that matches nothing",
        D,
        "{resource: {apiGroup: apps/v1, kind: Deployment, name: nope}, patch: {op: Add, path: /spec/replicas}}",
        &[("v", "3")],
        Error(Fail::Target),
    ),
    row(
        "R-G1 apiGroup a/b/c fails even with no objects to match",
        "[]",
        "{resource: {apiGroup: a/b/c, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}}",
        &[("v", "3")],
        Error(Fail::Target),
    ),
    row(
        "R-T7 DIFFERS (docs/glasskube-format.md §16) the default Namespace Hoist makes is not among the objects values patch: the target is reported",
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}"#,
        r#"name: t
defaultNamespace: tools
valueDefinitions:
  v: {type: text, targets: [{resource: {apiGroup: v1, kind: Namespace, name: tools}, patch: {op: add, path: /metadata/labels}, valueTemplate: '{"team":"{{.}}"}'}]}
"#,
        &[("v", "a")],
        Skipped(&["v1 Namespace tools"]),
    ),
    row(
        "R-T2.3 a chart target naming another chart matches no release and writes nothing (Hoist also reports it, decision 0021)",
        "[]",
        r#"name: t
helm: {repositoryUrl: "https://charts.example", chartName: podinfo, chartVersion: 1.0.0, values: {replicaCount: 1}}
valueDefinitions:
  v: {type: text, targets: [{chartName: other, patch: {op: add, path: /replicaCount}}]}
"#,
        &[("v", "3")],
        ChartPartly(&["chart other"], &[("", r#"{"replicaCount": 1}"#)]),
    ),
    // ---- defaults (R-D1; Hoist applies non-empty defaults, as `--use-default=all`) -----
    row(
        "R-D1 an empty default is never applied",
        D,
        r#"name: t
valueDefinitions:
  v: {type: text, defaultValue: "", targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: add, path: /metadata/labels}, valueTemplate: '{}'}]}
"#,
        &[],
        Objects(&[("/0/metadata/labels", ABSENT)]),
    ),
    row(
        "R-D1 a non-empty default is applied when not given (Hoist's operator; GK's CLI writes it)",
        D,
        r#"name: t
valueDefinitions:
  v: {type: number, defaultValue: 2, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}]}
"#,
        &[],
        Objects(&[("/0/spec/replicas", "2")]),
    ),
    row(
        "R-D1 a given value wins over the default",
        D,
        r#"name: t
valueDefinitions:
  v: {type: number, defaultValue: 2, targets: [{resource: {apiGroup: apps/v1, kind: Deployment, name: web}, patch: {op: replace, path: /spec/replicas}, valueTemplate: "{{.}}"}]}
"#,
        &[("v", "4")],
        Objects(&[("/0/spec/replicas", "4")]),
    ),
    row(
        "R-D1 a given empty value wins over the default",
        CFG,
        r#"name: t
valueDefinitions:
  v: {type: text, defaultValue: d, targets: [{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/k}}]}
"#,
        &[("v", "")],
        Objects(&[("/0/data/k", r#""""#)]),
    ),
    // ---- §3.3 validation ----------------------------------------------------------
    row(
        "V number: Atoi takes +5",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", "+5")],
        Valid,
    ),
    row(
        "V number: Atoi takes -3",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", "-3")],
        Valid,
    ),
    row(
        "V number: Atoi refuses 1.5",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", "1.5")],
        Invalid(Refused::Value),
    ),
    row(
        "V number: Atoi refuses ' 5'",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", " 5")],
        Invalid(Refused::Value),
    ),
    row(
        "V number: Atoi refuses 1_000",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", "1_000")],
        Invalid(Refused::Value),
    ),
    row(
        "V number: Atoi refuses 0x10",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", "0x10")],
        Invalid(Refused::Value),
    ),
    row(
        "V number: Atoi refuses \"\"",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", "")],
        Invalid(Refused::Value),
    ),
    row(
        "V number: Atoi is 64-bit (max i64)",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", "9223372036854775807")],
        Valid,
    ),
    row(
        "V number: Atoi is 64-bit (overflow)",
        "",
        "name: t\nvalueDefinitions: {n: {type: number}}",
        &[("n", "9223372036854775808")],
        Invalid(Refused::Value),
    ),
    row(
        "V number: min",
        "",
        "name: t\nvalueDefinitions: {n: {type: number, constraints: {min: 1, max: 10}}}",
        &[("n", "0")],
        Invalid(Refused::Value),
    ),
    row(
        "V number: max",
        "",
        "name: t\nvalueDefinitions: {n: {type: number, constraints: {min: 1, max: 10}}}",
        &[("n", "11")],
        Invalid(Refused::Value),
    ),
    row(
        "V number: within min..max",
        "",
        "name: t\nvalueDefinitions: {n: {type: number, constraints: {min: 1, max: 10}}}",
        &[("n", "10")],
        Valid,
    ),
    row(
        "V number: pattern applies",
        "",
        "name: t\nvalueDefinitions: {n: {type: number, constraints: {pattern: '^[0-9]$'}}}",
        &[("n", "12")],
        Invalid(Refused::Value),
    ),
    row(
        "V boolean: ParseBool takes T",
        "",
        "name: t\nvalueDefinitions: {b: {type: boolean}}",
        &[("b", "T")],
        Valid,
    ),
    row(
        "V boolean: ParseBool takes 0",
        "",
        "name: t\nvalueDefinitions: {b: {type: boolean}}",
        &[("b", "0")],
        Valid,
    ),
    row(
        "V boolean: ParseBool takes FALSE",
        "",
        "name: t\nvalueDefinitions: {b: {type: boolean}}",
        &[("b", "FALSE")],
        Valid,
    ),
    row(
        "V boolean: ParseBool refuses yes",
        "",
        "name: t\nvalueDefinitions: {b: {type: boolean}}",
        &[("b", "yes")],
        Invalid(Refused::Value),
    ),
    row(
        "V boolean: ParseBool refuses tRuE",
        "",
        "name: t\nvalueDefinitions: {b: {type: boolean}}",
        &[("b", "tRuE")],
        Invalid(Refused::Value),
    ),
    row(
        "V boolean: pattern is ignored",
        "",
        "name: t\nvalueDefinitions: {b: {type: boolean, constraints: {pattern: '^x$'}}}",
        &[("b", "true")],
        Valid,
    ),
    row(
        "V text: maxLength counts bytes (é is 2)",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, constraints: {maxLength: 3}}}",
        &[("s", "éé")],
        Invalid(Refused::Value),
    ),
    row(
        "V text: minLength counts bytes (é is 2)",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, constraints: {minLength: 2}}}",
        &[("s", "é")],
        Valid,
    ),
    row(
        "V text: pattern is unanchored (searched)",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, constraints: {pattern: 'b+'}}}",
        &[("s", "abbc")],
        Valid,
    ),
    row(
        "V text: pattern not found",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, constraints: {pattern: 'b+'}}}",
        &[("s", "ac")],
        Invalid(Refused::Value),
    ),
    row(
        "V text: an invalid pattern is a validation error",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, constraints: {pattern: '('}}}",
        &[("s", "x")],
        Invalid(Refused::Value),
    ),
    row(
        "V text: min/max are ignored",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, constraints: {min: 5, max: 6}}}",
        &[("s", "abc")],
        Valid,
    ),
    row(
        "V options: exact membership",
        "",
        "name: t\nvalueDefinitions: {o: {type: options, options: [a, b]}}",
        &[("o", "b")],
        Valid,
    ),
    row(
        "V options: case-sensitive",
        "",
        "name: t\nvalueDefinitions: {o: {type: options, options: [a, b]}}",
        &[("o", "A")],
        Invalid(Refused::Value),
    ),
    row(
        "V options: an empty list refuses every value",
        "",
        "name: t\nvalueDefinitions: {o: {type: options}}",
        &[("o", "")],
        Invalid(Refused::Value),
    ),
    row(
        "V options: pattern is ignored",
        "",
        "name: t\nvalueDefinitions: {o: {type: options, options: [a], constraints: {pattern: '^x$'}}}",
        &[("o", "a")],
        Valid,
    ),
    row(
        "V required is met by \"\"",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, constraints: {required: true}}}",
        &[("s", "")],
        Valid,
    ),
    row(
        "V required not given",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, constraints: {required: true}}}",
        &[],
        Invalid(Refused::Missing),
    ),
    row(
        "V required not given, empty default not applied",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, defaultValue: '', constraints: {required: true}}}",
        &[],
        Invalid(Refused::Missing),
    ),
    row(
        "V required not given, non-empty default applied (R-D1)",
        "",
        "name: t\nvalueDefinitions: {s: {type: text, defaultValue: d, constraints: {required: true}}}",
        &[],
        Valid,
    ),
    row(
        "V unknown type: an error when a value is given",
        "",
        "name: t\nvalueDefinitions: {c: {type: colour}}",
        &[("c", "red")],
        Invalid(Refused::UnknownType),
    ),
    row(
        "V unknown type: accepted while no value is given (R-P6)",
        "",
        "name: t\nvalueDefinitions: {c: {type: colour}}",
        &[],
        Valid,
    ),
    row(
        "V a value without a definition",
        "",
        "name: t\nvalueDefinitions: {s: {type: text}}",
        &[("x", "1")],
        Invalid(Refused::Unknown),
    ),
    row(
        "V R-D1 a default is validated as a value (GK's CLI writes it into spec.values; the webhook validates it)",
        "",
        "name: t\nvalueDefinitions: {n: {type: number, defaultValue: many}}",
        &[],
        Invalid(Refused::Value),
    ),
    // ---- §4.1 transformations ------------------------------------------------------
    row(
        "§4.1 transformation { $.metadata.name } of the install, replace with a template",
        r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"URL": "x"}}"#,
        r#"name: t
scope: Namespaced
transformations:
- source: {path: "{ $.metadata.name }"}
  targets:
  - resource: {apiGroup: v1, kind: ConfigMap, name: cfg}
    patch: {op: replace, path: /data/URL}
    valueTemplate: '"http://{{.}}-svc"'
"#,
        &[],
        Objects(&[("/0/data/URL", r#""http://p1-svc""#)]),
    ),
    row(
        "§4.1 transformation replace of a missing key is an error",
        CFG,
        r#"name: t
scope: Namespaced
transformations:
- source: {path: "{ $.metadata.name }"}
  targets: [{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: replace, path: /data/URL}, valueTemplate: '"http://{{.}}-svc"'}]
"#,
        &[],
        Error(Fail::Patch),
    ),
    row(
        "§4.1 transformation without a template inserts the value with its JSON type",
        CFG,
        r#"name: t
scope: Namespaced
transformations:
- source: {path: "{.spec.values}"}
  targets: [{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/V}}]
"#,
        &[],
        Objects(&[("/0/data/V", r#"{"a": {"value": "x"}}"#)]),
    ),
    row(
        "§4.1 transformation patches come after all value patches",
        CFG,
        r#"name: t
scope: Namespaced
valueDefinitions:
  v: {type: text, targets: [{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/K}}]}
transformations:
- source: {path: "{.metadata.name}"}
  targets: [{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/K}}]
"#,
        &[("v", "value")],
        Objects(&[("/0/data/K", r#""p1""#)]),
    ),
    row(
        "§4.1 a path without braces is literal text",
        CFG,
        r#"name: t
transformations:
- source: {path: "plain"}
  targets: [{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/K}}]
"#,
        &[],
        Objects(&[("/0/data/K", r#""plain""#)]),
    ),
    row(
        "§4.1 a path selecting nothing is an error",
        CFG,
        r#"name: t
transformations:
- source: {path: "{.metadata.missing}"}
  targets: [{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/K}}]
"#,
        &[],
        Error(Fail::Source),
    ),
    row(
        "§4.1 source.resource is refused (Hoist, deliberate)",
        CFG,
        r#"name: t
transformations:
- source: {resource: {apiGroup: v1, kind: Secret, name: s}, path: "{.data.k}"}
  targets: [{resource: {apiGroup: v1, kind: ConfigMap, name: cfg}, patch: {op: add, path: /data/K}}]
"#,
        &[],
        Error(Fail::Source),
    ),
    // ---- §4.2 transitiveResources ---------------------------------------------------
    row(
        "§4.2 transitiveResources: a namespaced Package renames the secretKeyRef",
        SECRETS,
        r#"name: t
scope: Namespaced
transitiveResources: [{apiGroup: v1, kind: Secret, name: test1}]
"#,
        &[],
        Placed(&[
            ("/0/metadata/name", r#""p1-test""#),
            (
                "/1/spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/name",
                r#""p1-test""#,
            ),
            (
                "/1/spec/template/spec/containers/0/env/1/valueFrom/secretKeyRef/name",
                r#""p1-test1""#,
            ),
            ("/2", ABSENT),
        ]),
    ),
    row(
        "§4.2 without the transitive entry, the reference to test1 stays",
        SECRETS,
        "name: t\nscope: Namespaced\n",
        &[],
        Placed(&[
            (
                "/1/spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/name",
                r#""p1-test""#,
            ),
            (
                "/1/spec/template/spec/containers/0/env/1/valueFrom/secretKeyRef/name",
                r#""test1""#,
            ),
        ]),
    ),
    row(
        "§4.2 transitiveResources are ignored for a ClusterPackage",
        SECRETS,
        r#"name: t
defaultNamespace: x
transitiveResources: [{apiGroup: v1, kind: Secret, name: test1}]
"#,
        &[],
        Placed(&[
            ("/0/metadata/name", r#""test""#),
            (
                "/1/spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/name",
                r#""test""#,
            ),
            (
                "/1/spec/template/spec/containers/0/env/1/valueFrom/secretKeyRef/name",
                r#""test1""#,
            ),
        ]),
    ),
    // ---- the sample repository, default values, from disk ------------------------------
    row(
        "SAMPLE hello-web v1.0.0+1 defaults: replicas is the number 1",
        "@manifests",
        "@samples/hello-web/v1.0.0+1",
        &[],
        Objects(&[("/0/kind", r#""Deployment""#), ("/0/spec/replicas", "1")]),
    ),
    row(
        "SAMPLE hello-web v1.1.0+1 defaults: replicas is the number 1",
        "@manifests",
        "@samples/hello-web/v1.1.0+1",
        &[],
        Objects(&[("/0/kind", r#""Deployment""#), ("/0/spec/replicas", "1")]),
    ),
    row(
        "SAMPLE hello-web v1.1.0+2 defaults: replicas is the number 1",
        "@manifests",
        "@samples/hello-web/v1.1.0+2",
        &[],
        Objects(&[("/0/kind", r#""Deployment""#), ("/0/spec/replicas", "1")]),
    ),
    row(
        "SAMPLE hello-web v1.1.0+2 replicas=3 given: the number 3",
        "@manifests",
        "@samples/hello-web/v1.1.0+2",
        &[("replicas", "3")],
        Objects(&[("/0/spec/replicas", "3"), ("/1/kind", r#""Service""#)]),
    ),
    row(
        "SAMPLE hello-web v1.1.0+2 a message with quotes goes in as text, never parsed (no template)",
        "@manifests",
        "@samples/hello-web/v1.1.0+2",
        &[("message", "say \"hi\"")],
        Objects(&[(
            "/0/spec/template/spec/containers/0/env/0/value",
            r#""say \"hi\"""#,
        )]),
    ),
    row(
        "SAMPLE redis-cache v7.0.15+1 defaults: maxmemory 128mb, append-only no",
        "@manifests",
        "@samples/redis-cache/v7.0.15+1",
        &[],
        Objects(&[(
            "/0/spec/template/spec/containers/0/args",
            r#"["--maxmemory", "128mb", "--maxmemory-policy", "allkeys-lru", "--appendonly", "no"]"#,
        )]),
    ),
    row(
        "SAMPLE redis-cache v7.2.4+1 defaults: maxmemory 128mb, append-only no",
        "@manifests",
        "@samples/redis-cache/v7.2.4+1",
        &[],
        Objects(&[(
            "/0/spec/template/spec/containers/0/args",
            r#"["--maxmemory", "128mb", "--maxmemory-policy", "allkeys-lru", "--appendonly", "no"]"#,
        )]),
    ),
    row(
        "SAMPLE redis-cache v7.2.4+1 persistence=1 (a ParseBool word) turns append-only on",
        "@manifests",
        "@samples/redis-cache/v7.2.4+1",
        &[("persistence", "1"), ("maxMemory", "256mb")],
        Objects(&[(
            "/0/spec/template/spec/containers/0/args",
            r#"["--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru", "--appendonly", "yes"]"#,
        )]),
    ),
    row(
        "SAMPLE guestbook v0.2.0+1 defaults: TITLE is Guestbook",
        "@manifests",
        "@samples/guestbook/v0.2.0+1",
        &[],
        Objects(&[(
            "/0/spec/template/spec/containers/0/env/1",
            r#"{"name": "TITLE", "value": "Guestbook"}"#,
        )]),
    ),
    row(
        "SAMPLE guestbook v0.3.0+1 defaults: TITLE is Guestbook",
        "@manifests",
        "@samples/guestbook/v0.3.0+1",
        &[],
        Objects(&[(
            "/0/spec/template/spec/containers/0/env/1",
            r#"{"name": "TITLE", "value": "Guestbook"}"#,
        )]),
    ),
    row(
        "SAMPLE ingress-gateway v0.9.1+1 defaults: the default IngressClass",
        "@manifests",
        "@samples/ingress-gateway/v0.9.1+1",
        &[],
        Objects(&[(
            "/1/metadata/annotations/ingressclass.kubernetes.io~1is-default-class",
            r#""true""#,
        )]),
    ),
    row(
        "SAMPLE ingress-gateway v0.9.2+1 defaults: the default IngressClass",
        "@manifests",
        "@samples/ingress-gateway/v0.9.2+1",
        &[],
        Objects(&[(
            "/1/metadata/annotations/ingressclass.kubernetes.io~1is-default-class",
            r#""true""#,
        )]),
    ),
    row(
        "SAMPLE ingress-gateway v0.9.2+1 defaultClass=false: not the default",
        "@manifests",
        "@samples/ingress-gateway/v0.9.2+1",
        &[("defaultClass", "false")],
        Objects(&[(
            "/1/metadata/annotations/ingressclass.kubernetes.io~1is-default-class",
            r#""false""#,
        )]),
    ),
    row(
        "SAMPLE metrics-agent v1.9.0+1 defaults: scraped every 30s",
        "@manifests",
        "@samples/metrics-agent/v1.9.0+1",
        &[],
        Objects(&[(
            "/2/spec/template/metadata/annotations/prometheus.io~1interval",
            r#""30s""#,
        )]),
    ),
    row(
        "SAMPLE metrics-agent v2.0.1+1 defaults: scraped every 30s",
        "@manifests",
        "@samples/metrics-agent/v2.0.1+1",
        &[],
        Objects(&[(
            "/2/spec/template/metadata/annotations/prometheus.io~1interval",
            r#""30s""#,
        )]),
    ),
    row(
        "SAMPLE metrics-agent v2.0.1+3 defaults: scraped every 30s",
        "@manifests",
        "@samples/metrics-agent/v2.0.1+3",
        &[],
        Objects(&[(
            "/2/spec/template/metadata/annotations/prometheus.io~1interval",
            r#""30s""#,
        )]),
    ),
];

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/repository")
}

/// Kinds as a cluster serves them: namespaced (`Some(true)`), cluster-scoped, unknown.
fn builtin(group: &str, kind: &str) -> Option<bool> {
    match (group, kind) {
        ("", "Namespace")
        | ("rbac.authorization.k8s.io", "ClusterRole" | "ClusterRoleBinding")
        | ("apiextensions.k8s.io", "CustomResourceDefinition")
        | ("networking.k8s.io", "IngressClass") => Some(false),
        ("" | "apps" | "batch" | "networking.k8s.io" | "rbac.authorization.k8s.io", _) => {
            Some(true)
        }
        _ => None,
    }
}

/// The package and the objects a row names.
fn inputs(r: &Row) -> Result<(PackageManifest, Vec<Value>), String> {
    let (manifest, dir) = if let Some(sample) = r.package.strip_prefix("@samples/") {
        let dir = samples().join(sample);
        let bytes = std::fs::read(dir.join("package.yaml")).map_err(|e| e.to_string())?;
        let m = <PackageManifest as RepoFile>::parse("package.yaml", &bytes)
            .map_err(|e| e.to_string())?;
        (m, Some(dir))
    } else if r.package.trim_start().starts_with('{') {
        let target: ValueTarget =
            serde_yaml_ng::from_str(r.package).map_err(|e| format!("target: {e}"))?;
        let mut m = PackageManifest {
            name: "t".into(),
            ..Default::default()
        };
        m.value_definitions.insert(
            "v".into(),
            hoist_core::repo::format::ValueDefinition {
                type_: "text".into(),
                targets: vec![target],
                ..Default::default()
            },
        );
        (m, None)
    } else {
        let text = if r.package.starts_with("name:") {
            r.package.to_string()
        } else {
            format!("name: t\n{}", r.package)
        };
        let m = <PackageManifest as RepoFile>::parse("package.yaml", text.as_bytes())
            .map_err(|e| e.to_string())?;
        if !m.unknown_fields.is_empty() {
            return Err(format!(
                "package.yaml: unknown fields {:?}",
                m.unknown_fields
            ));
        }
        (m, None)
    };
    let objects = match (r.input, &dir) {
        ("", _) => vec![],
        ("@manifests", Some(dir)) => {
            let mut out = vec![];
            for m in &manifest.manifests {
                let bytes = std::fs::read(dir.join(&m.url)).map_err(|e| e.to_string())?;
                out.extend(
                    Documents::parse(&m.url, &bytes)
                        .map_err(|e| e.to_string())?
                        .0,
                );
            }
            out
        }
        (text, _) => match serde_json::from_str(text).map_err(|e| format!("input: {e}"))? {
            Value::Array(a) => a,
            one => vec![one],
        },
    };
    Ok((manifest, objects))
}

fn owner(m: &PackageManifest) -> Owner {
    if m.scope.as_deref() == Some("Namespaced") {
        Owner::Namespaced {
            name: "p1".into(),
            namespace: "ns1".into(),
        }
    } else {
        Owner::Cluster {
            name: m.name.clone(),
            default_namespace: m.default_namespace.clone(),
        }
    }
}

/// The install as the API server has it (what transformations read).
fn install(owner: &Owner, values: &BTreeMap<String, String>) -> Value {
    let spec_values: serde_json::Map<String, Value> = if values.is_empty() {
        [("a".to_string(), json!({"value": "x"}))]
            .into_iter()
            .collect()
    } else {
        values
            .iter()
            .map(|(k, v)| (k.clone(), json!({"value": v})))
            .collect()
    };
    match owner {
        Owner::Namespaced { name, namespace } => json!({
            "apiVersion": "packages.glasskube.dev/v1alpha1", "kind": "Package",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"packageInfo": {"name": "t", "version": "v1.0.0"}, "values": spec_values}}),
        Owner::Cluster { name, .. } => json!({
            "apiVersion": "packages.glasskube.dev/v1alpha1", "kind": "ClusterPackage",
            "metadata": {"name": name},
            "spec": {"packageInfo": {"name": "t", "version": "v1.0.0"}, "values": spec_values}}),
    }
}

fn kind(e: &ValuesError) -> Fail {
    match e {
        ValuesError::Template { .. } => Fail::Template,
        ValuesError::NotJson { .. } => Fail::NotJson,
        ValuesError::Target { .. } => Fail::Target,
        ValuesError::Patch { .. } => Fail::Patch,
        ValuesError::Source { .. } => Fail::Source,
        ValuesError::NotData { .. } => Fail::NotData,
    }
}

fn invalid_kind(e: &ValueError) -> Refused {
    match e {
        ValueError::Unknown { .. } => Refused::Unknown,
        ValueError::Invalid { .. } | ValueError::InvalidDefault { .. } => Refused::Value,
        ValueError::Missing { .. } => Refused::Missing,
        ValueError::UnknownType { .. } => Refused::UnknownType,
    }
}

struct Outcome {
    objects: Vec<Value>,
    unresolved: Vec<String>,
    chart: Option<Value>,
    placed: Option<Vec<Value>>,
}

/// Runs a row through Hoist's pipeline, as the operator runs a package.
fn render(
    m: &PackageManifest,
    objects: Vec<Value>,
    given: &BTreeMap<String, String>,
    place: bool,
) -> Result<Outcome, ValuesError> {
    let owner = owner(m);
    let values = values::effective(&m.value_definitions, given);
    let writes = values::writes(
        &m.value_definitions,
        &values,
        &m.transformations,
        &install(&owner, given),
    )?;
    let default_namespace = m
        .manifests
        .first()
        .and_then(|x| x.default_namespace.clone());
    let mut rendered: Vec<Rendered> = objects
        .into_iter()
        .map(|object| Rendered {
            object,
            default_namespace: default_namespace.clone(),
        })
        .collect();
    let namespaces = placement::effective_namespaces(&rendered, &owner, builtin);
    let mut unresolved: Vec<String> = values::apply(&writes, &mut rendered, &namespaces)?
        .iter()
        .map(|u| u.target.clone())
        .collect();
    let chart = match &m.helm {
        Some(h) => {
            let (chart, other) = helm::chart_values(h, &writes)?;
            unresolved.extend(other.iter().map(|u| u.target.clone()));
            Some(chart)
        }
        None => None,
    };
    let objects: Vec<Value> = rendered.iter().map(|r| r.object.clone()).collect();
    let placed = if place {
        let p = placement::place_with(rendered, &owner, builtin, &m.transitive_resources).map_err(
            |e| ValuesError::Target {
                value: "placement".into(),
                why: e.to_string(),
            },
        )?;
        Some(p.objects)
    } else {
        None
    };
    Ok(Outcome {
        objects,
        unresolved,
        chart,
        placed,
    })
}

fn check_pointers(what: &str, doc: &Value, expected: &[(&str, &str)]) -> Result<(), String> {
    for (pointer, want) in expected {
        let got = doc.pointer(pointer);
        if *want == ABSENT {
            if let Some(got) = got {
                return Err(format!("{what} {pointer:?}: expected absent, got {got}"));
            }
            continue;
        }
        let want: Value = serde_json::from_str(want)
            .map_err(|e| format!("row's expectation {pointer:?}: {e}"))?;
        if got != Some(&want) {
            return Err(format!(
                "{what} {pointer:?}: expected {want}, got {}",
                got.map_or("nothing".to_string(), Value::to_string)
            ));
        }
    }
    Ok(())
}

fn check(r: &Row) -> Result<(), String> {
    let (m, objects) = inputs(r)?;
    let given: BTreeMap<String, String> = r
        .values
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match r.expect {
        Valid | Invalid(_) => {
            let pairs: Vec<(String, String)> = given.into_iter().collect();
            let got = validate(&m.name, &m.value_definitions, &pairs);
            return match (r.expect, got) {
                (Valid, Ok(_)) => Ok(()),
                (Valid, Err(e)) => Err(format!("expected valid, got {e}")),
                (Invalid(k), Err(e)) if invalid_kind(&e) == k => Ok(()),
                (Invalid(k), Err(e)) => Err(format!("expected {k:?}, got {e}")),
                (Invalid(k), Ok(v)) => Err(format!("expected {k:?}, accepted as {v:?}")),
                _ => unreachable!(),
            };
        }
        _ => {}
    }
    let before = objects.clone();
    let out = render(&m, objects, &given, matches!(r.expect, Placed(_)));
    let out = match (r.expect, out) {
        (Error(k), Err(e)) if kind(&e) == k => return Ok(()),
        (Error(k), Err(e)) => return Err(format!("expected a {k:?} error, got {e}")),
        (Error(k), Ok(o)) => {
            return Err(format!(
                "expected a {k:?} error, got objects {} (unresolved {:?}, chart {:?})",
                Value::Array(o.objects),
                o.unresolved,
                o.chart
            ));
        }
        (_, Err(e)) => return Err(format!("unexpected error: {e}")),
        (_, Ok(o)) => o,
    };
    let no_unresolved = |o: &Outcome| {
        if o.unresolved.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected unresolved targets {:?}", o.unresolved))
        }
    };
    match r.expect {
        Objects(p) => {
            no_unresolved(&out)?;
            check_pointers("objects", &Value::Array(out.objects), p)
        }
        Skipped(targets) => {
            if out.unresolved != targets {
                return Err(format!(
                    "expected unresolved {targets:?}, got {:?}",
                    out.unresolved
                ));
            }
            if out.objects != before {
                return Err(format!(
                    "a skipped target changed the objects: {}",
                    Value::Array(out.objects)
                ));
            }
            Ok(())
        }
        Partly(targets, p) => {
            if out.unresolved != targets {
                return Err(format!(
                    "expected unresolved {targets:?}, got {:?}",
                    out.unresolved
                ));
            }
            check_pointers("objects", &Value::Array(out.objects), p)
        }
        Chart(p) => {
            no_unresolved(&out)?;
            let chart = out.chart.ok_or("no helm section")?;
            check_pointers("chart values", &chart, p)
        }
        ChartPartly(reported, p) => {
            if out.unresolved != *reported {
                return Err(format!(
                    "reported {:?}, expected {reported:?}",
                    out.unresolved
                ));
            }
            let chart = out.chart.ok_or("no helm section")?;
            check_pointers("chart values", &chart, p)
        }
        Placed(p) => {
            no_unresolved(&out)?;
            let placed = out.placed.ok_or("not placed")?;
            check_pointers("placed", &Value::Array(placed), p)
        }
        Error(_) | Valid | Invalid(_) => unreachable!("handled above"),
    }
}

#[test]
fn glasskube_rules() {
    let mut ids = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for r in ROWS {
        assert!(ids.insert(r.id), "duplicate row id {:?}", r.id);
        if let Err(why) = check(r) {
            failures.push(format!("row {:?}: {why}", r.id));
        }
    }
    eprintln!("{} rows, {} failed", ROWS.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
}

/// Every sample package.yaml with value targets has a row, and every sample renders
/// with its defaults through the same path without an unresolved target.
#[test]
fn every_sample_package_renders_with_its_defaults_and_those_with_targets_have_a_row() {
    let mut missing = Vec::new();
    let mut failures = Vec::new();
    let mut seen = 0;
    let mut packages: Vec<PathBuf> = std::fs::read_dir(samples())
        .expect("samples/repository")
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|e| {
            std::fs::read_dir(e.path())
                .expect("a package folder")
                .flatten()
        })
        .map(|e| e.path().join("package.yaml"))
        .filter(|p| p.is_file())
        .collect();
    packages.sort();
    for path in packages {
        seen += 1;
        let dir = path.parent().expect("a folder");
        let rel = dir
            .strip_prefix(samples())
            .expect("under samples")
            .to_string_lossy()
            .replace('\\', "/");
        let id = format!("@samples/{rel}");
        let bytes = std::fs::read(&path).expect("readable");
        let m = match <PackageManifest as RepoFile>::parse("package.yaml", &bytes) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{rel}: {e}"));
                continue;
            }
        };
        let has_targets = m.value_definitions.values().any(|d| !d.targets.is_empty())
            || m.transformations.iter().any(|t| !t.targets.is_empty());
        if has_targets && !ROWS.iter().any(|r| r.package == id && r.values.is_empty()) {
            missing.push(rel.clone());
        }
        let mut objects = vec![];
        for man in &m.manifests {
            let bytes = std::fs::read(dir.join(&man.url)).expect("a manifest file");
            objects.extend(
                Documents::parse(&man.url, &bytes)
                    .expect("manifests parse")
                    .0,
            );
        }
        let defaults = values::effective(&m.value_definitions, &BTreeMap::new());
        let pairs: Vec<(String, String)> = defaults.into_iter().collect();
        if let Err(e) = validate(&m.name, &m.value_definitions, &pairs) {
            failures.push(format!("{rel}: its defaults are invalid: {e}"));
        }
        match render(&m, objects, &BTreeMap::new(), true) {
            Ok(o) if o.unresolved.is_empty() => {}
            Ok(o) => failures.push(format!("{rel}: unresolved targets {:?}", o.unresolved)),
            Err(e) => failures.push(format!("{rel}: {e}")),
        }
    }
    assert!(seen > 0, "no sample packages found");
    assert!(
        missing.is_empty(),
        "sample packages with value targets but no row in ROWS (add one): {missing:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
