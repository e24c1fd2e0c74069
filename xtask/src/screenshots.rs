//! `cargo xtask screenshots`: the pictures in `docs/screenshots/` (and the README),
//! taken by the browser tests in headless Chromium from the real pages: the demo's
//! Installed page with the operator's verdicts, an install's page with its objects,
//! the Clusters page, the catalogue, a package page, the syncing and retry states.
//! Every one is taken at a point the test has asserted, so a picture never shows a
//! page the test did not check.

use crate::{setup, sh};
use std::process::Command;

pub fn run() -> anyhow::Result<()> {
    setup::for_tests()?;
    setup::build_frontend()?;
    let root = std::env::current_dir()?;
    sh(Command::new("cargo")
        .args(["test", "-p", "hoist-tests", "--test", "it"])
        .env("HOIST_UPDATE_SCREENSHOTS", "1")
        .env("HOIST_DIST", root.join("dist")))?;
    eprintln!("xtask> wrote docs/screenshots/");
    Ok(())
}
