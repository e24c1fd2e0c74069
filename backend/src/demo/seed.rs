//! The sample catalogue `hoist demo` starts with: cluster and namespaced packages in
//! every state the dashboard shows (ready, failed, pending).

use crate::types::{
    ClusterPackage, NamespacedPackageSpec, Package, PackageInfoTemplate, PackageSpec,
};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const CATALOGUE: [(&str, &str); 12] = [
    ("cert-manager", "v1.17.0+2"),
    ("ingress-nginx", "v1.12.1+1"),
    ("kube-prometheus-stack", "v70.4.2+1"),
    ("argo-cd", "v2.14.9+1"),
    ("keycloak", "v26.1.4+1"),
    ("cloudnative-pg", "v1.25.1+1"),
    ("rabbitmq-operator", "v2.12.1+1"),
    ("velero", "v1.15.2+1"),
    ("metallb", "v0.14.9+1"),
    ("external-dns", "v0.16.1+1"),
    ("sealed-secrets", "v0.29.0+1"),
    ("trivy-operator", "v0.26.1+1"),
];

pub const NAMESPACES: [&str; 2] = ["team-a", "team-b"];

fn spec(i: usize) -> PackageSpec {
    let (name, version) = CATALOGUE[i % CATALOGUE.len()];
    PackageSpec {
        package_info: PackageInfoTemplate {
            name: name.into(),
            version: version.into(),
            repository_name: Some("hoist-samples".into()),
        },
        ..Default::default()
    }
}

/// The status a seeded package gets: most are installed, one failed, one pending.
fn status(i: usize, version: &str) -> serde_json::Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let cond = |t: &str, s: &str, reason: &str, message: &str| json!({"type": t, "status": s, "reason": reason, "message": message, "lastTransitionTime": now});
    match i % 7 {
        5 => json!({"status": {"conditions": [
            cond("Ready", "False", "InstallationFailed", "manifest https://example.invalid/crds.yaml could not be fetched: 503"),
            cond("Failed", "True", "InstallationFailed", "manifest https://example.invalid/crds.yaml could not be fetched: 503"),
        ]}}),
        6 => json!({"status": {"conditions": [
            cond("Ready", "Unknown", "Pending", "waiting for dependencies"),
            cond("Failed", "Unknown", "Pending", "waiting for dependencies"),
        ]}}),
        _ => json!({"status": {"version": version, "conditions": [
            cond("Ready", "True", "InstallationSucceeded", "installed"),
            cond("Failed", "False", "InstallationSucceeded", ""),
        ]}}),
    }
}

/// Seeds `n` packages (two thirds cluster-scoped, the rest in [`NAMESPACES`]) when
/// there are none yet. Returns how many it created.
pub async fn seed_if_empty(client: &Client, n: usize) -> Result<usize, kube::Error> {
    let cluster: Api<ClusterPackage> = Api::all(client.clone());
    let namespaced: Api<Package> = Api::all(client.clone());
    let lp = ListParams::default().limit(1);
    if !cluster.list_metadata(&lp).await?.items.is_empty()
        || !namespaced.list_metadata(&lp).await?.items.is_empty()
    {
        return Ok(0);
    }
    let nss: Api<Namespace> = Api::all(client.clone());
    for ns in NAMESPACES {
        let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))
            .map_err(kube::Error::SerdeError)?;
        match nss.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            async move { seed_one(&client, i).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(n)
}

async fn seed_one(client: &Client, i: usize) -> Result<(), kube::Error> {
    let spec = spec(i);
    let (base, version) = (
        spec.package_info.name.clone(),
        spec.package_info.version.clone(),
    );
    let name = if i < CATALOGUE.len() {
        base
    } else {
        format!("{base}-{i}")
    };
    let st = status(i, &version);
    let pp = PatchParams::default();
    if i % 3 == 2 {
        let ns = NAMESPACES[i % NAMESPACES.len()];
        let api: Api<Package> = Api::namespaced(client.clone(), ns);
        api.create(
            &PostParams::default(),
            &Package::new(&name, NamespacedPackageSpec { spec }),
        )
        .await?;
        api.patch_status(&name, &pp, &Patch::Merge(&st)).await?;
    } else {
        let api: Api<ClusterPackage> = Api::all(client.clone());
        api.create(&PostParams::default(), &ClusterPackage::new(&name, spec))
            .await?;
        api.patch_status(&name, &pp, &Patch::Merge(&st)).await?;
    }
    Ok(())
}
