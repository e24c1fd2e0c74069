//! `cargo xtask demo`: builds the web app, then runs `hoist demo` (in-process
//! devcluster with sample packages, and the dashboard) until Ctrl-C.
//! Extra arguments go to `hoist demo` (e.g. `--api-latency 300ms --seed-packages 5000`);
//! `--dist` and `--data-dir` default to `dist` and `target/demo` unless given;
//! `--release` (xtask's own) builds `hoist` optimised.

use crate::{setup, sh};
use std::process::Command;

/// The arguments for `hoist demo`: the user's, with our defaults for what they left out.
fn demo_args(user: &[String]) -> Vec<String> {
    let user = user.strip_prefix(&["--".to_string()]).unwrap_or(user);
    let given = |flag: &str| {
        user.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut out = Vec::new();
    for (flag, default) in [("--dist", "dist"), ("--data-dir", "target/demo")] {
        if !given(flag) {
            out.extend([flag.to_string(), default.to_string()]);
        }
    }
    out.extend(user.iter().cloned());
    out
}

/// Builds the web app, then runs `hoist demo`: a debug build by default (the page is up
/// minutes sooner on a fresh clone, and the demo's dozen packages need no optimiser),
/// an optimised one with `--release` (for `--seed-packages 5000` and figures). The web
/// app is built without `wasm-opt`'s size pass (decision 0033).
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let release = args.iter().any(|a| a == "--release");
    let args: Vec<String> = args.iter().filter(|a| *a != "--release").cloned().collect();
    setup::build_frontend_unshrunk()?;
    let mut cargo = Command::new("cargo");
    cargo.arg("run");
    if release {
        cargo.arg("--release");
    }
    sh(cargo
        .args(["-p", "hoist", "--bin", "hoist", "--", "demo"])
        .args(demo_args(&args)))
}

#[cfg(test)]
mod tests {
    use super::demo_args;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_fill_in_only_what_the_user_did_not_give() {
        assert_eq!(
            demo_args(&strings(&["--", "--api-latency", "300ms"])),
            strings(&[
                "--dist",
                "dist",
                "--data-dir",
                "target/demo",
                "--api-latency",
                "300ms"
            ])
        );
        assert_eq!(
            demo_args(&strings(&["--data-dir=/tmp/d", "--dist", "web"])),
            strings(&["--data-dir=/tmp/d", "--dist", "web"])
        );
    }
}
