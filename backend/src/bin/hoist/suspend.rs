//! `hoist suspend` and `hoist resume`.

use crate::args::Switch;

/// `hoist suspend NAME [-n NS]` (`on`) or `hoist resume NAME [-n NS]`.
pub async fn run(args: Switch, on: bool) -> anyhow::Result<()> {
    let Switch {
        name,
        in_namespace,
        target,
    } = args;
    let client = target.client().await?;
    let at = crate::status::install_ref(name, in_namespace);
    print!(
        "{}",
        hoist::cli::configure::suspend(&client, &at, on).await?
    );
    Ok(())
}
