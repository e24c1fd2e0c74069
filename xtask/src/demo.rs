//! `cargo xtask demo`: runs devcluster in the foreground with a kubeconfig for kubectl.
//! (The dashboard joins it as `hoist demo` when the backend lands.)

use crate::sh;
use std::process::Command;

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all("target/demo")?;
    eprintln!(
        "xtask> kubeconfig: target/demo/kubeconfig (export KUBECONFIG=$PWD/target/demo/kubeconfig)"
    );
    sh(Command::new("cargo").args([
        "run",
        "--release",
        "-p",
        "devcluster",
        "--",
        "serve",
        "--listen",
        "127.0.0.1:6443",
        "--kubeconfig-out",
        "target/demo/kubeconfig",
        "--state",
        "target/demo/state.json",
    ]))
}
