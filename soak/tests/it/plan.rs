//! `hoist-soak --plan`: what a seed will do, without running it.

use std::process::Command;

fn plan(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hoist-soak"))
        .arg("--plan")
        .args(args)
        .output()
        .expect("hoist-soak runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("text")
}

#[test]
fn the_ci_seed_holds_every_kind_of_fault_in_three_and_a_half_minutes() {
    // `cargo xtask test` runs this seed for this long (xtask/src/soak.rs).
    let text = plan(&["--seed", "468", "--minutes", "3.5"]);
    assert!(
        text.lines().next().is_some_and(|l| l.ends_with("15 kinds")),
        "{text}"
    );
}

#[test]
fn keeping_processes_plans_no_kill_and_no_restart() {
    let text = plan(&["--seed", "468", "--minutes", "30", "--keep-processes"]);
    assert!(text.lines().count() > 10, "{text}");
    for kind in ["KillLeader", "KillDashboard", "RestartCluster"] {
        assert!(!text.contains(kind), "{kind} in {text}");
    }
    assert!(
        text.contains("MemberReplaced") || text.contains("MemberDown"),
        "{text}"
    );
}
