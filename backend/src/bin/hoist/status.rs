//! `hoist status`.

use crate::args::Status;

/// `hoist status NAME [-n NAMESPACE]`.
pub async fn run(args: Status) -> anyhow::Result<()> {
    let Status {
        name,
        in_namespace,
        target,
    } = args;
    let client = target.client().await?;
    let install = install_ref(name, in_namespace);
    print!("{}", hoist::cli::status::status(&client, &install).await?);
    Ok(())
}

/// A ClusterPackage (no namespace) or a Package.
pub fn install_ref(name: String, namespace: Option<String>) -> hoist_core::install::InstallRef {
    hoist_core::install::InstallRef { namespace, name }
}
