//! The kubelet's part of a pod devcluster runs: the status of a Running pod on the one
//! node devcluster is (see [`super`]).

use super::status::keep_condition_times;
use serde_json::{Value, json};

/// The one node devcluster's pods run on (`spec.nodeName`). No Node object exists.
pub const NODE_NAME: &str = "devcluster";
/// That node's address (`status.hostIP`), as a kind node's.
pub const NODE_IP: &str = "172.18.0.2";

/// A pod address for the `n`th write: `10.244.0.1` to `10.247.255.254` (a /14, the
/// `.0` and `.255` of each /24 skipped), so pods made less than 260,096 writes apart
/// never share one.
pub fn pod_ip(n: u64) -> String {
    let n = n % (254 * 1024);
    let (block, host) = (n / 254, n % 254 + 1);
    format!("10.{}.{}.{host}", 244 + block / 256, block % 256)
}

fn pod_condition(type_: &str, ok: bool, why: Option<(&str, &str)>, now: &str) -> Value {
    let mut c = json!({
        "type": type_,
        "status": if ok { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": now,
    });
    if let Some((reason, message)) = why {
        c["reason"] = json!(reason);
        c["message"] = json!(message);
    }
    c
}

/// The status the kubelet reports for a running pod of `spec`: `Running`, scheduled on
/// [`NODE_NAME`] at `ip` since `start`, every container started (and ready, with
/// `ready`), every init container completed. Unready containers fail their readiness
/// probe: `Ready` and `ContainersReady` are False.
pub fn running_status(spec: &Value, ready: bool, ip: &str, start: &str, now: &str) -> Value {
    let list = |k: &str| {
        spec.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let text = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let containers = list("containers");
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({
                "name": text(c, "name"), "image": text(c, "image"), "imageID": "",
                "ready": ready, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": start}},
            })
        })
        .collect();
    let unready = format!(
        "containers with unready status: [{}]",
        containers
            .iter()
            .map(|c| text(c, "name"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let why = (!ready).then_some(("ContainersNotReady", unready.as_str()));
    let mut status = json!({
        "phase": "Running",
        "conditions": [
            pod_condition("PodReadyToStartContainers", true, None, now),
            pod_condition("Initialized", true, None, now),
            pod_condition("Ready", ready, why, now),
            pod_condition("ContainersReady", ready, why, now),
            pod_condition("PodScheduled", true, None, now),
        ],
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": start,
        "containerStatuses": statuses,
    });
    let init = list("initContainers");
    if !init.is_empty() {
        status["initContainerStatuses"] = init
            .iter()
            .map(|c| {
                json!({
                    "name": text(c, "name"), "image": text(c, "image"), "imageID": "",
                    "ready": true, "started": false, "restartCount": 0,
                    "state": {"terminated": {
                        "exitCode": 0, "reason": "Completed",
                        "startedAt": start, "finishedAt": start,
                    }},
                })
            })
            .collect();
    }
    status
}

/// `pod`'s status written again as Running with readiness `ready`: its address and
/// start time kept (given when it has none), condition times kept where unchanged.
pub fn restatus(pod: &Value, ready: bool, ip: &str, now: &str) -> Value {
    let old = pod.get("status");
    let text = |k: &str| old.and_then(|s| s.get(k)).and_then(Value::as_str);
    let ip = text("podIP").unwrap_or(ip);
    let start = text("startTime").unwrap_or(now);
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    keep_condition_times(old, running_status(spec, ready, ip, start, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_a_slash_14_without_dot_0_or_255() {
        assert_eq!(pod_ip(0), "10.244.0.1");
        assert_eq!(pod_ip(254), "10.244.1.1");
        assert_eq!(pod_ip(254 * 1024 - 1), "10.247.255.254");
        assert_eq!(pod_ip(254 * 1024), "10.244.0.1", "wraps");
    }

    #[test]
    fn init_containers_are_completed() {
        let spec = json!({"initContainers": [{"name": "i", "image": "busybox"}],
                          "containers": [{"name": "c", "image": "x"}]});
        let s = running_status(&spec, true, "10.244.0.1", "t", "t");
        assert_eq!(
            s["initContainerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed"
        );
    }
}
