//! `cargo xtask test`: everything CI runs, in the order that fails fastest: fmt, clippy,
//! the docs' links, the web app, the test suite, then a 3.5-minute soak (`cargo xtask
//! soak`).

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
    // The docs: every intra-doc link resolves (a renamed item breaks its mentions).
    sh(Command::new("cargo")
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    setup::build_frontend()?;
    let root = std::env::current_dir()?;
    // Absolute, but not canonical: a virtualenv is found through the path of its python.
    let python = root.join(setup::python());
    sh(Command::new("cargo")
        .args(["test", "--workspace"])
        .env("DEVCLUSTER_PYTHON", python)
        .env("HOIST_DIST", root.join("dist")))?;
    // The short soak: the fixed seed's workload and faults, every kind of fault once,
    // on the binaries the test build just made.
    crate::soak::run_built(&[
        "--minutes".into(),
        crate::soak::CI_MINUTES.into(),
        "--seed".into(),
        crate::soak::CI_SEED.into(),
    ])?;
    Ok(())
}
