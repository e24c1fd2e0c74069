//! Opening what a package installed (`hoist open`, the dashboard's Open): which of a
//! package's `entrypoints` are meant, which Service each names once the install has
//! placed it, which pod port the Service's port leads to, and which local address to
//! show. Pure rules over the package manifest, the install's inventory and the
//! Service and Pod as JSON; the port-forward itself is `hoist_kube::forward`.
//!
//! # Guarantees
//! - The Service is looked up where the install put it: a Package's objects are
//!   prefixed `<install>-` in the Package's namespace ([`crate::operator::placement`]),
//!   a ClusterPackage's keep their names; the install's inventory decides when it
//!   holds the Service, so a package's page is never someone else's Service.
//! - A repository chooses only the port and the scheme's name, never a host: the
//!   address shown is always `localhost` on a port this machine bound, and only
//!   `http` and `https` are accepted as schemes.
//!
//! # Caveats
//! - A Service made by a Helm chart is not in the inventory (Flux's helm-controller
//!   applied it): it is looked for by the entrypoint's name in the install's namespace
//!   (a Package's) or the package's `defaultNamespace` (a ClusterPackage's).

use crate::operator::inventory::ObjectRef;
use crate::operator::placement::Owner;
use crate::repo::format::Entrypoint;
use serde_json::Value;

/// Why an entrypoint cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntrypointError {
    #[error("{package} has no entrypoints: there is nothing to open")]
    None { package: String },
    #[error("{package} has no entrypoint {asked:?} (it has: {known})")]
    Unknown {
        package: String,
        asked: String,
        known: String,
    },
    #[error("entrypoint {entrypoint:?}: scheme {scheme:?} is not http or https")]
    Scheme { entrypoint: String, scheme: String },
    #[error("Service {namespace}/{name} has no port {port}")]
    NoServicePort {
        namespace: String,
        name: String,
        port: u16,
    },
    #[error(
        "Service {namespace}/{name} port {port} targets the port named {target:?}, which pod {pod} does not declare"
    )]
    NamedPortMissing {
        namespace: String,
        name: String,
        port: u16,
        target: String,
        pod: String,
    },
    #[error(
        "Service {namespace}/{name} selects no pods (no selector): there is no pod to forward to"
    )]
    NoSelector { namespace: String, name: String },
}

/// What an entrypoint is called: its `name`, else its Service's name.
pub fn name_of(e: &Entrypoint) -> &str {
    e.name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&e.service_name)
}

/// The entrypoints `asked` means: the one named so, or every one when `None` (as
/// `glasskube open` without an entrypoint opens them all).
pub fn select<'a>(
    package: &str,
    all: &'a [Entrypoint],
    asked: Option<&str>,
) -> Result<Vec<&'a Entrypoint>, EntrypointError> {
    if all.is_empty() {
        return Err(EntrypointError::None {
            package: package.into(),
        });
    }
    let chosen: Vec<&Entrypoint> = match asked {
        None => all.iter().collect(),
        Some(a) => all.iter().filter(|e| name_of(e) == a).collect(),
    };
    if chosen.is_empty() {
        return Err(EntrypointError::Unknown {
            package: package.into(),
            asked: asked.unwrap_or_default().into(),
            known: all.iter().map(name_of).collect::<Vec<_>>().join(", "),
        });
    }
    for e in &chosen {
        scheme(e)?;
    }
    Ok(chosen)
}

/// `http` (when unset) or `https`; anything else is refused.
pub fn scheme(e: &Entrypoint) -> Result<&'static str, EntrypointError> {
    match e.scheme.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("http") => Ok("http"),
        Some("https") => Ok("https"),
        Some(other) => Err(EntrypointError::Scheme {
            entrypoint: name_of(e).into(),
            scheme: other.into(),
        }),
    }
}

