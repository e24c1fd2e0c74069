//! A package's dependencies, met before anything of it is applied (Glasskube's order):
//! each is an install of its package that serves the dependent, found in the
//! controllers' watches, or created as a dependency at the highest version in range
//! (the core's rule, `hoist_core::operator::dependencies`). The dependent waits, saying
//! for which and why; when a dependency's `Ready` moves, its dependents are reconciled
//! (no polling). Dependencies installed as such are recorded in the dependent's
//! `status.ownedPackages` and removed with the last dependent that recorded them.

use crate::context::Context;
use crate::error::Error;
use crate::inputs::User;
use crate::package::Installable;
use hoist_core::install::{InstallRef, Scope};
use hoist_core::operator::dependencies::{
    self, ComponentFacts, ComponentStep, Existing, Found, Need, State,
};
use hoist_core::repo::format::{Component, Dependency};
use hoist_kube::repo::clientset::RepoClient;
use hoist_kube::repo::fetch::Freshness;
use hoist_kube::repo::format::PackageManifest;
use hoist_kube::types::{
    AS_DEPENDENCY, COMPONENT_OF, ClusterPackage, FIELD_MANAGER, NamespacedPackageSpec,
    OwnedResource, Package, PackageInfoTemplate, PackageSpec, PackageStatus, ValueConfiguration,
};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};

/// Where the dependencies and components stand.
pub struct Deps {
    /// Installs the operator made as dependencies or components that this package relies on.
    pub owned: Vec<OwnedResource>,
    /// `install: why`, for each dependency or component not ready yet.
    pub waiting: Vec<String>,
    /// Namespaces made for components (a ClusterPackage's `defaultNamespace`): the
    /// package's own, to keep in its inventory.
    pub namespaces: Vec<String>,
}

fn state(status: Option<&PackageStatus>) -> State {
    let cond = |t: &str| status.and_then(|s| s.conditions.iter().find(|c| c.type_ == t));
    if let Some(f) = cond("Failed").filter(|c| c.status == "True") {
        return State::Failed(f.message.clone());
    }
    match cond("Ready") {
        Some(c) if c.status == "True" => State::Ready,
        _ => State::Pending,
    }
}

/// Every install the controllers' watches know, as the rule reads them.
pub(super) fn existing(ctx: &Context) -> Vec<Existing> {
    let cluster = ctx.inputs.cluster_packages.state();
    let namespaced = ctx.inputs.packages.state();
    existing_of(
        cluster.iter().map(AsRef::as_ref),
        namespaced.iter().map(AsRef::as_ref),
    )
}

/// These installs as the rule reads them (their state from their conditions, by
/// `state`).
pub fn existing_of<'a>(
    cluster: impl IntoIterator<Item = &'a ClusterPackage>,
    namespaced: impl IntoIterator<Item = &'a Package>,
) -> Vec<Existing> {
    let cluster = cluster.into_iter().map(|p| Existing {
        at: InstallRef::cluster(p.name_any()),
        package: p.spec.package_info.name.clone(),
        version: p.spec.package_info.version.clone(),
        state: state(p.status.as_ref()),
    });
    let namespaced = namespaced.into_iter().map(|p| Existing {
        at: InstallRef::new(p.namespace().as_deref(), p.name_any()),
        package: p.spec.spec.package_info.name.clone(),
        version: p.spec.spec.package_info.version.clone(),
        state: state(p.status.as_ref()),
    });
    cluster.chain(namespaced).collect()
}

/// What dependency `d` of the install at `me` needs, by the core's rule: among `all`,
/// with the versions `d`'s repository offers and the scope of the newest of them (the
/// scope it would be installed in). Read through the repository cache. The one lookup
/// a pass and a preview share.
pub(super) async fn need_of(
    me: &InstallRef,
    d: &Dependency,
    repo: &RepoClient,
    all: &[Existing],
) -> Result<Need, Error> {
    let versions = repo.versions(&d.name, Freshness::Cached).await?.value;
    let offered: Vec<String> = versions
        .versions
        .iter()
        .map(|v| v.version.clone())
        .collect();
    let newest = hoist_core::repo::version::sorted(offered.iter().map(String::as_str));
    let scope = match newest.first() {
        Some(v) => Scope::of(
            &repo
                .manifest(&d.name, v.as_str(), Freshness::Cached)
                .await?
                .value,
        ),
        None => Scope::Cluster,
    };
    Ok(dependencies::need(
        me,
        &d.name,
        d.version.as_deref(),
        scope,
        all,
        &offered,
    ))
}

