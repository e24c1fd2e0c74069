//! The journal (every step and fault, with its time) and the figures a run reports.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Every step and fault, in order, with seconds since the start and wall time (Unix ms).
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    start: Instant,
    lines: Vec<(f64, String)>,
    file: Option<std::fs::File>,
}

impl Journal {
    pub fn new(path: &Path) -> Journal {
        Journal {
            inner: Arc::new(Mutex::new(Inner {
                start: Instant::now(),
                lines: Vec::new(),
                file: std::fs::File::create(path).ok(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn note(&self, line: impl Into<String>) {
        let line = line.into();
        let mut j = self.lock();
        let at = j.start.elapsed().as_secs_f64();
        let wall = now_ms();
        if let Some(f) = &mut j.file {
            let _ = writeln!(f, "{at:9.3}s {wall} {line}");
        }
        j.lines.push((at, line));
    }

    pub fn elapsed(&self) -> f64 {
        self.lock().start.elapsed().as_secs_f64()
    }

    /// The last `n` lines, for a violation's context.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let j = self.lock();
        j.lines[j.lines.len().saturating_sub(n)..]
            .iter()
            .map(|(at, l)| format!("{at:9.3}s {l}"))
            .collect()
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A process's memory and descriptors over one life.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// `(seconds since the run began, RSS KiB, open fds)`.
    pub points: Vec<(f64, u64, u64)>,
    /// `(seconds since the run began, tasks alive)`, for processes that tell.
    pub tasks: Vec<(f64, u64)>,
}

/// One process life's memory and descriptors after its warm-up.
#[derive(Debug, Clone)]
pub struct Slope {
    /// `role.life`.
    pub name: String,
    /// KiB per minute.
    pub rss: f64,
    /// Descriptors per minute.
    pub fds: f64,
    /// Runtime tasks per minute (`None`: the process does not tell).
    pub tasks: Option<f64>,
    /// RSS (KiB) at the first and last sample after warm-up.
    pub first: u64,
    pub last: u64,
    /// How long the life lasted.
    pub minutes: f64,
    /// Long enough to be held to the bounds.
    pub judged: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub minutes: f64,
    /// Run with `--keep-processes` (no kills or restarts of Hoist or the API server).
    pub keep_processes: bool,
    pub steps: BTreeMap<&'static str, u64>,
    pub faults: BTreeMap<&'static str, u64>,
    pub violations: Vec<String>,
    /// Seconds from the last fault until each slot matched the model.
    pub convergence: Vec<f64>,
    /// Per process life of a minute or more.
    pub slopes: Vec<Slope>,
    /// Requests by the operators (their own identity and the accounts they act as).
    pub operator_requests: u64,
    pub dashboard: String,
    pub journal_tail: Vec<String>,
    pub dir: String,
    /// Errors logged inside a fault's window (explained) and outside (not).
    pub errors_explained: u64,
    /// Operator replicas that stopped because another took the Lease (and were
    /// started again, as a pod is).
    pub lease_losses: u64,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

impl Report {
    pub fn operations(&self) -> u64 {
        self.steps.values().sum()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut conv = self.convergence.clone();
        conv.sort_by(f64::total_cmp);
        out.push_str(&format!(
            "\nsoak: seed {} · {:.1} minutes · {} operations · {} faults · {} violations\n",
            self.seed,
            self.minutes,
            self.operations(),
            self.faults.values().sum::<u64>(),
            self.violations.len()
        ));
        out.push_str(&format!("  operations: {:?}\n", self.steps));
        out.push_str(&format!("  faults: {:?}\n", self.faults));
        out.push_str(&format!(
            "  replicas stopped because another took the Lease: {}\n",
            self.lease_losses
        ));
        out.push_str(&format!(
            "  convergence after the quiet point (faults cleared, workload stopped): p50 {:.1} s, max {:.1} s ({} slots)\n",
            percentile(&conv, 0.5),
            conv.last().copied().unwrap_or(0.0),
            conv.len()
        ));
        let ops = self.operations().max(1);
        out.push_str(&format!(
            "  operator requests: {} ({:.1} per operation)\n",
            self.operator_requests,
            self.operator_requests as f64 / ops as f64
        ));
        out.push_str(&format!("  dashboard subscriber: {}\n", self.dashboard));
        out.push_str(&format!(
            "  errors logged inside fault windows: {}\n",
            self.errors_explained
        ));
        for l in &self.slopes {
            out.push_str(&format!(
                "  {}: {:.1} min{}, RSS {} → {} KiB, slope {:+.0} KiB/min, fds {:+.1}/min{}\n",
                l.name,
                l.minutes,
                if l.judged { ", judged" } else { "" },
                l.first,
                l.last,
                l.rss,
                l.fds,
                l.tasks
                    .map(|t| format!(", tasks {t:+.1}/min"))
                    .unwrap_or_default()
            ));
        }
        out.push_str(&format!("  logs, journal: {}\n", self.dir));
        if !self.violations.is_empty() {
            out.push_str(&format!(
                "\nVIOLATIONS (replay: cargo xtask soak --seed {} --minutes {}{}):\n",
                self.seed,
                self.minutes,
                if self.keep_processes {
                    " --keep-processes"
                } else {
                    ""
                }
            ));
            for v in self.violations.iter().take(20) {
                out.push_str(&format!("  - {v}\n"));
            }
            if self.violations.len() > 20 {
                out.push_str(&format!("  … and {} more\n", self.violations.len() - 20));
            }
            out.push_str("journal, last lines:\n");
            for l in &self.journal_tail {
                out.push_str(&format!("  {l}\n"));
            }
        }
        out
    }

    /// The figures as Markdown (the body of `docs/BENCHMARKS.md`'s soak section).
    pub fn markdown(&self) -> String {
        let mut conv = self.convergence.clone();
        conv.sort_by(f64::total_cmp);
        let list = |m: &BTreeMap<&'static str, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ops = self.operations();
        let mut out = format!(
            "Seed {seed}, debug build (`cargo xtask soak --minutes {m} --seed {seed}{keep} --record`). \
             Goals: 0 violations; convergence within 30 s of the quiet point; RSS slope ≤ \
             1 MiB/min, fds ≤ 2/min and runtime tasks ≤ 2/min on each process life of 10 minutes or more, after 3 minutes of warm-up.\n\n\
             | figure | value |\n|---|---|\n",
            seed = self.seed,
            m = self.minutes,
            keep = if self.keep_processes {
                " --keep-processes"
            } else {
                ""
            },
        );
        out.push_str(&format!("| minutes run | {:.1} |\n", self.minutes));
        out.push_str(&format!("| operations | {ops}: {} |\n", list(&self.steps)));
        out.push_str(&format!(
            "| faults injected | {}: {} |\n",
            self.faults.values().sum::<u64>(),
            list(&self.faults)
        ));
        out.push_str(&format!(
            "| invariant violations | {} |\n",
            self.violations.len()
        ));
        out.push_str(&format!(
            "| convergence after the quiet point, p50 / max | {:.1} s / {:.1} s ({} slots) |\n",
            percentile(&conv, 0.5),
            conv.last().copied().unwrap_or(0.0),
            conv.len()
        ));
        out.push_str(&format!(
            "| operator requests per operation | {:.1} ({} in all; the operator section's steady state is 9 per new package) |\n",
            self.operator_requests as f64 / ops.max(1) as f64,
            self.operator_requests
        ));
        out.push_str(&format!(
            "| replicas stopped because another took the Lease | {} |\n",
            self.lease_losses
        ));
        out.push_str(&format!("| dashboard subscriber | {} |\n", self.dashboard));
        out.push_str(&format!(
            "| errors logged, all inside a fault's window | {} |\n",
            self.errors_explained
        ));
        let judged: Vec<_> = self.slopes.iter().filter(|l| l.judged).collect();
        out.push_str(&format!(
            "\nProcess lives of 10 minutes or more, judged after a 3-minute warm-up ({} of {} lives of a minute or more; the faults restart the rest sooner):\n\n\
             | process life | minutes | RSS after warm-up | RSS slope | fd slope | task slope |\n|---|---|---|---|---|---|\n",
            judged.len(),
            self.slopes.len()
        ));
        for l in judged {
            out.push_str(&format!(
                "| {} | {:.1} | {} → {} KiB | {:+.0} KiB/min | {:+.1}/min | {} |\n",
                l.name,
                l.minutes,
                l.first,
                l.last,
                l.rss,
                l.fds,
                l.tasks.map_or("—".to_string(), |t| format!("{t:+.1}/min"))
            ));
        }
        if !self.violations.is_empty() {
            out.push_str("\nViolations:\n\n");
            for v in &self.violations {
                out.push_str(&format!("- {v}\n"));
            }
        }
        out
    }
}
