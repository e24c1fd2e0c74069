//! The API server under test: `devcluster serve` as a process, with a state file so it
//! can be stopped and started again on the same port, and the users the soak's
//! processes run as.
//!
//! Guarantees: a restart keeps the objects (the state file) and the server's identity
//! (its CA, admin token and token-signing key, kept beside the state file), so every
//! process keeps its kubeconfig across it, as with a real kube-apiserver; the
//! per-name creation counts and per-user request counts of each life are read before it
//! ends and added up, so the checks see the whole run.
//!
//! Users: the harness is the admin (it is the workload: a platform engineer with
//! kubectl); the operator replicas and the dashboard authenticate with static tokens
//! as `hoist-operator` and `hoist-dashboard`, so the request counters tell their
//! requests apart and a fault can target one of them.

use crate::procs::{Launch, Logs, Proc};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

pub const OPERATOR_USER: &str = "hoist-operator";
pub const DASHBOARD_USER: &str = "hoist-dashboard";
/// Watch events the API server keeps per kind for resumes. Bounded, as kube-apiserver's
/// watch cache is (its default was 100 per resource), and small enough to fill within
/// a process's warm-up: with devcluster's default of 10,000 the history of a busy kind
/// kept growing for ten minutes (+3 MiB/min seen), the bound being reached rather than
/// a leak, but indistinguishable from one by a slope. Smaller also means more 410s on
/// resume, which the clients must handle anyway.
pub const WATCH_HISTORY: usize = 1000;
/// And by age: two minutes, inside a process's three-minute warm-up, so the history
/// is full by the time devcluster's memory is judged (a heap profile of a kept run
/// found its live heap mostly watch history: entries of slow kinds kept arriving for
/// the whole run under the count alone).
pub const WATCH_HISTORY_WINDOW: Duration = Duration::from_secs(120);

/// How long one call of the harness to the API server may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    proc: Option<Proc>,
    life: u32,
    /// Creations per name, summed over the lives that ended.
    creations_before: BTreeMap<String, u64>,
    /// Requests per user (`"verb resource"` summed), over the lives that ended.
    requests_before: BTreeMap<String, u64>,
    tokens: BTreeMap<&'static str, String>,
}

impl Cluster {
    pub async fn start(bin: &Path, dir: &Path, logs: &mut Logs) -> anyhow::Result<Cluster> {
        let mut tokens = BTreeMap::new();
        let mut csv = String::new();
        for user in [OPERATOR_USER, DASHBOARD_USER] {
            let token = random_token()?;
            csv.push_str(&format!("{token},{user},{user},\"system:masters\"\n"));
            tokens.insert(user, token);
        }
        std::fs::write(dir.join("tokens.csv"), csv).context("token file")?;
        let mut cluster = Cluster {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            port: crate::procs::free_port()?,
            proc: None,
            life: 0,
            creations_before: BTreeMap::new(),
            requests_before: BTreeMap::new(),
            tokens,
        };
        cluster.spawn(logs).await?;
        for user in [OPERATOR_USER, DASHBOARD_USER] {
            let text = cluster.kubeconfig_for(user)?;
            std::fs::write(dir.join(format!("{user}.kubeconfig")), text)
                .context("write a kubeconfig")?;
        }
        Ok(cluster)
    }

