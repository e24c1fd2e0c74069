//! `hoist cluster add|list|remove`.

use crate::args::{Cluster, ClusterCommand};

/// `hoist cluster add|list|remove`.
pub async fn run(args: Cluster) -> anyhow::Result<()> {
    let Cluster { command, target } = args;
    let client = target.client().await?;
    let ns = &target.namespace;
    let text = match command {
        ClusterCommand::Add {
            name,
            kubeconfig,
            member_context,
        } => {
            hoist::cli::fleet::add(&client, ns, &name, &kubeconfig, member_context.as_deref())
                .await?
        }
        ClusterCommand::List => hoist::cli::fleet::list(&client, ns).await?,
        ClusterCommand::Remove { name, yes } => {
            let confirmed = yes || confirm_remove(&name)?;
            hoist::cli::fleet::remove(&client, ns, &name, confirmed).await?
        }
    };
    print!("{text}");
    Ok(())
}

/// Asks on the terminal: the cluster's name typed back confirms.
fn confirm_remove(name: &str) -> anyhow::Result<bool> {
    eprint!("Remove cluster {name}? Its billing stops at this moment. Type its name to confirm: ");
    let mut typed = String::new();
    std::io::stdin().read_line(&mut typed)?;
    Ok(typed.trim() == name)
}
