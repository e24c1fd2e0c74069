//! `hoist uninstall`.

use crate::args::Uninstall;

/// `hoist uninstall NAME [-n NAMESPACE] [--force]`.
pub async fn run(args: Uninstall) -> anyhow::Result<()> {
    let Uninstall {
        name,
        in_namespace,
        force,
        target,
    } = args;
    let req = hoist::cli::install::UninstallRequest {
        name,
        namespace: in_namespace,
        force,
    };
    let client = target.client().await?;
    print!(
        "{}",
        hoist::cli::install::uninstall(&client, &target.namespace, &req).await?
    );
    Ok(())
}
