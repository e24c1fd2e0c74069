//! Turns a request path into what it names.

/// What a Kubernetes API path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Version,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    Resources {
        group: String,
        version: String,
    },
    /// A collection, an object, or an object's subresource.
    Object(ObjectPath),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    pub group: String,
    pub version: String,
    /// The namespace from the URL; `None` for cluster-scoped or all-namespace requests.
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Parses a path; `None` for paths that are not part of the API.
pub fn parse(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segs.as_slice() {
        ["version"] => Some(Target::Version),
        ["api"] => Some(Target::CoreVersions),
        ["apis"] => Some(Target::Groups),
        ["apis", g] => Some(Target::Group(g.to_string())),
        ["api", v] => Some(Target::Resources {
            group: String::new(),
            version: v.to_string(),
        }),
        ["apis", g, v] => Some(Target::Resources {
            group: g.to_string(),
            version: v.to_string(),
        }),
        ["api", v, rest @ ..] => object(String::new(), v, rest),
        ["apis", g, v, rest @ ..] => object(g.to_string(), v, rest),
        _ => None,
    }
}

fn object(group: String, version: &str, rest: &[&str]) -> Option<Target> {
    let make = |namespace: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| {
        if rest.iter().any(|s| s.is_empty()) {
            return None;
        }
        Some(Target::Object(ObjectPath {
            group: group.clone(),
            version: version.to_string(),
            namespace: namespace.map(str::to_string),
            plural: plural.to_string(),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
        }))
    };
    match rest {
        // `/namespaces/{ns}/{plural}…` unless it is the Namespace object itself or its status.
        ["namespaces", ns, plural] if *plural != "status" && *plural != "finalize" => {
            make(Some(ns), plural, None, None)
        }
        ["namespaces", ns, plural, name] => make(Some(ns), plural, Some(name), None),
        ["namespaces", ns, plural, name, sub] => make(Some(ns), plural, Some(name), Some(sub)),
        [plural] => make(None, plural, None, None),
        [plural, name] => make(None, plural, Some(name), None),
        [plural, name, sub] => make(None, plural, Some(name), Some(sub)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(t: Option<Target>) -> ObjectPath {
        match t {
            Some(Target::Object(o)) => o,
            other => panic!("not an object path: {other:?}"),
        }
    }

    #[test]
    fn namespace_paths_are_told_apart_from_namespaced_resources() {
        let ns = obj(parse("/api/v1/namespaces/default"));
        assert_eq!(
            (ns.plural.as_str(), ns.name.as_deref(), ns.namespace),
            ("namespaces", Some("default"), None)
        );
        let st = obj(parse("/api/v1/namespaces/default/status"));
        assert_eq!(
            (st.plural.as_str(), st.subresource.as_deref()),
            ("namespaces", Some("status"))
        );
        let cm = obj(parse("/api/v1/namespaces/default/configmaps"));
        assert_eq!(
            (cm.plural.as_str(), cm.namespace.as_deref(), cm.name),
            ("configmaps", Some("default"), None)
        );
        let pkg = obj(parse(
            "/apis/packages.hoist.dev/v1alpha1/namespaces/a/packages/p/status",
        ));
        assert_eq!(
            (
                pkg.group.as_str(),
                pkg.name.as_deref(),
                pkg.subresource.as_deref()
            ),
            ("packages.hoist.dev", Some("p"), Some("status"))
        );
    }

    #[test]
    fn discovery_paths() {
        assert_eq!(
            parse("/apis/g/v"),
            Some(Target::Resources {
                group: "g".into(),
                version: "v".into()
            })
        );
        assert_eq!(parse("/api"), Some(Target::CoreVersions));
        assert_eq!(parse("/nope"), None);
        assert_eq!(parse("/api/v1/a/b/c/d"), None);
    }
}
