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

/// Packages of the sample repository (`samples/repository/`): name, version, and
/// whether the package is cluster-scoped. `ingress-gateway` is one version behind.
const CATALOGUE: [(&str, &str, bool); 6] = [
    ("hello-web", "v1.1.0+2", false),
    ("redis-cache", "v7.2.4+1", false),
    ("guestbook", "v0.3.0+1", false),
    ("metrics-agent", "v2.0.1+3", true),
    ("cert-issuer", "v1.0.0+1", true),
    ("ingress-gateway", "v0.9.1+1", true),
];

/// How many of the first `n` seeded packages are ClusterPackages.
pub fn cluster_scoped(n: usize) -> usize {
    (0..n).filter(|i| CATALOGUE[i % CATALOGUE.len()].2).count()
}

pub const NAMESPACES: [&str; 2] = ["team-a", "team-b"];

fn spec(i: usize) -> PackageSpec {
    let (name, version, _) = CATALOGUE[i % CATALOGUE.len()];
    PackageSpec {
        package_info: PackageInfoTemplate {
            name: name.into(),
            version: version.into(),
            repository_name: Some(super::samples::REPOSITORY_NAME.into()),
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

/// Seeds `n` packages (each in its package's scope, namespaced ones in [`NAMESPACES`]) when
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
    for ns in NAMESPACES {
        namespace(client, ns).await?;
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

/// Creates the namespace unless it exists.
pub async fn namespace(client: &Client, name: &str) -> Result<(), kube::Error> {
    let nss: Api<Namespace> = Api::all(client.clone());
    let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))
        .map_err(kube::Error::SerdeError)?;
    match nss.create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
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
    if !CATALOGUE[i % CATALOGUE.len()].2 {
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
