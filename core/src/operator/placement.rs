//! Where a package's objects go and what they are called, as Glasskube places them, so
//! existing packages land where their authors expect:
//! - a **Package** (namespaced) puts every namespaced object in its own namespace and
//!   prefixes its name with `<package>-`, so two installs of one package side by side
//!   never collide; references between the package's own objects (a Deployment's
//!   ServiceAccount, ConfigMap volumes, a RoleBinding's Role, an Ingress' Service, …)
//!   are renamed with them, and an instance label joins every selector and pod
//!   template, so one instance's Service never selects another's pods;
//! - a **ClusterPackage** keeps names; namespaced objects that name no namespace go to
//!   their manifest's `defaultNamespace`, else the package's.
//!
//! Cluster-scoped objects (CRDs, ClusterRoles, Namespaces) keep their names in both: a
//! CRD's name is fixed by its group and plural. Every object gets Hoist's labels, which
//! is how the operator finds them, prunes only what is its own, and never takes over
//! what it did not create (decision 0015).

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Set on everything Hoist applies.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "hoist");
/// The owning package's name.
pub const PACKAGE_LABEL: &str = "packages.hoist.dev/package";
/// The owning Package's namespace (absent for a ClusterPackage).
pub const PACKAGE_NAMESPACE_LABEL: &str = "packages.hoist.dev/package-namespace";
/// Added to selectors and pod templates of a Package's workloads.
pub const INSTANCE_LABEL: &str = "packages.hoist.dev/instance";
/// Glasskube's instance label, which packages written for Glasskube may read (through
/// the downward API): on a Package's objects and pod templates, never in selectors.
pub const GLASSKUBE_INSTANCE_LABEL: &str = "packages.glasskube.dev/instance";

/// Who owns the objects being placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A ClusterPackage; `default_namespace` is the package's `defaultNamespace`.
    Cluster {
        name: String,
        default_namespace: Option<String>,
    },
    /// A Package in `namespace`.
    Namespaced { name: String, namespace: String },
}

impl Owner {
    pub fn name(&self) -> &str {
        match self {
            Self::Cluster { name, .. } | Self::Namespaced { name, .. } => name,
        }
    }

    /// The labels every object of this owner carries.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        l.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
        l.insert(PACKAGE_LABEL.into(), self.name().into());
        if let Self::Namespaced { namespace, .. } = self {
            l.insert(PACKAGE_NAMESPACE_LABEL.into(), namespace.clone());
        }
        l
    }
}

/// One object from a manifest, with the manifest entry's `defaultNamespace`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub object: Value,
    pub default_namespace: Option<String>,
}

/// Why objects could not be placed. Terminal: the package itself is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("{what} has no apiVersion, kind or metadata.name")]
    Incomplete { what: String },
    #[error(
        "{kind} {name} is namespaced but names no namespace, and neither its manifest nor the package has a defaultNamespace"
    )]
    NoNamespace { kind: String, name: String },
    #[error(
        "the cluster serves no kind {kind} in {api_version}, and the package defines no CRD for it"
    )]
    UnknownKind { api_version: String, kind: String },
}

/// The placed objects, and the namespaces they need that the package does not define.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub objects: Vec<Value>,
    pub namespaces: Vec<String>,
}

/// The namespace each of `rendered` will be placed in, as [`place`] decides it: what
/// value targets with a `namespace` are matched against, before names are prefixed. A
/// cluster-scoped object, and a kind the cluster does not serve ([`place`] refuses it),
/// keep the namespace their manifest names (`None` if none), as Glasskube matches them.
pub fn effective_namespaces(
    rendered: &[Rendered],
    owner: &Owner,
    namespaced: impl Fn(&str, &str) -> Option<bool>,
) -> Vec<Option<String>> {
    let defined = defined_kinds(rendered);
    rendered
        .iter()
        .map(|r| {
            let o = &r.object;
            let s = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("");
            let group = s("/apiVersion").rsplit_once('/').map_or("", |(g, _)| g);
            let kind = s("/kind");
            let declared = Some(s("/metadata/namespace").to_string()).filter(|n| !n.is_empty());
            let scope = defined
                .get(&(group.to_string(), kind.to_string()))
                .copied()
                .or_else(|| namespaced(group, kind));
            match (scope, owner) {
                // Cluster-scoped: what the manifest says, as Glasskube matches it (the
                // API server drops it).
                (Some(false), _) | (None, _) => declared,
                (Some(true), Owner::Namespaced { namespace, .. }) => Some(namespace.clone()),
                (
                    Some(true),
                    Owner::Cluster {
                        default_namespace, ..
                    },
                ) => declared
                    .or_else(|| r.default_namespace.clone())
                    .or_else(|| default_namespace.clone()),
            }
        })
        .collect()
}

