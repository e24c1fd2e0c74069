//! The pods a workload's controller keeps (see [`super`] for what is guaranteed): who
//! they are ([`plan`]), what they look like ([`pod_for`]; their status is the
//! [`super::kubelet`]'s), and how they are written ([`apply`]).

use super::NEVER_READY;
use super::kubelet::{NODE_NAME, pod_ip, restatus, running_status};
use super::status::flag;
use crate::meta;
use crate::resources::StoreKey;
use crate::store::{Obj, State, WriteOpts};
use serde_json::{Map, Value, json};

/// The Deployment pods' template label.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The StatefulSet and DaemonSet pods' template label.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";
/// The longest `generateName` the API server keeps before adding 5 characters.
const MAX_GENERATED_NAME: usize = 58;
/// The characters of generated names and hashes (`k8s.io/apimachinery/pkg/util/rand`).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A kind whose controller makes pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl Controller {
    /// The controller of a resource (`deployments`); `None` for Jobs and the rest.
    pub fn of_plural(plural: &str) -> Option<Self> {
        match plural {
            "deployments" => Some(Self::Deployment),
            "statefulsets" => Some(Self::StatefulSet),
            "daemonsets" => Some(Self::DaemonSet),
            _ => None,
        }
    }

    /// The controller an owner reference names (`apps/v1`, `Deployment`).
    pub fn of_owner(api_version: &str, kind: &str) -> Option<Self> {
        if api_version != "apps/v1" {
            return None;
        }
        match kind {
            "Deployment" => Some(Self::Deployment),
            "StatefulSet" => Some(Self::StatefulSet),
            "DaemonSet" => Some(Self::DaemonSet),
            _ => None,
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Self::Deployment => "deployments",
            Self::StatefulSet => "statefulsets",
            Self::DaemonSet => "daemonsets",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
        }
    }

    /// The label that names the template a pod was made from, and its value for `obj`.
    fn template_label(self, obj: &Value) -> (&'static str, String) {
        match self {
            Self::Deployment => (POD_TEMPLATE_HASH, template_hash(obj)),
            Self::StatefulSet => (CONTROLLER_REVISION_HASH, revision(obj)),
            Self::DaemonSet => (CONTROLLER_REVISION_HASH, template_hash(obj)),
        }
    }
}

fn pods_key() -> StoreKey {
    StoreKey {
        group: String::new(),
        plural: "pods".into(),
    }
}

/// `spec.template`'s hash as the controllers name it: FNV-1a (32 bits) of the template
/// (devcluster hashes its JSON, keys sorted), its decimal digits spelled in
/// apimachinery's `rand` alphabet (`rand.SafeEncodeString`). A changed template has another hash.
pub fn template_hash(workload: &Value) -> String {
    let template = workload.pointer("/spec/template").unwrap_or(&Value::Null);
    let bytes = serde_json::to_vec(template).unwrap_or_default();
    let hash = bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// A StatefulSet's revision: `<name>-<template hash>` (its pods'
/// `controller-revision-hash`, its status' `updateRevision`).
pub fn revision(workload: &Value) -> String {
    format!("{}-{}", meta::name(workload), template_hash(workload))
}

/// `s` cut to `max` characters (names are ASCII; this never splits a character).
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// 5 random characters of that alphabet, as `generateName` adds.
fn random_suffix() -> String {
    uuid::Uuid::new_v4().as_bytes()[..5]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The `generateName` of a workload's pods: `<deploy>-<hash>-` (the ReplicaSet's name
/// and a dash), `<daemonset>-`, cut to 58 characters as the API server cuts it.
fn generate_name(c: Controller, workload: &Value) -> String {
    let base = match c {
        Controller::Deployment => format!("{}-{}-", meta::name(workload), template_hash(workload)),
        _ => format!("{}-", meta::name(workload)),
    };
    truncate(&base, MAX_GENERATED_NAME)
}

/// The pods `workload` controls: those in its namespace whose names start as its pods'
/// do and whose controller reference carries its uid.
pub fn owned(state: &State, workload: &Value) -> Vec<Obj> {
    let prefix = truncate(&format!("{}-", meta::name(workload)), MAX_GENERATED_NAME);
    let uid = meta::uid(workload);
    state
        .objects_with_prefix(&pods_key(), meta::namespace(workload), &prefix)
        .into_iter()
        .filter(|p| controller_ref(p).is_some_and(|r| r.uid == uid))
        .collect()
}

/// A pod's controller reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerRef {
    pub controller: Controller,
    pub name: String,
    pub uid: String,
}

/// The workload that controls `pod`, when one of the played kinds does.
pub fn controller_ref(pod: &Value) -> Option<ControllerRef> {
    let refs = pod.pointer("/metadata/ownerReferences")?.as_array()?;
    let r = refs
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))?;
    let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
    Some(ControllerRef {
        controller: Controller::of_owner(text("apiVersion"), text("kind"))?,
        name: text("name").to_string(),
        uid: text("uid").to_string(),
    })
}

