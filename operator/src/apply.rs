//! Applying a package's objects as Flux does, not as Glasskube does: staged
//! (definitions, then classes, then the rest, each stage waited for), one field manager,
//! writes only for what drifted, nothing taken over silently, and pruning of what left
//! the package (drift is [`crate::drift`]'s judgement, pruning [`crate::prune`]'s).
//!
//! Drift is judged against the operator's own watch of what it applied
//! ([`crate::objects`]): an object whose live state already holds every field the
//! package sets is left alone, so a pass over an unchanged package makes no request at
//! all. An object not in that watch is read once: absent, it is created; present and
//! not Hoist's (or another package's), it is a [`Error::Foreign`], never adopted.

use crate::context::Context;
use crate::error::Error;
use crate::identity::Acting;
use crate::scopes::Kind;
use hoist_core::operator::inventory::ObjectRef;
use hoist_core::operator::order::{self, Ordered, Stage};
use hoist_core::operator::placement::{PACKAGE_LABEL, PACKAGE_NAMESPACE_LABEL};
use hoist_kube::types::FIELD_MANAGER;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::Value;
use std::time::Duration;

/// How long a stage's CRDs may take to be Established before the pass is retried.
pub const STAGE_WAIT: Duration = Duration::from_secs(30);

/// What a pass did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Configured,
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Configured => "Configured",
            Self::Unchanged => "Unchanged",
        }
    }
}

/// One object after the pass: who it is, what was done, and how it is now.
#[derive(Debug, Clone)]
pub struct Applied {
    pub reference: ObjectRef,
    pub action: Action,
    pub live: Value,
}

/// Which package the objects belong to (its labels' values), and whose rights its
/// writes are made with.
#[derive(Debug, Clone)]
pub struct PackageId {
    pub name: String,
    /// For a Package; `None` for a ClusterPackage.
    pub namespace: Option<String>,
    /// The identity every read and write for the package's objects is made as.
    pub acting: Acting,
}

impl PackageId {
    /// Whether `obj`'s labels say it is this package's.
    pub fn owns(&self, obj: &Value) -> bool {
        let label = |k: &str| {
            obj.pointer(&format!("/metadata/labels/{}", k.replace('/', "~1")))
                .and_then(Value::as_str)
        };
        label(PACKAGE_LABEL) == Some(self.name.as_str())
            && label(PACKAGE_NAMESPACE_LABEL) == self.namespace.as_deref()
    }
}

/// An object to apply, with what the order needs.
struct Planned {
    reference: ObjectRef,
    object: Value,
}

impl Ordered for Planned {
    fn group(&self) -> &str {
        &self.reference.group
    }
    fn kind(&self) -> &str {
        &self.reference.kind
    }
    fn namespace(&self) -> &str {
        &self.reference.namespace
    }
    fn name(&self) -> &str {
        &self.reference.name
    }
}

/// The identity of a placed object.
pub fn reference(obj: &Value) -> ObjectRef {
    let s = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let api_version = s("/apiVersion");
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version),
    };
    ObjectRef {
        group,
        version,
        kind: s("/kind"),
        namespace: s("/metadata/namespace"),
        name: s("/metadata/name"),
    }
}

/// Applies `objects` for `package`, stage by stage, and returns each object's outcome
/// in apply order. Stops at the first object that fails.
pub async fn apply_all(
    ctx: &Context,
    package: &PackageId,
    objects: Vec<Value>,
) -> Result<Vec<Applied>, Error> {
    let mut planned: Vec<Planned> = objects
        .into_iter()
        .map(|mut object| {
            if let Value::Object(o) = &mut object {
                o.remove("status");
            }
            Planned {
                reference: reference(&object),
                object,
            }
        })
        .collect();
    planned.sort_by(order::compare);
    let mut out = Vec::with_capacity(planned.len());
    let mut stage = None;
    for p in planned {
        let this = order::stage(&p.reference.group, &p.reference.kind);
        if stage.is_some_and(|s| s != this) {
            settle(ctx, &out).await?;
        }
        stage = Some(this);
        out.push(apply_one(ctx, package, p).await?);
    }
    Ok(out)
}

/// Waits for what a stage created to be usable before the next stage: CRDs
/// Established (then discovery is read again, so their kinds resolve). Namespaces are
/// usable once created.
async fn settle(ctx: &Context, done: &[Applied]) -> Result<(), Error> {
    let crds: Vec<&Applied> = done
        .iter()
        .filter(|a| {
            a.reference.kind == "CustomResourceDefinition"
                && order::stage(&a.reference.group, &a.reference.kind) == Stage::Definitions
        })
        .collect();
    if crds.is_empty() {
        return Ok(());
    }
    let api: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    for crd in &crds {
        if hoist_core::operator::health::compute(&crd.live).status
            == hoist_core::operator::health::Status::Current
        {
            continue;
        }
        let established = await_condition(
            api.clone(),
            &crd.reference.name,
            conditions::is_crd_established(),
        );
        match tokio::time::timeout(STAGE_WAIT, established).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err(Error::Apply {
                    object: crd.reference.describe(),
                    message: format!("waiting for it to be Established: {e}"),
                    transient: true,
                });
            }
            Err(_) => {
                return Err(Error::Apply {
                    object: crd.reference.describe(),
                    message: format!("not Established within {STAGE_WAIT:?}"),
                    transient: true,
                });
            }
        }
    }
    if crds.iter().any(|c| c.action != Action::Unchanged) {
        ctx.scopes.refresh(true).await?;
    }
    Ok(())
}

