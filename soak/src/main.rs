//! `hoist-soak` (run it as `cargo xtask soak [--minutes N] [--seed S]`): Hoist's real
//! processes — devcluster from its state file, two `hoist operator` replicas with leader
//! election, `hoist serve` with a gRPC-web subscriber, two repositories over HTTP —
//! living for a while under a seeded workload and a seeded fault plan, then checked
//! against a model of what the workload asked for (decision 0029).
//!
//! Exit status: 0 when every invariant held, 1 when one did not (the seed, the journal
//! around it and the first diverging object are printed), 2 when the harness itself
//! could not run.

mod args;
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

use args::Args;
use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.plan {
        let seed = args.seed.unwrap_or(0);
        let plan = plan::faults_for(
            seed,
            std::time::Duration::from_secs_f64(args.minutes * 60.0),
            args.keep_processes,
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
