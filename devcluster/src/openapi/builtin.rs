//! The schemas of the built-in kinds devcluster serves, taken from `k8s-openapi` (the
//! generated Rust bindings of Kubernetes' own OpenAPI document, with its `schemars`
//! impls): definition names, descriptions and `x-kubernetes-*` markers are the API
//! server's.
//!
//! Guarantees: built once, on first use, and never changed after; every kind in
//! [`crate::resources::builtins`] that Kubernetes defines has a definition carrying its
//! `x-kubernetes-group-version-kind`, and every `$ref` in the set resolves inside it.
//!
//! Caveat: kinds that are not Kubernetes' own (the `ServiceMonitor` devcluster serves so
//! monitoring manifests apply) have no schema: they are neither validated nor pruned.

use k8s_openapi::api::{
    apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
    events::v1 as events, networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac,
    scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

/// `(group, version, kind)`, the core group being `""`.
pub type Gvk = (String, String, String);

/// Every definition the built-in kinds need, and which one each kind is.
#[derive(Debug)]
pub struct Builtins {
    /// By Kubernetes' definition name (`io.k8s.api.apps.v1.Deployment`), references
    /// written `#/components/schemas/{name}` (OpenAPI v3's place).
    pub definitions: Map<String, Value>,
    /// The definition name of each built-in kind.
    pub kinds: HashMap<Gvk, String>,
}

/// The definition name of `ObjectMeta`: custom resources' `metadata` is checked against it.
pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// The built-in schemas, built on first use (a few milliseconds).
pub fn builtins() -> &'static Builtins {
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS.get_or_init(build)
}

impl Builtins {
    /// The schema of a built-in kind, if Kubernetes defines it.
    pub fn kind(&self, group: &str, version: &str, kind: &str) -> Option<&Value> {
        let name = self
            .kinds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))?;
        self.definitions.get(name)
    }
}

struct Collect {
    generator: SchemaGenerator,
    kinds: HashMap<Gvk, String>,
}

impl Collect {
    fn kind<T: schemars::JsonSchema + k8s_openapi::Resource>(&mut self) {
        let _ = self.generator.subschema_for::<T>();
        self.kinds.insert(
            (T::GROUP.into(), T::VERSION.into(), T::KIND.into()),
            T::schema_name().into_owned(),
        );
    }
}

fn build() -> Builtins {
    let mut c = Collect {
        generator: SchemaSettings::openapi3().into_generator(),
        kinds: HashMap::new(),
    };
    c.kind::<core::Namespace>();
    c.kind::<core::ConfigMap>();
    c.kind::<core::Secret>();
    c.kind::<core::Event>();
    c.kind::<core::Service>();
    c.kind::<core::ServiceAccount>();
    c.kind::<core::Pod>();
    c.kind::<core::PersistentVolumeClaim>();
    c.kind::<core::Endpoints>();
    c.kind::<events::Event>();
    c.kind::<apps::Deployment>();
    c.kind::<apps::StatefulSet>();
    c.kind::<apps::DaemonSet>();
    c.kind::<apps::ReplicaSet>();
    c.kind::<batch::Job>();
    c.kind::<batch::CronJob>();
    c.kind::<coordination::Lease>();
    c.kind::<networking::Ingress>();
    c.kind::<networking::IngressClass>();
    c.kind::<networking::NetworkPolicy>();
    c.kind::<storage::StorageClass>();
    c.kind::<scheduling::PriorityClass>();
    c.kind::<core::ResourceQuota>();
    c.kind::<policy::PodDisruptionBudget>();
    c.kind::<rbac::Role>();
    c.kind::<rbac::RoleBinding>();
    c.kind::<rbac::ClusterRole>();
    c.kind::<rbac::ClusterRoleBinding>();
    c.kind::<apiextensions::CustomResourceDefinition>();
    let _ = c.generator.subschema_for::<ObjectMeta>();
    let mut definitions = c.generator.take_definitions(true);
    for ((group, version, kind), name) in &c.kinds {
        if let Some(Value::Object(schema)) = definitions.get_mut(name) {
            schema.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": group, "version": version, "kind": kind}]),
            );
        }
    }
    Builtins {
        definitions,
        kinds: c.kinds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_builtin_kubernetes_kind_has_a_schema_marked_with_its_group_version_kind() {
        let b = builtins();
        for rt in crate::resources::builtins() {
            if rt.group == "monitoring.coreos.com" {
                continue;
            }
            let schema = b
                .kind(&rt.group, &rt.version, &rt.kind)
                .unwrap_or_else(|| panic!("no schema for {}/{}", rt.api_version(), rt.kind));
            assert_eq!(
                schema["x-kubernetes-group-version-kind"][0]["kind"], rt.kind,
                "{}",
                rt.kind
            );
        }
        let deployment = b.kind("apps", "v1", "Deployment").expect("Deployment");
        assert!(
            deployment["description"]
                .as_str()
                .is_some_and(|d| d.contains("declarative updates")),
            "descriptions are Kubernetes' own"
        );
    }

    #[test]
    fn every_reference_resolves_within_the_set() {
        let b = builtins();
        let mut all = Vec::new();
        for d in b.definitions.values() {
            refs(d, &mut all);
        }
        assert!(!all.is_empty());
        for r in all {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("reference outside components: {r}"));
            assert!(b.definitions.contains_key(name), "dangling {r}");
        }
    }
}
