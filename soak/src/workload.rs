//! The workload: a platform engineer's writes, as kubectl would make them, against the
//! same API the operator and dashboard use.
//!
//! Guarantees: a step is retried (backoff 200 ms to 3 s) while the API server is
//! unreachable or answers 5xx or 429 — a restart or a storm is not the user's mistake —
//! for at most [`PATIENCE`]; the model records a step only once its write succeeded. An
//! install first waits for the slot's previous Package to be gone (as `hoist uninstall`
//! followed by `hoist install` would), so a reinstall never lands on a Package that is
//! still being deleted.

use crate::model::{
    INSTALL, Install, Model, PACKAGE, Replicas, Step, VALUES_CONFIGMAP, VALUES_SECRET,
};
use anyhow::{Context, bail};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long one step may take, retries and waits included.
pub const PATIENCE: Duration = Duration::from_secs(120);
pub const REPOSITORY: &str = "soak";

pub fn packages() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("packages.hoist.dev", "v1alpha1", "Package"),
        "packages",
    )
}

pub fn cluster_packages() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("packages.hoist.dev", "v1alpha1", "ClusterPackage"),
        "clusterpackages",
    )
}

pub fn repositories() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("packages.hoist.dev", "v1alpha1", "PackageRepository"),
        "packagerepositories",
    )
}

fn values(ns: &str, replicas: &Replicas) -> Value {
    match replicas {
        Replicas::Literal(n) => json!({"replicas": {"value": n.to_string(), "valueFrom": null}}),
        Replicas::FromConfigMap => json!({"replicas": {"value": null, "valueFrom": {
            "configMapRef": {"name": VALUES_CONFIGMAP, "namespace": ns, "key": "replicas"},
            "secretRef": null
        }}}),
        Replicas::FromSecret => json!({"replicas": {"value": null, "valueFrom": {
            "secretRef": {"name": VALUES_SECRET, "namespace": ns, "key": "replicas"},
            "configMapRef": null
        }}}),
    }
}

fn package(ns: &str, install: &Install) -> Value {
    let mut values = values(ns, &install.replicas);
    // A created object carries no nulls.
    if let Some(r) = values["replicas"].as_object_mut() {
        r.retain(|_, v| !v.is_null());
        if let Some(from) = r.get_mut("valueFrom").and_then(Value::as_object_mut) {
            from.retain(|_, v| !v.is_null());
        }
    }
    json!({
        "apiVersion": "packages.hoist.dev/v1alpha1",
        "kind": "Package",
        "metadata": {"name": INSTALL, "namespace": ns},
        "spec": {
            "packageInfo": {"name": PACKAGE, "version": install.version, "repositoryName": REPOSITORY},
            "values": values,
            "suspend": install.suspended,
        }
    })
}

/// Whether an error is the system's trouble (retry) rather than a refusal (give up).
fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code >= 500 || s.code == 429,
        _ => true,
    }
}

/// Runs `write` until it succeeds, a refusal, or [`PATIENCE`].
async fn retry<F, Fut>(what: &str, mut write: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), kube::Error>>,
{
    let deadline = Instant::now() + PATIENCE;
    let mut backoff = Duration::from_millis(200);
    loop {
        match tokio::time::timeout(crate::cluster::CALL_TIMEOUT, write()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if !transient(&e) => bail!("{what} refused: {e}"),
            Ok(Err(e)) if Instant::now() > deadline => bail!("{what} failed for {PATIENCE:?}: {e}"),
            Err(_) if Instant::now() > deadline => bail!("{what} timed out for {PATIENCE:?}"),
            _ => {}
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(3));
    }
}

/// What the workload needs besides the API: the repositories' URLs, and the `hoist`
/// CLI with the admin's kubeconfig and the members' (cluster add and remove are made
/// with the real verbs).
#[derive(Clone)]
pub struct Ctx {
    pub urls: [String; 2],
    pub hoist: std::path::PathBuf,
    pub kubeconfig: std::path::PathBuf,
    pub members: Vec<std::path::PathBuf>,
}

/// A Cluster the workload removed: its uid, and the wall-clock window (Unix ms) in
/// which the delete was made, which its usage record's stop must fall in.
#[derive(Debug, Clone)]
pub struct Removal {
    pub name: String,
    pub uid: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

pub fn clusters() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("fleet.hoist.dev", "v1alpha1", "Cluster"),
        "clusters",
    )
}

pub fn usage_records() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("fleet.hoist.dev", "v1alpha1", "UsageRecord"),
        "usagerecords",
    )
}

