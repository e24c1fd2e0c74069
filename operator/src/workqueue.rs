//! client-go's work-queue metrics (`k8s.io/client-go/util/workqueue`, `metrics.go`)
//! for kube-runtime's Controller, whose scheduler is private: derived from what the
//! operator owns, the trigger streams feeding each controller, the pass's entry and
//! exit, and the next look each pass asks for. One [`Queue`] per controller, labelled
//! `name=<controller>` (`clusterpackage`, `package`); with the kind's [`Limiter`] it
//! makes a [`Lane`], where every pass starts ([`Lane::start`]).
//!
//! How each is derived (an object is *waiting* from its trigger until its pass starts,
//! one entry per object: kube's scheduler runs an object once however often it is
//! triggered, and so does client-go's queue):
//! - `workqueue_adds_total`: a trigger of an object not already waiting (the package
//!   watch's intent changes, the applied objects' and dependents' triggers, the
//!   relist), and each next look a pass asked for, once it is due.
//! - `workqueue_depth`: objects waiting whose trigger is due, including those the
//!   Controller has handed to a pass still waiting for a [`Limiter`] permit.
//! - `workqueue_queue_duration_seconds`: from the first trigger (or the due time of a
//!   next look) to the permit.
//! - `workqueue_work_duration_seconds`: from the permit to the pass's end.
//! - `workqueue_unfinished_work_seconds`, `workqueue_longest_running_processor_seconds`:
//!   the sum and the longest of the running passes' time so far, at each scrape.
//! - `workqueue_retries_total`: passes that failed and come back after a backoff (a
//!   transient failure the pass handled, or an error the controller's error policy
//!   requeues): client-go's `AddRateLimited`. A progress recheck or the resync is a
//!   next look (`AddAfter`), not a retry.
//!
//! Guarantees: each metric moves only as its derivation says; an object triggered
//! while its pass runs waits again (it is counted in the depth, as client-go counts
//! a dirty item being processed); a trigger of an object that is gone (kube drops it
//! when the store has no such object) leaves the depth at the next scrape.
//!
//! Caveats (where this differs from client-go):
//! - Depth and the running times are computed at each scrape, not kept up to date
//!   (client-go updates the unfinished work every 500 ms).
//! - A next look is counted as an add when due, seen at the next scrape or when its
//!   pass starts, whichever is first; its due time is the pass's end plus the delay,
//!   as kube schedules it (kube's own scheduler may run it a little later).
//! - kube's Controller may hold a trigger back while the object's pass runs (it runs
//!   the object again after); here that object is waiting from the trigger on, as in
//!   client-go.

use crate::limiter::{Limiter, Permit};
use crate::metrics::{Metrics, QueueName, Sampled};
use crate::package::Installable;
use hoist_kube::types::{ClusterPackage, Package};
use kube::runtime::reflector::{ObjectRef, Store};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// One controller's work queue, as its metrics see it (see the module doc).
pub struct Queue<K: Installable> {
    store: Store<K>,
    state: Mutex<State<K>>,
    adds: Counter,
    retries: Counter,
    depth: Gauge,
    queue_duration: Histogram,
    work_duration: Histogram,
    unfinished: Gauge<f64, AtomicU64>,
    longest: Gauge<f64, AtomicU64>,
}

struct State<K: Installable> {
    waiting: HashMap<ObjectRef<K>, Waiting>,
    running: HashMap<ObjectRef<K>, Running>,
}

struct Waiting {
    /// Since when (a next look: from when it is due).
    since: Instant,
    /// Whether its add was counted (a next look is counted once due).
    counted: bool,
}

struct Running {
    started: Instant,
    /// The next look the pass asked for, and whether it is a retry.
    next: Option<(Duration, bool)>,
}

