//! Installs what the build and the tests need on a new machine, skipping what is
//! already there. Every step checks before it installs. See docs/decisions/0003.

use crate::{sh, succeeds};
use std::path::PathBuf;
use std::process::Command;

pub const TRUNK: &str = "0.21.14";
pub const WASM_BINDGEN: &str = "0.2.130";
pub const BINARYEN: &str = "132.0.0";
/// The splitter for lazily loaded pages; its format must match `wasm_split_helpers`
/// (0.2.x, through leptos) in the web app.
pub const WASM_SPLIT: &str = "0.2.4";

/// The virtualenv holding the official Kubernetes Python client.
pub fn python_env() -> PathBuf {
    PathBuf::from("target/xtask/pyenv")
}

pub fn python() -> PathBuf {
    python_env().join("bin/python")
}

/// Where binaryen's `wasm-opt` (from npm) lives; prepend it to PATH for trunk.
pub fn binaryen_bin() -> PathBuf {
    PathBuf::from("target/xtask/binaryen/node_modules/.bin")
}

/// Everything `cargo xtask test` needs.
pub fn for_tests() -> anyhow::Result<()> {
    rust_components()?;
    frontend_tools()?;
    kubectl()?;
    python_client()?;
    chromium()?;
    Ok(())
}

fn output(cmd: &mut Command) -> String {
    cmd.output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}

fn rust_components() -> anyhow::Result<()> {
    if !succeeds(Command::new("cargo").args(["fmt", "--version"]))
        || !succeeds(Command::new("cargo").args(["clippy", "--version"]))
    {
        sh(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
    }
    Ok(())
}

/// The wasm target, trunk, wasm-bindgen-cli, wasm-split-cli and wasm-opt, at the pinned versions
/// (`shared/notes/toolchain.md`: trunk must never download them itself).
pub fn frontend_tools() -> anyhow::Result<()> {
    if !output(Command::new("rustup").args(["target", "list", "--installed"]))
        .contains("wasm32-unknown-unknown")
    {
        sh(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    if !output(Command::new("trunk").arg("--version")).contains(TRUNK) {
        sh(Command::new("cargo").args(["install", &format!("trunk@{TRUNK}"), "--locked"]))?;
    }
    if !output(Command::new("wasm-bindgen").arg("--version")).contains(WASM_BINDGEN) {
        // Not --locked: its lock file pins a crate version the registry here lacks.
        sh(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN]))?;
    }
    if !output(Command::new("cargo").args(["install", "--list"]))
        .contains(&format!("wasm_split_cli_support v{WASM_SPLIT}:"))
    {
        sh(Command::new("cargo").args([
            "install",
            "wasm_split_cli_support",
            "--version",
            WASM_SPLIT,
            "--locked",
            "--features",
            "build-binary",
        ]))?;
    }
    if !output(Command::new(binaryen_bin().join("wasm-opt")).arg("--version"))
        .contains("version_132")
    {
        // Not Debian's binaryen 108: it corrupts wasm-bindgen 0.2.130 output.
        std::fs::create_dir_all("target/xtask/binaryen")?;
        sh(Command::new("npm").args([
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            "target/xtask/binaryen",
            &format!("binaryen@{BINARYEN}"),
        ]))?;
    }
    Ok(())
}

/// Debian packages, with `apt-get update` once per xtask run.
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

fn chromium() -> anyhow::Result<()> {
    if !succeeds(Command::new("chromedriver").arg("--version"))
        || !std::path::Path::new("/usr/bin/chromium").exists()
    {
        apt_install(&["chromium", "chromium-driver"])?;
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

/// Builds the web app into `dist/` with the pinned tools.
pub fn build_frontend() -> anyhow::Result<()> {
    frontend_tools()?;
    sh(&mut trunk_build()?)
}

/// Builds the web app into `dist/` as [`build_frontend`] does but without `wasm-opt`'s
/// size pass: for `cargo xtask demo` (crate::wasm::SKIP_WASM_OPT).
pub fn build_frontend_unshrunk() -> anyhow::Result<()> {
    frontend_tools()?;
    sh(trunk_build()?.env(crate::wasm::SKIP_WASM_OPT, "1"))
}

/// `trunk build --release` with the pinned binaryen first on PATH.
fn trunk_build() -> anyhow::Result<Command> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![std::env::current_dir()?.join(binaryen_bin())];
    paths.extend(std::env::split_paths(&path));
    let mut trunk = Command::new("trunk");
    trunk
        .args(["build", "--release"])
        .env("PATH", std::env::join_paths(paths)?);
    Ok(trunk)
}
