//! Helm packages, delegated to Flux (the rules: `hoist_core::operator::helm`): the
//! package's HelmRepository and HelmRelease are rendered beside its other objects and
//! applied like them. Without Flux's CRDs the package fails with
//! `HelmControllerMissing` (terminal: retrying cannot install Flux), and
//! [`watch_flux_crds`] moves such packages on the moment the CRDs appear.

use crate::context::Context;
use crate::error::Error;
use futures::StreamExt;
use hoist_core::operator::helm::{HELM_RELEASE, HELM_REPOSITORY};
use hoist_kube::types::PackageStatus;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::Arc;

/// The condition reason of a Helm package in a cluster without Flux.
pub const MISSING_REASON: &str = "HelmControllerMissing";

/// Whether the cluster serves Flux's HelmRepository and HelmRelease (discovery is read
/// again once when not, as a CRD may have just been installed).
pub async fn check_flux(scopes: &crate::scopes::Scopes) -> Result<(), Error> {
    let served = || {
        scopes
            .namespaced(HELM_REPOSITORY.0, HELM_REPOSITORY.2)
            .is_some()
            && scopes.namespaced(HELM_RELEASE.0, HELM_RELEASE.2).is_some()
    };
    if served() {
        return Ok(());
    }
    scopes.refresh(false).await?;
    if served() {
        Ok(())
    } else {
        Err(Error::HelmControllerMissing)
    }
}

fn waits_for_flux(status: Option<&PackageStatus>) -> bool {
    status.is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Failed" && c.status == "True" && c.reason == MISSING_REASON)
    })
}

/// Watches CustomResourceDefinitions (metadata only); when one of Flux's appears,
/// discovery is refreshed and every package stalled on [`MISSING_REASON`] gets a pass.
/// Triggers go through the controllers' bounded channels with `try_send` (a full
/// channel is counted, never awaited). Runs until dropped.
pub async fn watch_flux_crds(ctx: Arc<Context>) {
    let names = [
        format!("helmrepositories.{}", HELM_REPOSITORY.0),
        format!("helmreleases.{}", HELM_RELEASE.0),
    ];
    let api: Api<PartialObjectMeta<CustomResourceDefinition>> = Api::all(ctx.client.clone());
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(event) = events.next().await {
        let Ok(crd) = event else { continue };
        if !names.contains(&crd.name_any()) {
            continue;
        }
        if let Err(e) = ctx.scopes.refresh(true).await {
            tracing::debug!(error = %e, "discovery after a Flux CRD appeared");
        }
        let (cluster, namespaced) = ctx.objects.senders();
        let mut sent = Vec::new();
        for p in ctx.inputs.cluster_packages.state() {
            if waits_for_flux(p.status.as_ref()) {
                sent.push(cluster.try_send(ObjectRef::new(&p.name_any())).is_ok());
            }
        }
        for p in ctx.inputs.packages.state() {
            if waits_for_flux(p.status.as_ref()) {
                let at = ObjectRef::new(&p.name_any()).within(&p.namespace().unwrap_or_default());
                sent.push(namespaced.try_send(at).is_ok());
            }
        }
        let dropped = sent.iter().filter(|ok| !**ok).count() as u64;
        ctx.objects
            .dropped
            .fetch_add(dropped, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(crd = %crd.name_any(), packages = sent.len(), "Flux CRD appeared: retrying Helm packages");
    }
}
