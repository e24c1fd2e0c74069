//! Member clusters for the fleet: each a `devcluster serve` of its own on a fixed port,
//! which the faults take down (unreachable), bring back (the same cluster) or replace
//! (a new cluster at the same address, reached with the same credentials: a new
//! `kube-system` UID, which is how the fleet tells a replacement apart).
//!
//! Guarantees: a member is stopped gracefully (it saves its state), so "back" is the
//! same cluster; a replacement starts from an empty state with the old identity file
//! copied beside it, so the kubeconfig in the Cluster's Secret keeps working (same CA
//! and token) while the cluster behind it is another.

use crate::procs::{Launch, Logs, Proc};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

pub struct Member {
    pub port: u16,
    pub proc: Option<Proc>,
    life: u32,
    /// Bumped by each replacement: which state file the member runs from.
    generation: u32,
}

pub struct Members {
    bin: PathBuf,
    dir: PathBuf,
    pub members: Vec<Member>,
}

impl Members {
    pub async fn start(
        bin: &Path,
        dir: &Path,
        n: usize,
        logs: &mut Logs,
    ) -> anyhow::Result<Members> {
        let mut members = Members {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            members: Vec::new(),
        };
        for _ in 0..n {
            members.members.push(Member {
                port: crate::procs::free_port()?,
                proc: None,
                life: 0,
                generation: 0,
            });
        }
        for i in 0..n {
            members.spawn(i, logs).await?;
        }
        Ok(members)
    }

    fn state(&self, i: usize, generation: u32) -> PathBuf {
        self.dir.join(format!("member-{i}.{generation}.state"))
    }

    /// The kubeconfig of member `i` (what `hoist cluster add` reads).
    pub fn kubeconfig(&self, i: usize) -> PathBuf {
        self.dir.join(format!("member-{i}.kubeconfig"))
    }

    async fn spawn(&mut self, i: usize, logs: &mut Logs) -> anyhow::Result<()> {
        let state = self.state(i, self.members[i].generation);
        let args = [
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", self.members[i].port),
            "--state",
            &state.display().to_string(),
            "--kubeconfig-out",
            &self.kubeconfig(i).display().to_string(),
        ]
        .map(String::from);
        let member = &mut self.members[i];
        let mut proc = Proc::spawn(
            &self.dir,
            &format!("member-{i}"),
            member.life,
            Launch {
                program: &self.bin,
                args: &args,
                envs: &[("RUST_LOG", "warn".into())],
                stdout_piped: true,
            },
            logs,
        )?;
        let stdout = proc.child.stdout.take().context("the member's stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("a member did not start within 30 s")??
            .context("a member exited at start")?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        member.life += 1;
        member.proc = Some(proc);
        Ok(())
    }

    /// Stops member `i` (unreachable until [`Members::back`]).
    pub async fn down(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(p) = self.members[i].proc.take() {
            p.stop("INT", Duration::from_secs(20)).await?;
        }
        Ok(())
    }

    /// Starts member `i` again from its state: the same cluster.
    pub async fn back(&mut self, i: usize, logs: &mut Logs) -> anyhow::Result<()> {
        if self.members[i].proc.is_none() {
            self.spawn(i, logs).await?;
        }
        Ok(())
    }

    /// Replaces member `i` by another cluster at the same address and credentials.
    pub async fn replace(&mut self, i: usize, logs: &mut Logs) -> anyhow::Result<()> {
        self.down(i).await?;
        let old = self.state(i, self.members[i].generation);
        self.members[i].generation += 1;
        let new = self.state(i, self.members[i].generation);
        let identity = |p: &Path| PathBuf::from(format!("{}.identity", p.display()));
        std::fs::copy(identity(&old), identity(&new)).context("copy the member's identity")?;
        self.spawn(i, logs).await
    }

    /// The `kube-system` UID of member `i` now, asked of the member itself.
    pub async fn identity(&self, i: usize) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(self.kubeconfig(i)).context("member kubeconfig")?;
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&text)?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(crate::cluster::CALL_TIMEOUT);
        let client = kube::Client::try_from(config)?;
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        let ns = tokio::time::timeout(crate::cluster::CALL_TIMEOUT, namespaces.get("kube-system"))
            .await??;
        ns.metadata.uid.context("kube-system has a uid")
    }

    pub fn running(&self) -> impl Iterator<Item = &Proc> {
        self.members.iter().filter_map(|m| m.proc.as_ref())
    }

    pub async fn stop(&mut self) {
        for i in 0..self.members.len() {
            let _ = self.down(i).await;
        }
    }
}
