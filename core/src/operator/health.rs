//! How healthy one applied object is, by the rules of kstatus (`sigs.k8s.io/cli-utils`
//! `pkg/kstatus/status`), which Flux, Argo CD's gitops-engine and `kubectl wait`-style
//! tools share, so Hoist's "Ready" means what theirs means.
//!
//! Guarantees: pure over the object's JSON; every rule reads only fields the API server
//! or the kind's controller writes; a kind without a rule is judged by its `Ready`
//! condition, and without one is Current (a ConfigMap is healthy once it exists).
//!
//! Caveat: a generation the controller has not observed yet is InProgress, never
//! Current, so a just-changed Deployment is not reported ready from its old status.

use serde_json::Value;

/// kstatus' verdicts, in increasing order of how much they hold a package back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Reconciled and healthy.
    Current,
    /// Being deleted.
    Terminating,
    /// Not there yet: its controller is still working, or has not observed it.
    InProgress,
    /// Its controller gave up (a deadline exceeded, a Job failed, a CRD refused).
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "Current",
            Self::Terminating => "Terminating",
            Self::InProgress => "InProgress",
            Self::Failed => "Failed",
        }
    }
}

/// A verdict and the words that explain it (`Ready: 1/3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub status: Status,
    pub message: String,
}

impl Health {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    fn current(message: impl Into<String>) -> Self {
        Self::new(Status::Current, message)
    }
    fn in_progress(message: impl Into<String>) -> Self {
        Self::new(Status::InProgress, message)
    }
    fn failed(message: impl Into<String>) -> Self {
        Self::new(Status::Failed, message)
    }
}

/// The health of one object, given its `apiVersion`'s group and its kind.
pub fn compute(obj: &Value) -> Health {
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return Health::new(Status::Terminating, "being deleted");
    }
    let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = obj
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    if let (Some(g), Some(o)) = (generation, observed)
        && o != g
    {
        return Health::in_progress(format!(
            "generation {g} not yet observed (status is for {o})"
        ));
    }
    if let Some(c) = condition(obj, "Reconciling")
        && c.status == "True"
    {
        return Health::in_progress(c.describe("Reconciling"));
    }
    if let Some(c) = condition(obj, "Stalled")
        && c.status == "True"
    {
        return Health::failed(c.describe("Stalled"));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    match (group, kind) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("apps", "ReplicaSet") => replica_set(obj),
        ("batch", "Job") => job(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(obj),
        ("", "PersistentVolumeClaim") => pvc(obj),
        ("", "Service") => service(obj),
        ("", "Pod") => pod(obj),
        ("", "Namespace") => namespace(obj),
        ("helm.toolkit.fluxcd.io", "HelmRelease") => helm_release(obj),
        _ => generic(obj),
    }
}

/// Flux's HelmRelease: Current only once helm-controller says `Ready=True` for this
/// generation (a release Flux has not looked at yet is not healthy, as the generic rule
/// would have it); `Ready=False` without `Reconciling` (caught above) is a failure Flux
/// is not retrying; Glasskube's "has not been reconciled" message is progress.
fn helm_release(obj: &Value) -> Health {
    if int(obj, "/status/observedGeneration").is_none() {
        return Health::in_progress("HelmRelease not yet reconciled by Flux's helm-controller");
    }
    match condition(obj, "Ready") {
        Some(c) if c.status == "True" => Health::current(c.describe("Ready")),
        Some(c)
            if c.status == "False"
                && !c
                    .message
                    .contains("latest generation of object has not been reconciled") =>
        {
            Health::failed(c.describe("Ready"))
        }
        Some(c) => Health::in_progress(c.describe("Ready")),
        None => Health::in_progress("HelmRelease has no Ready condition yet"),
    }
}

/// The worst of several verdicts (a package is as healthy as its least healthy object);
/// Current when there are none.
pub fn worst<'a>(all: impl IntoIterator<Item = &'a Health>) -> Option<&'a Health> {
    all.into_iter().max_by_key(|h| h.status)
}

struct Condition<'a> {
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

