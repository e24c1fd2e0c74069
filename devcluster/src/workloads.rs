//! devcluster plays the workload controllers, as kwok does for real clusters: a
//! Deployment, StatefulSet or DaemonSet gets the status its controller would write once
//! its pods were up, a Job completes, each after a short delay; a new generation
//! (scaling, a changed pod template) rolls the same way. So `kubectl rollout status`,
//! kube-rs' `await_condition` and the operator's health checks see workloads become
//! ready, and can be shown ones that never do.
//!
//! # Steering one object (annotations)
//! - `devcluster.hoist.dev/never-ready: "true"`: observed, but no replica ever ready
//!   (Deployment `Available=False`); a Job never finishes.
//! - `devcluster.hoist.dev/progress-deadline-exceeded: "true"`: a Deployment's
//!   `Progressing=False` with reason `ProgressDeadlineExceeded`.
//! - `devcluster.hoist.dev/fail: "true"`: a Job's `Failed=True` (`BackoffLimitExceeded`).
//!
//! # Guarantees
//! - The status is written through the `/status` subresource with the object's
//!   resourceVersion, as a controller writes it: a concurrent change wins, and the next
//!   event is looked at again.
//! - Written only when it differs (condition times kept when a condition does not
//!   change), so a ready workload causes no further events.
//! - No pods are made: the status is the workload's own.

use crate::app::App;
use crate::store::{Signal, WatchFrom, WriteOpts};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub const NEVER_READY: &str = "devcluster.hoist.dev/never-ready";
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "devcluster.hoist.dev/progress-deadline-exceeded";
pub const FAIL: &str = "devcluster.hoist.dev/fail";

/// The kinds played: (group, version, plural).
const KINDS: [(&str, &str, &str); 4] = [
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
    ("batch", "v1", "jobs"),
];

fn flag(obj: &Value, annotation: &str) -> bool {
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
        "statefulsets" => json!({
            "observedGeneration": generation,
            "replicas": replicas,
            "readyReplicas": ready,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": ready,
            "currentRevision": format!("{}-{generation}", name(obj)),
            "updateRevision": format!("{}-{generation}", name(obj)),
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

fn name(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `desired` with each condition's times taken from `current` where that condition's
/// status and reason did not change (a controller does not touch them then).
fn keep_condition_times(current: Option<&Value>, mut desired: Value) -> Value {
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

/// Plays every workload kind until `stop`: each object that needs a status gets it
/// `delay` after the change that made it need one.
pub async fn run(app: Arc<App>, delay: Duration, stop: watch::Receiver<bool>) {
    let loops = KINDS.map(|(group, version, plural)| {
        let (app, mut stop) = (app.clone(), stop.clone());
        async move {
            tokio::select! {
                () = play(app, group, version, plural, delay) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }
    });
    futures::future::join_all(loops).await;
}

async fn play(app: Arc<App>, group: &str, version: &str, plural: &str, delay: Duration) {
    let Some(rt) = app
        .store
        .lock()
        .registry
        .get(group, version, plural)
        .cloned()
    else {
        return;
    };
    let subscribed = app.store.lock().watch(&rt, WatchFrom::Current);
    let Ok(mut sub) = subscribed else { return };
    let mut pending = Vec::new();
    for obj in std::mem::take(&mut sub.initial) {
        pending.push(obj);
    }
    loop {
        for obj in pending.drain(..) {
            if status_for(plural, &obj, &crate::meta::now()).is_some() {
                let (app, rt) = (app.clone(), rt.clone());
                let (ns, name) = (
                    crate::meta::namespace(&obj).to_string(),
                    crate::meta::name(&obj).to_string(),
                );
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let plural = rt.plural.clone();
                    let _ = app.store.write(|s| {
                        let current = s.get(&rt, &ns, &name)?;
                        let Some(status) = status_for(&plural, &current, &crate::meta::now())
                        else {
                            return Ok(current);
                        };
                        let mut next = (*current).clone();
                        next["status"] = status;
                        let opts = WriteOpts {
                            status: true,
                            create_missing: false,
                        };
                        s.update(&rt, &ns, &name, next, opts)
                    });
                });
            }
        }
        match sub.rx.recv().await {
            Ok(Signal::Change(c)) if c.event.as_str() != "DELETED" => {
                pending.push(c.object.clone());
            }
            Ok(_) => {}
            // Fell behind: look at every object again.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                pending.extend(app.store.lock().objects_of(&rt.store_key()));
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
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
