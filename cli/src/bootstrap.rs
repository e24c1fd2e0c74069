//! `hoist bootstrap`: Hoist into the current cluster in one command, from the manifests
//! in `deploy/` (embedded in the binary, so the objects are the ones this version was
//! tested with): the CRDs, Hoist's namespace, the operator's RBAC and its Deployment
//! (two replicas, leader election), and with `--with-dashboard` the dashboard, its
//! RBAC and a token. Then it waits until the operator is available and says whether
//! Flux's helm-controller is there for Helm packages.
//!
//! # Guarantees
//! - Every object is applied server-side as field manager `hoist-bootstrap`, forcing
//!   conflicts on the fields it sets (as `kubectl apply --server-side
//!   --force-conflicts`): a second run changes nothing and says so per object; a newer
//!   binary moves the Deployments to its own image tag. Fields others set (replicas
//!   scaled by an autoscaler, an extra label) are left alone.
//! - The CRDs are applied and established before anything that depends on them.
//! - `--dry-run` writes nothing: the objects are printed as they would be applied.
//! - The dashboard's token Secret is created only when it does not exist, with 32
//!   random bytes; an existing token is never read, printed or replaced.
//!
//! # Caveats
//! - The image is `ghcr.io/hoist-dev/hoist:v<version>` unless `--image` names another
//!   (a mirror in an air-gapped registry); the cluster must be able to pull it.
//! - Waiting stops at the timeout with the Deployment's conditions in the error; the
//!   objects stay applied.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// The field manager of every object bootstrap applies.
pub const FIELD_MANAGER: &str = "hoist-bootstrap";
/// Hoist's namespace, as the manifests name it.
pub const NAMESPACE: &str = "hoist-system";
/// The image the manifests name, replaced by this version's.
const IMAGE_IN_MANIFESTS: &str = "ghcr.io/hoist-dev/hoist:latest";
const DASHBOARD_TOKEN: &str = "hoist-dashboard-token";
/// Flux's HelmRelease CRD: served when helm-controller is installed.
const HELM_RELEASE_CRD: &str = "helmreleases.helm.toolkit.fluxcd.io";

const CRDS: &str = include_str!("../../deploy/crds.yaml");
const HOIST: &str = include_str!("../../deploy/hoist.yaml");
const OPERATOR_RBAC: &str = include_str!("../../deploy/operator.yaml");
const DASHBOARD_RBAC: &str = include_str!("../../deploy/rbac.yaml");

/// What to bootstrap.
#[derive(Debug, Clone, Default)]
pub struct BootstrapRequest {
    pub with_dashboard: bool,
    /// The image instead of this version's.
    pub image: Option<String>,
    /// How long to wait for the operator; `None`: do not wait.
    pub wait: Option<Duration>,
}

/// Why bootstrap stopped. What was applied before it stays applied.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("the embedded manifests do not parse ({0}): this binary is broken")]
    Manifests(String),
    #[error("the API server does not serve {0:?}; is this a Kubernetes cluster of 1.27 or later?")]
    NotServed(String),
    #[error("{kind} {name}: {source}")]
    Apply {
        kind: String,
        name: String,
        source: kube::Error,
    },
    #[error(
        "the operator was not available within {0:?}: kubectl -n hoist-system describe deployment hoist-operator"
    )]
    NotAvailable(Duration),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
}

/// The version this binary is: its image tag.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The objects bootstrap applies, in order: CRDs first.
pub fn objects(req: &BootstrapRequest) -> Result<Vec<DynamicObject>, BootstrapError> {
    let image = req
        .image
        .clone()
        .unwrap_or_else(|| format!("ghcr.io/hoist-dev/hoist:v{}", version()));
    let mut files = vec![CRDS, HOIST, OPERATOR_RBAC];
    if req.with_dashboard {
        files.push(DASHBOARD_RBAC);
    }
    let mut out = Vec::new();
    for text in files {
        for doc in serde_yaml_ng::Deserializer::from_str(text) {
            let value: serde_json::Value = serde::Deserialize::deserialize(doc)
                .map_err(|e| BootstrapError::Manifests(e.to_string()))?;
            if value.is_null() {
                continue;
            }
            // The image is a string inside the object: replaced in its JSON text.
            let text = serde_json::to_string(&value)
                .map_err(|e| BootstrapError::Manifests(e.to_string()))?
                .replace(IMAGE_IN_MANIFESTS, &image);
            let object: DynamicObject = serde_json::from_str(&text)
                .map_err(|e| BootstrapError::Manifests(e.to_string()))?;
            if !req.with_dashboard && object.name_any().starts_with("hoist-dashboard") {
                continue;
            }
            out.push(object);
        }
    }
    Ok(out)
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Created,
    Configured,
    Unchanged,
}

