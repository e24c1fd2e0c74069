//! Starting the operator: one kube-runtime Controller per kind over the shared watch
//! set ([`crate::watches`]), run at the maximum concurrency with each pass gated by its
//! kind's [`crate::limiter`] and its triggers counted by its [`crate::workqueue`], the
//! relist and repository tickers, and the [`Running`] handle that stops them (under
//! [`hoist_kube::runtime::Supervisor`]).

use futures::StreamExt;
use hoist_kube::repo::clientset::Clientset;
use hoist_kube::types::{ClusterPackage, Package};
use kube::Client;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::ObjectRef;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::context::Context;
use crate::error::Error;
use crate::options::OperatorOptions;
use crate::package::Installable;
use crate::{
    helm, limiter, metrics, objects, probes, reconcile, relist, repositories, watches, workqueue,
};

/// A running operator. Dropping it stops everything.
pub struct Running {
    pub context: Arc<Context>,
    /// Whether its tasks still run (`/livez`).
    live: probes::Liveness,
    /// The controllers drain (they end by themselves once stop is sent, after their
    /// running passes); watches and tickers are background, aborted after them. The
    /// lifecycle every long-running part of Hoist shares ([`hoist_kube::runtime`]).
    tasks: hoist_kube::runtime::Supervisor,
}

impl Running {
    /// What `/livez` reads: which of this operator's controllers and watches ended
    /// while they should run.
    pub fn liveness(&self) -> probes::Liveness {
        self.live.clone()
    }

    /// Stops taking new passes, lets running ones finish (up to `deadline`), then stops
    /// every watch.
    pub async fn shutdown(mut self, deadline: Duration) {
        self.live.stopping();
        std::mem::take(&mut self.tasks).shutdown(deadline).await;
        self.context.objects.shutdown();
        self.context.inputs.shutdown();
    }
}

impl Drop for Running {
    /// Stops at once: no pass is waited for (the supervisor aborts its tasks).
    fn drop(&mut self) {
        self.live.stopping();
    }
}

/// Starts the controllers. `repositories` is the clientset kept in step with the
/// PackageRepositories (the dashboard's, when both run in one process).
pub async fn start(
    client: Client,
    repositories: Arc<Clientset>,
    opts: OperatorOptions,
) -> Result<Running, Error> {
    start_with(
        client,
        repositories,
        opts,
        Arc::new(metrics::Metrics::new()),
    )
    .await
}

/// As [`start`], counting into `metrics` (shared with a probe port started before).
pub async fn start_with(
    client: Client,
    repositories: Arc<Clientset>,
    opts: OperatorOptions,
    metrics: Arc<metrics::Metrics>,
) -> Result<Running, Error> {
    start_supervised(client, repositories, opts, metrics, probes::Liveness::new()).await
}

