//! How the fleet controller is started and what its passes share: the watches (the
//! Clusters, their kubeconfig Secrets, the UsageRecords), the [`Context`], and the
//! tasks of a [`Running`] controller (the Cluster controller, the gauges, the sweep,
//! the relay).
//!
//! Passes start on what the user or a finalizer changed on a Cluster
//! ([`hoist_kube::watch_intent::intent`]: spec, finalizers, deletion), never on the
//! controller's own status writes, and on a change of a Cluster's kubeconfig Secret.

use crate::context::Context;
use crate::memory::Memory;
use crate::options::FleetOptions;
use crate::{gauges, metrics, reconcile, relay, sweep};
use futures::StreamExt;
use hoist_kube::types::{Cluster, UsageRecord};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

/// A running fleet controller: its Cluster controller drains at shutdown (running
/// passes finish: a probe, a record written, a stop set), the watches, gauges, sweep
/// and relay are background tasks (the lifecycle of [`hoist_kube::runtime::Supervisor`],
/// shared with the operator, the dashboard and the demo). Dropping it stops everything
/// at once.
pub struct Running {
    tasks: hoist_kube::runtime::Supervisor,
}

impl Running {
    /// Stops at once, without waiting for running passes (another replica leads now).
    pub fn abort(self) {
        drop(self);
    }

    /// Stops taking new passes, lets running ones finish (up to `deadline`), then stops
    /// the rest.
    pub async fn shutdown(self, deadline: Duration) {
        self.tasks.shutdown(deadline).await;
    }
}

/// Starts the controller for the Clusters in `namespace` (Hoist's).
pub async fn start(client: Client, namespace: &str, opts: FleetOptions) -> Running {
    let mut tasks = hoist_kube::runtime::Supervisor::new();
    let stopped = tasks.stopped();
    let (secrets, secrets_writer) = reflector::store();
    let secret_api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret_changes = watcher::watcher(secret_api, watcher::Config::default())
        .default_backoff()
        .reflect(secrets_writer)
        .applied_objects();
    let (records, records_writer) = reflector::store();
    let record_api: Api<UsageRecord> = Api::all(client.clone());
    tasks.background().spawn(
        watcher::watcher(record_api, watcher::Config::default())
            .default_backoff()
            .reflect(records_writer)
            .for_each(|_| futures::future::ready(())),
    );
    // Bounded: without the fleet's CRDs (an older install) the package operator must
    // not wait on this. Creates are by name, so passes before the first list cannot
    // make a second record (a 409 is "made already").
    let _ = tokio::time::timeout(Duration::from_secs(5), records.wait_until_ready()).await;
    let ctx = Arc::new(Context {
        client: client.clone(),
        opts: opts.clone(),
        secrets,
        records,
        memory: Memory::default(),
        healthy_pool: tokio::sync::Semaphore::new(usize::from(opts.concurrency.max(1))),
        failing_pool: tokio::sync::Semaphore::new(usize::from((opts.concurrency / 4).max(1))),
        metrics: opts
            .metrics
            .clone()
            .unwrap_or_else(metrics::FleetMetrics::unregistered),
    });
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), namespace);
    // Passes start on what the user or the finalizer changed (spec, finalizers,
    // deletion), never on the controller's own status writes: each would be a probe
    // nobody scheduled.
    let (reader, writer) = reflector::store();
    let intents = watcher::watcher(clusters, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(hoist_kube::watch_intent::intent, Default::default());
    let controller = Controller::for_stream(intents, reader)
        // Passes beyond the probe pools: a pass waiting for a pool holds a slot, not a
        // probe.
        .with_config(
            kube::runtime::controller::Config::default()
                .concurrency(opts.concurrency.saturating_mul(4)),
        );
    let store = controller.store();
    // A changed kubeconfig Secret: its Clusters are probed again at once, with it.
    let cluster_store = store.clone();
    let controller = controller.watches_stream(secret_changes, move |secret: Secret| {
        let name = secret.name_any();
        cluster_store
            .state()
            .iter()
            .filter(|c| c.spec.kubeconfig_secret_ref.name == name)
            .map(|c| ObjectRef::from_obj(&**c))
            .collect::<Vec<_>>()
    });
    let mut stop = stopped;
    tasks.spawn_draining(
        controller
            .graceful_shutdown_on(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .run(reconcile::reconcile, reconcile::error_policy, ctx.clone())
            .for_each(|_| futures::future::ready(())),
    );
    let background = tasks.background();
    background.spawn(gauges::run(ctx.clone(), store, opts.relay.clone()));
    background.spawn(sweep::run(ctx.clone(), opts.sweep_interval));
    if let Some(r) = opts.relay {
        background.spawn(relay::run(client, r, ctx.metrics.clone()));
    }
    Running { tasks }
}