/// What to change so that a workload has the pods its controller would keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Pods to delete: of an older template, beyond the count, or (StatefulSet) out of
    /// the ordinal range.
    pub delete: Vec<String>,
    /// Pods to make: a StatefulSet's by name, the others' `None` (a generated name).
    pub create: Vec<Option<String>>,
    /// Kept pods whose status is to be written again (readiness steered otherwise).
    pub restatus: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.create.is_empty() && self.restatus.is_empty()
    }
}

/// The most pods devcluster keeps for one workload (its status still counts
/// `spec.replicas`): a typo of a replica count must not stall the store.
pub const MAX_PODS: usize = 1000;

/// How many pods `workload` wants: `spec.replicas` (default 1) up to [`MAX_PODS`], one
/// for a DaemonSet (devcluster has one node).
fn wanted(c: Controller, workload: &Value) -> usize {
    match c {
        Controller::DaemonSet => 1,
        _ => workload
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .map_or(1, |n| usize::try_from(n).unwrap_or(MAX_PODS).min(MAX_PODS)),
    }
}

/// Whether `pod` is Running with its Ready condition at `ready`.
fn settled(pod: &Value, ready: bool) -> bool {
    let running = pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running");
    let is_ready = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        })
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True");
    running && is_ready == ready
}

/// What `c`'s controller would change of `pods` (the pods `workload` controls, in name
/// order, as [`owned`] finds them); an empty plan when they are what it keeps.
pub fn plan(c: Controller, workload: &Value, pods: &[Obj]) -> Plan {
    let mut plan = Plan::default();
    let count = wanted(c, workload);
    let ready = !flag(workload, NEVER_READY);
    let (label, value) = c.template_label(workload);
    let name = meta::name(workload);
    let mut kept: Vec<&Obj> = Vec::new();
    for pod in pods {
        if meta::is_deleting(pod) {
            continue;
        }
        let current = pod
            .pointer("/metadata/labels")
            .and_then(|l| l.get(label))
            .and_then(Value::as_str)
            == Some(value.as_str());
        let in_range = c != Controller::StatefulSet
            || meta::name(pod)
                .strip_prefix(&format!("{name}-"))
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(|i| i < count);
        if current && in_range {
            kept.push(pod);
        } else {
            plan.delete.push(meta::name(pod).to_string());
        }
    }
    if c == Controller::StatefulSet {
        for i in 0..count {
            let pod = format!("{name}-{i}");
            if !kept.iter().any(|p| meta::name(p) == pod) {
                plan.create.push(Some(pod));
            }
        }
    } else if kept.len() > count {
        // Scaling down: the last ones go (kube's ranking prefers unready, newer pods;
        // devcluster's are all alike).
        plan.delete.extend(
            kept.split_off(count)
                .iter()
                .map(|p| meta::name(p).to_string()),
        );
    } else {
        plan.create.extend((kept.len()..count).map(|_| None));
    }
    plan.restatus.extend(
        kept.iter()
            .filter(|p| !settled(p, ready))
            .map(|p| meta::name(p).to_string()),
    );
    plan
}

