//! `hoist repo lint`.

use hoist::cli::lint;

/// `hoist repo lint`: the findings on stdout; an error when any is an error (exit 1).
pub async fn run(source: &str, offline: bool, output: Option<&str>) -> anyhow::Result<()> {
    let opts = lint::LintOptions {
        offline,
        ..Default::default()
    };
    let findings = lint::lint(source, &opts).await?;
    if output == Some("json") {
        println!("{}", lint::json(&findings));
    } else {
        print!("{}", lint::human(&findings));
    }
    if lint::has_errors(&findings) {
        let errors = findings
            .iter()
            .filter(|f| f.severity == hoist_core::lint::Severity::Error)
            .count();
        anyhow::bail!(
            "{source}: {errors} error{} found",
            if errors == 1 { "" } else { "s" }
        );
    }
    Ok(())
}
