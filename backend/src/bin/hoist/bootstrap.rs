//! `hoist bootstrap` and `hoist version`.

use crate::args::{Bootstrap, Version};

/// `hoist bootstrap [--with-dashboard] [--image I] [--dry-run -o yaml|json]
/// [--timeout 5m | --no-wait] [--context C]`.
pub async fn run(args: Bootstrap) -> anyhow::Result<()> {
    let Bootstrap {
        with_dashboard,
        image,
        dry_run,
        output,
        timeout,
        no_wait,
        context,
    } = args;
    let req = hoist::cli::bootstrap::BootstrapRequest {
        with_dashboard,
        image,
        wait: (!no_wait).then_some(timeout),
    };
    if let (true, Some(output)) = (dry_run, output) {
        let objects = hoist::cli::bootstrap::objects(&req)?;
        print!("{}", hoist::cli::bootstrap::render(&objects, output));
        return Ok(());
    }
    let client = crate::client::kube_client(context).await?;
    println!("{}", hoist::cli::bootstrap::bootstrap(&client, &req).await?);
    Ok(())
}

/// `hoist version`.
pub async fn version(args: Version) -> anyhow::Result<()> {
    let client = args.target.client().await?;
    print!(
        "{}",
        hoist::cli::bootstrap::versions(&client, &args.target.namespace).await?
    );
    Ok(())
}
