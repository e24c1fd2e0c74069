//! `hoist usage`.

use crate::args::Usage;

/// `hoist usage [--from T] [--to T] [--format F]`.
pub async fn run(args: Usage) -> anyhow::Result<()> {
    let Usage {
        from,
        to,
        format,
        target,
    } = args;
    let client = target.client().await?;
    print!(
        "{}",
        hoist::cli::fleet::usage(&client, from.as_deref(), to.as_deref(), format).await?
    );
    Ok(())
}