impl<K: Installable> Queue<K> {
    /// The queue of the controller `name` over `store`, counting into `metrics`.
    pub fn new(name: &'static str, store: Store<K>, metrics: &Metrics) -> Self {
        let q = &metrics.workqueue;
        let label = QueueName { name };
        Self {
            store,
            state: Mutex::new(State {
                waiting: HashMap::new(),
                running: HashMap::new(),
            }),
            adds: q.adds.get_or_create(&label).clone(),
            retries: q.retries.get_or_create(&label).clone(),
            depth: q.depth.get_or_create(&label).clone(),
            queue_duration: q.queue_duration.get_or_create(&label).clone(),
            work_duration: q.work_duration.get_or_create(&label).clone(),
            unfinished: q.unfinished.get_or_create(&label).clone(),
            longest: q.longest.get_or_create(&label).clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A trigger of `obj` reached the controller.
    pub fn added(&self, obj: ObjectRef<K>) {
        self.added_at(obj, Instant::now());
    }

    fn added_at(&self, obj: ObjectRef<K>, now: Instant) {
        let mut s = self.lock();
        let w = s.waiting.entry(obj).or_insert(Waiting {
            since: now,
            counted: false,
        });
        // A next look not due yet is brought forward by the trigger.
        w.since = w.since.min(now);
        if !w.counted {
            w.counted = true;
            self.adds.inc();
        }
    }

    fn started_at(&self, obj: &ObjectRef<K>, now: Instant) {
        let mut s = self.lock();
        let waited = match s.waiting.remove(obj) {
            Some(w) => {
                if !w.counted {
                    self.adds.inc();
                }
                now.saturating_duration_since(w.since)
            }
            // Nothing seen (kube ran it for a reason not derived here): no time queued.
            None => {
                self.adds.inc();
                Duration::ZERO
            }
        };
        self.queue_duration.observe(waited.as_secs_f64());
        s.running.insert(
            obj.clone(),
            Running {
                started: now,
                next: None,
            },
        );
    }

    /// The running pass over `obj` asks to be looked at again `after` its end (`retry`:
    /// after a failure's backoff).
    pub fn next_look(&self, obj: &ObjectRef<K>, after: Duration, retry: bool) {
        if let Some(r) = self.lock().running.get_mut(obj) {
            r.next = Some((after, retry));
        }
    }

    fn finished_at(&self, obj: &ObjectRef<K>, now: Instant) {
        let mut s = self.lock();
        let Some(r) = s.running.remove(obj) else {
            return;
        };
        self.work_duration
            .observe(now.saturating_duration_since(r.started).as_secs_f64());
        if let Some((after, retry)) = r.next {
            Self::schedule(&mut s, obj, now + after);
            if retry {
                self.retries.inc();
            }
        }
    }

    /// The controller's error policy requeues `obj` `after` a failed pass.
    pub fn retried(&self, obj: &ObjectRef<K>, after: Duration) {
        let mut s = self.lock();
        Self::schedule(&mut s, obj, Instant::now() + after);
        self.retries.inc();
    }

    fn schedule(s: &mut State<K>, obj: &ObjectRef<K>, due: Instant) {
        let w = s.waiting.entry(obj.clone()).or_insert(Waiting {
            since: due,
            counted: false,
        });
        w.since = w.since.min(due);
    }

    fn sample_at(&self, now: Instant) {
        let mut s = self.lock();
        let store = &self.store;
        s.waiting.retain(|obj, _| store.get(obj).is_some());
        let mut depth = 0;
        for w in s.waiting.values_mut().filter(|w| w.since <= now) {
            depth += 1;
            if !w.counted {
                w.counted = true;
                self.adds.inc();
            }
        }
        self.depth.set(depth);
        let running = s
            .running
            .values()
            .map(|r| now.saturating_duration_since(r.started).as_secs_f64());
        let (sum, longest) = running.fold((0.0, 0.0_f64), |(s, l), t| (s + t, l.max(t)));
        self.unfinished.set(sum);
        self.longest.set(longest);
    }
}

impl<K: Installable> Sampled for Queue<K> {
    fn sample(&self) {
        self.sample_at(Instant::now());
    }
}

/// Where the passes of one kind start: its queue and its limiter.
pub struct Lane<K: Installable> {
    pub queue: Arc<Queue<K>>,
    pub limiter: Arc<Limiter>,
}

impl<K: Installable> Lane<K> {
    /// A permit of the limiter (`None` if `stopping` comes first: the pass does not
    /// start), the pass then counted as started until the [`Work`] drops.
    pub async fn start(
        &self,
        obj: ObjectRef<K>,
        stopping: watch::Receiver<bool>,
    ) -> Option<Work<'_, K>> {
        let permit = self.limiter.acquire(stopping).await?;
        self.queue.started_at(&obj, Instant::now());
        Some(Work {
            queue: &self.queue,
            obj,
            permit,
        })
    }

    /// The newest copy of `obj` (a pass that waited for its permit reads it).
    pub fn latest(&self, obj: &ObjectRef<K>) -> Option<Arc<K>> {
        self.queue.store.get(obj)
    }
}

/// A running pass: its end is observed, and its permit returned, when dropped.
pub struct Work<'a, K: Installable> {
    queue: &'a Queue<K>,
    obj: ObjectRef<K>,
    permit: Permit,
}

