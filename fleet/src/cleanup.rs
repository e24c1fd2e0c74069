//! A Cluster's delete (the finalizer's cleanup): billing stops at its
//! `deletionTimestamp` (the API server's clock, set once by compare-and-set), without
//! asking the member anything, so a gone member cannot hang its delete; the `Deleting`
//! condition says so meanwhile; the kubeconfig Secret `hoist cluster add` made for it
//! goes unless another Cluster uses it; then the memory of it, then the finalizer.

use crate::context::Context;
use crate::{error::Error, ledger, status, time};
use hoist_core::fleet::ledger::StopSource;
use hoist_kube::types::{Cluster, UsageRecord};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

/// The Cluster is being deleted: billing stops at its deletionTimestamp (set once),
/// without asking the member anything; then the finalizer goes.
pub(super) async fn cleanup(cluster: &Cluster, ctx: &Context) -> Result<Action, Error> {
    let uid = cluster.uid().unwrap_or_default();
    let at = cluster
        .metadata
        .deletion_timestamp
        .as_ref()
        .map_or_else(time::now, |t| t.0.as_second());
    status::say_deleting(cluster, ctx, at).await?;
    let api: Api<UsageRecord> = Api::all(ctx.client.clone());
    // Read fresh, not from the watch: a record created a moment ago must be stopped too.
    let lp = kube::api::ListParams::default();
    for u in api.list(&lp).await?.items {
        if u.spec.cluster_uid == uid && u.spec.stop.is_none() {
            let stop = ledger::stop_once(&api, &u.name_any(), at, StopSource::Deleted).await?;
            ledger::count_stop(&ctx.metrics, stop);
        }
    }
    forget_kubeconfig(cluster, ctx).await?;
    ctx.memory.forget(&uid);
    Ok(Action::await_change())
}

/// Deletes the kubeconfig Secret `hoist cluster add` made for this Cluster (labelled
/// so), unless another Cluster still uses it. A Secret the user made is theirs: kept.
async fn forget_kubeconfig(cluster: &Cluster, ctx: &Context) -> Result<(), Error> {
    let namespace = cluster.namespace().unwrap_or_default();
    let name = &cluster.spec.kubeconfig_secret_ref.name;
    // From the watch: the operator may list Secrets, not get them one by one.
    let key = ObjectRef::new(name).within(&namespace);
    let Some(secret) = ctx.secrets.get(&key) else {
        return Ok(());
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let (label, value) = hoist_kube::types::MADE_BY;
    if secret.labels().get(label).map(String::as_str) != Some(value) {
        return Ok(());
    }
    let others = Api::<Cluster>::namespaced(ctx.client.clone(), &namespace)
        .list(&Default::default())
        .await?;
    if others.items.iter().any(|c| {
        c.uid() != cluster.uid()
            && c.metadata.deletion_timestamp.is_none()
            && &c.spec.kubeconfig_secret_ref.name == name
    }) {
        return Ok(());
    }
    match secrets.delete(name, &Default::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
