//! The columns the API server prints for built-in kinds (Kubernetes'
//! `pkg/printers/internalversion`), for the kinds packages install and devcluster's
//! workload controllers move: what `kubectl get deploy` shows on a real cluster
//! (READY `1/1`, UP-TO-DATE, AVAILABLE), not only NAME and AGE.
//!
//! Each cell is computed from the object as stored; what a printer reads that
//! devcluster never sets (a Service's load-balancer ingress, a Pod's restarts) prints as
//! the API server prints it when unset.

use serde_json::{Value, json};

/// One printed column of a built-in kind (after `Name`).
pub struct Column {
    pub name: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
    /// 0: always shown; 1: with `-o wide`.
    pub priority: u8,
    pub cell: super::CellFn,
}

type Now = chrono::DateTime<chrono::Utc>;

const fn col(name: &'static str, kind: &'static str, priority: u8, cell: super::CellFn) -> Column {
    Column {
        name,
        kind,
        description: "",
        priority,
        cell,
    }
}

const AGE: Column = Column {
    name: "Age",
    kind: "string",
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
    priority: 0,
    cell: age,
};

/// A pod template's containers and images, with `-o wide`.
const CONTAINERS: Column = col("Containers", "string", 1, |o, _| containers(o, "name"));
const IMAGES: Column = col("Images", "string", 1, |o, _| containers(o, "image"));

/// The printed columns of `(group, plural)`, `None` when devcluster has no printer.
pub fn columns(group: &str, plural: &str) -> Option<&'static [Column]> {
    Some(match (group, plural) {
        ("apps", "deployments") => {
            const {
                &[
                    col("Ready", "string", 0, |o, _| {
                        ready_of(o, "/status/readyReplicas", "/spec/replicas")
                    }),
                    col("Up-to-date", "integer", 0, |o, _| {
                        int(o, "/status/updatedReplicas")
                    }),
                    col("Available", "integer", 0, |o, _| {
                        int(o, "/status/availableReplicas")
                    }),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                    col("Selector", "string", 1, |o, _| {
                        selector(o.pointer("/spec/selector"))
                    }),
                ]
            }
        }
        ("apps", "statefulsets") => {
            const {
                &[
                    col("Ready", "string", 0, |o, _| {
                        ready_of(o, "/status/readyReplicas", "/spec/replicas")
                    }),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                ]
            }
        }
        ("apps", "daemonsets") => {
            const {
                &[
                    col("Desired", "integer", 0, |o, _| {
                        int(o, "/status/desiredNumberScheduled")
                    }),
                    col("Current", "integer", 0, |o, _| {
                        int(o, "/status/currentNumberScheduled")
                    }),
                    col("Ready", "integer", 0, |o, _| int(o, "/status/numberReady")),
                    col("Up-to-date", "integer", 0, |o, _| {
                        int(o, "/status/updatedNumberScheduled")
                    }),
                    col("Available", "integer", 0, |o, _| {
                        int(o, "/status/numberAvailable")
                    }),
                    col("Node Selector", "string", 0, |o, _| {
                        labels(o.pointer("/spec/template/spec/nodeSelector"))
                    }),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                    col("Selector", "string", 1, |o, _| {
                        selector(o.pointer("/spec/selector"))
                    }),
                ]
            }
        }
        ("apps", "replicasets") => {
            const {
                &[
                    col("Desired", "integer", 0, |o, _| replicas(o)),
                    col("Current", "integer", 0, |o, _| int(o, "/status/replicas")),
                    col("Ready", "integer", 0, |o, _| {
                        int(o, "/status/readyReplicas")
                    }),
                    AGE,
                ]
            }
        }
        ("batch", "jobs") => {
            const {
                &[
                    col("Status", "string", 0, |o, _| json!(job_status(o))),
                    col("Completions", "string", 0, |o, _| completions(o)),
                    col("Duration", "string", 0, job_duration),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                ]
            }
        }
        ("", "services") => {
            const {
                &[
                    col("Type", "string", 0, |o, _| {
                        json!(text(o, "/spec/type", "ClusterIP"))
                    }),
                    col("Cluster-IP", "string", 0, |o, _| {
                        json!(text(o, "/spec/clusterIP", "<none>"))
                    }),
                    col("External-IP", "string", 0, |o, _| json!(external_ips(o))),
                    col("Port(s)", "string", 0, |o, _| json!(ports(o))),
                    AGE,
                    col("Selector", "string", 1, |o, _| {
                        labels(o.pointer("/spec/selector"))
                    }),
                ]
            }
        }
        ("", "configmaps") => {
            const {
                &[
                    col("Data", "integer", 0, |o, _| {
                        json!(count(o, "/data") + count(o, "/binaryData"))
                    }),
                    AGE,
                ]
            }
        }
        ("", "secrets") => {
            const {
                &[
                    col("Type", "string", 0, |o, _| {
                        json!(text(o, "/type", "Opaque"))
                    }),
                    col("Data", "integer", 0, |o, _| json!(count(o, "/data"))),
                    AGE,
                ]
            }
        }
        ("", "namespaces") => {
            const {
                &[
                    col("Status", "string", 0, |o, _| {
                        json!(text(o, "/status/phase", "Active"))
                    }),
                    AGE,
                ]
            }
        }
        ("", "pods") => {
            const {
                &[
                    col("Ready", "string", 0, |o, _| json!(pod_ready(o))),
                    col("Status", "string", 0, |o, _| json!(pod_status(o))),
                    col("Restarts", "string", 0, |o, _| json!(pod_restarts(o))),
                    AGE,
                    col("IP", "string", 1, |o, _| {
                        json!(text(o, "/status/podIP", "<none>"))
                    }),
                    col("Node", "string", 1, |o, _| {
                        json!(text(o, "/spec/nodeName", "<none>"))
                    }),
                    col("Nominated Node", "string", 1, |_, _| json!("<none>")),
                    col("Readiness Gates", "string", 1, |_, _| json!("<none>")),
                ]
            }
        }
        ("", "serviceaccounts") => {
            const {
                &[
                    col("Secrets", "integer", 0, |o, _| json!(count(o, "/secrets"))),
                    AGE,
                ]
            }
        }
        _ => return None,
    })
}

