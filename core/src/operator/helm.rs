//! Helm packages (`helm:` in package.yaml), delegated to Flux as clusters that run Helm
//! releases already do: the package becomes a `HelmRepository` (type `oci` for an
//! `oci://` URL) and a `HelmRelease` with the chart, its version and the values, which
//! Flux's source- and helm-controller install. Hoist applies, inventories, prunes and
//! judges them like any other objects (health: [`super::health`]'s HelmRelease rule).
//!
//! Guarantees: the objects are fully placed (namespace, owner labels), so placement
//! never renames them and the release's `sourceRef` always names its repository; chart
//! value targets (`targets[].chartName`) patch `spec.values` with the same templates
//! as resource targets; a target naming another chart is an error, never skipped.

use super::placement::Owner;
use super::values::{ValuesError, render_target};
use crate::repo::format::{Helm, ValueDefinition};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Flux's kinds, as Hoist writes them.
pub const HELM_REPOSITORY: (&str, &str, &str) =
    ("source.toolkit.fluxcd.io", "v1", "HelmRepository");
pub const HELM_RELEASE: (&str, &str, &str) = ("helm.toolkit.fluxcd.io", "v2", "HelmRelease");

/// How often Flux re-checks: the repository's index and the release's drift.
const REPOSITORY_INTERVAL: &str = "1h";
const RELEASE_INTERVAL: &str = "5m";
/// Install and upgrade failures are retried by Flux this many times before it stalls
/// (helm-controller's default is 0: one failed install is final).
const REMEDIATION_RETRIES: u32 = 3;

/// The chart's values: the package's own `helm.values` patched by every chart target.
pub fn chart_values(
    helm: &Helm,
    definitions: &BTreeMap<String, ValueDefinition>,
    values: &BTreeMap<String, String>,
) -> Result<Value, ValuesError> {
    let mut out = helm.values.clone().unwrap_or_else(|| json!({}));
    if !out.is_object() {
        out = json!({});
    }
    for (name, value) in values {
        let Some(def) = definitions.get(name) else {
            continue;
        };
        for target in &def.targets {
            let Some(chart) = target.get("chartName").and_then(Value::as_str) else {
                continue;
            };
            if chart != helm.chart_name {
                return Err(ValuesError::Target {
                    value: name.clone(),
                    why: format!(
                        "targets chart {chart:?}, but the package installs {:?}",
                        helm.chart_name
                    ),
                });
            }
            render_target(name, value, target, &mut out)?;
        }
    }
    Ok(out)
}

/// The HelmRepository and HelmRelease for `owner`'s install of `helm`, in `namespace`
/// (a Package's own, or a ClusterPackage's `defaultNamespace`), both named after the
/// install.
pub fn objects(helm: &Helm, owner: &Owner, namespace: &str, chart_values: Value) -> Vec<Value> {
    let name = owner.name();
    let labels = owner.labels();
    let mut repository = json!({
        "apiVersion": format!("{}/{}", HELM_REPOSITORY.0, HELM_REPOSITORY.1),
        "kind": HELM_REPOSITORY.2,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"url": helm.repository_url, "interval": REPOSITORY_INTERVAL},
    });
    if helm.repository_url.starts_with("oci://") {
        repository["spec"]["type"] = json!("oci");
    }
    let release = json!({
        "apiVersion": format!("{}/{}", HELM_RELEASE.0, HELM_RELEASE.1),
        "kind": HELM_RELEASE.2,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "interval": RELEASE_INTERVAL,
            "releaseName": name,
            "targetNamespace": namespace,
            "chart": {"spec": {
                "chart": helm.chart_name,
                "version": helm.chart_version,
                "sourceRef": {"kind": HELM_REPOSITORY.2, "name": name},
            }},
            "install": {"remediation": {"retries": REMEDIATION_RETRIES}},
            "upgrade": {"remediation": {"retries": REMEDIATION_RETRIES}},
            "values": chart_values,
        },
    });
    vec![repository, release]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helm(url: &str) -> Helm {
        Helm {
            repository_url: url.into(),
            chart_name: "podinfo".into(),
            chart_version: "6.5.0".into(),
            values: Some(json!({"replicaCount": 1, "ui": {"color": "#34577c"}})),
        }
    }

    fn definitions(chart: &str) -> BTreeMap<String, ValueDefinition> {
        let def: ValueDefinition = serde_json::from_value(json!({
            "type": "number",
            "targets": [{"chartName": chart, "patch": {"op": "add", "path": "/replicaCount"}, "valueTemplate": "{{ . }}"}]
        }))
        .expect("definition");
        BTreeMap::from([("replicas".to_string(), def)])
    }

    #[test]
    fn chart_targets_patch_the_packages_own_values() {
        let values = BTreeMap::from([("replicas".to_string(), "3".to_string())]);
        let out = chart_values(&helm("https://x"), &definitions("podinfo"), &values).expect("ok");
        assert_eq!(out, json!({"replicaCount": 3, "ui": {"color": "#34577c"}}));
    }

    #[test]
    fn a_target_for_another_chart_is_an_error() {
        let values = BTreeMap::from([("replicas".to_string(), "3".to_string())]);
        let e = chart_values(&helm("https://x"), &definitions("other"), &values)
            .expect_err("another chart");
        assert!(e.to_string().contains("targets chart \"other\""), "{e}");
    }

    #[test]
    fn the_release_names_its_repository_and_oci_urls_make_an_oci_repository() {
        let owner = Owner::Namespaced {
            name: "web".into(),
            namespace: "team-a".into(),
        };
        let objs = objects(
            &helm("oci://ghcr.io/stefanprodan/charts"),
            &owner,
            "team-a",
            json!({}),
        );
        assert_eq!(objs[0]["kind"], "HelmRepository");
        assert_eq!(objs[0]["spec"]["type"], "oci");
        assert_eq!(objs[1]["spec"]["chart"]["spec"]["sourceRef"]["name"], "web");
        assert_eq!(objs[1]["metadata"]["namespace"], "team-a");
        assert_eq!(
            objs[1]["metadata"]["labels"]["packages.hoist.dev/package"],
            "web"
        );
        let https = objects(
            &helm("https://stefanprodan.github.io/podinfo"),
            &owner,
            "team-a",
            json!({}),
        );
        assert!(https[0]["spec"].get("type").is_none());
    }
}
