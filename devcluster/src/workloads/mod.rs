//! devcluster plays the workload controllers and the kubelet, as kwok does for real
//! clusters: a Deployment, StatefulSet or DaemonSet gets the pods its controller would
//! make, Running, and the status its controller would write once they were up; a Job
//! completes; each after a short delay. A new generation (scaling, a changed pod
//! template) rolls the same way. So `kubectl rollout status`, `kubectl get pods`,
//! kube-rs' `await_condition` and the operator's health checks see workloads become
//! ready, and can be shown ones that never do.
//!
//! # Pods
//! - A Deployment has `spec.replicas` (default 1) pods named
//!   `<deployment>-<pod-template-hash>-<5 random characters>`, labelled
//!   `pod-template-hash`; a StatefulSet's are `<statefulset>-0` to `-N-1`, labelled
//!   `controller-revision-hash` (its status' `updateRevision`),
//!   `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index`; a
//!   DaemonSet has one (devcluster is one node), `<daemonset>-<5 random characters>`,
//!   labelled `controller-revision-hash` and `pod-template-generation`. Jobs make none:
//!   a Job's status is its own.
//! - Each pod has the template's labels and annotations (and the label above), its
//!   `spec` with `nodeName: devcluster`, and a controller owner reference to the
//!   workload (`controller` and `blockOwnerDeletion` true). Caveat: a real Deployment
//!   owns its pods through a ReplicaSet; devcluster makes no ReplicaSet and the pods
//!   name the Deployment as their owner.
//! - A pod is made `Running` straight away (no `Pending`): scheduled, initialized,
//!   every container started (init containers completed), an address in 10.244.0.0/14
//!   (see [`kubelet::pod_ip`]), host `172.18.0.2`, and Ready unless the workload is
//!   steered never-ready (then Running with `Ready` and `ContainersReady` False, its
//!   containers started but not ready).
//! - At most [`pods::MAX_PODS`] pods per workload (its status still counts
//!   `spec.replicas`).
//! - A new pod template replaces the pods (the old ones deleted, new ones made, in the
//!   same write: there is no surge or `maxUnavailable`); scaling adds or removes pods; a
//!   pod deleted by anyone is made again; a deleted workload's pods go with it (the
//!   store's garbage collection of owned objects).
//! - A Pod that no controller made and that has no `status.phase` (`kubectl run`, a
//!   bare manifest) is made Running too, ready unless it carries the never-ready
//!   annotation.
//!
//! # Steering one object (annotations)
//! - `devcluster.hoist.dev/never-ready: "true"`: observed, but no replica ever ready
//!   (Deployment `Available=False`; pods unready); a Job never finishes.
//! - `devcluster.hoist.dev/progress-deadline-exceeded: "true"`: a Deployment's
//!   `Progressing=False` with reason `ProgressDeadlineExceeded`.
//! - `devcluster.hoist.dev/fail: "true"`: a Job's `Failed=True` (`BackoffLimitExceeded`).
//!
//! # Guarantees
//! - Everything is written through the store as a controller writes it, one write under
//!   the store's lock per workload: the pods first, then the workload's status through
//!   the `/status` subresource with the object's resourceVersion. A concurrent change
//!   wins, and the next event is looked at again.
//! - Written only when it differs (condition times kept when a condition does not
//!   change), so a settled workload causes no further events.
//! - Cheap: a workload's pods are found by a range of the pods' name index, not a scan;
//!   no timer runs per object beyond the one delay after a change that needs work.

pub mod kubelet;
pub mod pods;
pub mod status;

pub use status::status_for;

use crate::app::App;
use crate::resources::ResourceType;
use crate::store::{Signal, State, WatchFrom, WriteOpts};
use crate::{error::ApiError, meta};
use pods::Controller;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

pub const NEVER_READY: &str = "devcluster.hoist.dev/never-ready";
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "devcluster.hoist.dev/progress-deadline-exceeded";
pub const FAIL: &str = "devcluster.hoist.dev/fail";

/// The kinds played: (group, version, plural).
static KINDS: [(&str, &str, &str); 4] = [
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
    ("batch", "v1", "jobs"),
];

/// Plays every workload kind, and the pods, until `stop`: each object that needs work
/// gets it `delay` after the change that made it need it.
pub async fn run(app: Arc<App>, delay: Duration, stop: watch::Receiver<bool>) {
    let mut loops: Vec<futures::future::BoxFuture<'static, ()>> = KINDS
        .iter()
        .map(|(group, version, plural)| {
            let app = app.clone();
            Box::pin(play(app, group, version, plural, delay)) as _
        })
        .collect();
    loops.push(Box::pin(play_pods(app.clone(), delay)));
    let mut stop = stop;
    tokio::select! {
        _ = futures::future::join_all(loops) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}

fn kind(app: &App, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
    app.store
        .lock()
        .registry
        .get(group, version, plural)
        .cloned()
}

/// Whether `obj` (of `plural`) needs its status or its pods written.
fn needs_work(state: &State, plural: &str, obj: &Value) -> bool {
    if status_for(plural, obj, &meta::now()).is_some() {
        return true;
    }
    match Controller::of_plural(plural) {
        Some(c) if !meta::is_deleting(obj) => {
            !pods::plan(c, obj, &pods::owned(state, obj)).is_empty()
        }
        _ => false,
    }
}

/// Brings `ns/name` of `rt` to what its controller keeps, `delay` from now.
fn schedule(app: &Arc<App>, rt: &ResourceType, ns: &str, name: &str, delay: Duration) {
    let (app, rt) = (app.clone(), rt.clone());
    let (ns, name) = (ns.to_string(), name.to_string());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _ = app.store.write(|s| reconcile(s, &rt, &ns, &name));
    });
}

