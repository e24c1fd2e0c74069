//! Installs what the test suite needs on a new machine, skipping what is already there.
//! Every step is idempotent and checks before it installs.

use crate::{sh, succeeds};
use std::path::PathBuf;
use std::process::Command;

/// The virtualenv holding the official Kubernetes Python client.
pub fn python_env() -> PathBuf {
    PathBuf::from("target/xtask/pyenv")
}

pub fn python() -> PathBuf {
    python_env().join("bin/python")
}

pub fn all() -> anyhow::Result<()> {
    rust_components()?;
    kubectl()?;
    python_client()?;
    Ok(())
}

fn rust_components() -> anyhow::Result<()> {
    if !succeeds(Command::new("cargo").args(["fmt", "--version"]))
        || !succeeds(Command::new("cargo").args(["clippy", "--version"]))
    {
        sh(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
    }
    Ok(())
}

/// The Debian package `apt-get update` has run for, once per xtask run.
fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    static UPDATED: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    UPDATED.call_once(|| result = sh(Command::new("apt-get").args(["update", "-q"])));
    result?;
    sh(Command::new("apt-get")
        .args(["install", "-y", "-q"])
        .args(packages))
}

fn kubectl() -> anyhow::Result<()> {
    if !succeeds(Command::new("kubectl").args(["version", "--client"])) {
        apt_install(&["kubernetes-client"])?;
    }
    Ok(())
}

fn python_client() -> anyhow::Result<()> {
    let py = python();
    if succeeds(Command::new(&py).args(["-c", "import kubernetes"])) {
        return Ok(());
    }
    if !succeeds(Command::new("python3").args(["-m", "venv", "--help"])) {
        apt_install(&["python3-venv"])?;
    }
    sh(Command::new("python3")
        .args(["-m", "venv"])
        .arg(python_env()))?;
    sh(Command::new(&py).args(["-m", "pip", "install", "-q", "kubernetes"]))
}
