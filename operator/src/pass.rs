//! One pass's work over a package, once the finalizer is in place: render it, record
//! its PackageInfo, meet its dependencies and components, then apply what it places,
//! prune what left it and judge its objects' health (the core's [`phase`] rule). What
//! comes out is the phase and the status without conditions; whether and when it is
//! written is [`crate::reconcile`]'s.
//!
//! Guarantees: nothing is applied before every dependency and component is ready; an
//! empty render never prunes a package that has objects (the prune brake); a tenant's
//! objects are checked against its confinement before any is applied.

use crate::apply::{self, Applied, PackageId};
use crate::dependencies::Deps;
use crate::error::Error;
use crate::package::Installable;
use crate::{context::Context, package_infos, render, status};
use hoist_core::operator::conditions::Phase;
use hoist_core::operator::health::{self, Health};
use hoist_core::operator::inventory::{self, ObjectRef};
use hoist_core::operator::phase;
use hoist_core::operator::placement::Owner;
use hoist_kube::types::{OwnedResource, PackageStatus};
use kube::ResourceExt;
use serde_json::{Value, json};

/// Render, meet the dependencies, apply, prune, judge: the phase and the status
/// (without conditions). Nothing is applied while a dependency or component is not
/// ready (the phase then says which it waits for).
pub(super) async fn run<K: Installable>(
    pkg: &K,
    ctx: &Context,
) -> Result<(Phase, PackageStatus), Error> {
    let rendered = render::render(pkg, ctx).await?;
    // Glasskube's PackageInfo for this version (written only when it changes), and the
    // ones of earlier versions released.
    let info = &pkg.spec().package_info;
    let pi = package_infos::ensure(
        ctx,
        info.repository_name.as_deref(),
        &info.name,
        &info.version,
        package_infos::Sync::Completed {
            manifest: &rendered.manifest,
            resolved_url: rendered.repository.manifest_url(&info.name, &info.version),
        },
    )
    .await?;
    let pis = vec![package_infos::owned(&pi)];
    let old_pis: Vec<OwnedResource> = pkg
        .status()
        .map(|s| {
            s.owned_package_infos
                .iter()
                .filter(|o| !pis.contains(o))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !old_pis.is_empty() {
        package_infos::release(ctx, &pkg.describe(), &old_pis).await?;
    }
    let deps =
        crate::dependencies::ensure(pkg, &rendered.manifest, &rendered.repository, ctx).await?;
    // What an earlier version needed and this one no longer does goes now (not only at
    // uninstall, Glasskube's open #318).
    let dropped: Vec<OwnedResource> = pkg
        .status()
        .map(|s| {
            s.owned_packages
                .iter()
                .filter(|o| !deps.owned.contains(o))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !dropped.is_empty() {
        let me = hoist_core::install::InstallRef::new(pkg.namespace().as_deref(), pkg.name_any());
        crate::dependencies::release(ctx, &me, &dropped).await?;
    }
    if !deps.waiting.is_empty() {
        // Nothing is applied before what it needs is ready (Glasskube's order).
        let status = PackageStatus {
            owned_packages: deps.owned,
            owned_package_infos: pis,
            conditions: Vec::new(),
            warnings: rendered.warnings,
            ..pkg.status().cloned().unwrap_or_default()
        };
        let phase = Phase::Progressing {
            reason: "DependenciesNotReady".into(),
            message: format!(
                "waiting for required package(s): {}",
                deps.waiting.join("; ")
            ),
        };
        return Ok((phase, status));
    }
    apply_and_judge(pkg, ctx, rendered, pis, deps).await
}

/// Applies what `rendered` placed (with the namespaces that are the package's to
/// apply), prunes what left the package and judges the objects' health.
async fn apply_and_judge<K: Installable>(
    pkg: &K,
    ctx: &Context,
    rendered: render::Render,
    pis: Vec<OwnedResource>,
    deps: Deps,
) -> Result<(Phase, PackageStatus), Error> {
    let id = package_id(pkg, ctx);
    let owner = pkg.owner(rendered.manifest.default_namespace.clone());
    let old: Vec<ObjectRef> = pkg
        .status()
        .map(|s| s.owned_resources.iter().map(status::reference).collect())
        .unwrap_or_default();
    // The prune brake: a render with nothing in it never uninstalls what is there.
    if rendered.placed.objects.is_empty() && !old.is_empty() {
        return Err(inventory::PruneError::EmptyRender { had: old.len() }.into());
    }
    let mut objects = rendered.placed.objects;
    let mut namespaces = rendered.placed.namespaces.clone();
    for ns in &deps.namespaces {
        if !namespaces.contains(ns) {
            namespaces.push(ns.clone());
        }
    }
    for ns in &namespaces {
        if ctx.namespace_is_ours_to_apply(ns, &owner) {
            objects.push(namespace_object(ns, &owner));
        }
    }
    if let Some(own) = pkg.namespace().filter(|_| ctx.opts.tenant_rules) {
        let refs: Vec<ObjectRef> = objects.iter().map(apply::reference).collect();
        hoist_core::operator::confinement::check_objects(&own, &refs)?;
    }
    let applied = apply::apply_all(ctx, &id, objects).await?;
    for a in &applied {
        ctx.metrics.applied(a.action.as_str());
    }
    let new: Vec<ObjectRef> = applied.iter().map(|a| a.reference.clone()).collect();
    let plan = inventory::plan_prune(&old, &new, pkg.spec().prune_durable)?;
    let known: Vec<ObjectRef> = old.iter().chain(&new).cloned().collect();
    let failed = crate::prune::prune(ctx, &id, &plan.delete, &known).await;
    ctx.metrics
        .pruned((plan.delete.len() - failed.len()) as u64);
    // What was kept stays listed until the package has it again (or it is pruned).
    let mut kept: Vec<OwnedResource> = pkg
        .status()
        .map(|s| s.kept_resources.clone())
        .unwrap_or_default();
    kept.extend(plan.kept.iter().map(status::owned));
    kept.retain(|k| {
        let r = status::reference(k);
        !new.iter().any(|n| n.same_object(&r)) && !plan.delete.iter().any(|d| d.same_object(&r))
    });
    kept.dedup_by(|a, b| status::reference(a).same_object(&status::reference(b)));
    let inventory: Vec<OwnedResource> = inventory::next(&new, &failed)
        .iter()
        .map(status::owned)
        .collect();
    let judged: Vec<(Applied, Health)> = applied
        .into_iter()
        .map(|a| {
            let h = health::compute(&a.live);
            (a, h)
        })
        .collect();
    let phase = phase::from_health(judged.iter().map(|(a, h)| (&a.reference, h)), failed.len());
    let info = &pkg.spec().package_info;
    let installed = match phase {
        Phase::Ready { .. } => Some(info.version.clone()),
        _ => pkg.status().and_then(|s| s.version.clone()),
    };
    let status = PackageStatus {
        version: installed,
        conditions: Vec::new(),
        owned_resources: inventory,
        owned_package_infos: pis,
        owned_packages: deps.owned,
        objects: status::objects(
            &judged,
            pkg.status().map(|s| s.objects.as_slice()).unwrap_or(&[]),
        ),
        last_handled_retry: None,
        warnings: rendered.warnings,
        kept_resources: kept,
    };
    Ok((phase, status))
}

pub(super) fn namespace_object(name: &str, owner: &Owner) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": owner.labels()},
    })
}

/// The package, and who its writes are made as: a Package's ServiceAccount (its own
/// or the operator's default), a ClusterPackage's the operator.
pub(crate) fn package_id<K: Installable>(pkg: &K, ctx: &Context) -> PackageId {
    let namespace = pkg.namespace();
    PackageId {
        acting: crate::identity::Acting::for_package(
            namespace.as_deref(),
            pkg.service_account(),
            ctx.opts.default_service_account.as_deref(),
        ),
        name: pkg.name_any(),
        namespace,
    }
}