pub(super) async fn resolve(ctx: &Context, r: &ObjectRef) -> Result<Kind, Error> {
    ctx.scopes
        .resolve(&r.group, &r.version, &r.kind)
        .await?
        .ok_or_else(|| Error::Apply {
            object: r.describe(),
            message: format!(
                "the cluster does not serve {} in {} (yet)",
                r.kind,
                if r.group.is_empty() {
                    r.version.clone()
                } else {
                    format!("{}/{}", r.group, r.version)
                }
            ),
            transient: true,
        })
}

/// The API of `kind` (in `namespace` when namespaced), reached as `acting`.
pub(super) fn api_for(
    ctx: &Context,
    acting: &Acting,
    kind: &Kind,
    namespace: &str,
) -> Api<DynamicObject> {
    api_with(ctx.identities.client(acting), kind, namespace)
}

/// The API of `kind` (in `namespace` when namespaced), reached through `client`.
pub(super) fn api_with(client: kube::Client, kind: &Kind, namespace: &str) -> Api<DynamicObject> {
    if kind.namespaced {
        Api::namespaced_with(client, namespace, &kind.resource)
    } else {
        Api::all_with(client, &kind.resource)
    }
}

async fn apply_one(ctx: &Context, package: &PackageId, p: Planned) -> Result<Applied, Error> {
    let r = p.reference;
    let kind = resolve(ctx, &r).await?;
    // Watch the kind from now on (the first list is awaited, bounded).
    let _ = ctx.objects.store(&kind).await;
    let ns = (!r.namespace.is_empty()).then_some(r.namespace.as_str());
    let cached = ctx.objects.get(&kind, ns, &r.name);
    tracing::debug!(object = %r.describe(), cached = cached.is_some(), "apply");
    let live = match cached {
        Some(o) => Some(o),
        None => {
            // Not among what Hoist applied: absent (then one create does it), or
            // someone else's (the create says AlreadyExists; then it is read).
            match create(ctx, &package.acting, &kind, &r, &p.object).await? {
                Created::Done(live) => {
                    return Ok(Applied {
                        reference: r,
                        action: Action::Created,
                        live,
                    });
                }
                Created::Exists => {
                    let api = api_for(ctx, &package.acting, &kind, &r.namespace);
                    match api.get_opt(&r.name).await? {
                        Some(o) => {
                            let live = serde_json::to_value(&o)?;
                            if package.owns(&live) {
                                // Ours but not in the watch's store (listed by no
                                // inventory yet): kept from now on.
                                ctx.objects.adopt(&kind, &o);
                            }
                            Some(live)
                        }
                        None => None,
                    }
                }
            }
        }
    };
    let action = match &live {
        Some(l) if !package.owns(l) => {
            return Err(Error::Foreign {
                object: r.describe(),
            });
        }
        Some(l) if crate::drift::holds(&p.object, l) => {
            return Ok(Applied {
                reference: r,
                action: Action::Unchanged,
                live: l.clone(),
            });
        }
        Some(_) => Action::Configured,
        None => Action::Created,
    };
    tracing::debug!(object = %r.describe(), action = action.as_str(), "writing");
    let api = api_for(ctx, &package.acting, &kind, &r.namespace);
    ctx.identities.verify(&package.acting).await?;
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let written = api
        .patch(&r.name, &params, &Patch::Apply(&p.object))
        .await
        .map_err(|e| apply_error(&r, e))?;
    let mut live = serde_json::to_value(&written)?;
    if let Some(m) = live.pointer_mut("/metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    Ok(Applied {
        reference: r,
        action,
        live,
    })
}

enum Created {
    Done(Value),
    Exists,
}

/// Creates an object that is not there (as Hoist's field manager); `Exists` when
/// something of that name already is.
async fn create(
    ctx: &Context,
    acting: &Acting,
    kind: &Kind,
    r: &ObjectRef,
    object: &Value,
) -> Result<Created, Error> {
    ctx.identities.verify(acting).await?;
    let api = api_for(ctx, acting, kind, &r.namespace);
    let obj: DynamicObject = serde_json::from_value(object.clone())?;
    let pp = kube::api::PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    match api.create(&pp, &obj).await {
        Ok(mut written) => {
            written.metadata.managed_fields = None;
            let ns = (!r.namespace.is_empty()).then_some(r.namespace.as_str());
            // Kept from now on, though no inventory lists it until this pass's status
            // is written (the watch keeps only listed objects it did not see stored).
            ctx.objects.adopt(kind, &written);
            ctx.objects.created(kind, ns, written.clone());
            let mut live = serde_json::to_value(&written)?;
            if let Some(m) = live.pointer_mut("/metadata").and_then(Value::as_object_mut) {
                m.remove("managedFields");
            }
            Ok(Created::Done(live))
        }
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Created::Exists),
        Err(e) => Err(apply_error(r, e)),
    }
}

fn apply_error(r: &ObjectRef, e: kube::Error) -> Error {
    match e {
        kube::Error::Api(s) => Error::Apply {
            object: r.describe(),
            message: s.message.clone(),
            transient: crate::error::status_class(s.code)
                == hoist_core::operator::retry::ErrorClass::Transient,
        },
        other => Error::Kube(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ownership_is_read_from_both_labels() {
        let p = PackageId {
            name: "web".into(),
            namespace: Some("team-a".into()),
            acting: Acting::Operator,
        };
        let obj = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(p.owns(&obj(
            json!({PACKAGE_LABEL: "web", PACKAGE_NAMESPACE_LABEL: "team-a"})
        )));
        assert!(!p.owns(&obj(
            json!({PACKAGE_LABEL: "web", PACKAGE_NAMESPACE_LABEL: "team-b"})
        )));
        assert!(
            !p.owns(&obj(json!({PACKAGE_LABEL: "web"}))),
            "a ClusterPackage's"
        );
        assert!(!p.owns(&obj(json!({}))));
    }
}