/// The outcome, per object, and what was found.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    /// `(kind, namespace/name, what happened)`, in the order applied.
    pub objects: Vec<(String, String, Applied)>,
    pub token_created: bool,
    /// Whether Flux's HelmRelease CRD is served.
    pub flux: bool,
    pub waited: bool,
}

impl std::fmt::Display for Bootstrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (kind, name, applied) in &self.objects {
            let word = match applied {
                Applied::Created => "created",
                Applied::Configured => "configured",
                Applied::Unchanged => "unchanged",
            };
            writeln!(f, "{kind:<26} {name:<44} {word}")?;
        }
        if self.token_created {
            writeln!(
                f,
                "the dashboard's token is in Secret {NAMESPACE}/{DASHBOARD_TOKEN} (key `token`)"
            )?;
        }
        if self.waited {
            writeln!(f, "the operator is available")?;
        }
        if self.flux {
            write!(f, "Flux's helm-controller: present (Helm packages install)")
        } else {
            write!(
                f,
                "Flux's helm-controller: not found. Helm packages wait until it is installed \
                 (flux install --components=source-controller,helm-controller); plain manifests install now"
            )
        }
    }
}

/// `--dry-run -o yaml|json`: the objects, one document each.
pub fn render(objects: &[DynamicObject], output: crate::output::Output) -> String {
    let values: Vec<serde_json::Value> = objects
        .iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect();
    match output {
        crate::output::Output::Yaml => values
            .iter()
            .map(|v| format!("---\n{}", crate::output::render(v, output)))
            .collect(),
        crate::output::Output::Json => crate::output::render(
            &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": values}),
            output,
        ),
    }
}

/// Applies everything, then waits. See the module doc.
pub async fn bootstrap(
    client: &Client,
    req: &BootstrapRequest,
) -> Result<Bootstrapped, BootstrapError> {
    let objects = objects(req)?;
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let mut kinds: BTreeMap<String, (ApiResource, ApiCapabilities)> = BTreeMap::new();
    let mut out = Vec::new();
    let (crds, rest): (Vec<_>, Vec<_>) = objects.into_iter().partition(|o| {
        o.types
            .as_ref()
            .is_some_and(|t| t.kind == "CustomResourceDefinition")
    });
    for phase in [crds, rest] {
        let mut applied_crds = Vec::new();
        for object in phase {
            let (kind, name, applied) = apply(client, &mut kinds, &pp, &object).await?;
            if kind == "CustomResourceDefinition" {
                applied_crds.push(name.clone());
            }
            out.push((kind, name, applied));
        }
        let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
        for name in applied_crds {
            let established =
                await_condition(crd_api.clone(), &name, conditions::is_crd_established());
            tokio::time::timeout(Duration::from_secs(60), established)
                .await
                .map_err(|_| BootstrapError::NotServed(name.clone()))?
                .map_err(|e| BootstrapError::NotServed(format!("{name}: {e}")))?;
        }
    }
    let token_created = if req.with_dashboard {
        dashboard_token(client).await?
    } else {
        false
    };
    let waited = match req.wait {
        Some(timeout) => {
            wait_available(client, timeout).await?;
            true
        }
        None => false,
    };
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let flux = crd_api.get_opt(HELM_RELEASE_CRD).await?.is_some();
    Ok(Bootstrapped {
        objects: out,
        token_created,
        flux,
        waited,
    })
}

