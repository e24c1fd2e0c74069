//! `hoist repo add|list|update|remove`: PackageRepository resources through kube.
//!
//! Bad input (an invalid URL, an unknown name) is an error that changes nothing; an
//! unreachable repository is still added, and `repo list` shows why it cannot be used.

use hoist_kube::repo::catalogue;
use hoist_kube::repo::clientset::Clientset;
use hoist_kube::repo::fetch::{FetchOptions, Freshness};
use hoist_kube::types::{
    DEFAULT_REPOSITORY_ANNOTATION, PackageRepository, PackageRepositoryAuth, PackageRepositorySpec,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{url:?} is not a repository URL: {reason} (expected http:// or https://)")]
    InvalidUrl { url: String, reason: String },
    #[error("no repository named {0:?}; `hoist repo list` shows them")]
    UnknownName(String),
    #[error("a repository named {0:?} already exists; use `hoist repo update {0} --url …`")]
    AlreadyExists(String),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

fn check_url(url: &str) -> Result<(), RepoError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(u) => Err(RepoError::InvalidUrl {
            url: url.into(),
            reason: format!("scheme {:?} or host missing", u.scheme()),
        }),
        Err(e) => Err(RepoError::InvalidUrl {
            url: url.into(),
            reason: e.to_string(),
        }),
    }
}

fn not_found(name: &str) -> impl FnOnce(kube::Error) -> RepoError + '_ {
    move |e| match &e {
        kube::Error::Api(s) if s.is_not_found() => RepoError::UnknownName(name.into()),
        _ => RepoError::Api(e),
    }
}

/// `repo add NAME URL [--default]`: creates the PackageRepository. When it is the new
/// default, the annotation is removed from any other repository.
pub async fn add(
    client: &Client,
    name: &str,
    url: &str,
    default: bool,
    auth: Option<PackageRepositoryAuth>,
) -> Result<String, RepoError> {
    check_url(url)?;
    let api: Api<PackageRepository> = Api::all(client.clone());
    let mut repo = PackageRepository::new(
        name,
        PackageRepositorySpec {
            url: url.into(),
            auth,
        },
    );
    if default {
        repo.set_default();
    }
    api.create(&PostParams::default(), &repo)
        .await
        .map_err(|e| match &e {
            kube::Error::Api(s) if s.code == 409 => RepoError::AlreadyExists(name.into()),
            _ => RepoError::Api(e),
        })?;
    if default {
        make_sole_default(&api, name).await?;
    }
    Ok(format!(
        "repository {name} added ({url}){}",
        if default { ", now the default" } else { "" }
    ))
}

async fn make_sole_default(api: &Api<PackageRepository>, keep: &str) -> Result<(), RepoError> {
    for other in api.list(&Default::default()).await? {
        if other.name_any() != keep && other.is_default() {
            let patch = json!({"metadata": {"annotations": {DEFAULT_REPOSITORY_ANNOTATION: null}}});
            api.patch(
                &other.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        }
    }
    Ok(())
}

/// `repo update NAME [--url URL] [--default]`: changes only what is given (auth kept).
pub async fn update(
    client: &Client,
    name: &str,
    url: Option<&str>,
    default: bool,
) -> Result<String, RepoError> {
    if let Some(u) = url {
        check_url(u)?;
    }
    let api: Api<PackageRepository> = Api::all(client.clone());
    api.get(name).await.map_err(not_found(name))?;
    let mut patch = json!({});
    if let Some(u) = url {
        patch["spec"] = json!({"url": u});
    }
    if default {
        patch["metadata"] = json!({"annotations": {DEFAULT_REPOSITORY_ANNOTATION: "true"}});
    }
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(not_found(name))?;
    if default {
        make_sole_default(&api, name).await?;
    }
    Ok(format!("repository {name} updated"))
}

/// `repo remove NAME`.
pub async fn remove(client: &Client, name: &str) -> Result<String, RepoError> {
    let api: Api<PackageRepository> = Api::all(client.clone());
    api.delete(name, &Default::default())
        .await
        .map_err(not_found(name))?;
    Ok(format!("repository {name} removed"))
}

/// A clientset for one command: one LIST of PackageRepositories, and one LIST of the
/// Secrets of `namespace` only when a repository takes its credentials from one.
pub async fn clientset(client: &Client, namespace: &str) -> Result<Arc<Clientset>, kube::Error> {
    let api: Api<PackageRepository> = Api::all(client.clone());
    let repos = api.list(&Default::default()).await?.items;
    let secrets = if Clientset::needs_secrets(&repos) {
        let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
        secrets.list(&Default::default()).await?.items
    } else {
        Vec::new()
    };
    let opts = FetchOptions {
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    Ok(Clientset::from_lists(opts, &repos, &secrets))
}

/// [`clientset`] and the catalogue, every index asked of its repository now (a one-shot
/// command has no cache worth trusting).
pub async fn fresh_catalogue(
    client: &Client,
    namespace: &str,
) -> Result<(Arc<Clientset>, catalogue::Catalogue), kube::Error> {
    let set = clientset(client, namespace).await?;
    let cat = catalogue::load(&set, Freshness::Revalidate).await;
    Ok((set, cat))
}

/// `repo list`: every repository with its state, asked of the repository itself now.
pub async fn list(client: &Client, namespace: &str) -> Result<String, RepoError> {
    let (_, cat) = fresh_catalogue(client, namespace).await?;
    let mut out = format!(
        "{:<20} {:<8} {:<9} {}\n",
        "NAME", "DEFAULT", "PACKAGES", "URL / STATE"
    );
    for r in &cat.repositories {
        let state = r
            .error
            .as_deref()
            .map_or_else(|| "ok".to_string(), |e| format!("error: {e}"));
        out.push_str(&format!(
            "{:<20} {:<8} {:<9} {}\n{:<39} {}\n",
            r.name,
            if r.is_default { "yes" } else { "" },
            r.packages,
            r.url,
            "",
            state
        ));
    }
    if cat.repositories.is_empty() {
        out.push_str("(no repositories; add one with `hoist repo add NAME URL`)\n");
    }
    Ok(out)
}
