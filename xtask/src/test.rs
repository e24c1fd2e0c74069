//! `cargo xtask test`: everything CI runs, in the order that fails fastest: fmt, clippy,
//! the web app, the test suite. (The short soak joins once the billing race it found
//! is fixed: decision 0030.)

use crate::{setup, sh};
use std::process::Command;

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    setup::for_tests()?;
    sh(Command::new("cargo").args(["fmt", "--all", "--check"]))?;
    sh(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    setup::build_frontend()?;
    let root = std::env::current_dir()?;
    // Absolute, but not canonical: a virtualenv is found through the path of its python.
    let python = root.join(setup::python());
    sh(Command::new("cargo")
        .args(["test", "--workspace"])
        .env("DEVCLUSTER_PYTHON", python)
        .env("HOIST_DIST", root.join("dist")))?;
    // The short soak (`cargo xtask soak --seed 468 --minutes 3.5`) is not run here
    // until the billing race it found is fixed (decision 0030, "Found, not yet fixed"):
    // a gate that fails one run in a few would stop every landing.
    Ok(())
}