/// Places `rendered` for `owner`. `namespaced(group, kind)` says whether the cluster
/// serves a kind as namespaced (`None`: not served); CRDs in `rendered` answer for the
/// kinds they define, so a CRD and its custom resources can ship in one manifest.
pub fn place(
    rendered: Vec<Rendered>,
    owner: &Owner,
    namespaced: impl Fn(&str, &str) -> Option<bool>,
) -> Result<Placed, PlacementError> {
    place_with(rendered, owner, namespaced, &[])
}

/// As [`place`]; for a Package, references to the `transitive` objects (Glasskube's
/// `transitiveResources`: made by someone else under the prefixed name, a component or
/// an operator) are renamed as if the package had them.
pub fn place_with(
    rendered: Vec<Rendered>,
    owner: &Owner,
    namespaced: impl Fn(&str, &str) -> Option<bool>,
    transitive: &[crate::repo::format::ObjectReference],
) -> Result<Placed, PlacementError> {
    let defined = defined_kinds(&rendered);
    let scope = |group: &str, kind: &str| {
        defined
            .get(&(group.to_string(), kind.to_string()))
            .copied()
            .or_else(|| namespaced(group, kind))
    };
    let mut objects = Vec::with_capacity(rendered.len());
    let mut renamed: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut needed: BTreeSet<String> = BTreeSet::new();
    let mut defined_namespaces: BTreeSet<String> = BTreeSet::new();
    for r in rendered {
        let mut obj = r.object;
        let (api_version, kind, name) = identity(&obj)?;
        let group = api_version
            .rsplit_once('/')
            .map_or("", |(g, _)| g)
            .to_string();
        if group.is_empty() && kind == "Namespace" {
            defined_namespaces.insert(name.clone());
        }
        let is_namespaced = scope(&group, &kind).ok_or_else(|| PlacementError::UnknownKind {
            api_version: api_version.clone(),
            kind: kind.clone(),
        })?;
        let meta = metadata(&mut obj);
        if is_namespaced {
            let ns = match owner {
                Owner::Namespaced {
                    name: pkg,
                    namespace,
                } => {
                    let new = format!("{pkg}-{name}");
                    meta.insert("name".into(), Value::String(new.clone()));
                    renamed.insert((kind.clone(), name.clone()), new);
                    namespace.clone()
                }
                Owner::Cluster {
                    default_namespace, ..
                } => match meta.get("namespace").and_then(Value::as_str) {
                    Some(ns) if !ns.is_empty() => ns.to_string(),
                    _ => r
                        .default_namespace
                        .clone()
                        .or_else(|| default_namespace.clone())
                        .ok_or_else(|| PlacementError::NoNamespace {
                            kind: kind.clone(),
                            name: name.clone(),
                        })?,
                },
            };
            meta.insert("namespace".into(), Value::String(ns.clone()));
            needed.insert(ns);
        } else {
            meta.remove("namespace");
        }
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(l) = labels {
            for (k, v) in owner.labels() {
                l.insert(k, Value::String(v));
            }
        }
        objects.push(obj);
    }
    if let Owner::Namespaced { name: pkg, .. } = owner {
        for t in transitive {
            renamed
                .entry((t.kind.clone(), t.name.clone()))
                .or_insert_with(|| format!("{pkg}-{}", t.name));
        }
    }
    if let Owner::Namespaced { name, .. } = owner {
        for obj in &mut objects {
            rewrite_references(obj, &renamed);
            add_instance_label(obj, name);
        }
    }
    let namespaces = needed
        .into_iter()
        .filter(|n| !defined_namespaces.contains(n))
        .collect();
    Ok(Placed {
        objects,
        namespaces,
    })
}

