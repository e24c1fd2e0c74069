//! `hoist-soak` (run it as `cargo xtask soak [--minutes N] [--seed S]`): Hoist's real
//! processes — devcluster from its state file, two `hoist operator` replicas with leader
//! election, `hoist serve` with a gRPC-web subscriber, two repositories over HTTP —
//! living for a while under a seeded workload and a seeded fault plan, then checked
//! against a model of what the workload asked for (decision 0029).
//!
//! Exit status: 0 when every invariant held, 1 when one did not (the seed, the journal
//! around it and the first diverging object are printed), 2 when the harness itself
//! could not run.

mod check;
mod cluster;
mod dashboard;
mod faults;
mod hoist;
mod members;
mod model;
mod plan;
mod procs;
mod repo;
mod report;
mod run;
mod workload;

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "hoist-soak",
    about = "Hoist under a seeded workload and fault plan"
)]
pub struct Args {
    /// How long the workload and the faults run (the checks come after).
    #[arg(long, default_value_t = 3.0)]
    pub minutes: f64,
    /// The seed of the workload and the fault plan; a failing run prints it to replay.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Namespaces, each holding at most one install.
    #[arg(long, default_value_t = 6)]
    pub slots: usize,
    /// Seconds after the last fault within which everything must match the model.
    #[arg(long, default_value_t = 30)]
    pub converge_within: u64,
    /// Where runs keep their logs, journal and report (`<dir>/seed-S/`).
    #[arg(long, default_value = "target/soak")]
    pub dir: PathBuf,
    /// Where the `hoist` and `devcluster` binaries are (default: beside this one).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// The repository's root (for `deploy/crds.yaml` and the package fixtures).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Also write the figures as Markdown here (what `cargo xtask soak --record` puts
    /// in `docs/BENCHMARKS.md`).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Print the seed's fault plan and exit (what a run with this seed will do).
    #[arg(long)]
    pub plan: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.plan {
        let seed = args.seed.unwrap_or(0);
        let plan = plan::faults(
            seed,
            std::time::Duration::from_secs_f64(args.minutes * 60.0),
        );
        let kinds: std::collections::BTreeSet<_> = plan.iter().map(|(_, f)| f.kind()).collect();
        println!("seed {seed}: {} faults, {} kinds", plan.len(), kinds.len());
        for (at, fault) in plan {
            println!("{:8.1}s {fault:?}", at.as_secs_f64());
        }
        return ExitCode::SUCCESS;
    }
    let args_markdown = args.markdown.clone();
    match run::soak(args).await {
        Ok(report) => {
            println!("{}", report.render());
            if let Some(path) = &args_markdown
                && let Err(e) = std::fs::write(path, report.markdown())
            {
                eprintln!("soak: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
            if report.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("soak: the harness failed: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The folder the binaries are in, and the repository root.
pub fn locations(args: &Args) -> anyhow::Result<(PathBuf, PathBuf)> {
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()
            .context("where this binary is")?
            .parent()
            .context("a binary is in a folder")?
            .to_path_buf(),
    };
    let root = match &args.root {
        Some(r) => r.clone(),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("soak/ is inside the repository")?
            .to_path_buf(),
    };
    Ok((bin_dir, root))
}
