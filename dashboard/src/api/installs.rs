//! The installed-package page's calls: what one install is (GetInstall), what to do to
//! it (Act), and what an install or upgrade would do (Preview; for an install also the
//! object it would create, as YAML for Git). Each is the CLI's own
//! code path (`install`, `upgrade`, `uninstall`, `installs::retry`, `preview`), so
//! the dashboard refuses exactly what the CLI refuses, with the same words.
//!
//! Reads: GetInstall reads the one object and its Events from the API server when the
//! page opens (the caches hold what lists need, not conditions, object health or
//! Events); versions come from the repository cache. Preview reads the installs from
//! the caches ([`super::cached_reads`]) and starts no watch.

use super::status::{api_error, configure_status, install_status, upgrade_status};
use hoist_core::install::InstallRef;
use hoist_kube::installs::{Installs, Scope};
use hoist_kube::types::{PackageStatus, ValueConfiguration};
use hoist_proto::v1 as pb;
use kube::Client;
use kube::api::{Api, ListParams};
use std::collections::BTreeMap;
use tonic::{Code, Status};

/// The install `key` names.
pub fn target(key: &pb::PackageKey) -> InstallRef {
    InstallRef::new(
        (!key.namespace.is_empty()).then_some(key.namespace.as_str()),
        key.name.clone(),
    )
}

/// The protocol's references as the install rules take them; an unknown kind is
/// INVALID_ARGUMENT (the rules check the rest).
pub fn references(
    refs: Vec<pb::ValueRef>,
) -> Result<Vec<hoist_core::install::plan::Reference>, Status> {
    use hoist_core::install::plan::{Reference, Source};
    refs.into_iter()
        .map(|r| {
            let namespace = (!r.namespace.is_empty()).then_some(r.namespace);
            let source = match r.kind.as_str() {
                "configMap" => Source::ConfigMap {
                    namespace,
                    name: r.name,
                    key: r.item,
                },
                "secret" => Source::Secret {
                    namespace,
                    name: r.name,
                    key: r.item,
                },
                "package" => Source::Package {
                    name: r.name,
                    value: r.item,
                },
                other => {
                    return Err(Status::invalid_argument(format!(
                        "value {:?}: a reference is to a configMap, a secret or a package, not {other:?}",
                        r.key
                    )));
                }
            };
            Ok(Reference { key: r.key, source })
        })
        .collect()
}

/// The object as the page needs it.
struct Read {
    spec: hoist_kube::types::PackageSpec,
    status: Option<PackageStatus>,
    annotations: BTreeMap<String, String>,
    deleting: bool,
    uid: String,
    /// The object for Git, as YAML.
    manifest_yaml: String,
    /// The object as read.
    object: hoist_kube::installs::Install,
}

async fn read(client: &Client, at: &InstallRef) -> Result<Read, Status> {
    let not_found = || Status::not_found(format!("{at} is not installed"));
    let install = Installs::new(client)
        .get(at)
        .await
        .map_err(|e| api_error(e.into()))?
        .ok_or_else(not_found)?;
    let manifest_yaml = serde_yaml_ng::to_string(&install.for_git()).unwrap_or_default();
    let object = install.clone();
    let (spec, status, meta) = install.into_parts();
    Ok(Read {
        object,
        manifest_yaml,
        annotations: meta.annotations.unwrap_or_default(),
        deleting: meta.deletion_timestamp.is_some(),
        uid: meta.uid.unwrap_or_default(),
        spec,
        status,
    })
}

fn unix_ms(rfc3339: Option<&str>) -> i64 {
    rfc3339
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp_millis())
}

fn shown(v: &ValueConfiguration) -> String {
    if let Some(value) = &v.value {
        return value.clone();
    }
    let Some(from) = &v.value_from else {
        return String::new();
    };
    let ns = |n: &Option<String>| n.as_ref().map(|n| format!("{n}/")).unwrap_or_default();
    if let Some(r) = &from.config_map_ref {
        format!(
            "from ConfigMap {}{} key {}",
            ns(&r.namespace),
            r.name,
            r.key
        )
    } else if let Some(r) = &from.secret_ref {
        format!("from Secret {}{} key {}", ns(&r.namespace), r.name, r.key)
    } else if let Some(r) = &from.package_ref {
        format!("from ClusterPackage {} value {}", r.name, r.value)
    } else {
        String::new()
    }
}