fn identity(obj: &Value) -> Result<(String, String, String), PlacementError> {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    let (av, kind, name) = (s("/apiVersion"), s("/kind"), s("/metadata/name"));
    if av.is_empty() || kind.is_empty() || name.is_empty() {
        let what = match (kind.is_empty(), name.is_empty()) {
            (false, false) => format!("{kind} {name}"),
            (false, true) => format!("a {kind}"),
            _ => "an object".to_string(),
        };
        return Err(PlacementError::Incomplete { what });
    }
    Ok((av.into(), kind.into(), name.into()))
}

fn metadata(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// `(group, kind) -> namespaced` for every CRD among the rendered objects.
fn defined_kinds(rendered: &[Rendered]) -> BTreeMap<(String, String), bool> {
    rendered
        .iter()
        .filter(|r| {
            r.object.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
        })
        .filter_map(|r| {
            let spec = r.object.get("spec")?;
            let group = spec.get("group")?.as_str()?.to_string();
            let kind = spec.pointer("/names/kind")?.as_str()?.to_string();
            let namespaced = spec.get("scope").and_then(Value::as_str) == Some("Namespaced");
            Some(((group, kind), namespaced))
        })
        .collect()
}

/// Pod spec locations by kind.
fn pod_spec_path(kind: &str) -> Option<&'static str> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            Some("/spec/template/spec")
        }
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        "Pod" => Some("/spec"),
        _ => None,
    }
}

/// Within a pod spec: (path pattern, the kind the name refers to). `*` is every item.
const POD_REFERENCES: &[(&str, &str)] = &[
    ("serviceAccountName", "ServiceAccount"),
    ("serviceAccount", "ServiceAccount"),
    ("imagePullSecrets/*/name", "Secret"),
    ("volumes/*/configMap/name", "ConfigMap"),
    ("volumes/*/secret/secretName", "Secret"),
    (
        "volumes/*/persistentVolumeClaim/claimName",
        "PersistentVolumeClaim",
    ),
    ("volumes/*/projected/sources/*/configMap/name", "ConfigMap"),
    ("volumes/*/projected/sources/*/secret/name", "Secret"),
    ("containers/*/envFrom/*/configMapRef/name", "ConfigMap"),
    ("containers/*/envFrom/*/secretRef/name", "Secret"),
    (
        "containers/*/env/*/valueFrom/configMapKeyRef/name",
        "ConfigMap",
    ),
    ("containers/*/env/*/valueFrom/secretKeyRef/name", "Secret"),
    ("initContainers/*/envFrom/*/configMapRef/name", "ConfigMap"),
    ("initContainers/*/envFrom/*/secretRef/name", "Secret"),
    (
        "initContainers/*/env/*/valueFrom/configMapKeyRef/name",
        "ConfigMap",
    ),
    (
        "initContainers/*/env/*/valueFrom/secretKeyRef/name",
        "Secret",
    ),
];

/// Other references: (the referring kind, path pattern, the kind referred to).
const OBJECT_REFERENCES: &[(&str, &str, &str)] = &[
    ("StatefulSet", "/spec/serviceName", "Service"),
    (
        "Ingress",
        "/spec/rules/*/http/paths/*/backend/service/name",
        "Service",
    ),
    ("Ingress", "/spec/defaultBackend/service/name", "Service"),
    ("Ingress", "/spec/tls/*/secretName", "Secret"),
    ("HorizontalPodAutoscaler", "/spec/scaleTargetRef/name", "*"),
    // `*`: the kind beside the name (`roleRef.kind`: a ClusterRole is never renamed).
    ("RoleBinding", "/roleRef/name", "*"),
];

/// Renames references to objects the package renamed.
fn rewrite_references(obj: &mut Value, renamed: &BTreeMap<(String, String), String>) {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let lookup = |refers_to: &str, beside: Option<&str>, old: &str| -> Option<String> {
        let target = if refers_to == "*" { beside? } else { refers_to };
        renamed.get(&(target.to_string(), old.to_string())).cloned()
    };
    if let Some(base) = pod_spec_path(&kind) {
        for (pattern, refers_to) in POD_REFERENCES {
            let path = format!("{base}/{pattern}");
            for_each_string(obj, &path, &mut |s, _| lookup(refers_to, None, s));
        }
    }
    for (referrer, pattern, refers_to) in OBJECT_REFERENCES {
        if *referrer == kind {
            for_each_string(obj, pattern, &mut |s, kind| lookup(refers_to, kind, s));
        }
    }
    // A binding's subjects: ServiceAccounts of the package.
    if (kind == "RoleBinding" || kind == "ClusterRoleBinding")
        && let Some(Value::Array(subjects)) = obj.get_mut("subjects")
    {
        for s in subjects {
            if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                && let Some(name) = s.get("name").and_then(Value::as_str)
                && let Some(new) = renamed.get(&("ServiceAccount".to_string(), name.to_string()))
            {
                s["name"] = Value::String(new.clone());
            }
        }
    }
}

