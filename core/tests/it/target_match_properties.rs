//! Value-target matching against an independent transcription of Glasskube's rule
//! (`internal/resourcepatch/patch.go` `targetResource.Match`, with apimachinery's
//! `schema.ParseGroupVersion` and `Unstructured.GroupVersionKind`): for random objects
//! and targets, `values::matches` agrees, and `values::apply` patches exactly the
//! objects Glasskube would and reports a target unresolved exactly when none matches.

use hoist_core::operator::placement::Rendered;
use hoist_core::operator::values::{self, Write};
use hoist_core::repo::format::{PartialPatch, ResourceTarget, ValueTarget};
use proptest::prelude::*;
use serde_json::{Value, json};

const API_VERSIONS: &[&str] = &[
    "v1",
    "apps/v1",
    "batch/v1",
    "networking.k8s.io/v1",
    "example.com/v1alpha1",
];
/// Targets' `apiGroup`s: the objects' pool, bare groups, empty, malformed.
const API_GROUPS: &[&str] = &[
    "v1",
    "apps/v1",
    "batch/v1",
    "networking.k8s.io/v1",
    "example.com/v1alpha1",
    "apps",
    "batch",
    "example.com",
    "",
    "/",
    "/v1",
    "apps/",
    "a/b/c",
    "apps/v1/x",
    "//",
];
const KINDS: &[&str] = &["Deployment", "ConfigMap", "Job", "Widget", "deployment"];
const NAMES: &[&str] = &["web", "db", "web-1", ""];
const NAMESPACES: &[&str] = &["a", "b", ""];

// ---- Glasskube, transcribed ---------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Gvk {
    group: String,
    version: String,
    kind: String,
}

/// apimachinery `schema.ParseGroupVersion`.
fn gk_parse_group_version(gv: &str) -> Result<(String, String), String> {
    if gv.is_empty() || gv == "/" {
        return Ok((String::new(), String::new()));
    }
    match gv.matches('/').count() {
        0 => Ok((String::new(), gv.to_string())),
        1 => {
            let i = gv.find('/').expect("one slash");
            Ok((gv[..i].to_string(), gv[i + 1..].to_string()))
        }
        _ => Err(format!("unexpected GroupVersion string: {gv}")),
    }
}

/// `generateTargetResource`: a nil apiGroup is the empty group/version.
fn gk_target_gvk(t: &ResourceTarget) -> Result<Gvk, String> {
    let (group, version) = match &t.api_group {
        Some(g) => gk_parse_group_version(g)?,
        None => (String::new(), String::new()),
    };
    Ok(Gvk {
        group,
        version,
        kind: t.kind.clone(),
    })
}

/// `Unstructured.GroupVersionKind`: an unparsable apiVersion is the empty GVK.
fn gk_object_gvk(obj: &Value) -> Gvk {
    let s = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match gk_parse_group_version(&s("/apiVersion")) {
        Ok((group, version)) => Gvk {
            group,
            version,
            kind: s("/kind"),
        },
        Err(_) => Gvk::default(),
    }
}

/// `targetResource.Match`, with the object's namespace after defaulting/forcing
/// (`None`: cluster-scoped, `GetNamespace() == ""`). `Err`: GeneratePatches fails.
fn gk_match(t: &ResourceTarget, obj: &Value, namespace: Option<&str>) -> Result<bool, String> {
    let gvk = gk_target_gvk(t)?;
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let obj_ns = namespace.unwrap_or("");
    Ok(gvk == gk_object_gvk(obj)
        && t.name == name
        && t.namespace.as_deref().is_none_or(|ns| ns == obj_ns))
}

// ---- generators ------------------------------------------------------------------------

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(pool).prop_map(str::to_string)
}

fn object() -> impl Strategy<Value = (Value, Option<String>)> {
    (
        pick(API_VERSIONS),
        pick(KINDS),
        pick(NAMES),
        prop::option::of(pick(NAMESPACES)),
    )
        .prop_map(|(api_version, kind, name, namespace)| {
            let mut o =
                json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
            if let Some(ns) = &namespace {
                o["metadata"]["namespace"] = json!(ns);
            }
            (o, namespace)
        })
}

fn target() -> impl Strategy<Value = ResourceTarget> {
    (
        prop::option::of(pick(API_GROUPS)),
        pick(KINDS),
        pick(NAMES),
        prop::option::of(pick(NAMESPACES)),
    )
        .prop_map(|(api_group, kind, name, namespace)| ResourceTarget {
            api_group,
            kind,
            name,
            namespace,
        })
}

