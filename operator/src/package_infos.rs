//! PackageInfo objects, as Glasskube keeps them: one per (repository, package, version)
//! in use, named by `hoist_core::operator::package_info::name`, its status the fetched
//! package.yaml (`Ready`/`SyncCompleted`), or why it could not be fetched
//! (`Ready=False`/`SyncFailed`). Tools written for Glasskube read them; Hoist's own
//! source of truth is its repository cache, which the pass reads anyway, so keeping
//! them costs no download.
//!
//! Guarantees: written only when what they say changed (a no-op pass writes none; the
//! store of the operator's PackageInfo watch answers "what is there"); recorded in
//! each package's `status.ownedPackageInfos`; deleted once no package records them.

use crate::context::Context;
use crate::error::Error;
use hoist_kube::types::{
    Condition, OwnedResource, PackageInfo, PackageInfoSpec, PackageInfoStatus, PackageStatus,
};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PostParams};
use kube::runtime::reflector::ObjectRef;

/// What a pass learned about one package version.
pub enum Sync<'a> {
    Completed {
        manifest: &'a hoist_kube::repo::format::PackageManifest,
        resolved_url: String,
    },
    Failed {
        message: String,
    },
}

fn condition(ready: bool, reason: &str, message: &str) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: if ready { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: None,
        observed_generation: None,
    }
}

/// The inventory entry of a PackageInfo.
pub fn owned(name: &str) -> OwnedResource {
    OwnedResource {
        group: hoist_kube::types::GROUP.into(),
        version: "v1alpha1".into(),
        kind: "PackageInfo".into(),
        name: name.into(),
        namespace: None,
        marked_for_deletion: false,
    }
}

/// `v` without null object fields, at every depth (what a JSON merge patch stores).
fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Makes the PackageInfo of `package` at `version` say `sync`; returns its name.
pub async fn ensure(
    ctx: &Context,
    repository: Option<&str>,
    package: &str,
    version: &str,
    sync: Sync<'_>,
) -> Result<String, Error> {
    let name = hoist_core::operator::package_info::name(repository, package, version);
    let existing = ctx.stores.package_infos.get(&ObjectRef::new(&name));
    let old = existing.as_ref().and_then(|p| p.status.clone());
    let mut status = match &sync {
        Sync::Completed {
            manifest,
            resolved_url,
        } => PackageInfoStatus {
            // As the API server keeps it: a merge patch drops null fields, so a
            // manifest with them would never compare equal to the stored one (and be
            // written again by every pass).
            manifest: Some(without_nulls(serde_json::to_value(manifest)?)),
            resolved_url: Some(resolved_url.clone()),
            conditions: vec![condition(
                true,
                "SyncCompleted",
                "package.yaml read from the repository",
            )],
            last_update_timestamp: None,
            version: Some(version.into()),
        },
        Sync::Failed { message } => PackageInfoStatus {
            conditions: vec![condition(false, "SyncFailed", message)],
            ..old.clone().unwrap_or_default()
        },
    };
    // The time moves only when what it says moves.
    let same = |a: &PackageInfoStatus, b: &PackageInfoStatus| {
        a.manifest == b.manifest
            && a.resolved_url == b.resolved_url
            && a.version == b.version
            && a.conditions
                .iter()
                .map(|c| (&c.status, &c.reason, &c.message))
                .eq(b
                    .conditions
                    .iter()
                    .map(|c| (&c.status, &c.reason, &c.message)))
    };
    if let Some(o) = &old
        && same(o, &status)
    {
        return Ok(name);
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    status.last_update_timestamp = Some(now.clone());
    for c in &mut status.conditions {
        c.last_transition_time = Some(now.clone().into());
    }
    let api: Api<PackageInfo> = Api::all(ctx.client.clone());
    if existing.is_none() {
        let pi = PackageInfo::new(
            &name,
            PackageInfoSpec {
                name: package.into(),
                version: version.into(),
                repository_name: repository.map(String::from),
            },
        );
        match api.create(&PostParams::default(), &pi).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    api.patch_status(
        &name,
        &hoist_kube::types::patch_params(),
        &Patch::Merge(serde_json::json!({ "status": status })),
    )
    .await?;
    Ok(name)
}

/// Deletes the PackageInfos in `released` (recorded by `me`, no longer used by it) that
/// no other package records.
pub async fn release(ctx: &Context, me: &str, released: &[OwnedResource]) -> Result<(), Error> {
    let recorded_elsewhere = |o: &OwnedResource| {
        let records = |id: String, s: Option<&PackageStatus>| {
            id != me && s.is_some_and(|s| s.owned_package_infos.contains(o))
        };
        ctx.inputs
            .cluster_packages
            .state()
            .iter()
            .any(|p| records(p.name_any(), p.status.as_ref()))
            || ctx.inputs.packages.state().iter().any(|p| {
                records(
                    format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any()),
                    p.status.as_ref(),
                )
            })
    };
    let api: Api<PackageInfo> = Api::all(ctx.client.clone());
    for o in released.iter().filter(|o| o.kind == "PackageInfo") {
        if recorded_elsewhere(o) {
            continue;
        }
        match api.delete(&o.name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_fields_go_at_every_depth_and_array_nulls_stay() {
        let v = serde_json::json!({"a": null, "b": {"c": null, "d": 1}, "e": [null, {"f": null}]});
        assert_eq!(
            without_nulls(v),
            serde_json::json!({"b": {"d": 1}, "e": [null, {}]})
        );
    }
}
