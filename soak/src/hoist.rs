//! Hoist's own processes in the soak: two operator replicas with leader election and
//! the dashboard, each started again after it is killed (as a kubelet would).

use crate::cluster::{Cluster, DASHBOARD_USER, OPERATOR_USER};
use crate::procs::{Launch, Logs, Proc};
use anyhow::Context;
use std::path::{Path, PathBuf};

pub const REPLICAS: usize = 2;

/// How long the operators keep repository files before revalidating them.
pub const REPO_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// What `hoist operator` says when it stops because another replica leads.
pub const LOST_LEASE: &str = "another replica took the Lease";

/// How a process ended that the harness did not stop.
#[derive(Debug)]
pub enum Exit {
    /// A replica stopped because another took the Lease (expected under faults).
    LostLease(String),
    /// Anything else: a violation.
    Crashed(String),
}

pub struct Hoist {
    bin: PathBuf,
    dir: PathBuf,
    pub operators: [Option<Proc>; REPLICAS],
    operator_lives: [u32; REPLICAS],
    pub dashboard: Option<Proc>,
    dashboard_life: u32,
    pub dashboard_port: u16,
    operator_kubeconfig: PathBuf,
    dashboard_kubeconfig: PathBuf,
    dist: PathBuf,
}

impl Hoist {
    pub fn new(bin: &Path, dir: &Path, cluster: &Cluster) -> anyhow::Result<Hoist> {
        let dist = dir.join("dist");
        std::fs::create_dir_all(&dist).context("dist")?;
        Ok(Hoist {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            operators: [None, None],
            operator_lives: [0; REPLICAS],
            dashboard: None,
            dashboard_life: 0,
            dashboard_port: crate::procs::free_port()?,
            operator_kubeconfig: cluster.kubeconfig_path(OPERATOR_USER),
            dashboard_kubeconfig: cluster.kubeconfig_path(DASHBOARD_USER),
            dist,
        })
    }

    /// The Lease holder's name prefix for replica `i` (its `POD_NAME`).
    pub fn pod_name(i: usize) -> String {
        format!("soak-operator-{i}")
    }

    pub fn start_operator(&mut self, i: usize, logs: &mut Logs) -> anyhow::Result<()> {
        let probes = crate::procs::free_port()?;
        let args = [
            "operator",
            "--leader-elect",
            "--probes-listen",
            &format!("127.0.0.1:{probes}"),
            "--metrics-auth",
            "none",
            "--hoist-namespace",
            "hoist-system",
            "--default-service-account",
            "soak-deployer",
            "--repo-cache-ttl",
            &format!("{}s", REPO_CACHE_TTL.as_secs()),
            "--member-probe-interval",
            "2s",
        ]
        .map(String::from);
        let mut proc = Proc::spawn(
            &self.dir,
            &format!("operator-{i}"),
            self.operator_lives[i],
            Launch {
                program: &self.bin,
                args: &args,
                envs: &[
                    ("KUBECONFIG", self.operator_kubeconfig.display().to_string()),
                    ("POD_NAME", Self::pod_name(i)),
                    (
                        "RUST_LOG",
                        std::env::var("SOAK_RUST_LOG").unwrap_or_else(|_| "info".into()),
                    ),
                    ("NO_COLOR", "1".into()),
                ],
                stdout_piped: false,
            },
            logs,
        )?;
        proc.metrics = Some(std::net::SocketAddr::from(([127, 0, 0, 1], probes)));
        self.operator_lives[i] += 1;
        self.operators[i] = Some(proc);
        Ok(())
    }

    pub fn start_dashboard(&mut self, logs: &mut Logs) -> anyhow::Result<()> {
        let args = [
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", self.dashboard_port),
            "--dist",
            &self.dist.display().to_string(),
            "--hoist-namespace",
            "hoist-system",
        ]
        .map(String::from);
        let mut proc = Proc::spawn(
            &self.dir,
            "dashboard",
            self.dashboard_life,
            Launch {
                program: &self.bin,
                args: &args,
                envs: &[
                    (
                        "KUBECONFIG",
                        self.dashboard_kubeconfig.display().to_string(),
                    ),
                    (
                        "RUST_LOG",
                        std::env::var("SOAK_RUST_LOG").unwrap_or_else(|_| "info".into()),
                    ),
                    ("NO_COLOR", "1".into()),
                ],
                stdout_piped: false,
            },
            logs,
        )?;
        proc.metrics = Some(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            self.dashboard_port,
        )));
        self.dashboard_life += 1;
        self.dashboard = Some(proc);
        Ok(())
    }

    /// Every process that is running now, for sampling.
    pub fn running(&self) -> impl Iterator<Item = &Proc> {
        self.operators.iter().flatten().chain(self.dashboard.iter())
    }

    /// The processes that exited on their own (not by the harness): what happened, and
    /// which (`Some(i)`: operator replica `i`; `None`: the dashboard). A replica that
    /// exits because another took the Lease is doing its job (as controller-runtime's
    /// managers do, it stops so that only one reconciles, and its pod is restarted): it
    /// is told apart by its last words, [`LOST_LEASE`].
    pub fn exited(&mut self) -> Vec<(Exit, Option<usize>)> {
        let mut out = Vec::new();
        let slots = self
            .operators
            .iter_mut()
            .enumerate()
            .map(|(i, s)| (Some(i), s))
            .chain(std::iter::once((None, &mut self.dashboard)));
        for (which, slot) in slots {
            if let Some(p) = slot
                && let Some(status) = p.exited()
            {
                let last_words = std::fs::read_to_string(&p.log).unwrap_or_default();
                let name = format!("{}.{}", p.role, p.life);
                let lost_lease = which.is_some()
                    && last_words
                        .lines()
                        .last()
                        .is_some_and(|l| l.contains(LOST_LEASE));
                let exit = if lost_lease {
                    Exit::LostLease(name)
                } else {
                    Exit::Crashed(format!("{name} exited on its own: {status}"))
                };
                out.push((exit, which));
                *slot = None;
            }
        }
        out
    }

    /// Stops everything politely (SIGTERM), waiting for each.
    pub async fn stop(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        let all: Vec<Proc> = self
            .operators
            .iter_mut()
            .chain(std::iter::once(&mut self.dashboard))
            .filter_map(Option::take)
            .collect();
        for p in all {
            let name = format!("{}.{}", p.role, p.life);
            if let Err(e) = p.stop("TERM", std::time::Duration::from_secs(30)).await {
                problems.push(format!("{name}: {e:#}"));
            }
        }
        problems
    }
}
