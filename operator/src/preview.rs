//! The Preview: what installing or upgrading a package would create, change and
//! remove, worked out by the API server itself (server-side apply with `dryRun=All`,
//! the very request the operator would make) without writing anything. The dashboard
//! shows it before Install and Upgrade; `hoist install --dry-run` prints it.
//!
//! Guarantees: nothing is written (every request is a read or a dry run; dependencies
//! and components are worked out by the rule the operator uses, not created); an
//! object someone else owns is reported as refused, as the operator would refuse it;
//! Secret values never appear in a change, only that they change. No watch is started:
//! the installs come through [`Reads`] (a cache the caller holds, or one LIST), and the
//! rest is read once as the plan needs it ([`Planner`]).
//!
//! Caveats: an object whose kind this very package defines (a CRD and its custom
//! resources) cannot be dry-run before the CRD exists; it is listed as created, unchecked.

mod reads;
mod request;

pub use reads::Reads;
pub use request::{Listed, PreviewError, configure, install, render, upgrade};

use crate::apply::{self, PackageId};
use crate::error::Error;
use crate::inputs::{self, Lookup, User};
use crate::package::Installable;
use crate::scopes::Scopes;
use crate::{options::OperatorOptions, render};
use futures::future::BoxFuture;
use hoist_core::install::InstallRef;
use hoist_core::operator::dependencies::{self, Need};
use hoist_core::operator::inventory::ObjectRef;
use hoist_core::operator::order;
use hoist_kube::repo::clientset::Clientset;
use hoist_kube::types::{FIELD_MANAGER, ValueConfiguration};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a plan reads, without a watch: discovery (run once, when it is made), the
/// installs through [`Reads`], and single GETs as the plan needs them (each namespace
/// the package would apply, each ConfigMap or Secret its values name, each object it
/// plans). One per preview: discovery is not refreshed after it is made, but for a
/// kind it does not know (once per [`crate::scopes::MIN_REFRESH`]).
///
/// It plans as the operator would with its default options (Hoist's tenant rules on,
/// no default ServiceAccount), reading as the caller's identity.
pub struct Planner<'a> {
    client: Client,
    repositories: Arc<Clientset>,
    scopes: Scopes,
    opts: OperatorOptions,
    reads: &'a dyn Reads,
}

impl<'a> Planner<'a> {
    /// Reads discovery; `repositories` are where packages come from, `reads` the
    /// installs.
    pub async fn new(
        client: &Client,
        repositories: Arc<Clientset>,
        reads: &'a dyn Reads,
    ) -> Result<Self, Error> {
        let scopes = Scopes::new(client.clone());
        scopes.refresh(true).await?;
        Ok(Self {
            client: client.clone(),
            repositories,
            scopes,
            opts: OperatorOptions::default(),
            reads,
        })
    }

    /// Whether a package owned by `owner` would apply namespace `name` (the operator's
    /// rule, [`crate::ours_to_apply`]), read with one GET.
    async fn namespace_is_ours_to_apply(
        &self,
        name: &str,
        owner: &hoist_core::operator::placement::Owner,
    ) -> Result<bool, Error> {
        let ns = Api::<Namespace>::all(self.client.clone())
            .get_metadata_opt(name)
            .await?;
        Ok(crate::context::ours_to_apply(
            ns.as_ref().map(|n| n.labels()),
            owner,
        ))
    }
}

impl render::Sources for Planner<'_> {
    fn repositories(&self) -> &Clientset {
        &self.repositories
    }
    fn scopes(&self) -> &Scopes {
        &self.scopes
    }
    fn opts(&self) -> &OperatorOptions {
        &self.opts
    }
    fn lookup(&self) -> &dyn Lookup {
        self
    }
}

/// `valueFrom` read with one GET per object, by the operator's rules
/// ([`inputs::resolve`]); a missing object or key is the same wait the operator would
/// report.
impl Lookup for Planner<'_> {
    fn key<'a>(
        &'a self,
        kind: &'static str,
        ns: &'a str,
        object: &'a str,
        key: &'a str,
        value: &'a str,
        _user: &'a User,
    ) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(async move {
            if kind == "ConfigMap" {
                let cm = Api::<ConfigMap>::namespaced(self.client.clone(), ns)
                    .get_opt(object)
                    .await?;
                inputs::config_map_key(cm.as_ref(), ns, object, key, value)
            } else {
                let s = Api::<Secret>::namespaced(self.client.clone(), ns)
                    .get_opt(object)
                    .await?;
                inputs::secret_key(s.as_ref(), ns, object, key, value)
            }
        })
    }

    fn cluster_package_values<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, ValueConfiguration>>, Error>> {
        Box::pin(async move { Ok(self.reads.cluster_package_values(name).await?) })
    }
}