/// A target aimed at `obj` (so matches are common), with some fields redrawn.
fn near(obj: &Value, ns: &Option<String>, t: ResourceTarget, redraw: [bool; 4]) -> ResourceTarget {
    let s = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    ResourceTarget {
        api_group: if redraw[0] {
            t.api_group
        } else {
            Some(s("/apiVersion"))
        },
        kind: if redraw[1] { t.kind } else { s("/kind") },
        name: if redraw[2] {
            t.name
        } else {
            s("/metadata/name")
        },
        namespace: if redraw[3] { t.namespace } else { ns.clone() },
    }
}

fn objects_and_target() -> impl Strategy<Value = (Vec<(Value, Option<String>)>, ResourceTarget)> {
    (
        prop::collection::vec(object(), 1..6),
        target(),
        any::<bool>(),
        [
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
        ],
        any::<prop::sample::Index>(),
    )
        .prop_map(|(objects, t, aim, redraw, at)| {
            let t = if aim {
                let (o, ns) = &objects[at.index(objects.len())];
                near(o, ns, t, redraw)
            } else {
                t
            };
            (objects, t)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matches_agrees_with_glasskubes_match(
        (objects, t) in objects_and_target(),
    ) {
        for (obj, ns) in &objects {
            let hoist = values::matches(&t, obj, ns.as_deref());
            let gk = gk_match(&t, obj, ns.as_deref());
            prop_assert_eq!(
                hoist.is_ok(), gk.is_ok(),
                "target {:?} object {} ns {:?}: hoist {:?}, glasskube {:?}", t, obj, ns, hoist, gk
            );
            if let (Ok(h), Ok(g)) = (&hoist, &gk) {
                prop_assert_eq!(h, g, "target {:?} object {} ns {:?}", t, obj, ns);
            }
        }
    }

    #[test]
    fn apply_patches_exactly_the_matching_objects_and_reports_only_when_none_matches(
        (objects, t) in objects_and_target(),
    ) {
        let targets = vec![ValueTarget {
            resource: Some(t.clone()),
            chart_name: None,
            patch: PartialPatch { op: "add".into(), path: "/patched".into() },
            value_template: None,
        }];
        let writes = vec![Write { label: "value \"v\"".into(), value: json!("x"), targets: &targets }];
        let namespaces: Vec<Option<String>> = objects.iter().map(|(_, ns)| ns.clone()).collect();
        let mut rendered: Vec<Rendered> = objects
            .iter()
            .map(|(o, _)| Rendered { object: o.clone(), default_namespace: None })
            .collect();
        let expected: Result<Vec<bool>, String> = objects
            .iter()
            .map(|(o, ns)| gk_match(&t, o, ns.as_deref()))
            .collect();
        let got = values::apply(&writes, &mut rendered, &namespaces);
        match expected {
            Err(_) => prop_assert!(got.is_err(), "target {:?}: glasskube fails, hoist {:?}", t, got),
            Ok(hits) => {
                let unresolved = got.map_err(|e| TestCaseError::fail(format!("{t:?}: {e}")))?;
                for ((r, (before, ns)), hit) in rendered.iter().zip(&objects).zip(&hits) {
                    if *hit {
                        prop_assert_eq!(r.object.get("patched"), Some(&json!("x")),
                            "target {:?} object {} ns {:?} not patched", t, before, ns);
                    } else {
                        prop_assert_eq!(&r.object, before,
                            "target {:?} ns {:?}: an object Glasskube does not match was changed", t, ns);
                    }
                }
                let none = !hits.iter().any(|h| *h);
                prop_assert_eq!(unresolved.len(), usize::from(none),
                    "target {:?} hits {:?} unresolved {:?}", t, hits, unresolved);
            }
        }
    }
}

#[test]
fn the_transcription_reads_group_versions_as_apimachinery_does() {
    let ok = |s: &str, g: &str, v: &str| {
        assert_eq!(
            gk_parse_group_version(s),
            Ok((g.to_string(), v.to_string())),
            "{s}"
        )
    };
    ok("", "", "");
    ok("/", "", "");
    ok("v1", "", "v1");
    ok("apps", "", "apps");
    ok("apps/v1", "apps", "v1");
    ok("/v1", "", "v1");
    ok("apps/", "apps", "");
    assert!(gk_parse_group_version("a/b/c").is_err());
    assert!(gk_parse_group_version("//").is_err());
}
