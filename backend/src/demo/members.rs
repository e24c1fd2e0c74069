//! The demo's fleet: two member clusters, in-process devclusters with their own state
//! files (so their `kube-system` UIDs, the clusters' identities, survive a restart),
//! registered as Clusters in Hoist's namespace by kubeconfig Secrets (rewritten on
//! every start: the ports are new). `edge-b` vanishes after two minutes unreachable, so
//! a vanish can be shown: make it fail (`curl -X POST <its url>/devcluster/faults -d
//! '{"action":{"type":"error","code":503}}'`) and watch its billing stop.

use crate::types::{BillingSpec, Cluster, ClusterSpec, KubeconfigSecretRef};
use devcluster::DevCluster;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use std::path::Path;

/// The members and how long each may be unreachable before billing stops.
pub const MEMBERS: [(&str, Option<&str>); 2] = [("edge-a", None), ("edge-b", Some("2m"))];

/// Starts the members and registers them (idempotent: a restart updates the Secrets).
pub async fn start(
    client: &Client,
    namespace: &str,
    data_dir: &Path,
) -> Result<Vec<(String, DevCluster)>, super::DemoError> {
    let mut out = Vec::new();
    let pp = PatchParams::apply("hoist-demo").force();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), namespace);
    for (name, vanish_after) in MEMBERS {
        let member = DevCluster::start(devcluster::Options {
            state_file: Some(data_dir.join(format!("member-{name}.json"))),
            ..Default::default()
        })
        .await?;
        let secret = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("{name}-kubeconfig"), "namespace": namespace},
            "stringData": {"value": member.kubeconfig()},
        });
        secrets
            .patch(&format!("{name}-kubeconfig"), &pp, &Patch::Apply(&secret))
            .await
            .map_err(super::DemoError::Seed)?;
        let mut cluster = Cluster::new(
            name,
            ClusterSpec {
                kubeconfig_secret_ref: KubeconfigSecretRef {
                    name: format!("{name}-kubeconfig"),
                    ..Default::default()
                },
                billing: BillingSpec {
                    enabled: true,
                    vanish_after: vanish_after.map(String::from),
                },
            },
        );
        cluster.metadata.namespace = Some(namespace.into());
        clusters
            .patch(name, &pp, &Patch::Apply(&cluster))
            .await
            .map_err(super::DemoError::Seed)?;
        tracing::info!(member = name, url = %member.url(), "demo member cluster");
        out.push((name.to_string(), member));
    }
    Ok(out)
}