/// The pod `workload`'s controller would make, named `name`, at address `ip`.
pub fn pod_for(c: Controller, workload: &Value, name: &str, ip: &str, now: &str) -> Value {
    let template = workload.pointer("/spec/template").unwrap_or(&Value::Null);
    let object = |p: &str| {
        template
            .pointer(p)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let mut labels = object("/metadata/labels");
    let (label, value) = c.template_label(workload);
    labels.insert(label.into(), json!(value));
    let mut spec = object("/spec");
    spec.insert("nodeName".into(), json!(NODE_NAME));
    match c {
        Controller::StatefulSet => {
            let ordinal = name.rsplit('-').next().unwrap_or("0");
            labels.insert("statefulset.kubernetes.io/pod-name".into(), json!(name));
            labels.insert("apps.kubernetes.io/pod-index".into(), json!(ordinal));
            spec.insert("hostname".into(), json!(name));
            if let Some(service) = workload.pointer("/spec/serviceName") {
                spec.insert("subdomain".into(), service.clone());
            }
        }
        Controller::DaemonSet => {
            let generation = workload
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            labels.insert(
                "pod-template-generation".into(),
                json!(generation.to_string()),
            );
        }
        Controller::Deployment => {}
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    if c != Controller::StatefulSet {
        metadata.insert("generateName".into(), json!(generate_name(c, workload)));
    }
    metadata.insert("namespace".into(), json!(meta::namespace(workload)));
    metadata.insert("labels".into(), Value::Object(labels));
    let annotations = object("/metadata/annotations");
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    metadata.insert(
        "ownerReferences".into(),
        json!([{
            "apiVersion": "apps/v1",
            "kind": c.kind(),
            "name": meta::name(workload),
            "uid": meta::uid(workload),
            "controller": true,
            "blockOwnerDeletion": true,
        }]),
    );
    let spec = Value::Object(spec);
    let ready = !flag(workload, NEVER_READY);
    let status = running_status(&spec, ready, ip, now, now);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    })
}