fn annotated(ctx: &Context, at: &InstallRef) -> bool {
    let has = |a: &std::collections::BTreeMap<String, String>| {
        a.get(AS_DEPENDENCY).is_some_and(|v| v == "true")
    };
    match &at.namespace {
        None => ctx
            .inputs
            .cluster_packages
            .get(&kube::runtime::reflector::ObjectRef::new(&at.name))
            .is_some_and(|p| has(p.annotations())),
        Some(ns) => ctx
            .inputs
            .packages
            .get(&kube::runtime::reflector::ObjectRef::new(&at.name).within(ns))
            .is_some_and(|p| has(p.annotations())),
    }
}

fn owned(at: &InstallRef) -> OwnedResource {
    OwnedResource {
        group: hoist_kube::types::GROUP.into(),
        version: "v1alpha1".into(),
        kind: at.kind().into(),
        name: at.name.clone().into(),
        namespace: at.namespace.as_deref().map(Into::into),
        marked_for_deletion: false,
    }
}

/// Who the package at `me` is as a user of its dependencies (and of its inputs).
pub(super) fn user_of(me: &InstallRef) -> User {
    match &me.namespace {
        Some(ns) => User::Namespaced(ns.clone(), me.name.clone()),
        None => User::Cluster(me.name.clone()),
    }
}

/// Meets `manifest`'s dependencies for `pkg` (see the module doc).
pub async fn ensure<K: Installable>(
    pkg: &K,
    manifest: &PackageManifest,
    repo: &RepoClient,
    ctx: &Context,
) -> Result<Deps, Error> {
    let me = InstallRef::new(pkg.namespace().as_deref(), pkg.name_any());
    let user = user_of(&me);
    let mut deps = Deps {
        owned: Vec::new(),
        waiting: Vec::new(),
        namespaces: Vec::new(),
    };
    // Every install, read only by a package that has dependencies: built for each pass
    // otherwise, it made a thousand installs cost a million copies.
    let all = if manifest.dependencies.is_empty() {
        Vec::new()
    } else {
        existing(ctx)
    };
    for d in &manifest.dependencies {
        // Whether this pass made it: ours then, as one marked so earlier is.
        let (at, created) = match need_of(&me, d, repo, &all).await? {
            Need::Met(at) => (at, false),
            Need::Wait(at, why) => {
                deps.waiting.push(format!("{at}: {why}"));
                (at, false)
            }
            Need::Install { at, package, .. }
                if me.namespace.is_some() && at.namespace.is_none() && ctx.opts.tenant_rules =>
            {
                // A tenant's Package never makes a ClusterPackage: an admin installs it,
                // and its appearance reconciles this package (watched below first).
                ctx.memory.remember_dependency(&at, &user);
                return Err(
                    hoist_core::operator::confinement::ConfinementError::ClusterDependency {
                        package,
                    }
                    .into(),
                );
            }
            Need::Install {
                at,
                package,
                version,
            } => {
                create(
                    ctx,
                    &at,
                    &package,
                    &version,
                    pkg.spec().package_info.repository_name.clone(),
                )
                .await?;
                deps.waiting
                    .push(format!("{at}: installing {package} {version}"));
                (at, true)
            }
            Need::Conflict(why) => return Err(Error::Dependencies(why)),
        };
        ctx.memory.remember_dependency(&at, &user);
        if created || annotated(ctx, &at) {
            deps.owned.push(owned(&at));
        }
    }
    for c in &manifest.components {
        component(pkg, &me, &user, c, manifest, repo, ctx, &mut deps).await?;
    }
    Ok(deps)
}

