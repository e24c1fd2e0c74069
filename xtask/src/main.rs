//! `cargo xtask …`: the one place for developer commands.
//!
//! - `demo`: run Hoist on its embedded default (see README);
//! - `test`: install what the tests need (skipping what is there), then run every check
//!   CI runs: fmt, clippy, the whole test suite;
//! - `bench`: run the benchmarks and rewrite `docs/BENCHMARKS.md`;
//! - `soak`: Hoist's processes under a seeded workload and faults, checked (`--help`);
//! - `screenshots`: the browser tests, saving the pictures in `docs/screenshots/`;
//! - `dist`: build the web app into `dist/` (what the image ships; see `Dockerfile`).

mod bench;
mod demo;
mod screenshots;
mod setup;
mod soak;
mod test;
mod wasm;

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::Command;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root()?;
    std::env::set_current_dir(&root).with_context(|| format!("cannot enter {}", root.display()))?;
    match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("screenshots") => screenshots::run(),
        Some("dist") => setup::build_frontend(),
        Some("wasm") => wasm::run(),
        _ => {
            eprintln!("usage: cargo xtask <demo|test|bench|soak|screenshots|dist>");
            bail!("unknown or missing command")
        }
    }
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(PathBuf::from)
        .context("xtask lives inside the workspace")
}

/// Runs a command, echoing it, and fails with its exit status.
pub fn sh(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask> {cmd:?}");
    let started = std::time::Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    // How long each step took, so a slow CI run says where its time went.
    let what: Vec<_> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args().take(1))
        .map(|s| s.to_string_lossy())
        .collect();
    eprintln!(
        "xtask> {} took {:.0} s",
        what.join(" "),
        started.elapsed().as_secs_f64()
    );
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// Whether a command runs and exits 0 (output discarded).
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
