//! `hoist show`.

use crate::args::Show;

/// `hoist show PACKAGE`.
pub async fn run(args: Show) -> anyhow::Result<()> {
    let Show {
        package,
        version,
        repository,
        target,
    } = args;
    let client = target.client().await?;
    let out = hoist::cli::catalogue::show(
        &client,
        &target.namespace,
        &package,
        version.as_deref(),
        repository.as_deref(),
    )
    .await?;
    print!("{out}");
    Ok(())
}