/// Makes `plan` so: deletes, then creates, then rewrites statuses, each through the
/// store as a write of its own (one event each). A write the store refuses (a name
/// taken by a pod `workload` does not control, a namespace going away) is skipped: the
/// workload's next event looks again.
pub fn apply(state: &mut State, c: Controller, workload: &Value, plan: Plan, now: &str) {
    let Some(pods) = state.registry.get("", "v1", "pods").cloned() else {
        return;
    };
    let ns = meta::namespace(workload);
    for name in &plan.delete {
        if let Err(e) = state.delete(&pods, ns, name, &Value::Null) {
            tracing::debug!(pod = %name, error = %e, "cannot delete a workload's pod");
        }
    }
    for name in plan.create {
        let name = name.unwrap_or_else(|| {
            let base = generate_name(c, workload);
            // A taken name is drawn again, as the API server's generateName is retried.
            let mut name = format!("{base}{}", random_suffix());
            for _ in 0..8 {
                if state.get(&pods, ns, &name).is_err() {
                    break;
                }
                name = format!("{base}{}", random_suffix());
            }
            name
        });
        // The create is the next write: its resourceVersion numbers the address.
        let ip = pod_ip(state.resource_version() + 1);
        let pod = pod_for(c, workload, &name, &ip, now);
        if let Err(e) = state.create(&pods, ns, pod) {
            tracing::debug!(pod = %name, error = %e, "cannot create a workload's pod");
        }
    }
    let ready = !flag(workload, NEVER_READY);
    for name in &plan.restatus {
        let Ok(pod) = state.get(&pods, ns, name) else {
            continue;
        };
        let ip = pod_ip(state.resource_version() + 1);
        let mut next = (*pod).clone();
        next["status"] = restatus(&pod, ready, &ip, now);
        let opts = WriteOpts {
            status: true,
            create_missing: false,
        };
        if let Err(e) = state.update(&pods, ns, name, next, opts) {
            tracing::debug!(pod = %name, error = %e, "cannot write a pod's status");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn workload(kind: &str, replicas: u64, annotations: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 1,
                         "annotations": annotations},
            "spec": {
                "replicas": replicas,
                "template": {
                    "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1.27-alpine"}]},
                },
            },
        })
    }

    fn made(c: Controller, w: &Value, plan: &Plan) -> Vec<Obj> {
        plan.create
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let name = n.clone().unwrap_or_else(|| format!("web-x-{i}"));
                Arc::new(pod_for(c, w, &name, &pod_ip(i as u64), "t"))
            })
            .collect()
    }

    #[test]
    fn a_deployment_wants_its_replicas_then_nothing_until_its_template_changes() {
        let mut w = workload("Deployment", 2, json!({}));
        let c = Controller::Deployment;
        let first = plan(c, &w, &[]);
        assert_eq!((first.create.len(), first.delete.len()), (2, 0));
        let pods = made(c, &w, &first);
        assert!(plan(c, &w, &pods).is_empty(), "settled");
        let pod = &pods[0];
        assert_eq!(pod["metadata"]["labels"]["app"], "web");
        assert_eq!(
            pod["metadata"]["labels"][POD_TEMPLATE_HASH],
            template_hash(&w)
        );
        assert_eq!(pod["metadata"]["annotations"]["a"], "b");
        assert_eq!(pod["spec"]["nodeName"], NODE_NAME);
        let owner = &pod["metadata"]["ownerReferences"][0];
        assert_eq!(
            (&owner["kind"], &owner["uid"], &owner["controller"]),
            (&json!("Deployment"), &json!("u1"), &json!(true))
        );
        assert_eq!(
            controller_ref(pod).map(|r| r.controller),
            Some(Controller::Deployment)
        );

        w["spec"]["replicas"] = json!(3);
        let up = plan(c, &w, &pods);
        assert_eq!((up.create.len(), up.delete.len()), (1, 0));
        w["spec"]["replicas"] = json!(1);
        assert_eq!(plan(c, &w, &pods).delete, vec!["web-x-1".to_string()]);

        w["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        let rolled = plan(c, &w, &pods);
        assert_eq!(
            (rolled.create.len(), rolled.delete.len()),
            (1, 2),
            "a new template replaces every pod"
        );
    }

    #[test]
    fn statefulset_pods_are_numbered_and_replaced_by_name() {
        let c = Controller::StatefulSet;
        let mut w = workload("StatefulSet", 2, json!({}));
        let first = plan(c, &w, &[]);
        assert_eq!(
            first.create,
            vec![Some("web-0".to_string()), Some("web-1".to_string())]
        );
        let pods = made(c, &w, &first);
        assert_eq!(
            pods[1]["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
            "1"
        );
        assert_eq!(
            pods[1]["metadata"]["labels"][CONTROLLER_REVISION_HASH],
            revision(&w)
        );
        assert!(plan(c, &w, &pods).is_empty());
        w["spec"]["replicas"] = json!(1);
        assert_eq!(plan(c, &w, &pods).delete, vec!["web-1".to_string()]);
        w["spec"]["template"]["metadata"]["labels"]["v"] = json!("2");
        let rolled = plan(c, &w, &pods);
        assert_eq!(rolled.create, vec![Some("web-0".to_string())]);
        assert_eq!(rolled.delete.len(), 2);
    }

    #[test]
    fn a_huge_replica_count_makes_at_most_max_pods() {
        let w = workload("StatefulSet", u64::MAX, json!({}));
        assert_eq!(
            plan(Controller::StatefulSet, &w, &[]).create.len(),
            MAX_PODS
        );
    }

    #[test]
    fn never_ready_pods_run_unready_and_toggling_rewrites_their_status() {
        let c = Controller::DaemonSet;
        let mut w = workload("DaemonSet", 5, json!({NEVER_READY: "true"}));
        let first = plan(c, &w, &[]);
        assert_eq!(first.create.len(), 1, "one node, one pod");
        let pods = made(c, &w, &first);
        let status = &pods[0]["status"];
        assert_eq!(status["phase"], "Running");
        assert_eq!(status["containerStatuses"][0]["ready"], false);
        assert_eq!(status["containerStatuses"][0]["started"], true);
        assert_eq!(status["conditions"][2]["type"], "Ready");
        assert_eq!(status["conditions"][2]["status"], "False");
        assert!(plan(c, &w, &pods).is_empty());
        w["metadata"]["annotations"] = json!({});
        let p = plan(c, &w, &pods);
        assert_eq!(p.restatus.len(), 1);
        let again = restatus(&pods[0], true, "10.9.9.9", "t2");
        assert_eq!(
            again["podIP"], pods[0]["status"]["podIP"],
            "its address is kept"
        );
        assert_eq!(again["conditions"][2]["status"], "True");
        assert_eq!(
            again["conditions"][0]["lastTransitionTime"], "t",
            "an unchanged condition keeps its time"
        );
    }

    #[test]
    fn names_hashes_and_addresses_look_like_the_controllers() {
        let w = workload("Deployment", 1, json!({}));
        let hash = template_hash(&w);
        assert!(
            hash.bytes().all(|b| ALPHABET.contains(&b)) && !hash.is_empty(),
            "{hash}"
        );
        assert_eq!(hash, template_hash(&w.clone()), "stable");
        assert_eq!(
            generate_name(Controller::Deployment, &w),
            format!("web-{hash}-")
        );
        let mut long = w.clone();
        long["metadata"]["name"] = json!("a".repeat(80));
        assert_eq!(generate_name(Controller::DaemonSet, &long).len(), 58);
        assert_eq!(random_suffix().len(), 5);
    }
}