/// Meets one component: its Package exists beside the parent with the component's
/// version and values (created or corrected), and is ready. The facts are gathered
/// here; what to do with them is the core's decision
/// ([`dependencies::component_step`]), and whether the place is ours is asked first
/// ([`dependencies::component_claim`]), before any repository lookup.
#[allow(clippy::too_many_arguments)]
async fn component<K: Installable>(
    pkg: &K,
    me: &InstallRef,
    user: &User,
    c: &Component,
    manifest: &PackageManifest,
    repo: &RepoClient,
    ctx: &Context,
    deps: &mut Deps,
) -> Result<(), Error> {
    let at = dependencies::component_at(
        me,
        manifest.default_namespace.as_deref(),
        &c.name,
        c.installed_name.as_deref(),
    )
    .map_err(Error::Dependencies)?;
    let ns = at.namespace.clone().unwrap_or_default();
    let existing = ctx
        .inputs
        .packages
        .get(&kube::runtime::reflector::ObjectRef::new(&at.name).within(&ns));
    let mut found = existing.as_deref().map(found_at_place);
    dependencies::component_claim(me, &at, &c.name, found.as_ref()).map_err(Error::Dependencies)?;
    let offered: Vec<String> = repo
        .versions(&c.name, Freshness::Cached)
        .await?
        .value
        .versions
        .iter()
        .map(|v| v.version.clone())
        .collect();
    let version = dependencies::component_version(
        &c.name,
        c.version.as_deref(),
        existing
            .as_ref()
            .map(|p| p.spec.spec.package_info.version.as_str()),
        &offered,
    )
    .map_err(Error::Dependencies)?;
    let wanted = repo
        .manifest(&c.name, &version, Freshness::Cached)
        .await?
        .value;
    let spec = component_spec(pkg, c, &version);
    if let (Some(f), Some(p)) = (found.as_mut(), existing.as_deref()) {
        f.as_wanted = p.spec.spec == spec;
    }
    let facts = ComponentFacts {
        parent: me,
        at: &at,
        package: &c.name,
        version: &version,
        cluster_scoped: Scope::of(&wanted) == Scope::Cluster,
        found: found.as_ref(),
    };
    let step = dependencies::component_step(&facts);
    let waiting = step.waiting(&facts);
    // A ClusterPackage's components go into its package's defaultNamespace: its own.
    let namespace_ours = me.namespace.is_none();
    let api = Api::<Package>::namespaced(ctx.client.clone(), &ns);
    match (step, existing) {
        (ComponentStep::Refuse(why), _) => return Err(Error::Dependencies(why)),
        (ComponentStep::Create, _) => {
            if namespace_ours {
                ensure_namespace(ctx, &ns, pkg).await?;
                deps.namespaces.push(ns.clone());
            }
            create_component(&api, &at, me, spec).await?;
        }
        (ComponentStep::Correct, Some(p)) => {
            if namespace_ours {
                deps.namespaces.push(ns.clone());
            }
            correct_component(&api, &at, &p.spec.spec, &spec).await?;
        }
        (ComponentStep::Correct | ComponentStep::Wait(_), _) => {
            if namespace_ours {
                deps.namespaces.push(ns.clone());
            }
        }
    }
    deps.waiting.extend(waiting);
    ctx.memory.remember_dependency(&at, user);
    deps.owned.push(owned(&at));
    Ok(())
}

/// An install at a component's place as the core's decision reads it (`as_wanted`
/// false until the wanted spec is known).
fn found_at_place(p: &Package) -> Found {
    Found {
        package: p.spec.spec.package_info.name.clone(),
        as_dependency: p
            .annotations()
            .get(AS_DEPENDENCY)
            .is_some_and(|v| v == "true"),
        as_wanted: false,
        state: state(p.status.as_ref()),
    }
}

/// The spec component `c` of `pkg` is wanted with at `version`: from the parent's
/// repository, with the component's literal values, not suspended.
fn component_spec<K: Installable>(pkg: &K, c: &Component, version: &str) -> PackageSpec {
    PackageSpec {
        package_info: PackageInfoTemplate {
            name: c.name.clone(),
            version: version.to_string(),
            repository_name: pkg.spec().package_info.repository_name.clone(),
        },
        values: c
            .values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    ValueConfiguration {
                        value: Some(v.value.clone()),
                        value_from: None,
                    },
                )
            })
            .collect(),
        suspend: false,
        prune_durable: false,
    }
}

