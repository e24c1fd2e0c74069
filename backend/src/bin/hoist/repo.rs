//! `hoist repo add|list|update|remove`; `repo lint` is in `lint.rs`.

use crate::args::{Repo, RepoAdd, RepoCommand, Target};
use hoist::cli::repo;

/// `hoist repo add|list|update|remove|lint`.
pub async fn run(args: Repo) -> anyhow::Result<()> {
    let Repo {
        command,
        context,
        namespace,
    } = args;
    let target = Target { context, namespace };
    let out = match command {
        RepoCommand::Add(add) => self::add(add, &target).await?,
        RepoCommand::List => repo::list(&target.client().await?, &target.namespace).await?,
        RepoCommand::Update { name, url, default } => {
            repo::update(&target.client().await?, &name, url.as_deref(), default).await?
        }
        RepoCommand::Remove { name } => repo::remove(&target.client().await?, &name).await?,
        // Reads a repository, not the cluster: no client, no kubeconfig.
        RepoCommand::Lint {
            source,
            offline,
            output,
        } => return crate::lint::run(&source, offline, output.as_deref()).await,
    };
    print!("{out}");
    if !out.ends_with('\n') {
        println!();
    }
    Ok(())
}

/// `hoist repo add`. Credentials are read (and refused) before anything reaches the
/// cluster.
async fn add(args: RepoAdd, target: &Target) -> anyhow::Result<String> {
    use hoist::cli::auth::{AuthFlags, auth_from_flags, read_secret};
    let RepoAdd {
        name,
        url,
        default,
        token_file,
        token_secret,
        basic_secret,
        username,
        password_file,
    } = args;
    let from_env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
    let token = match token_file {
        Some(path) => Some(read_secret("token", &path)?),
        None if token_secret.is_none() && basic_secret.is_none() && username.is_none() => {
            from_env("HOIST_REPO_TOKEN")
        }
        None => None,
    };
    let password = match password_file {
        Some(path) => Some(read_secret("password", &path)?),
        None if username.is_some() => from_env("HOIST_REPO_PASSWORD"),
        None => None,
    };
    let auth = auth_from_flags(AuthFlags {
        token,
        token_secret,
        basic_secret,
        username,
        password,
    })?;
    Ok(repo::add(&target.client().await?, &name, &url, default, auth).await?)
}
