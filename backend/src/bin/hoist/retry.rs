//! `hoist retry`.

use crate::args::Retry;
use crate::status::install_ref;

/// `hoist retry NAME [-n NAMESPACE]`.
pub async fn run(args: Retry) -> anyhow::Result<()> {
    let Retry {
        name,
        in_namespace,
        target,
    } = args;
    let client = target.client().await?;
    let install = install_ref(name, in_namespace);
    let (text, _) = hoist::cli::status::retry(&client, &install).await?;
    print!("{text}");
    Ok(())
}
