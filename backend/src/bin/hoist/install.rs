//! `hoist install`.

use crate::args::Install;

/// `hoist install PACKAGE [--dry-run | --wait]`.
pub async fn run(args: Install) -> anyhow::Result<()> {
    let Install {
        package,
        version,
        repository,
        name,
        in_namespace,
        set,
        set_from,
        wait,
        timeout,
        dry_run,
        target,
    } = args;
    let req = hoist::cli::install::InstallRequest {
        package,
        version,
        repository,
        name,
        namespace: in_namespace,
        values: set,
        references: set_from,
    };
    let client = target.client().await?;
    if dry_run {
        print!(
            "{}",
            hoist::cli::install::preview_install(&client, &target.namespace, &req).await?
        );
        return Ok(());
    }
    let (text, created) = hoist::cli::install::install(&client, &target.namespace, &req).await?;
    print!("{text}");
    if wait {
        print!(
            "{}",
            hoist::cli::status::wait(&client, &created, timeout, None).await?
        );
    }
    Ok(())
}