/// A Service by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAt {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ServiceAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The Service `e` names, as the install `owner` placed it; `owned` is the install's
/// inventory (`status.ownedResources`).
pub fn service_of(owner: &Owner, e: &Entrypoint, owned: &[ObjectRef]) -> ServiceAt {
    let placed = match owner {
        Owner::Namespaced { name, .. } => format!("{name}-{}", e.service_name),
        Owner::Cluster { .. } => e.service_name.clone(),
    };
    let services = owned
        .iter()
        .filter(|o| o.group.is_empty() && o.kind == "Service");
    if let Some(o) = services
        .clone()
        .find(|o| o.name == placed)
        .or_else(|| services.clone().find(|o| o.name == e.service_name))
    {
        return ServiceAt {
            namespace: o.namespace.clone(),
            name: o.name.clone(),
        };
    }
    // Not in the inventory: a chart's Service, under the entrypoint's own name.
    let namespace = match owner {
        Owner::Namespaced { namespace, .. } => namespace.clone(),
        Owner::Cluster {
            default_namespace, ..
        } => default_namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
    };
    ServiceAt {
        namespace,
        name: e.service_name.clone(),
    }
}

/// The Service's pod selector (`spec.selector`) as a label selector string.
pub fn selector(at: &ServiceAt, service: &Value) -> Result<String, EntrypointError> {
    let pairs: Vec<String> = service
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
                .collect()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        return Err(EntrypointError::NoSelector {
            namespace: at.namespace.clone(),
            name: at.name.clone(),
        });
    }
    Ok(pairs.join(","))
}

/// Whether a pod can take a forward: Running, Ready, not being deleted.
pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
        && pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running")
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.get("type").and_then(Value::as_str) == Some("Ready")
                        && c.get("status").and_then(Value::as_str) == Some("True")
                })
            })
}

/// The pod to forward to among `pods`: a ready one, the newest first (after a
/// rollout the new pods serve), the name deciding ties.
pub fn pick_pod(pods: &[Value]) -> Option<&Value> {
    let created = |p: &Value| {
        p.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let name = |p: &Value| {
        p.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    pods.iter()
        .filter(|p| is_ready(p))
        .max_by(|a, b| created(a).cmp(&created(b)).then(name(b).cmp(&name(a))))
}

/// The pod port the Service's `port` leads to: its `targetPort` (a number, or a name
/// the pod's containers declare), or the port itself when unset.
pub fn pod_port(
    at: &ServiceAt,
    service: &Value,
    port: u16,
    pod: &Value,
) -> Result<u16, EntrypointError> {
    let sp = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .and_then(|ps| {
            ps.iter()
                .find(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(port)))
        })
        .ok_or_else(|| EntrypointError::NoServicePort {
            namespace: at.namespace.clone(),
            name: at.name.clone(),
            port,
        })?;
    match sp.get("targetPort") {
        None | Some(Value::Null) => Ok(port),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n != 0)
            .ok_or_else(|| EntrypointError::NoServicePort {
                namespace: at.namespace.clone(),
                name: at.name.clone(),
                port,
            }),
        Some(Value::String(s)) => {
            if let Ok(n) = s.parse::<u16>() {
                return Ok(n);
            }
            let declared = pod
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("ports").and_then(Value::as_array))
                .flatten()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(s.as_str()))
                .and_then(|p| p.get("containerPort").and_then(Value::as_u64))
                .and_then(|n| u16::try_from(n).ok());
            declared.ok_or_else(|| EntrypointError::NamedPortMissing {
                namespace: at.namespace.clone(),
                name: at.name.clone(),
                port,
                target: s.clone(),
                pod: pod
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
            })
        }
        Some(_) => Err(EntrypointError::NoServicePort {
            namespace: at.namespace.clone(),
            name: at.name.clone(),
            port,
        }),
    }
}