/// One workload's pods, then its status, as they are to be now.
fn reconcile(s: &mut State, rt: &ResourceType, ns: &str, name: &str) -> Result<(), ApiError> {
    let now = meta::now();
    let current = s.get(rt, ns, name)?;
    if let Some(c) = Controller::of_plural(&rt.plural)
        && !meta::is_deleting(&current)
    {
        let plan = pods::plan(c, &current, &pods::owned(s, &current));
        if !plan.is_empty() {
            pods::apply(s, c, &current, plan, &now);
        }
    }
    let Some(status) = status_for(&rt.plural, &current, &now) else {
        return Ok(());
    };
    let mut next = (*current).clone();
    next["status"] = status;
    let opts = WriteOpts {
        status: true,
        create_missing: false,
    };
    s.update(rt, ns, name, next, opts).map(|_| ())
}

/// Looks at `obj` of `rt` and schedules the work it needs, if any.
fn consider(app: &Arc<App>, rt: &ResourceType, obj: &Value, delay: Duration) {
    let needed = needs_work(&app.store.lock(), &rt.plural, obj);
    if needed {
        schedule(app, rt, meta::namespace(obj), meta::name(obj), delay);
    }
}

async fn play(app: Arc<App>, group: &str, version: &str, plural: &str, delay: Duration) {
    let Some(rt) = kind(&app, group, version, plural) else {
        return;
    };
    let subscribed = app.store.lock().watch(&rt, WatchFrom::Current);
    let Ok(mut sub) = subscribed else { return };
    for obj in std::mem::take(&mut sub.initial) {
        consider(&app, &rt, &obj, delay);
    }
    loop {
        match sub.rx.recv().await {
            Ok(Signal::Change(c)) if c.event.as_str() != "DELETED" => {
                consider(&app, &rt, &c.object, delay);
            }
            Ok(_) => {}
            // Fell behind: look at every object again.
            Err(RecvError::Lagged(_)) => {
                let all = app.store.lock().objects_of(&rt.store_key());
                for obj in all {
                    consider(&app, &rt, &obj, delay);
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// The kubelet's part: a bare pod without a phase is started; a deleted pod of a
/// workload has its workload looked at again (to make it anew).
async fn play_pods(app: Arc<App>, delay: Duration) {
    let Some(rt) = kind(&app, "", "v1", "pods") else {
        return;
    };
    let subscribed = app.store.lock().watch(&rt, WatchFrom::Current);
    let Ok(mut sub) = subscribed else { return };
    for pod in std::mem::take(&mut sub.initial) {
        start_if_bare(&app, &rt, &pod, delay);
    }
    loop {
        match sub.rx.recv().await {
            Ok(Signal::Change(c)) if c.event.as_str() == "DELETED" => {
                owner_again(&app, &c.object, delay);
            }
            Ok(Signal::Change(c)) => start_if_bare(&app, &rt, &c.object, delay),
            Ok(Signal::Progress(_)) => {}
            Err(RecvError::Lagged(_)) => {
                let all = app.store.lock().objects_of(&rt.store_key());
                for pod in all {
                    start_if_bare(&app, &rt, &pod, delay);
                }
                for (group, version, plural) in &KINDS[..3] {
                    let Some(wrt) = kind(&app, group, version, plural) else {
                        continue;
                    };
                    let all = app.store.lock().objects_of(&wrt.store_key());
                    for obj in all {
                        consider(&app, &wrt, &obj, delay);
                    }
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// A pod is bare and waiting: no phase, not being deleted.
fn waiting(pod: &Value) -> bool {
    pod.pointer("/status/phase").is_none() && !meta::is_deleting(pod)
}

fn start_if_bare(app: &Arc<App>, rt: &ResourceType, pod: &Value, delay: Duration) {
    if !waiting(pod) {
        return;
    }
    let (app, rt) = (app.clone(), rt.clone());
    let (ns, name) = (
        meta::namespace(pod).to_string(),
        meta::name(pod).to_string(),
    );
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _ = app.store.write(|s| {
            let current = s.get(&rt, &ns, &name)?;
            if !waiting(&current) {
                return Ok(());
            }
            let ready = !status::flag(&current, NEVER_READY);
            let ip = kubelet::pod_ip(s.resource_version() + 1);
            let mut next = (*current).clone();
            next["status"] = kubelet::restatus(&current, ready, &ip, &meta::now());
            let opts = WriteOpts {
                status: true,
                create_missing: false,
            };
            s.update(&rt, &ns, &name, next, opts).map(|_| ())
        });
    });
}

/// A workload's pod went: its workload (if it is still the same one) is looked at.
fn owner_again(app: &Arc<App>, pod: &Value, delay: Duration) {
    let Some(owner) = pods::controller_ref(pod) else {
        return;
    };
    let Some(rt) = kind(app, "apps", "v1", owner.controller.plural()) else {
        return;
    };
    let found = app.store.lock().get(&rt, meta::namespace(pod), &owner.name);
    if let Ok(obj) = found
        && meta::uid(&obj) == owner.uid
    {
        consider(app, &rt, &obj, delay);
    }
}