    async fn spawn(&mut self, logs: &mut Logs) -> anyhow::Result<()> {
        let args = [
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", self.port),
            "--state",
            &self.dir.join("cluster.state").display().to_string(),
            "--kubeconfig-out",
            &self.admin_kubeconfig().display().to_string(),
            "--token-file",
            &self.dir.join("tokens.csv").display().to_string(),
            "--history",
            &WATCH_HISTORY.to_string(),
            "--history-window",
            &WATCH_HISTORY_WINDOW.as_secs().to_string(),
        ]
        .map(String::from);
        let mut proc = Proc::spawn(
            &self.dir,
            "devcluster",
            self.life,
            Launch {
                program: &self.bin,
                args: &args,
                envs: &[("RUST_LOG", "info".into())],
                stdout_piped: true,
            },
            logs,
        )?;
        // The first line is the bound address; the kubeconfig is written right after.
        let stdout = proc.child.stdout.take().context("devcluster's stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("devcluster did not start within 30 s")??;
        if first.is_none() {
            bail!("devcluster exited at start; see its log");
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(self.admin_kubeconfig())
            .map(|t| !t.contains("token"))
            .unwrap_or(true)
        {
            if std::time::Instant::now() > deadline {
                bail!("devcluster wrote no kubeconfig");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.proc = Some(proc);
        self.life += 1;
        Ok(())
    }

    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    pub fn kubeconfig_path(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{user}.kubeconfig"))
    }

    /// The admin kubeconfig with `user`'s token instead of the admin's.
    fn kubeconfig_for(&self, user: &str) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(self.admin_kubeconfig()).context("admin kubeconfig")?;
        let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).context("kubeconfig")?;
        let token = self.tokens.get(user).context("a known user")?;
        let slot = doc
            .get_mut("users")
            .and_then(|u| u.get_mut(0))
            .and_then(|u| u.get_mut("user"))
            .context("the kubeconfig has a user")?;
        slot["token"] = serde_yaml_ng::Value::String(token.clone());
        Ok(serde_yaml_ng::to_string(&doc)?)
    }

    /// A client as the admin, with the harness's timeouts.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        let text = std::fs::read_to_string(self.admin_kubeconfig()).context("admin kubeconfig")?;
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&text)?;
        let mut config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(CALL_TIMEOUT);
        config.write_timeout = Some(CALL_TIMEOUT);
        Ok(kube::Client::try_from(config)?)
    }

    /// Stops the server (it saves its state) and starts it again on the same port.
    pub async fn restart(&mut self, client: &kube::Client, logs: &mut Logs) -> anyhow::Result<()> {
        self.fold_counters(client).await?;
        if let Some(proc) = self.proc.take() {
            proc.stop("INT", Duration::from_secs(20)).await?;
        }
        self.spawn(logs).await
    }

    /// Adds this life's counters to the run's.
    async fn fold_counters(&mut self, client: &kube::Client) -> anyhow::Result<()> {
        for (k, v) in self.creations_now(client).await? {
            *self.creations_before.entry(k).or_default() += v;
        }
        for (k, v) in self.requests_now(client).await? {
            *self.requests_before.entry(k).or_default() += v;
        }
        Ok(())
    }

    async fn creations_now(&self, client: &kube::Client) -> anyhow::Result<BTreeMap<String, u64>> {
        let text = admin(client, "GET", "/devcluster/counters/creations", None).await?;
        Ok(serde_json::from_str(&text)?)
    }

    async fn requests_now(&self, client: &kube::Client) -> anyhow::Result<BTreeMap<String, u64>> {
        let text = admin(client, "GET", "/devcluster/counters/users", None).await?;
        let by_user: BTreeMap<String, BTreeMap<String, u64>> = serde_json::from_str(&text)?;
        Ok(by_user
            .into_iter()
            .map(|(user, counts)| (user, counts.values().sum()))
            .collect())
    }

    /// Creations per name over the whole run.
    pub async fn creations(&self, client: &kube::Client) -> anyhow::Result<BTreeMap<String, u64>> {
        let mut all = self.creations_before.clone();
        for (k, v) in self.creations_now(client).await? {
            *all.entry(k).or_default() += v;
        }
        Ok(all)
    }

    /// Requests per user over the whole run.
    pub async fn requests(&self, client: &kube::Client) -> anyhow::Result<BTreeMap<String, u64>> {
        let mut all = self.requests_before.clone();
        for (k, v) in self.requests_now(client).await? {
            *all.entry(k).or_default() += v;
        }
        Ok(all)
    }

    pub fn proc(&self) -> Option<&Proc> {
        self.proc.as_ref()
    }

    /// Stops the server (it saves its state).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        match self.proc.take() {
            Some(p) => p.stop("INT", Duration::from_secs(20)).await,
            None => Ok(()),
        }
    }
}

/// A call to devcluster's control endpoint (`/devcluster/…`) as the admin.
pub async fn admin(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<String> {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(bytes)?;
    let text = tokio::time::timeout(CALL_TIMEOUT, client.request_text(request))
        .await
        .with_context(|| format!("{method} {path} timed out"))?
        .with_context(|| format!("{method} {path}"))?;
    Ok(text)
}

fn random_token() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("/dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
