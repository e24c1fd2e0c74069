//! The soak's command line.

use clap::Parser;
use std::path::PathBuf;

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
    /// Leave out the faults that kill or restart a process of Hoist's or the API server
    /// (the leading operator, the dashboard, devcluster), keeping every other kind:
    /// each of those processes then lives the whole run, long enough for its memory and
    /// descriptor slopes to be judged. Members are still stopped and replaced.
    #[arg(long)]
    pub keep_processes: bool,
}

/// The folder the binaries are in, and the repository root.
pub fn locations(args: &Args) -> anyhow::Result<(PathBuf, PathBuf)> {
    use anyhow::Context;
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