/// Creates the component's Package at `at`, marked as a dependency and as `me`'s
/// component (one created meanwhile is fine).
async fn create_component(
    api: &Api<Package>,
    at: &InstallRef,
    me: &InstallRef,
    spec: PackageSpec,
) -> Result<(), Error> {
    let mut p = Package::new(&at.name, NamespacedPackageSpec::from(spec));
    let annotations = p.metadata.annotations.get_or_insert_with(Default::default);
    annotations.insert(AS_DEPENDENCY.into(), "true".into());
    annotations.insert(COMPONENT_OF.into(), me.to_string());
    match api.create(&PostParams::default(), &p).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Corrects the component's Package at `at` from `old` to `spec`: a merge patch, with
/// null for each value the component no longer sets.
async fn correct_component(
    api: &Api<Package>,
    at: &InstallRef,
    old: &PackageSpec,
    spec: &PackageSpec,
) -> Result<(), Error> {
    let mut values = serde_json::Map::new();
    for k in old.values.keys() {
        values.insert(k.clone(), serde_json::Value::Null);
    }
    for (k, v) in &spec.values {
        values.insert(k.clone(), serde_json::to_value(v)?);
    }
    let patch = serde_json::json!({"spec": {
        "packageInfo": spec.package_info,
        "values": values,
        "suspend": false,
    }});
    api.patch(
        &at.name,
        &hoist_kube::types::patch_params(),
        &kube::api::Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Creates namespace `name` labelled as `pkg`'s (so its passes keep it in their
/// inventory and its uninstall removes it), unless it exists.
async fn ensure_namespace<K: Installable>(ctx: &Context, name: &str, pkg: &K) -> Result<(), Error> {
    use k8s_openapi::api::core::v1::Namespace;
    if ctx
        .stores
        .namespaces
        .get(&kube::runtime::reflector::ObjectRef::new(name))
        .is_some()
    {
        return Ok(());
    }
    let owner = pkg.owner(Some(name.to_string()));
    let ns = Namespace {
        metadata: kube::core::ObjectMeta {
            name: Some(name.into()),
            labels: Some(owner.labels()),
            ..Default::default()
        },
        ..Default::default()
    };
    // Written as Hoist's field manager: an uninstall deletes only what the API server
    // records Hoist as having written (apply.rs, `written_by_hoist`).
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    match Api::<Namespace>::all(ctx.client.clone())
        .create(&pp, &ns)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Creates a dependency install (an existing one, created meanwhile, is fine).
async fn create(
    ctx: &Context,
    at: &InstallRef,
    package: &str,
    version: &str,
    repository: Option<String>,
) -> Result<(), Error> {
    let spec = PackageSpec {
        package_info: PackageInfoTemplate {
            name: package.into(),
            version: version.into(),
            repository_name: repository,
        },
        ..Default::default()
    };
    let pp = PostParams::default();
    let mark = |meta: &mut kube::core::ObjectMeta| {
        meta.annotations
            .get_or_insert_with(Default::default)
            .insert(AS_DEPENDENCY.into(), "true".into());
    };
    let made = match &at.namespace {
        None => {
            let mut p = ClusterPackage::new(&at.name, spec);
            mark(&mut p.metadata);
            Api::<ClusterPackage>::all(ctx.client.clone())
                .create(&pp, &p)
                .await
                .map(|_| ())
        }
        Some(ns) => {
            let mut p = Package::new(&at.name, NamespacedPackageSpec::from(spec));
            mark(&mut p.metadata);
            Api::<Package>::namespaced(ctx.client.clone(), ns)
                .create(&pp, &p)
                .await
                .map(|_| ())
        }
    };
    match made {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes the installs in `released` (dependencies and components `me` recorded, at
/// its uninstall or once a new version no longer needs them) that the operator made
/// and that no other living install records.
pub async fn release(
    ctx: &Context,
    me: &InstallRef,
    released: &[OwnedResource],
) -> Result<(), Error> {
    let recorded_elsewhere = |o: &OwnedResource| {
        let other = |s: Option<&PackageStatus>, at: InstallRef, deleting: bool| {
            at != *me && !deleting && s.is_some_and(|s| s.owned_packages.iter().any(|x| x == o))
        };
        ctx.inputs.cluster_packages.state().iter().any(|p| {
            other(
                p.status.as_ref(),
                InstallRef::cluster(p.name_any()),
                p.metadata.deletion_timestamp.is_some(),
            )
        }) || ctx.inputs.packages.state().iter().any(|p| {
            other(
                p.status.as_ref(),
                InstallRef::new(p.namespace().as_deref(), p.name_any()),
                p.metadata.deletion_timestamp.is_some(),
            )
        })
    };
    for o in released {
        if recorded_elsewhere(o) {
            continue;
        }
        let at = InstallRef::new(o.namespace.as_deref(), o.name.clone());
        if !annotated(ctx, &at) {
            continue;
        }
        let dp = DeleteParams::default();
        let gone = match &at.namespace {
            None => Api::<ClusterPackage>::all(ctx.client.clone())
                .delete(&at.name, &dp)
                .await
                .map(|_| ()),
            Some(ns) => Api::<Package>::namespaced(ctx.client.clone(), ns)
                .delete(&at.name, &dp)
                .await
                .map(|_| ()),
        };
        match gone {
            Ok(()) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