fn age(o: &Value, now: Now) -> Value {
    match o
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .map(chrono::DateTime::parse_from_rfc3339)
    {
        Some(Ok(t)) => json!(super::human_duration(now.signed_duration_since(t))),
        _ => json!("<unknown>"),
    }
}

fn int(o: &Value, at: &str) -> Value {
    json!(o.pointer(at).and_then(Value::as_i64).unwrap_or(0))
}

/// `spec.replicas`, 1 when unset (the API server defaults it).
fn replicas(o: &Value) -> Value {
    json!(
        o.pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
    )
}

/// `ready/desired`, as `1/1`.
fn ready_of(o: &Value, ready: &str, desired: &str) -> Value {
    let r = o.pointer(ready).and_then(Value::as_i64).unwrap_or(0);
    let d = o.pointer(desired).and_then(Value::as_i64).unwrap_or(1);
    json!(format!("{r}/{d}"))
}

fn text(o: &Value, at: &str, unset: &str) -> String {
    o.pointer(at)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(unset)
        .to_string()
}

fn count(o: &Value, at: &str) -> usize {
    match o.pointer(at) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

/// The pod template's containers' `field`, comma-separated.
fn containers(o: &Value, field: &str) -> Value {
    let names: Vec<&str> = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get(field).and_then(Value::as_str))
        .collect();
    json!(names.join(","))
}

/// A pod's containers: `ready/total`.
fn pod_ready(o: &Value) -> String {
    let total = count(o, "/spec/containers");
    let ready = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |cs| {
            cs.iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                .count()
        });
    format!("{ready}/{total}")
}

/// A pod's STATUS as kubectl shows it: `Terminating` while deleted, else its reason or
/// phase (`Pending` when unset).
fn pod_status(o: &Value) -> String {
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    let reason = text(o, "/status/reason", "");
    if reason.is_empty() {
        text(o, "/status/phase", "Pending")
    } else {
        reason
    }
}

/// The restarts of a pod's containers, summed.
fn pod_restarts(o: &Value) -> String {
    let restarts: i64 = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |cs| {
            cs.iter()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                .sum()
        });
    restarts.to_string()
}

/// `k=v,k2=v2` (sorted), `<none>` when empty.
fn labels(m: Option<&Value>) -> Value {
    let pairs: Vec<String> = m
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    if pairs.is_empty() {
        json!("<none>")
    } else {
        json!(pairs.join(","))
    }
}

/// A label selector as `metav1.FormatLabelSelector` writes it (match labels, then
/// expressions).
fn selector(s: Option<&Value>) -> Value {
    let mut parts: Vec<String> = s
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for e in s
        .and_then(|s| s.get("matchExpressions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e.get("operator").and_then(Value::as_str) {
            Some("In") => format!("{key} in ({})", values.join(",")),
            Some("NotIn") => format!("{key} notin ({})", values.join(",")),
            Some("Exists") => key.to_string(),
            Some("DoesNotExist") => format!("!{key}"),
            _ => continue,
        });
    }
    if parts.is_empty() {
        json!("<none>")
    } else {
        json!(parts.join(","))
    }
}

fn external_ips(o: &Value) -> String {
    let mut ips: Vec<String> = o
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if o.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer") {
        ips.extend(
            o.pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| i.get("ip").or_else(|| i.get("hostname")))
                .filter_map(|v| v.as_str().map(str::to_string)),
        );
        if ips.is_empty() {
            return "<pending>".into();
        }
    }
    if o.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName") {
        return text(o, "/spec/externalName", "<none>");
    }
    if ips.is_empty() {
        "<none>".into()
    } else {
        ips.join(",")
    }
}

