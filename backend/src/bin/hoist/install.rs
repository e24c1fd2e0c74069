//! `hoist install`.

use crate::args::Install;

/// `hoist install PACKAGE [--dry-run [-o yaml|json] | --wait] [--auto-update]`.
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
        output,
        auto_update,
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
        auto_update,
    };
    let client = target.client().await?;
    if let Some(output) = output {
        print!(
            "{}",
            hoist::cli::configure::install_object(&client, &target.namespace, &req, output).await?
        );
        return Ok(());
    }
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
