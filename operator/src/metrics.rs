//! The operator's metrics, under controller-runtime's names where it has one (so
//! dashboards built for Go operators read Hoist's), client-go's work-queue metrics
//! (`workqueue_*`, derived as [`crate::workqueue`] says), plus Hoist's own
//! (`hoist_operator_`).

use hoist_core::operator::retry::ErrorClass;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, Weak};
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerResult {
    pub controller: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Controller {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorKind {
    pub error: &'static str,
    pub class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaseLabel {
    pub name: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    pub action: String,
}

/// The `name` label of client-go's work-queue metrics and of the concurrency limit:
/// the controller (`clusterpackage`, `package`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueName {
    pub name: &'static str,
}

/// What is computed when `/metrics` is read rather than kept up to date (a queue's
/// depth and running time).
pub trait Sampled: Send + Sync {
    fn sample(&self);
}

/// client-go's work-queue metrics (`k8s.io/client-go/util/workqueue`), per controller.
pub struct Workqueue {
    pub depth: Family<QueueName, Gauge>,
    pub adds: Family<QueueName, Counter>,
    pub queue_duration: Family<QueueName, Histogram>,
    pub work_duration: Family<QueueName, Histogram>,
    pub unfinished: Family<QueueName, Gauge<f64, AtomicU64>>,
    pub longest: Family<QueueName, Gauge<f64, AtomicU64>>,
    pub retries: Family<QueueName, Counter>,
}

impl Workqueue {
    /// Registered in `registry` under client-go's names and help texts.
    fn register(registry: &mut Registry) -> Self {
        // client-go's buckets: 10 ns to 1000 s, by ten.
        let seconds = || Histogram::new(exponential_buckets(10e-9, 10.0, 12));
        let q = Self {
            depth: Family::default(),
            adds: Family::default(),
            queue_duration: Family::new_with_constructor(seconds),
            work_duration: Family::new_with_constructor(seconds),
            unfinished: Family::default(),
            longest: Family::default(),
            retries: Family::default(),
        };
        registry.register(
            "workqueue_depth",
            "Current depth of workqueue",
            q.depth.clone(),
        );
        registry.register(
            "workqueue_adds",
            "Total number of adds handled by workqueue",
            q.adds.clone(),
        );
        registry.register(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            q.queue_duration.clone(),
        );
        registry.register(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes",
            q.work_duration.clone(),
        );
        registry.register(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
            q.unfinished.clone(),
        );
        registry.register(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running",
            q.longest.clone(),
        );
        registry.register(
            "workqueue_retries",
            "Total number of retries handled by workqueue",
            q.retries.clone(),
        );
        q
    }
}

pub struct Metrics {
    registry: Registry,
    /// client-go's work-queue metrics (see [`crate::workqueue`]).
    pub workqueue: Workqueue,
    concurrency_limit: Family<QueueName, Gauge>,
    /// Sampled at each [`Metrics::encode`]; dropped ones are forgotten.
    sampled: Mutex<Vec<Weak<dyn Sampled>>>,
    reconciles: Family<ControllerResult, Counter>,
    reconcile_time: Family<Controller, Histogram>,
    active: Gauge,
    errors: Family<ErrorKind, Counter>,
    dead_letters: Counter,
    applied: Family<ActionLabel, Counter>,
    pruned: Counter,
    status_writes: Counter,
    pub max_concurrent: Gauge,
    pub triggers_dropped: Gauge,
    /// 1 while this replica holds the Lease, 0 while it stands by (client-go's
    /// `leader_election_master_status`, labelled with the Lease's name).
    pub leader: Family<LeaseLabel, Gauge>,
    alive_tasks: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn controller(kind: &'static str) -> &'static str {
    match kind {
        "ClusterPackage" => "clusterpackage",
        "Package" => "package",
        other => other,
    }
}

impl Metrics {
    /// The operator's metrics in a registry of their own.
    pub fn new() -> Self {
        Self::in_registry(Registry::default())
    }

    /// The operator's metrics added to `registry`, which `/metrics` then serves whole
    /// (the top floor registers the fleet controller's there first: one endpoint).
    pub fn in_registry(mut registry: Registry) -> Self {
        let alive_tasks = Gauge::default();
        registry.register(
            "hoist_runtime_alive_tasks",
            "Tasks alive in the process's async runtime",
            alive_tasks.clone(),
        );
        let reconciles = Family::<ControllerResult, Counter>::default();
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            reconciles.clone(),
        );
        let reconcile_time = Family::<Controller, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 16))
        });
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            reconcile_time.clone(),
        );
        let active = Gauge::default();
        registry.register(
            "controller_runtime_active_workers",
            "Number of currently used workers",
            active.clone(),
        );
        let max_concurrent = Gauge::default();
        registry.register(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            max_concurrent.clone(),
        );
        let leader = Family::<LeaseLabel, Gauge>::default();
        registry.register(
            "leader_election_master_status",
            "Whether this replica is the leader (1) or stands by (0), per Lease",
            leader.clone(),
        );
        let errors = Family::<ErrorKind, Counter>::default();
        registry.register(
            "hoist_operator_reconcile_errors",
            "Passes that failed, by error and class (transient or terminal)",
            errors.clone(),
        );
        let dead_letters = Counter::default();
        registry.register(
            "hoist_operator_dead_letters",
            "Packages that ran out of retries",
            dead_letters.clone(),
        );
        let applied = Family::<ActionLabel, Counter>::default();
        registry.register(
            "hoist_operator_applied_objects",
            "Objects a pass looked at, by what it did (Created, Configured, Unchanged)",
            applied.clone(),
        );
        let pruned = Counter::default();
        registry.register(
            "hoist_operator_pruned_objects",
            "Objects deleted because they left their package",
            pruned.clone(),
        );
        let status_writes = Counter::default();
        registry.register(
            "hoist_operator_status_writes",
            "Status writes (a pass that changed nothing writes none)",
            status_writes.clone(),
        );
        let workqueue = Workqueue::register(&mut registry);
        let concurrency_limit = Family::<QueueName, Gauge>::default();
        registry.register(
            "hoist_operator_concurrency_limit",
            "Passes allowed at once per controller now (adaptive between --min-concurrency and --max-concurrency, or --concurrency)",
            concurrency_limit.clone(),
        );
        let triggers_dropped = Gauge::default();
        registry.register(
            "hoist_operator_triggers_dropped",
            "Object changes not turned into a reconcile because a controller fell behind",
            triggers_dropped.clone(),
        );
        Self {
            registry,
            workqueue,
            concurrency_limit,
            sampled: Mutex::new(Vec::new()),
            reconciles,
            reconcile_time,
            active,
            errors,
            dead_letters,
            applied,
            pruned,
            status_writes,
            max_concurrent,
            leader,
            triggers_dropped,
            alive_tasks,
        }
    }

    /// The concurrency limit's gauge of the controller `name`.
    pub fn concurrency_limit(&self, name: &'static str) -> Gauge {
        self.concurrency_limit
            .get_or_create(&QueueName { name })
            .clone()
    }

    /// Samples `what` at each [`Self::encode`] while it lives.
    pub fn sample_on_scrape(&self, what: Weak<dyn Sampled>) {
        self.sampled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(what);
    }

    pub fn reconcile_started(&self) {
        self.active.inc();
    }

    pub fn reconcile_finished(&self, kind: &'static str, ok: bool, took: Duration) {
        self.active.dec();
        let controller = controller(kind);
        self.reconciles
            .get_or_create(&ControllerResult {
                controller,
                result: if ok { "success" } else { "error" },
            })
            .inc();
        self.reconcile_time
            .get_or_create(&Controller { controller })
            .observe(took.as_secs_f64());
    }

    pub fn reconcile_error(&self, error: &'static str, class: ErrorClass) {
        self.errors
            .get_or_create(&ErrorKind {
                error,
                class: class.as_str(),
            })
            .inc();
    }

    pub fn dead_lettered(&self) {
        self.dead_letters.inc();
    }

    pub fn applied(&self, action: &str) {
        self.applied
            .get_or_create(&ActionLabel {
                action: action.to_string(),
            })
            .inc();
    }

    pub fn pruned(&self, n: u64) {
        self.pruned.inc_by(n);
    }

    pub fn status_written(&self) {
        self.status_writes.inc();
    }

    /// Passes finished so far over packages of `kind` (`Package`, `ClusterPackage`),
    /// failed or not (tests: a pass over a suspended package happened, and changed
    /// nothing).
    pub fn reconciles(&self, kind: &'static str) -> u64 {
        let controller = controller(kind);
        ["success", "error"]
            .into_iter()
            .map(|result| {
                self.reconciles
                    .get_or_create(&ControllerResult { controller, result })
                    .get()
            })
            .sum()
    }

    /// Status writes so far (tests: a no-op pass writes none).
    pub fn status_writes(&self) -> u64 {
        self.status_writes.get()
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        self.alive_tasks.set(hoist_kube::runtime::alive_tasks());
        self.sampled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|w| match w.upgrade() {
                Some(s) => {
                    s.sample();
                    true
                }
                None => false,
            });
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
