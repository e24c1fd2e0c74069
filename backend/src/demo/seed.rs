//! The packages `hoist demo` starts with. Only their specs are written here: what
//! becomes of them (installed and Ready, progressing, failed) is the operator's doing,
//! in the demo as anywhere (decision 0015): guestbook's dependencies are installed for
//! it, and one install asks for something its package does not allow, so the failure
//! views have a true failure to show.

use crate::types::{ClusterPackage, Package, PackageInfoTemplate, PackageSpec, ValueConfiguration};
use futures::{StreamExt, TryStreamExt};
use hoist_core::install::InstallRef;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

/// One seeded install: the resource's name, the package, its version, whether it is a
/// ClusterPackage, and the values it sets.
struct Sample {
    name: &'static str,
    package: &'static str,
    version: &'static str,
    cluster: bool,
    values: &'static [(&'static str, &'static str)],
}

/// The first installs, one per sample package (`ingress-gateway` one version behind),
/// then one that fails for a real reason: hello-web allows at most 10 replicas.
const FIRST: [Sample; 7] = [
    Sample {
        name: "hello-web",
        package: "hello-web",
        version: "v1.1.0+2",
        cluster: false,
        values: &[],
    },
    Sample {
        name: "redis-cache",
        package: "redis-cache",
        version: "v7.2.4+1",
        cluster: false,
        values: &[],
    },
    Sample {
        name: "guestbook",
        package: "guestbook",
        version: "v0.3.0+1",
        cluster: false,
        values: &[],
    },
    Sample {
        name: "metrics-agent",
        package: "metrics-agent",
        version: "v2.0.1+3",
        cluster: true,
        values: &[],
    },
    Sample {
        name: "cert-issuer",
        package: "cert-issuer",
        version: "v1.0.0+1",
        cluster: true,
        values: &[],
    },
    Sample {
        name: "ingress-gateway",
        package: "ingress-gateway",
        version: "v0.9.1+1",
        cluster: true,
        values: &[],
    },
    Sample {
        name: "hello-web-oversized",
        package: "hello-web",
        version: "v1.1.0+2",
        cluster: false,
        values: &[("replicas", "20")],
    },
];

/// After the first ones: more namespaced installs, which never collide (each Package's
/// objects carry its own name).
const MORE: [(&str, &str); 2] = [("hello-web", "v1.1.0+2"), ("redis-cache", "v7.2.4+1")];

/// How many of the first `n` seeded packages are ClusterPackages.
pub fn cluster_scoped(n: usize) -> usize {
    FIRST.iter().take(n).filter(|s| s.cluster).count()
}

pub const NAMESPACES: [&str; 2] = ["team-a", "team-b"];

fn spec(package: &str, version: &str, values: &[(&str, &str)]) -> PackageSpec {
    PackageSpec {
        package_info: PackageInfoTemplate {
            name: package.into(),
            version: version.into(),
            repository_name: Some(super::samples::REPOSITORY_NAME.into()),
        },
        values: values
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    ValueConfiguration {
                        value: Some(v.to_string()),
                        value_from: None,
                    },
                )
            })
            .collect(),
        ..Default::default()
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
    let ns = NAMESPACES[i % NAMESPACES.len()];
    let (at, spec) = match FIRST.get(i) {
        Some(sample) => {
            let at = if sample.cluster {
                InstallRef::cluster(sample.name)
            } else {
                InstallRef::namespaced(ns, sample.name)
            };
            (at, spec(sample.package, sample.version, sample.values))
        }
        None => {
            let (package, version) = MORE[i % MORE.len()];
            let at = InstallRef::namespaced(ns, format!("{package}-{i}"));
            (at, spec(package, version, &[]))
        }
    };
    crate::installs::Installs::new(client)
        .create(&at, spec)
        .await?;
    Ok(())
}