/// GetInstall: see the module doc.
pub async fn details(
    client: &Client,
    repositories: &hoist_kube::repo::clientset::Clientset,
    forwards: &super::open::Forwards,
    hub_package: Option<pb::Package>,
    key: &pb::PackageKey,
) -> Result<pb::InstallDetails, Status> {
    let at = target(key);
    let r = read(client, &at).await?;
    let status = r.status.unwrap_or_default();
    let conditions = status
        .conditions
        .iter()
        .map(|c| pb::Condition {
            r#type: c.type_.to_string(),
            status: c.status.to_string(),
            reason: c.reason.to_string(),
            message: c.message.clone(),
            since_unix_ms: unix_ms(c.last_transition_time.as_deref()),
        })
        .collect();
    let objects = status
        .objects
        .iter()
        .map(|o| pb::ObjectState {
            kind: o.kind.to_string(),
            namespace: o.namespace.clone().unwrap_or_default().to_string(),
            name: o.name.to_string(),
            action: o.action.to_string(),
            health: o.health.to_string(),
            message: o.message.to_string(),
        })
        .collect();
    let owned_packages = status
        .owned_packages
        .iter()
        .map(|o| InstallRef::new(o.namespace.as_deref(), o.name.clone()).to_string())
        .collect();
    let events = events(client, &at, &r.uid).await;
    let entrypoints = forwards.entrypoints(repositories, &r.object).await;
    let needed_by = needed_by(client, repositories, &at, &r.spec.package_info.name).await;
    let versions = match match &r.spec.package_info.repository_name {
        Some(n) => repositories.get(n),
        None => repositories.default_repository(),
    } {
        Some(repo) => repo
            .versions(
                &r.spec.package_info.name,
                hoist_kube::repo::fetch::Freshness::Cached,
            )
            .await
            .map(|v| {
                hoist_core::repo::version::sorted(
                    v.value.versions.iter().map(|x| x.version.as_str()),
                )
                .into_iter()
                .map(|v| v.as_str().to_string())
                .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let dead_lettered = status.conditions.iter().any(|c| {
        c.type_ == "Stalled"
            && c.status == "True"
            && c.reason == hoist_core::operator::conditions::reason::RETRIES_EXHAUSTED
    });
    Ok(pb::InstallDetails {
        package: hub_package,
        conditions,
        objects,
        owned_packages,
        needed_by,
        events,
        values: r
            .spec
            .values
            .iter()
            .map(|(k, v)| pb::Setting {
                key: k.clone(),
                value: shown(v),
            })
            .collect(),
        versions,
        auto_update: r
            .annotations
            .get(hoist_kube::types::AUTO_UPDATE)
            .is_some_and(|v| v == "true"),
        dead_lettered,
        deleting: r.deleting,
        warnings: status.warnings.clone(),
        manifest_yaml: r.manifest_yaml,
        entrypoints,
        can_open: forwards.can_open(),
    })
}

/// The install's recent Events (`events.k8s.io/v1`, by its uid), newest first. A
/// failure to list them leaves the list empty; the page still shows the rest.
async fn events(client: &Client, at: &InstallRef, uid: &str) -> Vec<pb::EventLine> {
    use k8s_openapi::api::events::v1::Event;
    let api: Api<Event> = match &at.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        // A ClusterPackage's Events go to the default namespace.
        None => Api::namespaced(client.clone(), "default"),
    };
    let lp = ListParams::default().fields(&format!("regarding.uid={uid}"));
    let Ok(list) = api.list(&lp).await else {
        return Vec::new();
    };
    let mut out: Vec<pb::EventLine> = list
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.uid.as_deref()) == Some(uid))
        .map(|e| {
            let when = e
                .series
                .as_ref()
                .map(|s| s.last_observed_time.0)
                .or(e.event_time.as_ref().map(|t| t.0))
                .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0));
            pb::EventLine {
                r#type: e.type_.unwrap_or_default(),
                reason: e.reason.unwrap_or_default(),
                note: e.note.unwrap_or_default(),
                unix_ms: when.map_or(0, |t| t.as_millisecond()),
                count: e.series.map_or(1, |s| s.count),
            }
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.unix_ms));
    out.truncate(20);
    out
}

