//! `hoist upgrade`.

use crate::args::Upgrade;

/// `hoist upgrade NAME [--version V] [--dry-run [-o yaml|json]]`, or `hoist upgrade --all`.
pub async fn run(args: Upgrade) -> anyhow::Result<()> {
    let Upgrade {
        name,
        in_namespace,
        version,
        all,
        dry_run,
        output,
        target,
    } = args;
    let client = target.client().await?;
    let Some(name) = name.filter(|_| !all) else {
        println!(
            "{}",
            hoist::cli::install::upgrade_all(&client, &target.namespace, in_namespace.as_deref())
                .await?
        );
        return Ok(());
    };
    let req = hoist::cli::install::UpgradeRequest {
        name,
        namespace: in_namespace,
        version,
    };
    if let Some(output) = output {
        print!(
            "{}",
            hoist::cli::configure::upgrade_object(&client, &target.namespace, &req, output).await?
        );
        return Ok(());
    }
    if dry_run {
        print!(
            "{}",
            hoist::cli::install::preview_upgrade(&client, &target.namespace, &req).await?
        );
        return Ok(());
    }
    print!(
        "{}",
        hoist::cli::install::upgrade(&client, &target.namespace, &req).await?
    );
    Ok(())
}
