//! Applying a package's objects as Flux does, not as Glasskube does: staged
//! (definitions, then classes, then the rest, each stage waited for), one field manager,
//! writes only for what drifted, nothing taken over silently, and pruning of what left
//! the package.
//!
//! Drift is judged against the operator's own watch of what it applied
//! ([`super::objects`]): an object whose live state already holds every field the
//! package sets is left alone, so a pass over an unchanged package makes no request at
//! all. An object not in that watch is read once: absent, it is created; present and
//! not Hoist's (or another package's), it is a [`Error::Foreign`], never adopted.

use super::Context;
use super::error::Error;
use super::identity::Acting;
use super::scopes::Kind;
use crate::types::FIELD_MANAGER;
use hoist_core::operator::inventory::ObjectRef;
use hoist_core::operator::order::{self, Ordered, Stage};
use hoist_core::operator::placement::{PACKAGE_LABEL, PACKAGE_NAMESPACE_LABEL};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
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
        Some(o) => Some(serde_json::to_value(&*o)?),
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
        Some(l) if holds(&p.object, l) => {
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
            transient: super::error::status_class(s.code)
                == hoist_core::operator::retry::ErrorClass::Transient,
        },
        other => Error::Kube(other),
    }
}

/// Whether `live` already holds every field `desired` sets (metadata: only labels and
/// annotations count). Lists must match item for item. A Secret's `stringData` is
/// write-only (the API server stores it in `data`, base64): it is compared there.
pub fn holds(desired: &Value, live: &Value) -> bool {
    let (Value::Object(d), Value::Object(l)) = (desired, live) else {
        return false;
    };
    let secret = desired.get("kind").and_then(Value::as_str) == Some("Secret");
    d.iter().all(|(k, v)| match k.as_str() {
        "metadata" => ["labels", "annotations"].iter().all(|f| match v.get(*f) {
            None => true,
            Some(want) => live
                .pointer(&format!("/metadata/{f}"))
                .is_some_and(|have| contains(want, have)),
        }),
        "status" => true,
        "stringData" if secret => string_data_held(v, l.get("data")),
        _ => l.get(k).is_some_and(|have| contains(v, have)),
    })
}

/// Whether every `stringData` entry is in `data`, base64-encoded.
fn string_data_held(string_data: &Value, data: Option<&Value>) -> bool {
    use base64::Engine;
    let Some(entries) = string_data.as_object() else {
        return string_data.is_null();
    };
    entries.iter().all(|(key, value)| {
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        data.and_then(|d| d.get(key)).and_then(Value::as_str) == Some(encoded.as_str())
    })
}

fn contains(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, v)| {
            h.get(k).is_some_and(|x| contains(v, x)) || (v.is_null() && !h.contains_key(k))
        }),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| contains(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

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
    fn an_object_holding_every_field_the_package_sets_has_not_drifted() {
        let desired = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "labels": {"a": "1"}},
            "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}});
        let live = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "uid": "u", "resourceVersion": "9", "labels": {"a": "1", "b": "2"}},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "web"}, "clusterIP": "10.0.0.1"},
            "status": {}});
        assert!(
            holds(&desired, &live),
            "defaults added by the server are not drift"
        );
        let mut edited = live.clone();
        edited["spec"]["selector"]["app"] = json!("other");
        assert!(!holds(&desired, &edited), "a changed field is drift");
        let mut extra_port = live.clone();
        extra_port["spec"]["ports"] = json!([{"port": 80}, {"port": 81}]);
        assert!(!holds(&desired, &extra_port), "lists match item for item");
        let mut relabelled = live;
        relabelled["metadata"]["labels"]["a"] = json!("x");
        assert!(!holds(&desired, &relabelled));
    }

    #[test]
    fn a_secrets_string_data_is_compared_with_what_the_server_stores_in_data() {
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"token": "not-a-secret"}});
        // The API server keeps stringData only as base64 in data.
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"token": "bm90LWEtc2VjcmV0"}, "type": "Opaque"});
        assert!(holds(&desired, &live));
        let changed = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"token": "b3RoZXI="}});
        assert!(!holds(&desired, &changed), "a changed value is drift");
    }

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