/// Installs whose package declares a dependency on `package` that `at` serves.
async fn needed_by(
    client: &Client,
    repositories: &hoist_kube::repo::clientset::Clientset,
    at: &InstallRef,
    package: &str,
) -> Vec<String> {
    let installs = Installs::new(client);
    let mut all: Vec<hoist_kube::upgrade::Install> = Vec::new();
    for scope in [Scope::Cluster, Scope::AllNamespaces] {
        if let Ok(l) = installs.list(scope).await {
            all.extend(l.iter().map(hoist_kube::upgrade::Install::of));
        }
    }
    let mut out = Vec::new();
    for other in all.iter().filter(|o| o.at != *at && at.serves(&o.at)) {
        let repo = match &other.repository {
            Some(n) => repositories.get(n),
            None => repositories.default_repository(),
        };
        let Some(repo) = repo else { continue };
        let Ok(m) = repo
            .manifest(
                &other.package,
                &other.version,
                hoist_kube::repo::fetch::Freshness::Cached,
            )
            .await
        else {
            continue;
        };
        if m.value.dependencies.iter().any(|d| d.name == package) {
            out.push(other.at.to_string());
        }
    }
    out
}

/// Act: see the proto.
pub async fn act(
    client: &Client,
    repositories: &hoist_kube::repo::clientset::Clientset,
    catalogue: &hoist_kube::repo::catalogue::Catalogue,
    req: pb::ActRequest,
) -> Result<String, Status> {
    use pb::act_request::Action;
    let action = Action::try_from(req.action).unwrap_or(Action::Unspecified);
    if action == Action::UpgradeAll {
        return hoist_kube::upgrade::upgrade_all(client, repositories, catalogue, None)
            .await
            .map(|done| done.to_string())
            .map_err(api_error);
    }
    let key = req
        .key
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("which install?"))?;
    let at = target(key);
    match action {
        Action::Upgrade => {
            let r = hoist_kube::upgrade::UpgradeRequest {
                name: at.name.clone(),
                namespace: at.namespace.clone(),
                version: (!req.version.is_empty()).then(|| req.version.clone()),
            };
            hoist_kube::upgrade::upgrade(client, repositories, catalogue, &r)
                .await
                .map(|u| u.to_string())
                .map_err(upgrade_status)
        }
        Action::Uninstall => {
            let r = hoist_kube::uninstall::UninstallRequest {
                name: at.name.clone(),
                namespace: at.namespace.clone(),
                force: req.force,
            };
            hoist_kube::uninstall::uninstall(client, repositories, catalogue, &r)
                .await
                .map(|u| u.to_string())
                .map_err(|e| {
                    use hoist_kube::uninstall::UninstallError as E;
                    match e {
                        E::NotInstalled { .. } => Status::not_found(e.to_string()),
                        E::Needed { .. } => Status::failed_precondition(e.to_string()),
                        E::Api(k) => api_error(k),
                    }
                })
        }
        Action::Suspend | Action::Resume => {
            hoist_kube::installs::suspend(client, &at, action == Action::Suspend)
                .await
                .map_err(switch_status)
        }
        Action::Retry => hoist_kube::installs::retry(client, &at)
            .await
            .map(|_| format!("{at}: retry requested"))
            .map_err(|e| Status::new(Code::Unavailable, e.to_string())),
        Action::AutoUpdateOn | Action::AutoUpdateOff => {
            hoist_kube::installs::auto_update(client, &at, action == Action::AutoUpdateOn)
                .await
                .map_err(switch_status)
        }
        Action::Unspecified | Action::UpgradeAll => {
            Err(Status::invalid_argument("no action given"))
        }
    }
}

/// The protocol's configure as hoist-kube's.
fn configure_request(
    c: pb::ConfigureRequest,
) -> Result<hoist_kube::configure::ConfigureRequest, Status> {
    let key = c
        .key
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("which install?"))?;
    let at = target(key);
    Ok(hoist_kube::configure::ConfigureRequest {
        name: at.name,
        namespace: at.namespace,
        set: c.values.into_iter().map(|s| (s.key, s.value)).collect(),
        references: references(c.references)?,
        unset: c.unset,
        auto_update: None,
    })
}

/// Configure: see the proto.
pub async fn configure(
    client: &Client,
    repositories: &hoist_kube::repo::clientset::Clientset,
    catalogue: &hoist_kube::repo::catalogue::Catalogue,
    req: pb::ConfigureRequest,
) -> Result<String, Status> {
    let req = configure_request(req)?;
    hoist_kube::configure::configure(client, repositories, catalogue, &req)
        .await
        .map(|done| done.to_string())
        .map_err(configure_status)
}