/// The address a user opens: always `localhost`, on the port bound here.
pub fn local_url(scheme: &str, port: u16) -> String {
    format!("{scheme}://localhost:{port}/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(name: Option<&str>, service: &str, port: u16) -> Entrypoint {
        Entrypoint {
            name: name.map(str::to_string),
            service_name: service.into(),
            port,
            local_port: None,
            scheme: None,
        }
    }

    fn svc(name: &str, ns: &str) -> ObjectRef {
        ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: "Service".into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn an_entrypoint_is_named_by_its_name_or_its_service_and_none_means_all() {
        let all = [entry(Some("ui"), "web", 80), entry(None, "api", 8080)];
        fn names(v: Vec<&Entrypoint>) -> Vec<String> {
            v.into_iter().map(|e| name_of(e).to_string()).collect()
        }
        assert_eq!(
            names(select("p", &all, None).expect("answered")),
            ["ui", "api"]
        );
        assert_eq!(
            names(select("p", &all, Some("api")).expect("answered")),
            ["api"]
        );
        let e = select("p", &all, Some("web")).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "p has no entrypoint \"web\" (it has: ui, api)"
        );
        assert!(matches!(
            select("p", &[], None),
            Err(EntrypointError::None { .. })
        ));
    }

    #[test]
    fn only_http_and_https_are_schemes() {
        let mut e = entry(None, "web", 80);
        assert_eq!(scheme(&e), Ok("http"));
        e.scheme = Some("HTTPS".into());
        assert_eq!(scheme(&e), Ok("https"));
        e.scheme = Some("javascript".into());
        assert!(select("p", std::slice::from_ref(&e), None).is_err());
    }

    #[test]
    fn a_packages_service_is_its_prefixed_one_and_a_cluster_packages_keeps_its_name() {
        let e = entry(None, "web", 80);
        let pkg = Owner::Namespaced {
            name: "blog".into(),
            namespace: "team".into(),
        };
        // The inventory decides.
        let owned = [svc("blog-web", "team"), svc("web", "elsewhere")];
        assert_eq!(
            service_of(&pkg, &e, &owned),
            ServiceAt {
                namespace: "team".into(),
                name: "blog-web".into()
            }
        );
        let cluster = Owner::Cluster {
            name: "web".into(),
            default_namespace: Some("web-system".into()),
        };
        assert_eq!(
            service_of(&cluster, &e, &[svc("web", "web-system")]).to_string(),
            "web-system/web"
        );
        // A chart's Service, not in the inventory.
        assert_eq!(service_of(&pkg, &e, &[]).to_string(), "team/web");
        assert_eq!(service_of(&cluster, &e, &[]).to_string(), "web-system/web");
    }

    #[test]
    fn the_pod_port_follows_target_port_by_number_or_by_name() {
        let at = ServiceAt {
            namespace: "n".into(),
            name: "s".into(),
        };
        let service = json!({"spec": {"selector": {"app": "w"}, "ports": [
            {"port": 80, "targetPort": 8080},
            {"port": 81, "targetPort": "http"},
            {"port": 82},
            {"port": 83, "targetPort": "metrics"},
        ]}});
        let pod = json!({"metadata": {"name": "w-1"}, "spec": {"containers": [
            {"name": "c", "ports": [{"name": "http", "containerPort": 9000}]}
        ]}});
        assert_eq!(pod_port(&at, &service, 80, &pod), Ok(8080));
        assert_eq!(pod_port(&at, &service, 81, &pod), Ok(9000));
        assert_eq!(pod_port(&at, &service, 82, &pod), Ok(82));
        assert_eq!(
            pod_port(&at, &service, 83, &pod)
                .expect_err("refused")
                .to_string(),
            "Service n/s port 83 targets the port named \"metrics\", which pod w-1 does not declare"
        );
        assert!(matches!(
            pod_port(&at, &service, 90, &pod),
            Err(EntrypointError::NoServicePort { port: 90, .. })
        ));
        assert_eq!(selector(&at, &service).expect("answered"), "app=w");
        assert!(selector(&at, &json!({"spec": {}})).is_err());
    }

    #[test]
    fn the_newest_ready_pod_is_chosen_and_unready_or_deleting_ones_never() {
        let pod = |name: &str, created: &str, ready: &str, deleting: bool| {
            let mut p = json!({
                "metadata": {"name": name, "creationTimestamp": created},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]},
            });
            if deleting {
                p["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            }
            p
        };
        let pods = [
            pod("old", "2026-01-01T00:00:00Z", "True", false),
            pod("new", "2026-01-02T00:00:00Z", "True", false),
            pod("newer-unready", "2026-01-03T00:00:00Z", "False", false),
            pod("going", "2026-01-04T00:00:00Z", "True", true),
        ];
        let chosen = pick_pod(&pods).expect("answered");
        assert_eq!(chosen["metadata"]["name"], "new");
        assert!(pick_pod(&pods[2..]).is_none());
        assert_eq!(local_url("http", 8081), "http://localhost:8081/");
    }
}