/// The uid of Cluster `name` (`None`: it does not exist), retried while the API
/// server is down.
async fn cluster_uid(api: &Api<DynamicObject>, name: &str) -> anyhow::Result<Option<String>> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout(crate::cluster::CALL_TIMEOUT, api.get_opt(name)).await {
            Ok(Ok(found)) => return Ok(found.and_then(|c| c.metadata.uid)),
            Ok(Err(e)) if !transient(&e) => bail!("reading Cluster {name} refused: {e}"),
            _ if Instant::now() > deadline => bail!("cannot read Cluster {name} for {PATIENCE:?}"),
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// Runs `hoist ARGS` as the admin until it succeeds, `done` says its failure means done
/// (an earlier attempt made it), a refusal, or [`PATIENCE`].
async fn hoist_cli(ctx: &Ctx, args: &[String], done: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    let mut backoff = Duration::from_millis(200);
    loop {
        let run = tokio::process::Command::new(&ctx.hoist)
            .args(args)
            .env("HOIST_NAMESPACE", "hoist-system")
            .env("KUBECONFIG", &ctx.kubeconfig)
            .kill_on_drop(true)
            .output();
        let why = match tokio::time::timeout(Duration::from_secs(60), run).await {
            Ok(Ok(out)) if out.status.success() => return Ok(()),
            Ok(Ok(out)) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out after 60 s".into(),
        };
        if why.contains(done) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("hoist {} failed for {PATIENCE:?}: {why}", args.join(" "));
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(3));
    }
}

