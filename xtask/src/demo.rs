//! `cargo xtask demo`: builds the web app, then runs `hoist demo` (in-process
//! devcluster with sample packages, and the dashboard) until Ctrl-C.
//! Extra arguments go to `hoist demo` (e.g. `--api-latency 300ms --seed-packages 5000`);
//! `--dist` and `--data-dir` default to `dist` and `target/demo` unless given.

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

pub fn run(args: &[String]) -> anyhow::Result<()> {
    setup::build_frontend()?;
    sh(Command::new("cargo")
        .args(["run", "--release", "-p", "hoist", "--", "demo"])
        .args(demo_args(args)))
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
