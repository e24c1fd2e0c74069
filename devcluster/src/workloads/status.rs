//! The status each workload's controller writes (see [`super`]).

use super::{FAIL, NEVER_READY, PROGRESS_DEADLINE_EXCEEDED};
use serde_json::{Value, json};

pub(super) fn flag(obj: &Value, annotation: &str) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(annotation))
        .and_then(Value::as_str)
        == Some("true")
}

fn condition(type_: &str, status: bool, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": type_,
        "status": if status { "True" } else { "False" },
        "reason": reason,
        "message": message,
        "lastTransitionTime": now,
        "lastUpdateTime": now,
    })
}

/// The status `kind`'s controller would write for `obj` at `now`; `None` when there is
/// nothing (more) to write.
pub fn status_for(plural: &str, obj: &Value, now: &str) -> Option<Value> {
    let generation = obj
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let never_ready = flag(obj, NEVER_READY);
    let ready = if never_ready { 0 } else { replicas };
    let desired = match plural {
        "deployments" => {
            let (progressing, reason, message) = if flag(obj, PROGRESS_DEADLINE_EXCEEDED) {
                (
                    false,
                    "ProgressDeadlineExceeded",
                    "the rollout made no progress in time",
                )
            } else if never_ready {
                (
                    true,
                    "ReplicaSetUpdated",
                    "the rollout is waiting for ready replicas",
                )
            } else {
                (true, "NewReplicaSetAvailable", "the rollout is complete")
            };
            let available = ready >= replicas;
            json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "unavailableReplicas": replicas - ready,
                "conditions": [
                    condition(
                        "Available",
                        available,
                        if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                        if available { "the Deployment has minimum availability" } else { "the Deployment does not have minimum availability" },
                        now,
                    ),
                    condition("Progressing", progressing, reason, message, now),
                ],
            })
        }
        // The revision the pods carry (`controller-revision-hash`).
        "statefulsets" => json!({
            "observedGeneration": generation,
            "replicas": replicas,
            "readyReplicas": ready,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": ready,
            "currentRevision": super::pods::revision(obj),
            "updateRevision": super::pods::revision(obj),
        }),
        // One node: a DaemonSet schedules one pod.
        "daemonsets" => json!({
            "observedGeneration": generation,
            "desiredNumberScheduled": 1,
            "currentNumberScheduled": 1,
            "updatedNumberScheduled": 1,
            "numberReady": if never_ready { 0 } else { 1 },
            "numberAvailable": if never_ready { 0 } else { 1 },
            "numberMisscheduled": 0,
        }),
        "jobs" => {
            let current = obj.get("status").cloned().unwrap_or(json!({}));
            let finished = current
                .get("conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        matches!(
                            c.get("type").and_then(Value::as_str),
                            Some("Complete" | "Failed")
                        ) && c.get("status").and_then(Value::as_str) == Some("True")
                    })
                });
            if finished || never_ready {
                return None;
            }
            let completions = obj
                .pointer("/spec/completions")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let start = current.get("startTime").cloned().unwrap_or(json!(now));
            if flag(obj, FAIL) {
                json!({
                    "startTime": start,
                    "failed": 1,
                    "conditions": [
                        condition("FailureTarget", true, "BackoffLimitExceeded", "the Job has reached the specified backoff limit", now),
                        condition("Failed", true, "BackoffLimitExceeded", "the Job has reached the specified backoff limit", now),
                    ],
                })
            } else {
                json!({
                    "startTime": start,
                    "completionTime": now,
                    "succeeded": completions,
                    "conditions": [
                        condition("SuccessCriteriaMet", true, "CompletionsReached", "reached expected number of succeeded pods", now),
                        condition("Complete", true, "CompletionsReached", "reached expected number of succeeded pods", now),
                    ],
                })
            }
        }
        _ => return None,
    };
    let desired = keep_condition_times(obj.get("status"), desired);
    (obj.get("status") != Some(&desired)).then_some(desired)
}

/// `desired` with each condition's times taken from `current` where that condition's
/// status and reason did not change (a controller does not touch them then).
pub(super) fn keep_condition_times(current: Option<&Value>, mut desired: Value) -> Value {
    let old: Vec<Value> = current
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(conditions) = desired.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conditions {
            let same = old.iter().find(|o| {
                o.get("type") == c.get("type")
                    && o.get("status") == c.get("status")
                    && o.get("reason") == c.get("reason")
            });
            if let Some(o) = same {
                for t in ["lastTransitionTime", "lastUpdateTime"] {
                    if let Some(v) = o.get(t) {
                        c[t] = v.clone();
                    }
                }
            }
        }
    }
    desired
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(annotations: Value) -> Value {
        json!({
            "metadata": {"name": "web", "generation": 2, "annotations": annotations},
            "spec": {"replicas": 3},
        })
    }

    #[test]
    fn a_deployment_becomes_available_with_its_replicas_and_then_nothing_changes() {
        let d = deployment(json!({}));
        let status = status_for("deployments", &d, "t1").expect("a status");
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(status["availableReplicas"], 3);
        assert_eq!(status["conditions"][0]["status"], "True");
        let mut done = d.clone();
        done["status"] = status;
        assert_eq!(
            status_for("deployments", &done, "t2"),
            None,
            "stable once written"
        );
    }

    #[test]
    fn steered_objects_never_become_ready_miss_their_deadline_or_fail() {
        let never = status_for(
            "deployments",
            &deployment(json!({NEVER_READY: "true"})),
            "t",
        )
        .expect("a status");
        assert_eq!(never["readyReplicas"], 0);
        assert_eq!(never["conditions"][0]["status"], "False");
        let late = status_for(
            "deployments",
            &deployment(json!({PROGRESS_DEADLINE_EXCEEDED: "true"})),
            "t",
        )
        .expect("a status");
        assert_eq!(late["conditions"][1]["reason"], "ProgressDeadlineExceeded");
        let job = json!({"metadata": {"name": "j", "annotations": {FAIL: "true"}}, "spec": {}});
        let failed = status_for("jobs", &job, "t").expect("a status");
        assert_eq!(failed["conditions"][1]["type"], "Failed");
        let mut finished = job.clone();
        finished["status"] = failed;
        assert_eq!(
            status_for("jobs", &finished, "t2"),
            None,
            "a finished Job stays"
        );
    }

    #[test]
    fn a_new_generation_is_observed_again() {
        let mut d = deployment(json!({}));
        d["status"] = status_for("deployments", &d, "t1").expect("a status");
        d["metadata"]["generation"] = json!(3);
        d["spec"]["replicas"] = json!(5);
        let next = status_for("deployments", &d, "t2").expect("rolled");
        assert_eq!(
            (next["observedGeneration"].clone(), next["replicas"].clone()),
            (json!(3), json!(5))
        );
        assert_eq!(
            next["conditions"][0]["lastTransitionTime"], "t1",
            "an unchanged condition keeps its times"
        );
    }
}