/// As [`start_with`], its controllers and the watches and loops beside them supervised
/// by `live` (read by `/livez`): any of them that ends before the operator stops is a
/// death.
pub async fn start_supervised(
    client: Client,
    repositories: Arc<Clientset>,
    opts: OperatorOptions,
    metrics: Arc<metrics::Metrics>,
    live: probes::Liveness,
) -> Result<Running, Error> {
    let mut tasks = hoist_kube::runtime::Supervisor::watched_by(live.clone());
    // The Controllers run at the maximum; each pass takes a permit of its kind's
    // limiter, which learns from every answer of the operator's client.
    let c = opts.concurrency;
    metrics.max_concurrent.set(i64::from(c.max));
    let limiters = limiter::Limiters::new(c.min, c.max, c.algorithm, &metrics);
    let client = if opts.concurrency.is_fixed() {
        client
    } else {
        limiter::observed(client, limiters.clone())
    };
    let (watches, feeds) =
        watches::Watches::start(&client, opts.trigger_buffer, tasks.background(), &live).await?;
    watches.listed().await;
    watches.objects.keep_only(objects::inventoried(
        watches.cluster.clone(),
        watches.namespaced.clone(),
    ));
    let lanes = workqueue::Lanes::new(
        &metrics,
        limiters.clone(),
        watches.cluster.clone(),
        watches.namespaced.clone(),
    );
    let (cluster_queue, namespaced_queue) =
        (lanes.cluster.queue.clone(), lanes.namespaced.queue.clone());
    let triggers = feeds.triggers;
    // Never 0: kube-runtime reads that as no bound at all.
    let config = controller::Config::default().concurrency(c.max.max(1));
    let cluster = Controller::for_stream(
        added(feeds.cluster, &cluster_queue),
        watches.cluster.clone(),
    )
    .with_config(config.clone());
    let namespaced = Controller::for_stream(
        added(feeds.namespaced, &namespaced_queue),
        watches.namespaced.clone(),
    )
    .with_config(config);
    let (finished, _) = watch::channel(0u64);
    let (cluster_relisted, namespaced_relisted) = spawn_relists(
        triggers.cluster_relist,
        triggers.namespaced_relist,
        &finished,
        &limiters,
        tasks.background(),
        &live,
    );
    let stopped = tasks.stopped();
    let role = watches::Role {
        opts: opts.clone(),
        metrics,
        reporter: kube::runtime::events::Reporter {
            controller: "hoist-operator".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
        finished,
        stopping: stopped.clone(),
        lanes,
    };
    let context = Arc::new(watches.into_context(&client, repositories, role));
    let stop_signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let cluster = cluster
        .reconcile_on(triggered(triggers.cluster, &cluster_queue))
        .reconcile_on(triggered(cluster_relisted, &cluster_queue))
        .graceful_shutdown_on(stop_signal(stopped.clone()))
        .run(
            reconcile::reconcile::<ClusterPackage>,
            reconcile::error_policy::<ClusterPackage>,
            context.clone(),
        )
        .for_each(|_| futures::future::ready(()));
    tasks.spawn_draining(live.supervise("the ClusterPackage controller", cluster));
    let namespaced = namespaced
        .reconcile_on(triggered(triggers.namespaced, &namespaced_queue))
        .reconcile_on(triggered(namespaced_relisted, &namespaced_queue))
        .graceful_shutdown_on(stop_signal(stopped.clone()))
        .run(
            reconcile::reconcile::<Package>,
            reconcile::error_policy::<Package>,
            context.clone(),
        )
        .for_each(|_| futures::future::ready(()));
    tasks.spawn_draining(live.supervise("the Package controller", namespaced));

    let background = tasks.background();
    background.spawn(live.supervise("the Flux CRD watch", helm::watch_flux_crds(context.clone())));
    background.spawn(live.supervise(
        "the PackageRepository status loop",
        repositories::run(
            client.clone(),
            context.repositories.clone(),
            opts.repository_interval,
            stopped.clone(),
        ),
    ));

    background.spawn(live.supervise(
        "the dropped-trigger ticker",
        count_dropped(context.clone(), stopped),
    ));
    Ok(Running {
        context,
        live,
        tasks,
    })
}

/// The package watch's changes, each counted as an add of its queue.
fn added<K: Installable>(
    changes: watches::Changes<K>,
    queue: &Arc<workqueue::Queue<K>>,
) -> impl futures::Stream<Item = Result<K, kube::runtime::watcher::Error>> + Send + 'static {
    let queue = queue.clone();
    changes.inspect(move |change| {
        if let Ok(pkg) = change {
            queue.added(ObjectRef::from_obj(pkg));
        }
    })
}

/// Triggers of a controller, each counted as an add of its queue.
fn triggered<K: Installable>(
    triggers: mpsc::Receiver<ObjectRef<K>>,
    queue: &Arc<workqueue::Queue<K>>,
) -> impl futures::Stream<Item = ObjectRef<K>> + Send + 'static {
    let queue = queue.clone();
    ReceiverStream::new(triggers).inspect(move |obj| queue.added(obj.clone()))
}

/// The relist's share of a kind's workers: half its limit now, so users' changes
/// always find one free.
fn relist_batch(limiter: &Arc<limiter::Limiter>) -> impl Fn() -> usize + Send + 'static {
    let limiter = limiter.clone();
    move || usize::from(limiter.limit() / 2).max(1)
}

/// Starts the relist of each kind (in `tasks`, supervised by `live`): packages of the
/// initial lists that were already done, released half a limit at a time as `finished`
/// passes make room. Returns what the controllers read them from.
fn spawn_relists(
    cluster: mpsc::UnboundedReceiver<ObjectRef<ClusterPackage>>,
    namespaced: mpsc::UnboundedReceiver<ObjectRef<Package>>,
    finished: &watch::Sender<u64>,
    limiters: &limiter::Limiters,
    tasks: &mut tokio::task::JoinSet<()>,
    live: &probes::Liveness,
) -> (
    mpsc::Receiver<ObjectRef<ClusterPackage>>,
    mpsc::Receiver<ObjectRef<Package>>,
) {
    let (cluster_batch, namespaced_batch) = (
        relist_batch(&limiters.cluster),
        relist_batch(&limiters.namespaced),
    );
    let (to_cluster_relist, cluster_relisted) = mpsc::channel(cluster_batch());
    let (to_namespaced_relist, namespaced_relisted) = mpsc::channel(namespaced_batch());
    tasks.spawn(live.supervise(
        "the ClusterPackage relist",
        relist::feed(
            cluster,
            to_cluster_relist,
            finished.subscribe(),
            cluster_batch,
        ),
    ));
    tasks.spawn(live.supervise(
        "the Package relist",
        relist::feed(
            namespaced,
            to_namespaced_relist,
            finished.subscribe(),
            namespaced_batch,
        ),
    ));
    (cluster_relisted, namespaced_relisted)
}

/// Copies the dropped-trigger count into its metric every 5 s, until `stopped`.
async fn count_dropped(ctx: Arc<Context>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let dropped = ctx.objects.dropped.load(std::sync::atomic::Ordering::Relaxed);
                ctx.metrics.triggers_dropped.set(dropped as i64);
            }
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}
