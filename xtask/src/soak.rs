//! `cargo xtask soak [--minutes N] [--seed S] …`: Hoist's processes under a seeded
//! workload and fault plan, checked against a model (issue 21, decisions 0029 and 0030).
//!
//! Builds `hoist`, `devcluster` and the harness `hoist-soak` (the debug build the tests
//! already made, so a soak after `cargo xtask test` compiles almost nothing), then runs
//! the harness with the given arguments; `--help` lists them. Exit status 1 means an
//! invariant did not hold: the seed to replay, the journal and the first diverging
//! object are printed, and every log is kept under `target/soak/seed-S/`. `--record`
//! writes the run's figures into `docs/BENCHMARKS.md` (its `## soak` section).

use crate::sh;
use anyhow::Context;
use std::process::Command;

/// The seed CI runs, and for how long: the shortest plan found that holds every kind
/// of fault (`hoist-soak --plan --seed 468 --minutes 3.5`; none of seeds 1–2500 does in
/// three minutes).
pub const CI_SEED: &str = "468";
pub const CI_MINUTES: &str = "3.5";

/// The sections of `docs/BENCHMARKS.md` a recorded soak writes: a run with every kind
/// of fault, and one with `--keep-processes` (whose process lives are long enough to
/// judge their memory).
pub const SECTIONS: [&str; 2] = ["## soak", "## soak, processes kept"];

/// Runs the soak; with `--record`, its report's Markdown section replaces its section
/// of `docs/BENCHMARKS.md` (the rest of the file is left as it is).
pub fn run(args: &[String]) -> anyhow::Result<()> {
    build()?;
    run_built(args)
}

/// [`run`] with the binaries already built: `cargo test --workspace` builds `hoist`,
/// `devcluster` and `hoist-soak` for their integration tests, with the tests' features
/// (a `cargo build` of them alone unifies features differently and compiles most of
/// the dependency tree again: 175 s in a fresh CI run).
pub fn run_built(args: &[String]) -> anyhow::Result<()> {
    let record = args.iter().any(|a| a == "--record");
    let heading = if args.iter().any(|a| a == "--keep-processes") {
        SECTIONS[1]
    } else {
        SECTIONS[0]
    };
    let args: Vec<&String> = args.iter().filter(|a| *a != "--record").collect();
    let markdown = std::path::Path::new("target/soak/last.md");
    let _ = std::fs::remove_file(markdown);
    sh(Command::new("target/debug/hoist-soak")
        .args(args)
        .arg("--markdown")
        .arg(markdown))?;
    if record {
        let body = std::fs::read_to_string(markdown).context("the soak wrote no report")?;
        let section = format!(
            "{heading}\n\nRecorded on {}.\n\n{body}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        let doc = std::fs::read_to_string("docs/BENCHMARKS.md").unwrap_or_default();
        let doc = match crate::bench::section(&doc, heading) {
            Some(old) => doc.replacen(old, &section, 1),
            None => format!("{}\n{section}", doc.trim_end()),
        };
        std::fs::write("docs/BENCHMARKS.md", doc).context("cannot write docs/BENCHMARKS.md")?;
        eprintln!("xtask> wrote {heading:?} in docs/BENCHMARKS.md");
    }
    Ok(())
}

fn build() -> anyhow::Result<()> {
    sh(Command::new("cargo").args([
        "build",
        "-p",
        "hoist",
        "--bin",
        "hoist",
        "-p",
        "devcluster",
        "--bin",
        "devcluster",
    ]))?;
    sh(Command::new("cargo").args(["build", "-p", "hoist-soak"]))
}