impl<K: Installable> Work<'_, K> {
    /// Whether the pass waited for its permit.
    pub fn waited(&self) -> bool {
        self.permit.waited
    }

    /// The object the pass is over.
    pub fn object(&self) -> &ObjectRef<K> {
        &self.obj
    }
}

impl<K: Installable> Drop for Work<'_, K> {
    fn drop(&mut self) {
        self.queue.finished_at(&self.obj, Instant::now());
    }
}

/// Both kinds' lanes.
pub struct Lanes {
    pub cluster: Lane<ClusterPackage>,
    pub namespaced: Lane<Package>,
}

impl Lanes {
    /// The lanes over these stores with these limiters; the queues are sampled at
    /// each scrape of `metrics`.
    pub fn new(
        metrics: &Metrics,
        limiters: crate::limiter::Limiters,
        cluster: Store<ClusterPackage>,
        namespaced: Store<Package>,
    ) -> Self {
        let cluster = Arc::new(Queue::new("clusterpackage", cluster, metrics));
        let namespaced = Arc::new(Queue::new("package", namespaced, metrics));
        let (c, n): (Arc<dyn Sampled>, Arc<dyn Sampled>) = (cluster.clone(), namespaced.clone());
        metrics.sample_on_scrape(Arc::downgrade(&c));
        metrics.sample_on_scrape(Arc::downgrade(&n));
        Self {
            cluster: Lane {
                queue: cluster,
                limiter: limiters.cluster,
            },
            namespaced: Lane {
                queue: namespaced,
                limiter: limiters.namespaced,
            },
        }
    }

    /// The lane of `K`'s controller.
    pub fn of<K: Installable>(&self) -> Option<&Lane<K>> {
        let lane: &dyn std::any::Any = if K::KIND == ClusterPackage::KIND {
            &self.cluster
        } else {
            &self.namespaced
        };
        lane.downcast_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::watcher;

    fn store_with(
        names: &[&str],
    ) -> (
        Store<Package>,
        kube::runtime::reflector::store::Writer<Package>,
    ) {
        let (reader, mut writer) = kube::runtime::reflector::store();
        for n in names {
            let mut p = Package::new(n, Default::default());
            p.metadata.namespace = Some("a".into());
            writer.apply_watcher_event(&watcher::Event::Apply(p));
        }
        (reader, writer)
    }

    fn obj(name: &str) -> ObjectRef<Package> {
        ObjectRef::new(name).within("a")
    }

    fn line(text: &str, prefix: &str) -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    }