impl Condition<'_> {
    fn describe(&self, type_: &str) -> String {
        match (self.reason.is_empty(), self.message.is_empty()) {
            (_, false) => self.message.to_string(),
            (false, true) => format!("{type_}: {}", self.reason),
            (true, true) => type_.to_string(),
        }
    }
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<Condition<'a>> {
    let c = obj
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))?;
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
    Some(Condition {
        status: s("status"),
        reason: s("reason"),
        message: s("message"),
    })
}

fn int(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// `spec.replicas`, which defaults to 1.
fn spec_replicas(obj: &Value) -> i64 {
    int(obj, "/spec/replicas").unwrap_or(1)
}

fn deployment(obj: &Value) -> Health {
    if obj.get("status").is_none() || int(obj, "/status/observedGeneration").is_none() {
        return Health::in_progress("Deployment not yet observed by its controller");
    }
    let spec = spec_replicas(obj);
    let st = |f: &str| int(obj, &format!("/status/{f}")).unwrap_or(0);
    let (replicas, updated, ready, available) = (
        st("replicas"),
        st("updatedReplicas"),
        st("readyReplicas"),
        st("availableReplicas"),
    );
    let mut progressing = false;
    if let Some(c) = condition(obj, "Progressing") {
        if c.reason == "ProgressDeadlineExceeded" {
            return Health::failed(format!(
                "Progress deadline exceeded: {}",
                c.describe("Progressing")
            ));
        }
        progressing = c.status == "True" && c.reason == "NewReplicaSetAvailable";
    }
    let available_condition = condition(obj, "Available").is_some_and(|c| c.status == "True");
    if spec > replicas {
        return Health::in_progress(format!("Replicas: {replicas}/{spec}"));
    }
    if spec > updated {
        return Health::in_progress(format!("Updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return Health::in_progress(format!("Pending termination: {}", replicas - spec));
    }
    if updated > available {
        return Health::in_progress(format!("Available: {available}/{updated}"));
    }
    if spec > ready {
        return Health::in_progress(format!("Ready: {ready}/{spec}"));
    }
    if !progressing {
        return Health::in_progress("ReplicaSet not Available");
    }
    if !available_condition {
        return Health::in_progress("Deployment not Available");
    }
    Health::current(format!("Deployment is available. Replicas: {replicas}"))
}

fn stateful_set(obj: &Value) -> Health {
    if obj
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        == Some("OnDelete")
    {
        return Health::current("StatefulSet updates pods on delete");
    }
    if int(obj, "/status/observedGeneration").is_none() {
        return Health::in_progress("StatefulSet not yet observed by its controller");
    }
    let spec = spec_replicas(obj);
    let st = |f: &str| int(obj, &format!("/status/{f}")).unwrap_or(0);
    if spec > st("replicas") {
        return Health::in_progress(format!("Replicas: {}/{spec}", st("replicas")));
    }
    if spec > st("readyReplicas") {
        return Health::in_progress(format!("Ready: {}/{spec}", st("readyReplicas")));
    }
    if let Some(partition) = int(obj, "/spec/updateStrategy/rollingUpdate/partition") {
        let want = (spec - partition).max(0);
        if st("updatedReplicas") < want {
            return Health::in_progress(format!(
                "Partitioned roll out: {}/{want}",
                st("updatedReplicas")
            ));
        }
        return Health::current("Partitioned roll out complete");
    }
    if spec > st("currentReplicas") {
        return Health::in_progress(format!("Current: {}/{spec}", st("currentReplicas")));
    }
    let revision = |f: &str| obj.pointer(&format!("/status/{f}")).and_then(Value::as_str);
    if revision("currentRevision") != revision("updateRevision") {
        return Health::in_progress("Waiting for the update revision to roll out");
    }
    Health::current(format!(
        "All replicas scheduled as expected. Replicas: {spec}"
    ))
}

fn daemon_set(obj: &Value) -> Health {
    if int(obj, "/status/observedGeneration").is_none() {
        return Health::in_progress("DaemonSet not yet observed by its controller");
    }
    let st = |f: &str| int(obj, &format!("/status/{f}")).unwrap_or(0);
    let desired = st("desiredNumberScheduled");
    for (field, label) in [
        ("currentNumberScheduled", "Current"),
        ("updatedNumberScheduled", "Updated"),
        ("numberAvailable", "Available"),
        ("numberReady", "Ready"),
    ] {
        if desired > st(field) {
            return Health::in_progress(format!("{label}: {}/{desired}", st(field)));
        }
    }
    Health::current(format!(
        "All replicas scheduled as expected. Replicas: {desired}"
    ))
}

fn replica_set(obj: &Value) -> Health {
    let spec = spec_replicas(obj);
    let st = |f: &str| int(obj, &format!("/status/{f}")).unwrap_or(0);
    for (field, label) in [
        ("labeledReplicas", "Labelled"),
        ("availableReplicas", "Available"),
        ("readyReplicas", "Ready"),
    ] {
        if spec > st(field) {
            return Health::in_progress(format!("{label}: {}/{spec}", st(field)));
        }
    }
    Health::current(format!("ReplicaSet is available. Replicas: {spec}"))
}

fn job(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "Failed")
        && c.status == "True"
    {
        return Health::failed(format!("Job failed: {}", c.describe("Failed")));
    }
    if let Some(c) = condition(obj, "Complete")
        && c.status == "True"
    {
        return Health::current("Job completed");
    }
    if obj.pointer("/status/startTime").is_none() {
        return Health::in_progress("Job not started");
    }
    Health::current("Job in progress")
}

fn crd(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "NamesAccepted")
        && c.status == "False"
    {
        return Health::failed(c.describe("NamesAccepted"));
    }
    match condition(obj, "Established") {
        Some(c) if c.status == "True" => Health::current("CRD is established"),
        Some(c) if c.status == "False" && c.reason != "Installing" => {
            Health::failed(c.describe("Established"))
        }
        _ => Health::in_progress("CRD is not yet established"),
    }
}

fn pvc(obj: &Value) -> Health {
    match obj.pointer("/status/phase").and_then(Value::as_str) {
        Some("Bound") => Health::current("PVC is Bound"),
        phase => Health::in_progress(format!(
            "PVC is not Bound: phase {}",
            phase.unwrap_or("unset")
        )),
    }
}

fn service(obj: &Value) -> Health {
    let load_balancer = obj.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
    let has_ip = obj
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .is_some_and(|ip| !ip.is_empty());
    if load_balancer && !has_ip {
        return Health::in_progress("ClusterIP not set");
    }
    Health::current("Service is ready")
}

fn pod(obj: &Value) -> Health {
    match obj.pointer("/status/phase").and_then(Value::as_str) {
        Some("Succeeded") => Health::current("Pod has completed successfully"),
        Some("Failed") => Health::failed("Pod has completed, but not successfully"),
        Some("Running") if condition(obj, "Ready").is_some_and(|c| c.status == "True") => {
            Health::current("Pod is Ready")
        }
        _ => Health::in_progress("Pod is not Ready"),
    }
}

fn namespace(obj: &Value) -> Health {
    match obj.pointer("/status/phase").and_then(Value::as_str) {
        Some("Terminating") => Health::new(Status::Terminating, "Namespace is terminating"),
        _ => Health::current("Namespace is active"),
    }
}

fn generic(obj: &Value) -> Health {
    match condition(obj, "Ready") {
        Some(c) if c.status == "True" => Health::current(c.describe("Ready")),
        Some(c) if c.status == "False" || c.status == "Unknown" => {
            Health::in_progress(c.describe("Ready"))
        }
        _ => Health::current("Resource is current"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_helm_release_is_current_only_when_flux_says_ready_for_its_generation() {
        let release = |generation: i64, status: Value| {
            compute(
                &json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                "metadata": {"name": "web", "generation": generation}, "status": status}),
            )
            .status
        };
        assert_eq!(release(1, json!({})), Status::InProgress);
        let ready = json!({"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "True", "reason": "InstallSucceeded", "message": "Helm install succeeded"}]});
        assert_eq!(release(1, ready.clone()), Status::Current);
        assert_eq!(
            release(2, ready),
            Status::InProgress,
            "an old generation's Ready"
        );
        let retrying = json!({"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "False", "reason": "InstallFailed", "message": "boom"},
            {"type": "Reconciling", "status": "True", "reason": "Progressing", "message": "retrying"}]});
        assert_eq!(release(1, retrying), Status::InProgress);
        let failed = json!({"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "False", "reason": "InstallFailed", "message": "image pull failed"}]});
        assert_eq!(release(1, failed), Status::Failed);
        let stale = json!({"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "False", "reason": "Progressing", "message": "latest generation of object has not been reconciled"}]});
        assert_eq!(release(1, stale), Status::InProgress);
    }
    use serde_json::json;

    fn deployment_with(status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "generation": 2},
               "spec": {"replicas": 2}, "status": status})
    }

    fn available(replicas: i64) -> Value {
        json!({"observedGeneration": 2, "replicas": replicas, "updatedReplicas": replicas,
               "readyReplicas": replicas, "availableReplicas": replicas,
               "conditions": [
                   {"type": "Available", "status": "True"},
                   {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]})
    }

    #[test]
    fn deployments_are_current_only_when_every_count_and_condition_agrees() {
        let cases = [
            (available(2), Status::Current, "available"),
            (json!({}), Status::InProgress, "not observed"),
            (
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
                Status::InProgress,
                "an old generation's status",
            ),
            (
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 2,
                       "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}),
                Status::InProgress,
                "one not ready",
            ),
            (
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                       "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "took too long"}]}),
                Status::Failed,
                "deadline exceeded",
            ),
            (
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3}),
                Status::InProgress,
                "one too many",
            ),
        ];
        for (status, want, why) in cases {
            let h = compute(&deployment_with(status));
            assert_eq!(h.status, want, "{why}: {h:?}");
        }
    }

    #[test]
    fn jobs_crds_and_claims_follow_their_controllers_conditions() {
        let job = |conds: Value, started: bool| {
            let mut j = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                               "status": {"conditions": conds}});
            if started {
                j["status"]["startTime"] = json!("2026-01-01T00:00:00Z");
            }
            compute(&j).status
        };
        assert_eq!(
            job(json!([{"type": "Complete", "status": "True"}]), true),
            Status::Current
        );
        assert_eq!(
            job(json!([{"type": "Failed", "status": "True"}]), true),
            Status::Failed
        );
        assert_eq!(job(json!([]), false), Status::InProgress);
        let crd = |conds: Value| {
            compute(
                &json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                            "metadata": {"name": "a.b"}, "status": {"conditions": conds}}),
            )
            .status
        };
        assert_eq!(
            crd(json!([{"type": "Established", "status": "True"}])),
            Status::Current
        );
        assert_eq!(crd(json!([])), Status::InProgress);
        assert_eq!(
            crd(json!([{"type": "NamesAccepted", "status": "False", "reason": "Conflict"}])),
            Status::Failed
        );
        let pvc = |phase: &str| {
            compute(&json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p"},
                            "status": {"phase": phase}}))
            .status
        };
        assert_eq!(pvc("Bound"), Status::Current);
        assert_eq!(pvc("Pending"), Status::InProgress);
    }

    #[test]
    fn kinds_without_a_rule_are_read_from_ready_and_the_generic_conditions() {
        let obj = |status: Value| {
            compute(&json!({"apiVersion": "example.com/v1", "kind": "Thing",
                            "metadata": {"name": "t", "generation": 3}, "status": status}))
            .status
        };
        assert_eq!(obj(json!({})), Status::Current);
        assert_eq!(
            obj(json!({"conditions": [{"type": "Ready", "status": "False"}]})),
            Status::InProgress
        );
        assert_eq!(obj(json!({"observedGeneration": 2})), Status::InProgress);
        assert_eq!(
            obj(json!({"conditions": [{"type": "Stalled", "status": "True", "message": "bad"}]})),
            Status::Failed
        );
        assert_eq!(
            compute(&json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "c", "deletionTimestamp": "2026-01-01T00:00:00Z"}}))
            .status,
            Status::Terminating
        );
    }

    #[test]
    fn the_worst_verdict_wins() {
        let hs = [
            Health::current("a"),
            Health::failed("b"),
            Health::in_progress("c"),
        ];
        assert_eq!(worst(&hs).map(|h| h.status), Some(Status::Failed));
        assert_eq!(worst(&[]).map(|h| h.status), None);
    }
}
