//! `hoist install PACKAGE`, `hoist upgrade NAME` and `hoist uninstall NAME`: load the
//! catalogue once and hand the request to [`hoist_kube::install`], [`hoist_kube::upgrade`] or
//! [`hoist_kube::uninstall`], which check everything before they write. Bad input changes
//! nothing.
//!
//! API requests: one LIST of PackageRepositories (and of Hoist's Secrets when a
//! repository needs one), then the create. No PackageRepository is read per lookup.

use super::repo::fresh_catalogue;
pub use hoist_kube::install::{InstallError, InstallRequest};
pub use hoist_kube::uninstall::{UninstallError, UninstallRequest};
pub use hoist_kube::upgrade::{UpgradeError, UpgradeRequest};
use kube::Client;

/// Parses `KEY=VALUE`.
pub fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE, e.g. replicas=3")),
    }
}

/// `--set-from KEY=configmap:[NS/]NAME/KEY`, `KEY=secret:[NS/]NAME/KEY` or
/// `KEY=package:NAME/VALUE`: a value the operator reads, as `valueFrom`.
pub fn parse_set_from(s: &str) -> Result<hoist_core::install::plan::Reference, String> {
    use hoist_core::install::plan::{Reference, Source};
    let usage = || {
        format!(
            "{s:?}: expected KEY=configmap:[NAMESPACE/]NAME/KEY, KEY=secret:[NAMESPACE/]NAME/KEY \
             or KEY=package:NAME/VALUE"
        )
    };
    let (key, source) = s.split_once('=').ok_or_else(usage)?;
    let (kind, path) = source.split_once(':').ok_or_else(usage)?;
    let parts: Vec<&str> = path.split('/').collect();
    if key.trim().is_empty() || parts.iter().any(|p| p.trim().is_empty()) {
        return Err(usage());
    }
    let object = |namespace: Option<&str>, name: &str, k: &str| {
        (
            namespace.map(str::to_string),
            name.to_string(),
            k.to_string(),
        )
    };
    let (namespace, name, k) = match (kind, parts.as_slice()) {
        ("configmap" | "secret", [name, k]) => object(None, name, k),
        ("configmap" | "secret", [ns, name, k]) => object(Some(ns), name, k),
        ("package", [name, value]) => {
            return Ok(Reference {
                key: key.trim().to_string(),
                source: Source::Package {
                    name: name.to_string(),
                    value: value.to_string(),
                },
            });
        }
        _ => return Err(usage()),
    };
    let source = if kind == "configmap" {
        Source::ConfigMap {
            namespace,
            name,
            key: k,
        }
    } else {
        Source::Secret {
            namespace,
            name,
            key: k,
        }
    };
    Ok(Reference {
        key: key.trim().to_string(),
        source,
    })
}

/// Installs; returns what to print and what was created (for `--wait`).
pub async fn install(
    client: &Client,
    hoist_namespace: &str,
    req: &InstallRequest,
) -> Result<(String, hoist_core::install::InstallRef), InstallError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let installed = hoist_kube::install::install(client, &set, &cat, req).await?;
    Ok((format!("{installed}\n"), installed.target))
}

/// `upgrade --all`: every install moved to the newest version its dependents accept.
pub async fn upgrade_all(
    client: &Client,
    hoist_namespace: &str,
    namespace: Option<&str>,
) -> Result<hoist_kube::upgrade::UpgradedAll, kube::Error> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    hoist_kube::upgrade::upgrade_all(client, &set, &cat, namespace).await
}

/// `install --dry-run`: the plan, printed; nothing is written.
pub async fn preview_install(
    client: &Client,
    hoist_namespace: &str,
    req: &InstallRequest,
) -> Result<String, hoist_operator::preview::PreviewError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace)
        .await
        .map_err(hoist_operator::preview::PreviewError::Api)?;
    let reads = hoist_operator::preview::Listed::new(client);
    let plan = hoist_operator::preview::install(client, set, &cat, &reads, req).await?;
    Ok(hoist_operator::preview::render(&plan))
}

/// `upgrade --dry-run`: the plan, printed; nothing is written.
pub async fn preview_upgrade(
    client: &Client,
    hoist_namespace: &str,
    req: &UpgradeRequest,
) -> Result<String, hoist_operator::preview::PreviewError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace)
        .await
        .map_err(hoist_operator::preview::PreviewError::Api)?;
    let reads = hoist_operator::preview::Listed::new(client);
    let plan = hoist_operator::preview::upgrade(client, set, &cat, &reads, req).await?;
    Ok(hoist_operator::preview::render(&plan))
}

/// Uninstalls and returns what to print.
pub async fn uninstall(
    client: &Client,
    hoist_namespace: &str,
    req: &UninstallRequest,
) -> Result<String, UninstallError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let done = hoist_kube::uninstall::uninstall(client, &set, &cat, req).await?;
    Ok(format!("{done}\n"))
}

/// Upgrades and returns what to print.
pub async fn upgrade(
    client: &Client,
    hoist_namespace: &str,
    req: &UpgradeRequest,
) -> Result<String, UpgradeError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let done = hoist_kube::upgrade::upgrade(client, &set, &cat, req).await?;
    Ok(format!("{done}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_core::install::plan::Source;

    #[test]
    fn set_from_reads_configmaps_secrets_with_or_without_namespace_and_package_values() {
        let r = parse_set_from("password=secret:db/pw").expect("secret");
        assert_eq!(r.key, "password");
        assert_eq!(
            r.source,
            Source::Secret {
                namespace: None,
                name: "db".into(),
                key: "pw".into()
            }
        );
        let r = parse_set_from("host=configmap:infra/endpoints/db").expect("configmap");
        assert_eq!(
            r.source,
            Source::ConfigMap {
                namespace: Some("infra".into()),
                name: "endpoints".into(),
                key: "db".into()
            }
        );
        let r = parse_set_from("token=package:vault/rootToken").expect("package");
        assert_eq!(
            r.source,
            Source::Package {
                name: "vault".into(),
                value: "rootToken".into()
            }
        );
    }

    #[test]
    fn set_from_refuses_what_it_cannot_read_and_says_the_forms() {
        for bad in [
            "password",
            "password=db/pw",
            "password=vault:db/pw",
            "=secret:db/pw",
            "password=secret:db",
            "password=secret:db//pw",
            "password=package:vault",
            "password=secret:a/b/c/d",
        ] {
            let e = parse_set_from(bad).expect_err(bad);
            assert!(e.contains("KEY=secret:[NAMESPACE/]NAME/KEY"), "{e}");
        }
    }
}