/// What would happen to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    Create,
    Change,
    Unchanged,
    Remove,
    /// The operator would stop here (the object is someone else's, or the API server
    /// refuses it): `changes` says why.
    Refused,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Change => "change",
            Self::Unchanged => "unchanged",
            Self::Remove => "remove",
            Self::Refused => "refused",
        }
    }
}

/// One object's step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub action: Action,
    /// `apps/Deployment team-a/web-hello-web`.
    pub object: String,
    /// Field-level changes (`spec.replicas: 1 → 3`), or why it is refused.
    pub changes: Vec<String>,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub package: String,
    pub version: String,
    /// The values in force (given over defaults).
    pub values: BTreeMap<String, String>,
    /// Dependencies and components: what would be installed, or what is used.
    pub packages: Vec<String>,
    pub steps: Vec<Step>,
}

impl Plan {
    /// How many steps of `action`.
    pub fn count(&self, action: Action) -> usize {
        self.steps.iter().filter(|s| s.action == action).count()
    }
}

/// At most this many field changes are listed per object.
const MAX_CHANGES: usize = 20;

/// The plan for `pkg` (a ClusterPackage or Package as it would be written: for an
/// upgrade, the existing one with the new spec, so its inventory shows what goes).
pub async fn plan<K: Installable>(ctx: &Planner<'_>, pkg: &K) -> Result<Plan, Error> {
    let rendered = render::render(pkg, ctx).await?;
    let packages = needs(pkg, &rendered, ctx).await?;
    // Values read from a Secret are never shown: not in the list, not in a change.
    let secret_names = render::secret_sourced(&pkg.spec().values);
    let hidden: Vec<String> = secret_names
        .iter()
        .filter_map(|n| rendered.values.get(n))
        .filter(|v| v.len() >= MIN_HIDDEN)
        .cloned()
        .collect();
    let values: BTreeMap<String, String> = rendered
        .values
        .iter()
        .map(|(k, v)| {
            if secret_names.contains(k) {
                (k.clone(), "(read from a Secret; not shown)".to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    let owner = pkg.owner(rendered.manifest.default_namespace.clone());
    let mut objects = rendered.placed.objects.clone();
    for ns in &rendered.placed.namespaces {
        if ctx.namespace_is_ours_to_apply(ns, &owner).await? {
            objects.push(crate::pass::namespace_object(ns, &owner));
        }
    }
    if let Some(own) = pkg.namespace().filter(|_| ctx.opts.tenant_rules) {
        let refs: Vec<ObjectRef> = objects.iter().map(apply::reference).collect();
        hoist_core::operator::confinement::check_objects(&own, &refs)?;
    }
    // A preview only reads: as the operator (the dashboard's own identity).
    let id = PackageId {
        name: pkg.name_any(),
        namespace: pkg.namespace(),
        acting: crate::identity::Acting::Operator,
    };
    let mut planned: Vec<(ObjectRef, Value)> = objects
        .into_iter()
        .map(|o| (apply::reference(&o), o))
        .collect();
    planned.sort_by(|a, b| order::compare(&a.0, &b.0));
    let defined_here: Vec<(String, String)> = planned
        .iter()
        .filter(|(r, _)| r.kind == "CustomResourceDefinition")
        .filter_map(|(_, o)| {
            Some((
                o.pointer("/spec/group")?.as_str()?.to_string(),
                o.pointer("/spec/names/kind")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let mut steps = Vec::with_capacity(planned.len());
    for (r, object) in &planned {
        steps.push(step(ctx, &id, r, object, &defined_here, &hidden).await?);
    }
    let new: Vec<ObjectRef> = planned.into_iter().map(|(r, _)| r).collect();
    let old: Vec<ObjectRef> = pkg
        .status()
        .map(|s| {
            s.owned_resources
                .iter()
                .map(crate::status::reference)
                .collect()
        })
        .unwrap_or_default();
    for gone in hoist_core::operator::inventory::stale(&old, &new) {
        steps.push(Step {
            action: Action::Remove,
            object: gone.describe(),
            changes: Vec::new(),
        });
    }
    Ok(Plan {
        package: pkg.spec().package_info.name.clone(),
        version: pkg.spec().package_info.version.clone(),
        values,
        packages,
        steps,
    })
}

async fn step(
    ctx: &Planner<'_>,
    id: &PackageId,
    r: &ObjectRef,
    object: &Value,
    defined_here: &[(String, String)],
    hidden: &[String],
) -> Result<Step, Error> {
    let make = |action: Action, changes: Vec<String>| Step {
        action,
        object: r.describe(),
        changes,
    };
    let Some(kind) = ctx.scopes.resolve(&r.group, &r.version, &r.kind).await? else {
        if defined_here.contains(&(r.group.clone(), r.kind.clone())) {
            return Ok(make(
                Action::Create,
                vec![
                    "its kind is defined by this package (not checked before the CRD exists)"
                        .into(),
                ],
            ));
        }
        return Ok(make(
            Action::Refused,
            vec![format!(
                "the cluster does not serve {} ({}/{})",
                r.kind, r.group, r.version
            )],
        ));
    };
    let api = apply::api_with(ctx.client.clone(), &kind, &r.namespace);
    let live = api
        .get_opt(&r.name)
        .await?
        .map(|o| serde_json::to_value(&o))
        .transpose()?;
    if let Some(l) = &live
        && !id.owns(l)
    {
        return Ok(make(
            Action::Refused,
            vec![
                "exists and was not created by Hoist for this package; it is never taken over"
                    .into(),
            ],
        ));
    }
    let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
    let after = match api.patch(&r.name, &params, &Patch::Apply(object)).await {
        Ok(o) => serde_json::to_value(&o)?,
        Err(kube::Error::Api(s)) if s.code == 404 && live.is_none() => {
            // Its namespace does not exist yet (the install creates it first).
            return Ok(make(
                Action::Create,
                vec!["its namespace is created first (not checked before)".into()],
            ));
        }
        Err(kube::Error::Api(s))
            if (400..500).contains(&s.code) && ![403, 404].contains(&s.code) =>
        {
            return Ok(make(Action::Refused, vec![s.message]));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(before) = live else {
        return Ok(make(Action::Create, Vec::new()));
    };
    let mut changes = Vec::new();
    let secret = Hide {
        secret_object: r.group.is_empty() && r.kind == "Secret",
        texts: hidden,
    };
    diff("", &clean(&before), &clean(&after), secret, &mut changes);
    if changes.len() > MAX_CHANGES {
        let more = changes.len() - MAX_CHANGES;
        changes.truncate(MAX_CHANGES);
        changes.push(format!("… and {more} more"));
    }
    Ok(if changes.is_empty() {
        make(Action::Unchanged, changes)
    } else {
        make(Action::Change, changes)
    })
}

/// An object without what the server keeps for itself.
fn clean(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("status");
    }
    if let Some(m) = o.pointer_mut("/metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            m.remove(k);
        }
    }
    o
}

/// Collects `path: before → after` for every leaf that differs.
/// What a change list must not show: the values of a Secret object, and any text of a
/// value the package read from a Secret (wherever a template put it).
#[derive(Clone, Copy)]
struct Hide<'a> {
    secret_object: bool,
    texts: &'a [String],
}

impl Hide<'_> {
    #[cfg(test)]
    const NOTHING: Hide<'static> = Hide {
        secret_object: false,
        texts: &[],
    };

    fn shows_a_secret(&self, v: &Value) -> bool {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => return false,
            other => other.to_string(),
        };
        self.texts.iter().any(|t| text.contains(t.as_str()))
    }
}

/// The shortest secret text that is hidden wherever it appears (shorter ones would
/// hide ordinary words and numbers; a value that short is no secret).
const MIN_HIDDEN: usize = 4;

fn diff(path: &str, before: &Value, after: &Value, secret: Hide<'_>, out: &mut Vec<String>) {
    if before == after {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, bv) in b {
                diff(&join(k), bv, a.get(k).unwrap_or(&Value::Null), secret, out);
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    diff(&join(k), &Value::Null, av, secret, out);
                }
            }
        }
        (Value::Array(b), Value::Array(a)) if b.len() == a.len() => {
            for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                diff(&format!("{path}[{i}]"), bv, av, secret, out);
            }
        }
        _ if secret.secret_object
            && (path.starts_with("data.") || path.starts_with("stringData.")) =>
        {
            out.push(format!("{path}: (secret value changes)"));
        }
        _ if secret.shows_a_secret(before) || secret.shows_a_secret(after) => {
            out.push(format!("{path}: (a value read from a Secret changes)"));
        }
        _ => out.push(format!("{path}: {} → {}", short(before), short(after))),
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    hoist_core::repo::format::cut(&s)
}

/// Dependencies and components, by the operator's rule, without creating anything.
async fn needs<K: Installable>(
    pkg: &K,
    rendered: &render::Render,
    ctx: &Planner<'_>,
) -> Result<Vec<String>, Error> {
    let me = InstallRef::new(pkg.namespace().as_deref(), pkg.name_any());
    // Read only by a package that has dependencies (as in a pass).
    let all = if rendered.manifest.dependencies.is_empty() {
        Vec::new()
    } else {
        ctx.reads.installs().await?
    };
    let repo: &Arc<hoist_kube::repo::clientset::RepoClient> = &rendered.repository;
    let mut out = Vec::new();
    for d in &rendered.manifest.dependencies {
        out.push(
            match crate::dependencies::need_of(&me, d, repo, &all).await? {
                Need::Met(at) => format!("dependency {}: uses {at}", d.name),
                Need::Wait(at, why) => format!("dependency {}: uses {at} ({why})", d.name),
                Need::Install {
                    at,
                    package,
                    version,
                } => {
                    format!(
                        "dependency {package}: installs {version} as {}",
                        at_kind(&at)
                    )
                }
                Need::Conflict(why) => return Err(Error::Dependencies(why)),
            },
        );
    }
    for c in &rendered.manifest.components {
        let at = dependencies::component_at(
            &me,
            rendered.manifest.default_namespace.as_deref(),
            &c.name,
            c.installed_name.as_deref(),
        )
        .map_err(Error::Dependencies)?;
        out.push(format!(
            "component {}: installs or keeps {}",
            c.name,
            at_kind(&at)
        ));
    }
    Ok(out)
}

fn at_kind(at: &InstallRef) -> String {
    match &at.namespace {
        Some(ns) => format!("Package {ns}/{}", at.name),
        None => format!("ClusterPackage {}", at.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_each_field_and_hide_secret_values() {
        let before = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "a:1"}]}}}});
        let after = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"image": "a:2"}]}}}});
        let mut out = Vec::new();
        diff("", &before, &after, Hide::NOTHING, &mut out);
        assert_eq!(
            out,
            [
                "spec.replicas: 1 → 3",
                "spec.template.spec.containers[0].image: a:1 → a:2"
            ]
        );
        let mut out = Vec::new();
        diff(
            "",
            &json!({"data": {"password": "YQ=="}}),
            &json!({"data": {"password": "Yg=="}}),
            Hide {
                secret_object: true,
                texts: &[],
            },
            &mut out,
        );
        assert_eq!(out, ["data.password: (secret value changes)"]);
        // A Secret's value that a template wrote into another object is hidden there too.
        let mut out = Vec::new();
        diff(
            "",
            &json!({"data": {"url": "postgres://app:old-pass@db"}}),
            &json!({"data": {"url": "postgres://app:hunter22@db"}}),
            Hide {
                secret_object: false,
                texts: &["hunter22".to_string()],
            },
            &mut out,
        );
        assert_eq!(out, ["data.url: (a value read from a Secret changes)"]);
    }

    #[test]
    fn what_the_server_keeps_for_itself_is_no_change() {
        let before = json!({"metadata": {"name": "a", "resourceVersion": "1", "generation": 1}, "status": {"x": 1}});
        let after = json!({"metadata": {"name": "a", "resourceVersion": "2", "generation": 2}, "status": {"x": 2}});
        let mut out = Vec::new();
        diff("", &clean(&before), &clean(&after), Hide::NOTHING, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
