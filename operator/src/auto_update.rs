//! Auto-update, done by the operator (no CronJob): a package annotated
//! `packages.hoist.dev/auto-update: "true"` is moved to the newest version its
//! repository offers that every install depending on it accepts
//! ([`hoist_kube::upgrade::unattended_target`], the rule `hoist upgrade --all` uses),
//! after a pass that found it Ready. The move is the same write a user's upgrade
//! makes (the version, guarded by a JSON patch `test` of the version the pass read), so the next
//! pass installs it like any upgrade and a failed version shows as a failed upgrade.
//!
//! When: after each Ready pass, so at least at every resync
//! ([`crate::options::OperatorOptions::resync`]); the repository is read through its cache
//! (no download while fresh).

use crate::context::Context;
use crate::error::Error;
use crate::package::Installable;
use hoist_kube::upgrade::{self, Install};
use kube::ResourceExt;
use kube::api::Patch;

// Part of the CRD contract (`hoist_kube::types`); re-exported here for the tests that name it so.
pub use hoist_kube::types::AUTO_UPDATE;

/// Whether `pkg` asks for auto-update.
pub fn wanted<K: Installable>(pkg: &K) -> bool {
    pkg.annotations()
        .get(AUTO_UPDATE)
        .is_some_and(|v| v == "true")
}

/// Moves `pkg` to its unattended target if there is a newer one; returns the version
/// it moved to. A hold (up to date, held by a dependent's range) is no error.
pub async fn check<K: Installable>(pkg: &K, ctx: &Context) -> Result<Option<String>, Error> {
    let mut all: Vec<Install> = ctx
        .inputs
        .cluster_packages
        .state()
        .iter()
        .map(|p| Install::of_cluster(p))
        .collect();
    all.extend(
        ctx.inputs
            .packages
            .state()
            .iter()
            .map(|p| Install::of_namespaced(p)),
    );
    let me = hoist_core::install::InstallRef::new(pkg.namespace().as_deref(), pkg.name_any());
    let Some(this) = all.iter().find(|i| i.at == me).cloned() else {
        return Ok(None);
    };
    let to = match upgrade::unattended_target(&ctx.repositories, &all, &this).await {
        Ok(v) => v,
        Err(hold) => {
            tracing::debug!(package = %pkg.describe(), %hold, "auto-update: staying");
            return Ok(None);
        }
    };
    // Guarded by the version, not the resourceVersion (the pass's own status write
    // just moved that): if someone changed the version meanwhile, theirs stands.
    let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
        {"op": "test", "path": "/spec/packageInfo/version", "value": this.version},
        {"op": "replace", "path": "/spec/packageInfo/version", "value": to},
    ]))?;
    match pkg
        .api(&ctx.client)
        .patch(
            &pkg.name_any(),
            &hoist_kube::types::patch_params(),
            &Patch::<()>::Json(patch),
        )
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 422 || s.code == 409 => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(package = %pkg.describe(), from = %this.version, %to, "auto-updated");
    Ok(Some(to))
}
