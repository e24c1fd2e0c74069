//! `hoist operator`.

use crate::args::{MetricsAuthArg, Operator, OperatorArgs};
use crate::client::kube_client;
use anyhow::Context;
use hoist::operator::metrics_auth::MetricsAuth;

/// `hoist operator`: until SIGTERM or Ctrl-C (running passes finish, the Lease is
/// released), or until another replica takes the Lease (exit 1, to be restarted as a
/// standby).
pub async fn run(args: Operator) -> anyhow::Result<()> {
    let Operator {
        operator: args,
        context,
    } = args;
    let concurrency = match args.concurrency {
        Some(n) => hoist::operator::Concurrency::fixed(n),
        None if args.min_concurrency > args.max_concurrency => anyhow::bail!(
            "--min-concurrency {} is above --max-concurrency {}",
            args.min_concurrency,
            args.max_concurrency
        ),
        None => hoist::operator::Concurrency::adaptive(args.min_concurrency, args.max_concurrency),
    };
    let client = kube_client(context).await?;
    let probes = tokio::net::TcpListener::bind(args.probes_listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.probes_listen))?;
    let fetch = hoist::repo::fetch::FetchOptions {
        ttl: args.repo_cache_ttl,
        disk: args.repo_cache_dir.clone(),
        allow_private_hosts: args.allow_private_manifest_hosts,
        ..Default::default()
    };
    let repositories = hoist::reflector::watch_repositories(&client, fetch, &args.namespace);
    repositories.synced().await;
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let leader_elect = args.leader_elect.unwrap_or(in_cluster);
    if args.default_service_account.is_none() {
        tracing::warn!(
            "no --default-service-account: Packages without spec.serviceAccountName are written with the operator's own rights, so tenants are confined by Hoist's rules only, not by the API server (docs/SECURITY.md)"
        );
    }
    let opts = hoist::operator::OperatorOptions {
        concurrency,
        default_service_account: args.default_service_account.clone(),
        ..Default::default()
    };
    let metrics_auth = metrics_auth(&args, &client);
    let (metrics, fleet_metrics) = hoist::app::operator::metrics();
    let run = hoist::app::operator::RunOptions {
        leader_election: leader_elect.then(hoist::operator::lease::identity),
        namespace: args.namespace.clone(),
        lease_duration: hoist::operator::lease::LEASE_DURATION,
        probes: Some(probes),
        metrics_auth: Some(metrics_auth),
        drain: hoist::runtime::DEFAULT_DRAIN,
        metrics,
        fleet: Some(hoist::fleet::FleetOptions {
            metrics: Some(fleet_metrics),
            relay: args
                .usage_sink
                .clone()
                .map(hoist::fleet::relay::RelayOptions::new),
            retention: args.usage_retention.0,
            policy: hoist_core::fleet::probe::Policy {
                interval: i64::try_from(args.member_probe_interval.as_secs()).unwrap_or(i64::MAX),
                ..Default::default()
            },
            ..Default::default()
        }),
    };
    tracing::info!(min_concurrency = concurrency.min, max_concurrency = concurrency.max, leader_elect, probes = %args.probes_listen, "operator starting");
    let stop = async {
        match hoist::runtime::stop_signal().await {
            Ok(signal) => tracing::info!(signal, "stopping: finishing running passes"),
            Err(e) => tracing::error!(error = %e, "cannot wait for a stop signal"),
        }
    };
    let exit = hoist::app::operator::run(client, repositories.clientset.clone(), opts, run, stop)
        .await
        .context("the operator failed")?;
    match exit {
        hoist::app::operator::Exit::Stopped => Ok(()),
        hoist::app::operator::Exit::LostLease => {
            anyhow::bail!("another replica took the Lease; stopping so that only one reconciles")
        }
    }
}

/// Who may read /metrics (`--metrics-auth`).
fn metrics_auth(args: &OperatorArgs, client: &kube::Client) -> MetricsAuth {
    match args.metrics_auth {
        MetricsAuthArg::Kubernetes => MetricsAuth::kubernetes(client.clone()),
        MetricsAuthArg::None => {
            if !args.probes_listen.ip().is_loopback() {
                tracing::warn!(probes = %args.probes_listen, "--metrics-auth=none: anyone who reaches the probe port reads /metrics");
            }
            MetricsAuth::None
        }
    }
}
