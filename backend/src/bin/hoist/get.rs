//! `hoist get`.

use crate::args::Get;

/// `hoist get NAME [-n NS] [-o yaml|json]`.
pub async fn run(args: Get) -> anyhow::Result<()> {
    let Get {
        name,
        in_namespace,
        output,
        target,
    } = args;
    let client = target.client().await?;
    let at = crate::status::install_ref(name, in_namespace);
    print!(
        "{}",
        hoist::cli::configure::get(&client, &at, output).await?
    );
    Ok(())
}
