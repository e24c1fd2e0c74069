//! `hoist demo`: the embedded default. devcluster in-process (its state under the data
//! dir, so a restart keeps the user's changes; its workload controllers make
//! Deployments become ready), the CRDs installed, the sample repository served over
//! HTTP and registered as the default, sample packages seeded on first start, then
//! `serve` and the operator against it: the operator installs the samples, so every
//! status the dashboard shows is the operator's.

pub mod members;
pub mod samples;
pub mod seed;
pub mod stand_in;

use crate::serve::{self, Running, ServeOptions};
use devcluster::{DevCluster, Fault, FaultAction};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client, ResourceExt};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub data_dir: PathBuf,
    pub serve: ServeOptions,
    /// Added to every API request after seeding: the seed's slow cluster.
    pub api_latency: Option<Duration>,
    /// Packages to seed on first start.
    pub seed_packages: usize,
    /// Keep repository files under the data dir (unless `serve.fetch.disk` says where).
    pub repo_disk_cache: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot create the data dir {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cluster(#[from] devcluster::StartError),
    #[error("cannot build a client for the demo's cluster: {0}")]
    Client(kube::Error),
    #[error("cannot install the CRDs: {0}")]
    Crds(kube::Error),
    #[error("CRD {0} did not become Established")]
    NotEstablished(String),
    #[error("cannot seed the sample packages: {0}")]
    Seed(kube::Error),
    #[error("cannot serve the sample repository (or hello-web's page): {0}")]
    SampleRepository(std::io::Error),
    #[error("cannot register the sample repository: {0}")]
    RegisterRepository(kube::Error),
    #[error(transparent)]
    Serve(#[from] serve::ServeError),
    #[error("cannot start the operator: {0}")]
    Operator(#[from] crate::operator::Error),
}

/// A running demo: the API server, the sample repository, the backend and the operator.
pub struct Demo {
    pub cluster: DevCluster,
    pub backend: Running,
    pub operator: crate::operator::Running,
    /// The fleet controller, over the two member clusters.
    pub fleet: crate::fleet::Running,
    /// The member clusters (`edge-a`, `edge-b`), each an in-process devcluster.
    pub members: Vec<(String, DevCluster)>,
    pub samples: samples::SampleRepository,
    /// What hello-web's pods answer through a port-forward ([`stand_in`]).
    pub stand_in: stand_in::StandIn,
    /// A kubeconfig for the demo cluster (under the data dir), for kubectl and the CLI.
    pub kubeconfig: std::path::PathBuf,
}

/// Server-side-applies every Hoist CRD and waits until each is Established.
pub async fn install_crds(client: &Client) -> Result<(), DemoError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("hoist").force();
    for crd in crate::types::crds() {
        let name = crd.name_any();
        api.patch(&name, &pp, &Patch::Apply(&crd))
            .await
            .map_err(DemoError::Crds)?;
        let established = await_condition(api.clone(), &name, conditions::is_crd_established());
        match tokio::time::timeout(Duration::from_secs(30), established).await {
            Ok(Ok(_)) => {}
            _ => return Err(DemoError::NotEstablished(name)),
        }
    }
    Ok(())
}

pub async fn start(opts: DemoOptions) -> Result<Demo, DemoError> {
    // Refuse bad input before anything is created or started.
    serve::check(&opts.serve)?;
    std::fs::create_dir_all(&opts.data_dir).map_err(|source| DemoError::DataDir {
        path: opts.data_dir.display().to_string(),
        source,
    })?;
    // What hello-web's pods answer when opened (devcluster runs no containers).
    let stand_in = stand_in::StandIn::start()
        .await
        .map_err(DemoError::SampleRepository)?;
    let cluster = DevCluster::start(devcluster::Options {
        state_file: Some(opts.data_dir.join("cluster.json")),
        forwards: vec![stand_in.forward()],
        ..Default::default()
    })
    .await?;
    let client = crate::client::from_config(cluster.config()?).map_err(DemoError::Client)?;
    // For kubectl and the hoist CLI: the port is new on every start, so is the file.
    let kubeconfig = opts.data_dir.join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig()).map_err(|source| DemoError::DataDir {
        path: kubeconfig.display().to_string(),
        source,
    })?;
    install_crds(&client).await?;
    seed::namespace(&client, &opts.serve.namespace)
        .await
        .map_err(DemoError::Seed)?;
    let samples = samples::SampleRepository::start()
        .await
        .map_err(DemoError::SampleRepository)?;
    samples
        .register(&client)
        .await
        .map_err(DemoError::RegisterRepository)?;
    let seeded = seed::seed_if_empty(&client, opts.seed_packages)
        .await
        .map_err(DemoError::Seed)?;
    if seeded > 0 {
        tracing::info!(packages = seeded, "seeded the sample packages");
    }
    if let Some(latency) = opts.api_latency {
        cluster.faults().add(Fault::new(FaultAction::Latency {
            millis: latency.as_millis() as u64,
        }));
        tracing::info!(?latency, "every API request is slowed down");
    }
    let namespace = opts.serve.namespace.clone();
    let mut serve_opts = opts.serve;
    if opts.repo_disk_cache {
        serve_opts
            .fetch
            .disk
            .get_or_insert_with(|| opts.data_dir.join("repo-cache"));
    }
    let backend = serve::start(client.clone(), serve_opts).await?;
    let operator = crate::operator::start(
        client.clone(),
        backend.repositories.clone(),
        crate::operator::OperatorOptions::default(),
    )
    .await?;
    let members = members::start(&client, &namespace, &opts.data_dir).await?;
    let fleet =
        crate::fleet::start(client, &namespace, crate::fleet::FleetOptions::default()).await;
    Ok(Demo {
        cluster,
        backend,
        operator,
        fleet,
        members,
        samples,
        stand_in,
        kubeconfig,
    })
}

impl Demo {
    /// Stops the operator and the fleet controller (running passes finish), then the
    /// members, then the backend (calls in flight finish), then the cluster (its state
    /// saved).
    pub async fn shutdown(self) {
        let drain = crate::runtime::DEFAULT_DRAIN;
        // The controllers first (their running passes finish), then what they talk to.
        tokio::join!(self.fleet.shutdown(drain), self.operator.shutdown(drain));
        for (_, m) in self.members {
            m.shutdown().await;
        }
        self.backend.shutdown().await;
        self.cluster.shutdown().await;
    }
}

/// Parses `300ms`, `2s`, `5m` or a plain number of milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "ms"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 300ms or 2s"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("invalid duration unit in {s:?}: use ms, s or m")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_in_ms_and_s() {
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_millis(15)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3h").is_err());
    }
}
