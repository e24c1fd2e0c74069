//! Removing what left a package, or all of it at its uninstall: an object goes only
//! while inventory, labels and the API server's record of its field manager agree it is
//! Hoist's, and a Namespace only while it holds nothing that is not the package's.
//!
//! Guarantees: an object someone took over, relabelled, or labelled without Hoist ever
//! writing it is left alone, and so is one annotated `packages.hoist.dev/prune:
//! disabled`; a failed delete leaves the object in the inventory, to be tried again.

use crate::apply::{PackageId, api_for};
use crate::context::Context;
use crate::error::Error;
use hoist_core::operator::inventory::ObjectRef;
use hoist_kube::types::FIELD_MANAGER;
use kube::api::{Api, DeleteParams, DynamicObject, PropagationPolicy};
use serde_json::Value;

/// Whether the API server records [`FIELD_MANAGER`] among the object's writers
/// (`metadata.managedFields`). An object with no `managedFields` at all (a server that
/// keeps none) is judged by its labels and the inventory alone.
pub fn written_by_hoist(live: &Value) -> bool {
    match live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    {
        Some(entries) if !entries.is_empty() => entries
            .iter()
            .any(|e| e.get("manager").and_then(Value::as_str) == Some(FIELD_MANAGER)),
        _ => true,
    }
}

/// Deletes stale objects (in the order given) that are still this package's; returns
/// those whose delete failed, which stay in the inventory. `inventory`: everything the
/// package has (a Namespace holding anything else is kept, [`delete_one`]).
pub async fn prune(
    ctx: &Context,
    package: &PackageId,
    stale: &[ObjectRef],
    inventory: &[ObjectRef],
) -> Vec<ObjectRef> {
    let mut failed = Vec::new();
    for r in stale {
        if let Err(e) = delete_one(ctx, package, r, inventory).await {
            tracing::warn!(object = %r.describe(), error = %e, "prune failed; kept in the inventory");
            failed.push(r.clone());
        }
    }
    failed
}

/// Deletes one object if it exists and is still this package's: listed in its
/// inventory (the caller's), labelled as its own, and written by [`FIELD_MANAGER`] by
/// the API server's record. An object someone took over, relabelled, or labelled
/// without Hoist ever writing it is left alone, and so is one annotated
/// `packages.hoist.dev/prune: disabled`.
///
/// A Namespace goes only while it holds nothing but what `inventory` lists, what other
/// objects made (owner references) and what Kubernetes makes in every namespace
/// ([`foreign_in_namespace`]); else it is kept (and leaves the inventory), said in the
/// log: deleting it would delete what someone else put there.
pub async fn delete_one(
    ctx: &Context,
    package: &PackageId,
    r: &ObjectRef,
    inventory: &[ObjectRef],
) -> Result<(), Error> {
    let kind = match ctx.scopes.resolve(&r.group, &r.version, &r.kind).await? {
        Some(k) => k,
        // The kind is gone (its CRD was deleted): so is the object.
        None => return Ok(()),
    };
    let api = api_for(ctx, &package.acting, &kind, &r.namespace);
    let live = match api.get_opt(&r.name).await? {
        Some(o) => serde_json::to_value(&o)?,
        None => return Ok(()),
    };
    if !package.owns(&live) {
        return Ok(());
    }
    if !written_by_hoist(&live) {
        // Labels can be copied; the field manager is the API server's record of who
        // wrote it. Inventory, labels and manager must all agree before a delete.
        tracing::info!(object = %r.describe(), "kept: labelled as the package's, but never written by {FIELD_MANAGER}");
        return Ok(());
    }
    let annotations = live
        .pointer("/metadata/annotations")
        .and_then(serde_json::Value::as_object);
    if hoist_core::operator::inventory::prune_disabled(annotations) {
        // Flux's convention: whoever annotated it keeps it; it leaves the inventory.
        tracing::info!(object = %r.describe(), "kept: annotated packages.hoist.dev/prune: disabled");
        return Ok(());
    }
    if r.group.is_empty()
        && r.kind == "Namespace"
        && let Some(other) = foreign_in_namespace(ctx, &r.name, inventory).await?
    {
        tracing::warn!(object = %r.describe(), holds = %other, "kept: the namespace holds objects that are not the package's");
        return Ok(());
    }
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    };
    match api.delete(&r.name, &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::Kube(e)),
    }
}

/// The first object in namespace `ns` that is not the package's (`inventory`), not
/// made by another object (owner references), and not what Kubernetes makes in every
/// namespace (the `default` ServiceAccount, `kube-root-ca.crt`, Events, Endpoints);
/// `None` when there is none. Lists every namespaced kind the cluster serves: an
/// uninstall's cost, paid once per Namespace it would delete. A kind with more objects
/// than one page holds counts as holding something.
pub async fn foreign_in_namespace(
    ctx: &Context,
    ns: &str,
    inventory: &[ObjectRef],
) -> Result<Option<String>, Error> {
    const PAGE: u32 = 500;
    for ar in ctx.scopes.namespaced_lists() {
        let made_everywhere = |name: &str| match (ar.group.as_str(), ar.kind.as_str()) {
            ("", "ServiceAccount") => name == "default",
            ("", "ConfigMap") => name == "kube-root-ca.crt",
            ("", "Event" | "Endpoints") | ("events.k8s.io", "Event") => true,
            ("discovery.k8s.io", "EndpointSlice") => true,
            _ => false,
        };
        let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &ar);
        let listed = match api
            .list_metadata(&kube::api::ListParams::default().limit(PAGE))
            .await
        {
            Ok(l) => l,
            // A kind that cannot be listed here (gone, or not for us) hides nothing we
            // could delete either.
            Err(kube::Error::Api(s)) if [403, 404, 405].contains(&s.code) => continue,
            Err(e) => return Err(Error::Kube(e)),
        };
        if listed
            .metadata
            .continue_
            .as_deref()
            .is_some_and(|c| !c.is_empty())
        {
            return Ok(Some(format!("more than {PAGE} {}", ar.plural)));
        }
        for o in &listed.items {
            let name = o.metadata.name.clone().unwrap_or_default();
            let owned = o
                .metadata
                .owner_references
                .as_ref()
                .is_some_and(|r| !r.is_empty());
            let ours = inventory.iter().any(|r| {
                r.group == ar.group && r.kind == ar.kind && r.namespace == ns && r.name == name
            });
            if !owned && !ours && !made_everywhere(&name) {
                let kind = if ar.group.is_empty() {
                    ar.kind.clone()
                } else {
                    format!("{}/{}", ar.group, ar.kind)
                };
                return Ok(Some(format!("{kind} {ns}/{name}")));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_an_object_the_api_server_says_hoist_wrote_is_deleted() {
        let with = |managers: &[&str]| {
            let entries: Vec<Value> = managers
                .iter()
                .map(|m| json!({"manager": m, "operation": "Apply"}))
                .collect();
            json!({"metadata": {"name": "x", "managedFields": entries}})
        };
        assert!(written_by_hoist(&with(&["kubectl", FIELD_MANAGER])));
        assert!(
            !written_by_hoist(&with(&["kubectl-client-side-apply"])),
            "labels copied by someone else's write"
        );
        assert!(
            written_by_hoist(&json!({"metadata": {"name": "x"}})),
            "a server that keeps no managedFields"
        );
    }
}
