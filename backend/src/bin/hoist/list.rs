//! `hoist list`.

use crate::args::List;

/// `hoist list [--installed [-o wide|json]]`.
pub async fn run(args: List) -> anyhow::Result<()> {
    let List {
        query,
        repository,
        scope,
        installed,
        output,
        target,
    } = args;
    let client = target.client().await?;
    let out = if installed {
        hoist::cli::installed::installed(
            &client,
            &target.namespace,
            query.as_deref(),
            output.unwrap_or_default(),
        )
        .await?
    } else {
        let filter = hoist::cli::catalogue::Filter {
            query,
            repository,
            scope,
        };
        hoist::cli::catalogue::list(&client, &target.namespace, &filter).await?
    };
    print!("{out}");
    Ok(())
}
