//! `cargo xtask demo`: builds the web app, then runs `hoist demo` (in-process
//! devcluster with sample packages, and the dashboard) until Ctrl-C.
//! Extra arguments go to `hoist demo` (e.g. `--api-latency 300ms --seed-packages 5000`).

use crate::{setup, sh};
use std::process::Command;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let args = args.strip_prefix(&["--".to_string()]).unwrap_or(args);
    setup::build_frontend()?;
    sh(Command::new("cargo")
        .args([
            "run",
            "--release",
            "-p",
            "hoist",
            "--",
            "demo",
            "--dist",
            "dist",
            "--data-dir",
            "target/demo",
        ])
        .args(args))
}