/// `80/TCP,443:30443/TCP`; `<none>` without ports.
fn ports(o: &Value) -> String {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(n) => format!("{port}:{n}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    }
}

fn condition_true(o: &Value, type_: &str) -> bool {
    o.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == type_ && c["status"] == "True")
}

/// As kubectl 1.32 words a Job's state.
fn job_status(o: &Value) -> &'static str {
    if condition_true(o, "Complete") {
        "Complete"
    } else if condition_true(o, "Failed") {
        "Failed"
    } else if condition_true(o, "Suspended") {
        "Suspended"
    } else if condition_true(o, "FailureTarget") {
        "FailureTarget"
    } else if condition_true(o, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    }
}

/// `succeeded/completions` (`n/1 of k` for parallel jobs without completions is beyond
/// what devcluster's Jobs do: they run with completions set or default to 1).
fn completions(o: &Value) -> Value {
    let succeeded = o
        .pointer("/status/succeeded")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let wanted = o
        .pointer("/spec/completions")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    json!(format!("{succeeded}/{wanted}"))
}

fn job_duration(o: &Value, now: Now) -> Value {
    let at = |p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (at("/status/startTime"), at("/status/completionTime")) {
        (Some(start), Some(done)) => {
            json!(super::human_duration(done.signed_duration_since(start)))
        }
        (Some(start), None) => json!(super::human_duration(now.signed_duration_since(start))),
        _ => json!(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(group: &str, plural: &str, o: &Value) -> Vec<Value> {
        let now = chrono::Utc::now();
        columns(group, plural)
            .expect("a printer")
            .iter()
            .filter(|c| c.name != "Age")
            .map(|c| (c.cell)(o, now))
            .collect()
    }

    #[test]
    fn a_deployment_prints_ready_of_desired_and_its_containers_with_wide() {
        let d = json!({
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [
                         {"name": "web", "image": "nginx:1"}, {"name": "log", "image": "fluent:2"}]}}},
            "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1},
        });
        assert_eq!(
            cells("apps", "deployments", &d),
            [
                json!("1/2"),
                json!(2),
                json!(1),
                json!("web,log"),
                json!("nginx:1,fluent:2"),
                json!("app=web")
            ]
        );
        let fresh = json!({"spec": {}});
        assert_eq!(
            cells("apps", "deployments", &fresh)[0],
            json!("0/1"),
            "replicas default to 1"
        );
    }

    #[test]
    fn a_service_prints_its_type_ip_and_ports_as_kubectl_shows_them() {
        let s = json!({"spec": {"type": "NodePort", "clusterIP": "10.0.0.7", "selector": {"app": "web"},
                      "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30443}]}});
        assert_eq!(
            cells("", "services", &s),
            [
                json!("NodePort"),
                json!("10.0.0.7"),
                json!("<none>"),
                json!("80/TCP,443:30443/TCP"),
                json!("app=web")
            ]
        );
        let lb = json!({"spec": {"type": "LoadBalancer"}});
        assert_eq!(cells("", "services", &lb)[2], json!("<pending>"));
    }

    #[test]
    fn secrets_configmaps_and_jobs_print_their_counts_and_states() {
        let secret = json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
        assert_eq!(
            cells("", "secrets", &secret),
            [json!("kubernetes.io/tls"), json!(2)]
        );
        let cm = json!({"data": {"a": "1"}, "binaryData": {"b": ""}});
        assert_eq!(cells("", "configmaps", &cm), [json!(2)]);
        let job = json!({"spec": {"completions": 1},
            "status": {"succeeded": 1, "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:09Z",
                       "conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(
            cells("batch", "jobs", &job)[..3],
            [json!("Complete"), json!("1/1"), json!("9s")]
        );
    }

    #[test]
    fn a_pod_prints_ready_containers_status_restarts_and_with_wide_ip_and_node() {
        let pod = json!({"spec": {"nodeName": "devcluster", "containers": [{}, {}]},
            "status": {"phase": "Running", "podIP": "10.244.0.1", "containerStatuses": [
                {"ready": true, "restartCount": 0}, {"ready": false, "restartCount": 2}]}});
        assert_eq!(
            cells("", "pods", &pod)[..5],
            [
                json!("1/2"),
                json!("Running"),
                json!("2"),
                json!("10.244.0.1"),
                json!("devcluster")
            ]
        );
        assert_eq!(
            cells("", "pods", &json!({}))[..2],
            [json!("0/0"), json!("Pending")]
        );
    }

    #[test]
    fn selectors_read_as_kubernetes_formats_them() {
        let s = json!({"matchLabels": {"a": "1"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "legacy", "operator": "DoesNotExist"}]});
        assert_eq!(selector(Some(&s)), json!("a=1,tier in (web,api),!legacy"));
        assert_eq!(selector(None), json!("<none>"));
    }
}