/// A switch not moved, as the API's status.
fn switch_status(e: hoist_kube::installs::SwitchError) -> Status {
    use hoist_kube::installs::SwitchError as E;
    match e {
        E::NotInstalled(_) => Status::not_found(e.to_string()),
        E::Api(k) => api_error(k),
    }
}

/// Preview: see the proto. The installs are read through `reads` (the dashboard's
/// caches: [`super::cached_reads::Cached`]).
pub async fn preview(
    client: &Client,
    repositories: std::sync::Arc<hoist_kube::repo::clientset::Clientset>,
    catalogue: &hoist_kube::repo::catalogue::Catalogue,
    reads: &dyn hoist_operator::preview::Reads,
    req: pb::PreviewRequest,
) -> Result<pb::Plan, Status> {
    use hoist_operator::preview::PreviewError as E;
    let to_status = |e: E| match e {
        E::Install(i) => install_status(i),
        E::Upgrade(u) => upgrade_status(u),
        E::Configure(c) => configure_status(c),
        E::Plan(hoist_operator::Error::Kube(kube::Error::Api(s))) if s.code == 403 => {
            Status::permission_denied(format!(
                "the dashboard may not dry-run what this package holds ({}); apply deploy/dashboard-preview.yaml to enable Preview, or use `hoist install --dry-run`",
                s.message
            ))
        }
        E::Plan(p) => Status::failed_precondition(p.to_string()),
        E::Api(k) => api_error(k),
    };
    let mut object_yaml = String::new();
    let plan = if let Some(i) = req.install {
        let opt = |s: String| (!s.is_empty()).then_some(s);
        let install = hoist_kube::install::InstallRequest {
            package: i.package,
            version: opt(i.version),
            repository: opt(i.repository),
            name: opt(i.name),
            namespace: opt(i.namespace),
            values: i.values.into_iter().map(|s| (s.key, s.value)).collect(),
            references: references(i.references)?,
            auto_update: i.auto_update,
        };
        let plan = hoist_operator::preview::install(
            client,
            repositories.clone(),
            catalogue,
            reads,
            &install,
        )
        .await
        .map_err(to_status)?;
        object_yaml = install_yaml(&repositories, catalogue, &install).await?;
        plan
    } else if let Some(c) = req.configure {
        let configure = configure_request(c)?;
        hoist_operator::preview::configure(client, repositories, catalogue, reads, &configure)
            .await
            .map_err(to_status)?
    } else {
        let key = req.upgrade.ok_or_else(|| {
            Status::invalid_argument("an install, an upgrade or a configure to preview")
        })?;
        let at = target(&key);
        let upgrade = hoist_kube::upgrade::UpgradeRequest {
            name: at.name,
            namespace: at.namespace,
            version: (!req.version.is_empty()).then_some(req.version),
        };
        hoist_operator::preview::upgrade(client, repositories, catalogue, reads, &upgrade)
            .await
            .map_err(to_status)?
    };
    let summary = hoist_operator::preview::render(&plan)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    Ok(pb::Plan {
        package: plan.package,
        version: plan.version,
        packages: plan.packages,
        steps: plan
            .steps
            .into_iter()
            .map(|s| pb::PlanStep {
                action: s.action.as_str().into(),
                object: s.object,
                changes: s.changes,
            })
            .collect(),
        summary,
        object_yaml,
    })
}

/// The ClusterPackage or Package `req` would create, as a Git repository would hold it
/// (as `hoist install --dry-run -o yaml` prints it, without what the API server sets):
/// the same checks as the install, no request to the API server.
async fn install_yaml(
    repositories: &hoist_kube::repo::clientset::Clientset,
    catalogue: &hoist_kube::repo::catalogue::Catalogue,
    req: &hoist_kube::install::InstallRequest,
) -> Result<String, Status> {
    let prepared = hoist_kube::install::prepare(repositories, catalogue, req)
        .await
        .map_err(install_status)?;
    let mut object = hoist_kube::installs::Install::new(&prepared.plan.target, prepared.spec);
    if req.auto_update {
        object.set_annotation(hoist_kube::types::AUTO_UPDATE, Some("true".into()));
    }
    serde_yaml_ng::to_string(&object.for_git())
        .map_err(|e| Status::internal(format!("cannot write the object as YAML: {e}")))
}
