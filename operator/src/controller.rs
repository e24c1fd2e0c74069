//! Starting the operator: one kube-runtime Controller per kind over the shared watch
//! set ([`crate::watches`]), the relist and repository tickers, and the [`Running`]
//! handle that stops them (under [`hoist_kube::runtime::Supervisor`]).

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
use crate::{helm, metrics, objects, probes, reconcile, relist, repositories, watches};

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
    let (watches, feeds) =
        watches::Watches::start(&client, opts.trigger_buffer, tasks.background(), &live).await?;
    metrics.max_concurrent.set(i64::from(opts.concurrency));
    watches.listed().await;
    watches.objects.keep_only(objects::inventoried(
        watches.cluster.clone(),
        watches.namespaced.clone(),
    ));
    let triggers = feeds.triggers;
    let config = controller::Config::default().concurrency(opts.concurrency);
    let cluster =
        Controller::for_stream(feeds.cluster, watches.cluster.clone()).with_config(config.clone());
    let namespaced =
        Controller::for_stream(feeds.namespaced, watches.namespaced.clone()).with_config(config);
    // The relist's share of the workers: half, so users' changes always find one free.
    let relist_batch = usize::from(opts.concurrency / 2).max(1);
    let (finished, _) = watch::channel(0u64);
    let (cluster_relisted, namespaced_relisted) = spawn_relists(
        triggers.cluster_relist,
        triggers.namespaced_relist,
        &finished,
        relist_batch,
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
    };
    let context = Arc::new(watches.into_context(&client, repositories, role));
    let stop_signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let cluster = cluster
        .reconcile_on(ReceiverStream::new(triggers.cluster))
        .reconcile_on(ReceiverStream::new(cluster_relisted))
        .graceful_shutdown_on(stop_signal(stopped.clone()))
        .run(
            reconcile::reconcile::<ClusterPackage>,
            reconcile::error_policy::<ClusterPackage>,
            context.clone(),
        )
        .for_each(|_| futures::future::ready(()));
    tasks.spawn_draining(live.supervise("the ClusterPackage controller", cluster));
    let namespaced = namespaced
        .reconcile_on(ReceiverStream::new(triggers.namespaced))
        .reconcile_on(ReceiverStream::new(namespaced_relisted))
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

/// Starts the relist of each kind (in `tasks`, supervised by `live`): packages of the
/// initial lists that were already done, released `batch` at a time as `finished`
/// passes make room. Returns what the controllers read them from.
fn spawn_relists(
    cluster: mpsc::UnboundedReceiver<ObjectRef<ClusterPackage>>,
    namespaced: mpsc::UnboundedReceiver<ObjectRef<Package>>,
    finished: &watch::Sender<u64>,
    batch: usize,
    tasks: &mut tokio::task::JoinSet<()>,
    live: &probes::Liveness,
) -> (
    mpsc::Receiver<ObjectRef<ClusterPackage>>,
    mpsc::Receiver<ObjectRef<Package>>,
) {
    let (to_cluster_relist, cluster_relisted) = mpsc::channel(batch);
    let (to_namespaced_relist, namespaced_relisted) = mpsc::channel(batch);
    tasks.spawn(live.supervise(
        "the ClusterPackage relist",
        relist::feed(cluster, to_cluster_relist, finished.subscribe(), batch),
    ));
    tasks.spawn(live.supervise(
        "the Package relist",
        relist::feed(
            namespaced,
            to_namespaced_relist,
            finished.subscribe(),
            batch,
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
