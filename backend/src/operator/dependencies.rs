//! A package's dependencies, met before anything of it is applied (Glasskube's order):
//! each is an install of its package that serves the dependent, found in the
//! controllers' watches, or created as a dependency at the highest version in range
//! (the core's rule, `hoist_core::operator::dependencies`). The dependent waits, saying
//! for which and why; when a dependency's `Ready` moves, its dependents are reconciled
//! (no polling). Dependencies installed as such are recorded in the dependent's
//! `status.ownedPackages` and removed with the last dependent that recorded them.

use super::Context;
use super::error::Error;
use super::inputs::User;
use super::package::Installable;
use crate::repo::clientset::RepoClient;
use crate::repo::fetch::Freshness;
use crate::repo::format::PackageManifest;
use crate::types::{
    ClusterPackage, NamespacedPackageSpec, OwnedResource, Package, PackageInfoTemplate,
    PackageSpec, PackageStatus,
};
use hoist_core::install::{InstallRef, Scope};
use hoist_core::operator::dependencies::{self, Existing, Need, State};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};

/// Marks an install the operator made for a dependent.
pub const AS_DEPENDENCY: &str = "packages.hoist.dev/installed-as-dependency";

/// Where the dependencies stand.
pub struct Deps {
    /// Installs the operator made as dependencies that this package relies on.
    pub owned: Vec<OwnedResource>,
    /// `install: why`, for each dependency not ready yet.
    pub waiting: Vec<String>,
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
fn existing(ctx: &Context) -> Vec<Existing> {
    let cluster = ctx
        .inputs
        .cluster_packages
        .state()
        .into_iter()
        .map(|p| Existing {
            at: InstallRef::cluster(p.name_any()),
            package: p.spec.package_info.name.clone(),
            version: p.spec.package_info.version.clone(),
            state: state(p.status.as_ref()),
        });
    let namespaced = ctx.inputs.packages.state().into_iter().map(|p| Existing {
        at: InstallRef::new(p.namespace().as_deref(), p.name_any()),
        package: p.spec.spec.package_info.name.clone(),
        version: p.spec.spec.package_info.version.clone(),
        state: state(p.status.as_ref()),
    });
    cluster.chain(namespaced).collect()
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
        group: crate::types::GROUP.into(),
        version: "v1alpha1".into(),
        kind: at.kind().into(),
        name: at.name.clone(),
        namespace: at.namespace.clone(),
        marked_for_deletion: false,
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
    let user = match &me.namespace {
        Some(ns) => User::Namespaced(ns.clone(), me.name.clone()),
        None => User::Cluster(me.name.clone()),
    };
    let mut deps = Deps {
        owned: Vec::new(),
        waiting: Vec::new(),
    };
    let all = existing(ctx);
    for d in &manifest.dependencies {
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
        let at = match dependencies::need(&me, &d.name, d.version.as_deref(), scope, &all, &offered)
        {
            Need::Met(at) => at,
            Need::Wait(at, why) => {
                deps.waiting.push(format!("{at}: {why}"));
                at
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
                at
            }
            Need::Conflict(why) => return Err(Error::Dependencies(why)),
        };
        ctx.watch_dependency(&at, &user);
        if annotated(ctx, &at)
            || deps
                .waiting
                .last()
                .is_some_and(|w| w.contains("installing"))
        {
            deps.owned.push(owned(&at));
        }
    }
    Ok(deps)
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
            let mut p = Package::new(&at.name, NamespacedPackageSpec { spec });
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

/// At uninstall: removes the dependencies `status` recorded that no other install
/// (still living) records.
pub async fn release(
    ctx: &Context,
    me: &InstallRef,
    status: Option<&PackageStatus>,
) -> Result<(), Error> {
    let Some(status) = status else {
        return Ok(());
    };
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
    for o in &status.owned_packages {
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
