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
use super::values::{Unresolved, ValuesError, Write, prepare};
use crate::repo::format::Helm;
use serde_json::{Value, json};

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

/// The chart's values: the package's own `helm.values` patched by every chart target of
/// `writes` (values, then transformations), and the chart targets that name another
/// chart (Glasskube matches a target to a release by chart name, so such a target
/// writes nothing; Hoist says so, decision 0021). A resource target is not the chart's.
pub fn chart_values(
    helm: &Helm,
    writes: &[Write<'_>],
) -> Result<(Value, Vec<Unresolved>), ValuesError> {
    let mut out = helm.values.clone().unwrap_or_else(|| json!({}));
    if !out.is_object() {
        out = json!({});
    }
    let mut unresolved = Vec::new();
    for w in writes {
        for target in w.targets {
            if target.resource.is_some() {
                continue;
            }
            let Some(chart) = target.chart_name.as_deref() else {
                continue;
            };
            let op = prepare(&w.label, &w.value, target)?;
            if chart != helm.chart_name {
                unresolved.push(Unresolved {
                    value: w.label.clone(),
                    target: target.describe(),
                    hint: Some(format!("the package installs chart {}", helm.chart_name)),
                });
                continue;
            }
            op.apply(&w.label, target, &mut out)?;
        }
    }
    Ok((out, unresolved))
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
            releases: vec![],
        }
    }

    fn targets(chart: &str) -> Vec<crate::repo::format::ValueTarget> {
        serde_json::from_value(json!([
            {"chartName": chart, "patch": {"op": "add", "path": "/replicaCount"}, "valueTemplate": "{{ . }}"}
        ]))
        .expect("targets")
    }

    fn three(targets: &[crate::repo::format::ValueTarget]) -> Vec<Write<'_>> {
        vec![Write {
            label: "value \"replicas\"".into(),
            value: json!("3"),
            targets,
        }]
    }

    #[test]
    fn chart_targets_patch_the_packages_own_values() {
        let t = targets("podinfo");
        let (out, unresolved) = chart_values(&helm("https://x"), &three(&t)).expect("ok");
        assert!(unresolved.is_empty());
        assert_eq!(out, json!({"replicaCount": 3, "ui": {"color": "#34577c"}}));
    }

    #[test]
    fn a_target_for_another_chart_writes_nothing_and_is_reported() {
        let t = targets("other");
        let (out, unresolved) = chart_values(&helm("https://x"), &three(&t)).expect("skipped");
        assert_eq!(out["replicaCount"], 1);
        assert_eq!(unresolved.len(), 1);
        assert!(
            unresolved[0].to_string().contains("no chart other"),
            "{}",
            unresolved[0]
        );
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