/// Applies one object; says whether it was created, changed or left as it was.
async fn apply(
    client: &Client,
    kinds: &mut BTreeMap<String, (ApiResource, ApiCapabilities)>,
    pp: &PatchParams,
    object: &DynamicObject,
) -> Result<(String, String, Applied), BootstrapError> {
    let types = object
        .types
        .clone()
        .ok_or_else(|| BootstrapError::Manifests("an object without apiVersion or kind".into()))?;
    let gvk =
        GroupVersionKind::try_from(&types).map_err(|e| BootstrapError::Manifests(e.to_string()))?;
    let key = format!("{}/{}", types.api_version, types.kind);
    if !kinds.contains_key(&key) {
        let found = kube::discovery::pinned_kind(client, &gvk)
            .await
            .map_err(|_| BootstrapError::NotServed(key.clone()))?;
        kinds.insert(key.clone(), found);
    }
    let (ar, caps) = &kinds[&key];
    let name = object.name_any();
    let (api, shown): (Api<DynamicObject>, String) = match (&caps.scope, &object.metadata.namespace)
    {
        (Scope::Namespaced, Some(ns)) => (
            Api::namespaced_with(client.clone(), ns, ar),
            format!("{ns}/{name}"),
        ),
        (Scope::Namespaced, None) => {
            return Err(BootstrapError::Manifests(format!(
                "{key} {name} names no namespace"
            )));
        }
        (Scope::Cluster, _) => (Api::all_with(client.clone(), ar), name.clone()),
    };
    let failed = |source: kube::Error| BootstrapError::Apply {
        kind: types.kind.clone(),
        name: shown.clone(),
        source,
    };
    let before = api.get_opt(&name).await.map_err(failed)?;
    let after = api
        .patch(&name, pp, &Patch::Apply(object))
        .await
        .map_err(failed)?;
    let applied = match before {
        None => Applied::Created,
        Some(b) if b.resource_version() == after.resource_version() => Applied::Unchanged,
        Some(_) => Applied::Configured,
    };
    Ok((types.kind, shown, applied))
}

/// Creates the dashboard's token Secret when it does not exist.
async fn dashboard_token(client: &Client) -> Result<bool, BootstrapError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    if secrets.get_metadata_opt(DASHBOARD_TOKEN).await?.is_some() {
        return Ok(false);
    }
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| BootstrapError::Manifests("no randomness for the token".into()))?;
    let mut token = String::with_capacity(64);
    for b in bytes {
        let _ = write!(token, "{b:02x}");
    }
    let mut secret = Secret::default();
    secret.metadata.name = Some(DASHBOARD_TOKEN.into());
    secret.metadata.namespace = Some(NAMESPACE.into());
    secret.metadata.labels = Some(BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_string(),
        FIELD_MANAGER.to_string(),
    )]));
    secret.string_data = Some(BTreeMap::from([("token".to_string(), token)]));
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(true),
        // Made by someone else meanwhile: theirs stands.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Waits until the operator's Deployment has an available replica of its current
/// generation.
async fn wait_available(client: &Client, timeout: Duration) -> Result<(), BootstrapError> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let available = await_condition(deployments, "hoist-operator", |d: Option<&Deployment>| {
        d.is_some_and(|d| {
            let status = d.status.as_ref();
            status.and_then(|s| s.observed_generation) == d.metadata.generation
                && status.and_then(|s| s.available_replicas).unwrap_or(0) >= 1
        })
    });
    match tokio::time::timeout(timeout, available).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(BootstrapError::NotServed(format!("deployments: {e}"))),
        Err(_) => Err(BootstrapError::NotAvailable(timeout)),
    }
}

/// `hoist version`: this binary's, and the operator's as its Deployment runs it (the
/// image tag), when Hoist is bootstrapped in the cluster.
pub async fn versions(client: &Client, namespace: &str) -> Result<String, kube::Error> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let operator = match deployments.get_opt("hoist-operator").await? {
        Some(d) => {
            let image = d
                .spec
                .template
                .spec
                .as_ref()
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone())
                .unwrap_or_default();
            let tag = image.rsplit_once(':').map_or(image.as_str(), |(_, t)| t);
            let ready = d
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            let want = d.spec.replicas.unwrap_or(1);
            format!("{tag} ({ready}/{want} ready)")
        }
        None => format!("not installed in {namespace} (hoist bootstrap)"),
    };
    Ok(format!("client:   v{}\noperator: {operator}\n", version()))
}