    #[test]
    fn triggers_are_counted_once_per_waiting_object_and_timed_to_their_start() {
        let metrics = Metrics::new();
        let (store, _w) = store_with(&["x", "y"]);
        let q = Queue::new("package", store, &metrics);
        let t = Instant::now();
        q.added_at(obj("x"), t);
        q.added_at(obj("x"), t + Duration::from_secs(1));
        q.added_at(obj("y"), t + Duration::from_secs(1));
        q.sample_at(t + Duration::from_secs(2));
        let text = metrics.encode();
        assert_eq!(line(&text, "workqueue_adds_total{name=\"package\"}"), 2.0);
        assert_eq!(line(&text, "workqueue_depth{name=\"package\"}"), 2.0);
        q.started_at(&obj("x"), t + Duration::from_secs(3));
        q.sample_at(t + Duration::from_secs(5));
        let text = metrics.encode();
        assert_eq!(line(&text, "workqueue_depth{name=\"package\"}"), 1.0);
        assert_eq!(
            line(
                &text,
                "workqueue_queue_duration_seconds_sum{name=\"package\"}"
            ),
            3.0
        );
        assert_eq!(
            line(&text, "workqueue_unfinished_work_seconds{name=\"package\"}"),
            2.0
        );
        assert_eq!(
            line(
                &text,
                "workqueue_longest_running_processor_seconds{name=\"package\"}"
            ),
            2.0
        );
        // Triggered again while its pass runs: waiting again, one more add.
        q.added_at(obj("x"), t + Duration::from_secs(5));
        q.finished_at(&obj("x"), t + Duration::from_secs(7));
        q.sample_at(t + Duration::from_secs(7));
        let text = metrics.encode();
        assert_eq!(line(&text, "workqueue_adds_total{name=\"package\"}"), 3.0);
        assert_eq!(line(&text, "workqueue_depth{name=\"package\"}"), 2.0);
        assert_eq!(
            line(
                &text,
                "workqueue_work_duration_seconds_sum{name=\"package\"}"
            ),
            4.0
        );
        assert_eq!(
            line(&text, "workqueue_unfinished_work_seconds{name=\"package\"}"),
            0.0
        );
    }

    #[test]
    fn a_next_look_waits_until_due_and_a_failure_counts_a_retry() {
        let metrics = Metrics::new();
        let (store, _w) = store_with(&["x"]);
        let q = Queue::new("package", store, &metrics);
        let t = Instant::now();
        q.added_at(obj("x"), t);
        q.started_at(&obj("x"), t);
        q.next_look(&obj("x"), Duration::from_secs(30), true);
        q.finished_at(&obj("x"), t + Duration::from_secs(1));
        q.sample_at(t + Duration::from_secs(2));
        let text = metrics.encode();
        assert_eq!(
            line(&text, "workqueue_depth{name=\"package\"}"),
            0.0,
            "not due"
        );
        assert_eq!(line(&text, "workqueue_adds_total{name=\"package\"}"), 1.0);
        assert_eq!(
            line(&text, "workqueue_retries_total{name=\"package\"}"),
            1.0
        );
        q.sample_at(t + Duration::from_secs(31));
        let text = metrics.encode();
        assert_eq!(line(&text, "workqueue_depth{name=\"package\"}"), 1.0, "due");
        assert_eq!(line(&text, "workqueue_adds_total{name=\"package\"}"), 2.0);
        // A progress recheck is a next look, not a retry.
        q.started_at(&obj("x"), t + Duration::from_secs(32));
        q.next_look(&obj("x"), Duration::from_secs(30), false);
        q.finished_at(&obj("x"), t + Duration::from_secs(32));
        q.sample_at(t + Duration::from_secs(33));
        let text = metrics.encode();
        assert_eq!(
            line(&text, "workqueue_retries_total{name=\"package\"}"),
            1.0
        );
        assert_eq!(
            line(
                &text,
                "workqueue_queue_duration_seconds_sum{name=\"package\"}"
            ),
            1.0
        );
    }

    #[test]
    fn a_trigger_of_an_object_that_is_gone_leaves_the_depth() {
        let metrics = Metrics::new();
        let (store, _w) = store_with(&["x"]);
        let q = Queue::new("package", store, &metrics);
        let t = Instant::now();
        q.added_at(obj("x"), t);
        q.added_at(obj("deleted"), t);
        q.sample_at(t);
        let text = metrics.encode();
        assert_eq!(line(&text, "workqueue_depth{name=\"package\"}"), 1.0);
        assert_eq!(line(&text, "workqueue_adds_total{name=\"package\"}"), 2.0);
    }
}