/// Writes `step`; the model is the caller's to update on success. A removed Cluster
/// is returned, for the billing checks.
pub async fn run(
    client: &kube::Client,
    model: &Model,
    step: &Step,
    ctx: &Ctx,
) -> anyhow::Result<Option<Removal>> {
    let urls = &ctx.urls;
    let ns_of = |slot: usize| Model::namespace(slot);
    let merge = |slot: usize, patch: Value| {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &ns_of(slot), &packages());
        async move {
            api.patch(INSTALL, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ())
        }
    };
    let done = match step {
        Step::AddCluster { member } => {
            let path = ctx.members[*member].display().to_string();
            let args = [
                "cluster",
                "add",
                &Model::cluster(*member),
                "--kubeconfig",
                &path,
            ]
            .map(String::from);
            // The previous life of this name must be gone first (its billing stop and
            // cleanup), as a user would wait; then "exists already" can only be an
            // earlier attempt of ours whose answer was lost.
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), "hoist-system", &clusters());
            let deadline = Instant::now() + PATIENCE;
            while cluster_uid(&api, &Model::cluster(*member)).await?.is_some() {
                if Instant::now() > deadline {
                    bail!("the removed Cluster was not gone within {PATIENCE:?}");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            return hoist_cli(ctx, &args, "exists already").await.map(|()| None);
        }
        Step::RemoveCluster { member } => {
            let name = Model::cluster(*member);
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), "hoist-system", &clusters());
            let uid = cluster_uid(&api, &name).await?;
            let uid = uid.context("the Cluster to remove does not exist")?;
            let from_ms = crate::report::now_ms();
            let args = ["cluster", "remove", &name, "--yes"].map(String::from);
            hoist_cli(ctx, &args, "no cluster").await?;
            return Ok(Some(Removal {
                name,
                uid,
                from_ms,
                to_ms: crate::report::now_ms(),
            }));
        }
        Step::Install { slot, install } => {
            let ns = ns_of(*slot);
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &packages());
            until_gone(&api).await?;
            let object: DynamicObject = serde_json::from_value(package(&ns, install))?;
            retry("install", || async {
                match api.create(&PostParams::default(), &object).await {
                    Ok(_) => Ok(()),
                    // An earlier attempt whose answer was lost made it.
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .await
        }
        Step::Upgrade { slot, version } => {
            retry("upgrade", || {
                merge(
                    *slot,
                    json!({"spec": {"packageInfo": {"version": version}}}),
                )
            })
            .await
        }
        Step::SetReplicas { slot, replicas } => {
            let patch = json!({"spec": {"values": values(&ns_of(*slot), replicas)}});
            retry("value change", || merge(*slot, patch.clone())).await
        }
        Step::Suspend { slot, suspended } => {
            retry("suspend", || {
                merge(*slot, json!({"spec": {"suspend": suspended}}))
            })
            .await
        }
        Step::Uninstall { slot } => {
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &ns_of(*slot), &packages());
            retry("uninstall", || async {
                match api.delete(INSTALL, &DeleteParams::default()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .await
        }
        Step::EditConfigMap { slot, value } => {
            let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
                Api::namespaced(client.clone(), &ns_of(*slot));
            let patch = json!({"data": {"replicas": value.to_string()}});
            edit_value_source(api, VALUES_CONFIGMAP, patch, "ConfigMap edit").await
        }
        Step::EditSecret { slot, value } => {
            let api: Api<k8s_openapi::api::core::v1::Secret> =
                Api::namespaced(client.clone(), &ns_of(*slot));
            let patch = json!({"stringData": {"replicas": value.to_string()}});
            edit_value_source(api, VALUES_SECRET, patch, "Secret edit").await
        }
        Step::SwitchRepository => {
            let url = &urls[1 - model.repository];
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &repositories());
            let patch = json!({"spec": {"url": url}});
            retry("repository switch", || {
                let api = api.clone();
                let patch = patch.clone();
                async move {
                    api.patch(REPOSITORY, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map(|_| ())
                }
            })
            .await
        }
    };
    done.map(|()| None)
}

/// Waits until the slot's Package is gone (its uninstall finished).
async fn until_gone(api: &Api<DynamicObject>) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout(crate::cluster::CALL_TIMEOUT, api.get_opt(INSTALL)).await {
            Ok(Ok(None)) => return Ok(()),
            _ if Instant::now() > deadline => {
                bail!("the previous Package was not gone within {PATIENCE:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Merge-patches the value source `name` (a ConfigMap or a Secret), retried as every
/// write of the workload is.
async fn edit_value_source<K>(
    api: Api<K>,
    name: &'static str,
    patch: Value,
    what: &'static str,
) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    retry(what, || {
        let api = api.clone();
        let patch = patch.clone();
        async move {
            api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ())
        }
    })
    .await
}

/// Creates what the soak's namespaces hold before the run: each slot's namespace, the
/// ServiceAccount its Packages are written as (the operator's `--default-service-account`)
/// with the rights kv-store needs there and no more, and the values ConfigMap and Secret.
pub async fn prepare(client: &kube::Client, slots: usize, url: &str) -> anyhow::Result<()> {
    let ssa = PatchParams::apply("hoist-soak").force();
    let apply = |ar: ApiResource, ns: Option<String>, obj: Value| {
        let client = client.clone();
        let ssa = ssa.clone();
        async move {
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let api: Api<DynamicObject> = match ns {
                Some(ns) => Api::namespaced_with(client, &ns, &ar),
                None => Api::all_with(client, &ar),
            };
            api.patch(&name, &ssa, &Patch::Apply(&obj))
                .await
                .with_context(|| format!("apply {name}"))
                .map(|_| ())
        }
    };
    let ar = |group: &str, version: &str, kind: &str, plural: &str| {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    };
    let role = ar(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
    );
    apply(
        role,
        None,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "soak-deployer"},
            "rules": [
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]},
                {"apiGroups": [""], "resources": ["services", "secrets", "configmaps"], "verbs": ["*"]},
            ]
        }),
    )
    .await?;
    for ns in std::iter::once("hoist-system".to_string()).chain((0..slots).map(Model::namespace)) {
        apply(
            ar("", "v1", "Namespace", "namespaces"),
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await?;
        if ns == "hoist-system" {
            continue;
        }
        apply(
            ar("", "v1", "ServiceAccount", "serviceaccounts"),
            Some(ns.clone()),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "soak-deployer", "namespace": ns}}),
        )
        .await?;
        apply(
            ar("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
            Some(ns.clone()),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "soak-deployer", "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "soak-deployer"},
                "subjects": [{"kind": "ServiceAccount", "name": "soak-deployer", "namespace": ns}]
            }),
        )
        .await?;
        apply(
            ar("", "v1", "ConfigMap", "configmaps"),
            Some(ns.clone()),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": VALUES_CONFIGMAP, "namespace": ns},
                   "data": {"replicas": "1"}}),
        )
        .await?;
        apply(
            ar("", "v1", "Secret", "secrets"),
            Some(ns.clone()),
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": VALUES_SECRET, "namespace": ns},
                   "stringData": {"replicas": "1"}}),
        )
        .await?;
    }
    apply(
        repositories(),
        None,
        json!({"apiVersion": "packages.hoist.dev/v1alpha1", "kind": "PackageRepository",
               "metadata": {"name": REPOSITORY}, "spec": {"url": url}}),
    )
    .await?;
    Ok(())
}

/// Applies every CustomResourceDefinition in `deploy/crds.yaml` (the shipped manifest).
pub async fn install_crds(client: &kube::Client, path: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let value: Value = serde::Deserialize::deserialize(doc)?;
        if value.is_null() {
            continue;
        }
        let name = value["metadata"]["name"]
            .as_str()
            .context("a CRD has a name")?
            .to_string();
        api.patch(
            &name,
            &PatchParams::apply("hoist-soak").force(),
            &Patch::Apply(&value),
        )
        .await
        .with_context(|| format!("apply CRD {name}"))?;
    }
    Ok(())
}