/// Calls `f` on every string at `path` (`/`-separated, `*` for every array item); a
/// `Some` answer replaces the string. `f` also gets the `kind` beside the string, if any.
fn for_each_string(
    v: &mut Value,
    path: &str,
    f: &mut dyn FnMut(&str, Option<&str>) -> Option<String>,
) {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    walk(v, &segs, f);
}

fn walk(v: &mut Value, segs: &[&str], f: &mut dyn FnMut(&str, Option<&str>) -> Option<String>) {
    match segs {
        [] => {}
        [last] => {
            let beside = v.get("kind").and_then(Value::as_str).map(str::to_string);
            if let Some(Value::String(s)) = v.get_mut(*last)
                && let Some(new) = f(s, beside.as_deref())
            {
                *s = new;
            }
        }
        ["*", rest @ ..] => {
            if let Value::Array(items) = v {
                for item in items {
                    walk(item, rest, f);
                }
            }
        }
        [first, rest @ ..] => {
            if let Some(next) = v.get_mut(*first) {
                walk(next, rest, f);
            }
        }
    }
}

/// Adds the instance label to a Package's selectors and pod templates.
fn add_instance_label(obj: &mut Value, instance: &str) {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let label = |at: Option<&mut Value>| {
        if let Some(Value::Object(m)) = at {
            m.insert(INSTANCE_LABEL.into(), Value::String(instance.into()));
        }
    };
    metadata(obj)
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    label(obj.pointer_mut("/metadata/labels"));
    // Glasskube's own instance label on the object and its pods, never in a selector
    // (selectors are immutable): packages read it through the downward API (tracecat's
    // key generator names its Secret from it).
    let glasskube = |at: Option<&mut Value>| {
        if let Some(Value::Object(m)) = at {
            m.insert(
                GLASSKUBE_INSTANCE_LABEL.into(),
                Value::String(instance.into()),
            );
        }
    };
    glasskube(obj.pointer_mut("/metadata/labels"));
    match kind.as_str() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
            label(obj.pointer_mut("/spec/selector/matchLabels"));
            label(obj.pointer_mut("/spec/template/metadata/labels"));
            glasskube(obj.pointer_mut("/spec/template/metadata/labels"));
        }
        "Job" => {
            label(obj.pointer_mut("/spec/template/metadata/labels"));
            glasskube(obj.pointer_mut("/spec/template/metadata/labels"));
        }
        "CronJob" => {
            label(obj.pointer_mut("/spec/jobTemplate/spec/template/metadata/labels"));
            glasskube(obj.pointer_mut("/spec/jobTemplate/spec/template/metadata/labels"));
        }
        "Service" => label(obj.pointer_mut("/spec/selector")),
        "PodDisruptionBudget" => label(obj.pointer_mut("/spec/selector/matchLabels")),
        "NetworkPolicy" => label(obj.pointer_mut("/spec/podSelector/matchLabels")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(group: &str, kind: &str) -> Option<bool> {
        match (group, kind) {
            ("", "Namespace") | ("rbac.authorization.k8s.io", "ClusterRole") => Some(false),
            ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(false),
            ("", _) | ("apps", _) | ("rbac.authorization.k8s.io", _) | ("networking.k8s.io", _) => {
                Some(true)
            }
            _ => None,
        }
    }

    fn r(object: Value) -> Rendered {
        Rendered {
            object,
            default_namespace: None,
        }
    }

    fn web() -> Vec<Rendered> {
        vec![
            r(
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner"}}),
            ),
            r(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "page"}})),
            r(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"serviceAccountName": "runner",
                            "volumes": [{"name": "p", "configMap": {"name": "page"}},
                                        {"name": "q", "configMap": {"name": "not-ours"}}],
                            "containers": [{"name": "c", "image": "nginx"}]}}}}),
            ),
            r(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}}}),
            ),
            r(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "runner"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "ServiceAccount", "name": "runner"}]}),
            ),
        ]
    }

    #[test]
    fn a_package_prefixes_its_objects_and_renames_references_between_them() {
        let owner = Owner::Namespaced {
            name: "site".into(),
            namespace: "team-a".into(),
        };
        let placed = place(web(), &owner, builtin).expect("placed");
        let d = &placed.objects[2];
        assert_eq!(d["metadata"]["name"], "site-web");
        assert_eq!(d["metadata"]["namespace"], "team-a");
        let spec = &d["spec"]["template"]["spec"];
        assert_eq!(spec["serviceAccountName"], "site-runner");
        assert_eq!(spec["volumes"][0]["configMap"]["name"], "site-page");
        assert_eq!(
            spec["volumes"][1]["configMap"]["name"], "not-ours",
            "a reference to something the package does not ship is left alone"
        );
        assert_eq!(d["spec"]["selector"]["matchLabels"][INSTANCE_LABEL], "site");
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"][INSTANCE_LABEL],
            "site"
        );
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"][GLASSKUBE_INSTANCE_LABEL], "site",
            "pods can read Glasskube's instance label"
        );
        assert!(
            d["spec"]["selector"]["matchLabels"]
                .get(GLASSKUBE_INSTANCE_LABEL)
                .is_none(),
            "never in an (immutable) selector"
        );
        assert_eq!(
            placed.objects[3]["spec"]["selector"][INSTANCE_LABEL],
            "site"
        );
        let rb = &placed.objects[4];
        assert_eq!(
            rb["roleRef"]["name"], "view",
            "a ClusterRole keeps its name"
        );
        assert_eq!(rb["subjects"][0]["name"], "site-runner");
        assert_eq!(d["metadata"]["labels"][PACKAGE_LABEL], "site");
        assert_eq!(d["metadata"]["labels"][PACKAGE_NAMESPACE_LABEL], "team-a");
        assert_eq!(placed.namespaces, ["team-a"]);
    }

    #[test]
    fn a_cluster_package_keeps_names_and_fills_in_default_namespaces() {
        let owner = Owner::Cluster {
            name: "agent".into(),
            default_namespace: Some("agent-system".into()),
        };
        let mut rendered = web();
        rendered[1].default_namespace = Some("from-manifest".into());
        rendered[0].object["metadata"]["namespace"] = json!("explicit");
        rendered.push(r(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "agent-system"}}),
        ));
        let placed = place(rendered, &owner, builtin).expect("placed");
        let ns: Vec<&str> = placed
            .objects
            .iter()
            .map(|o| o["metadata"]["namespace"].as_str().unwrap_or("-"))
            .collect();
        assert_eq!(
            ns,
            [
                "explicit",
                "from-manifest",
                "agent-system",
                "agent-system",
                "agent-system",
                "-"
            ]
        );
        assert_eq!(placed.objects[2]["metadata"]["name"], "web");
        assert!(
            placed.objects[2]["spec"]["selector"]["matchLabels"]
                .get(INSTANCE_LABEL)
                .is_none()
        );
        assert_eq!(
            placed.namespaces,
            ["explicit", "from-manifest"],
            "namespaces the package defines are not listed as needed"
        );
    }

    #[test]
    fn a_crd_and_its_resources_in_one_manifest_place_without_the_cluster_knowing_the_kind() {
        let owner = Owner::Cluster {
            name: "w".into(),
            default_namespace: Some("w".into()),
        };
        let rendered = vec![
            r(
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "widgets.example.com"},
                "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"}}}),
            ),
            r(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a"}})),
        ];
        let placed = place(rendered, &owner, builtin).expect("placed");
        assert_eq!(placed.objects[1]["metadata"]["namespace"], "w");
        let unknown = vec![r(
            json!({"apiVersion": "nope.io/v1", "kind": "Gizmo", "metadata": {"name": "g"}}),
        )];
        assert_eq!(
            place(unknown, &owner, builtin),
            Err(PlacementError::UnknownKind {
                api_version: "nope.io/v1".into(),
                kind: "Gizmo".into()
            })
        );
    }

    #[test]
    fn objects_without_a_namespace_to_go_to_are_refused_by_name() {
        let owner = Owner::Cluster {
            name: "x".into(),
            default_namespace: None,
        };
        let e = place(web(), &owner, builtin).expect_err("nowhere to go");
        assert!(
            e.to_string()
                .starts_with("ServiceAccount runner is namespaced"),
            "{e}"
        );
    }
}
