//! The processes under test: started with their logs in files, killed with signals,
//! sampled from `/proc`.
//!
//! Guarantees: every child is started with `kill_on_drop`, so a harness that stops
//! (or panics) takes its processes with it; a process's stderr goes to its own file in
//! the run's folder, one file per life (`operator-0.2.log` is replica 0's third life),
//! which the log check reads at the end.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// One life of one process.
pub struct Proc {
    pub role: String,
    pub life: u32,
    pub child: Child,
    pub pid: u32,
    pub log: PathBuf,
    /// Where its `/metrics` is served (Hoist's own processes), to read its task count.
    pub metrics: Option<std::net::SocketAddr>,
}

/// Every log file written, with its role: what the log check reads.
#[derive(Default)]
pub struct Logs {
    pub files: Vec<(String, PathBuf)>,
}

/// What to start: the program, its arguments and environment, and whether the caller
/// reads its stdout (otherwise it goes to the log too).
pub struct Launch<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub envs: &'a [(&'a str, String)],
    pub stdout_piped: bool,
}

impl Proc {
    /// Starts `launch` with stderr (and stdout unless piped) into
    /// `<dir>/<role>.<life>.log`.
    pub fn spawn(
        dir: &Path,
        role: &str,
        life: u32,
        launch: Launch<'_>,
        logs: &mut Logs,
    ) -> anyhow::Result<Proc> {
        let Launch {
            program,
            args,
            envs,
            stdout_piped,
        } = launch;
        let log = dir.join(format!("{role}.{life}.log"));
        let file = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stderr(file.try_clone().context("log file")?)
            .kill_on_drop(true);
        if stdout_piped {
            cmd.stdout(Stdio::piped());
        } else {
            cmd.stdout(file);
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let pid = child.id().context("a started child has a pid")?;
        logs.files.push((role.to_string(), log.clone()));
        Ok(Proc {
            role: role.to_string(),
            life,
            child,
            pid,
            log,
            metrics: None,
        })
    }

    /// Sends `signal` (`KILL`, `TERM`, `INT`) with kill(1).
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.pid.to_string()])
            .status()
            .context("kill(1)")?;
        if !status.success() {
            bail!("kill -{signal} {} failed", self.pid);
        }
        Ok(())
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill9(mut self) -> anyhow::Result<()> {
        self.signal("KILL")?;
        self.child.wait().await.context("wait")?;
        Ok(())
    }

    /// Sends `signal` and waits up to `within` for a clean exit.
    pub async fn stop(mut self, signal: &str, within: Duration) -> anyhow::Result<()> {
        self.signal(signal)?;
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => bail!("{} exited with {status} after SIGINT", self.role),
            Ok(Err(e)) => Err(e).context("wait"),
            Err(_) => {
                let _ = self.child.kill().await;
                bail!("{} did not stop within {within:?}", self.role)
            }
        }
    }

    /// Whether the process has exited (and how), without waiting.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Resident memory (KiB) and open file descriptors, from `/proc`, and the tasks
    /// alive in its runtime when it serves `/metrics`.
    pub async fn sample(&self) -> Option<Sample> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .ok()?
            .count() as u64;
        let scraped = match self.metrics {
            Some(addr) => scrape(addr).await,
            None => Scraped::default(),
        };
        Some(Sample {
            rss,
            fds,
            tasks: scraped.tasks,
            leading: scraped.leading,
        })
    }
}

/// One sample of a process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Resident memory, KiB.
    pub rss: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Tasks alive in its async runtime (`hoist_runtime_alive_tasks`), when known.
    pub tasks: Option<u64>,
    /// Whether it leads (`leader_election_master_status`), for a process that takes
    /// part in leader election: a standby and a leader are different workloads, so
    /// their memory is judged apart.
    pub leading: Option<bool>,
}

/// What a process's `/metrics` says.
#[derive(Debug, Default)]
struct Scraped {
    tasks: Option<u64>,
    leading: Option<bool>,
}

/// Reads `hoist_runtime_alive_tasks` and `leader_election_master_status` from the
/// `/metrics` at `addr` (plain HTTP/1.0 on loopback, within a second; each `None` when
/// it does not answer in time or lacks it).
async fn scrape(addr: std::net::SocketAddr) -> Scraped {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let read = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut body = Vec::new();
        // Bounded: a metrics page is a few tens of KiB.
        s.take(4 << 20).read_to_end(&mut body).await.ok()?;
        Some(parse_metrics(&String::from_utf8_lossy(&body)))
    };
    tokio::time::timeout(Duration::from_secs(1), read)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn parse_metrics(text: &str) -> Scraped {
    let value = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Scraped {
        tasks: value("hoist_runtime_alive_tasks "),
        leading: value("leader_election_master_status{name=\"hoist-operator\"} ").map(|v| v == 1),
    }
}

/// A free port on 127.0.0.1 (bound, read, released: a small race, on loopback only).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_reads_the_task_count_and_whether_the_replica_leads() {
        let page = "# TYPE hoist_runtime_alive_tasks gauge\nhoist_runtime_alive_tasks 71\n\
                    # TYPE leader_election_master_status gauge\n\
                    leader_election_master_status{name=\"hoist-operator\"} 1\n# EOF\n";
        let s = parse_metrics(page);
        assert_eq!(s.tasks, Some(71));
        assert_eq!(s.leading, Some(true));
        let standby = parse_metrics("leader_election_master_status{name=\"hoist-operator\"} 0\n");
        assert_eq!(standby.leading, Some(false));
        let dashboard = parse_metrics("hoist_runtime_alive_tasks 12\n");
        assert_eq!((dashboard.tasks, dashboard.leading), (Some(12), None));
    }
}
