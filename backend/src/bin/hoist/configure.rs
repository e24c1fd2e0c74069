//! `hoist configure`.

use crate::args::Configure;

/// `hoist configure NAME [-n NS] [--set K=V] [--set-from K=SRC] [--unset K]
/// [--auto-update[=BOOL]] [--dry-run] [-o yaml|json]`.
pub async fn run(args: Configure) -> anyhow::Result<()> {
    let Configure {
        name,
        in_namespace,
        set,
        set_from,
        unset,
        auto_update,
        dry_run,
        output,
        target,
    } = args;
    if set.is_empty() && set_from.is_empty() && unset.is_empty() && auto_update.is_none() {
        anyhow::bail!(
            "nothing to change: give --set KEY=VALUE, --set-from KEY=SOURCE, --unset KEY or --auto-update[=false]"
        );
    }
    let req = hoist::cli::configure::ConfigureRequest {
        name,
        namespace: in_namespace,
        set,
        references: set_from,
        unset,
        auto_update,
    };
    let client = target.client().await?;
    print!(
        "{}",
        hoist::cli::configure::configure(&client, &target.namespace, &req, dry_run, output).await?
    );
    Ok(())
}
