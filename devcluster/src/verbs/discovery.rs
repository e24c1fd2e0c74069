//! Discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{g}`, `/apis/{g}/{v}`.
//!
//! These are the legacy (non-aggregated) documents that kube-rs' `Discovery::run()` and
//! kubectl read. A group with no versions is never listed (kube-rs treats it as an error).

use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::route::Target;
use crate::server::{App, json_response};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Value, json};

const VERBS: [&str; 7] = [
    "create", "delete", "get", "list", "patch", "update", "watch",
];

pub fn handle(app: &App, target: &Target, headers: &HeaderMap) -> Result<Response, ApiError> {
    let state = app.store.lock();
    let registry = &state.registry;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let group_doc = |name: &str, versions: &[String]| {
        let vs: Vec<Value> = versions
            .iter()
            .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
            .collect();
        json!({"name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
    };
    let body = match target {
        Target::Version => json!({
            "major": "1", "minor": "37", "gitVersion": "v1.37.0-devcluster", "gitCommit": "devcluster",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "none",
            "compiler": "rustc", "platform": "linux/amd64",
        }),
        Target::CoreVersions => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }),
        Target::Groups => {
            let groups: Vec<Value> = registry
                .groups()
                .iter()
                .map(|(g, vs)| group_doc(g, vs))
                .collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        Target::Group(g) => {
            let groups = registry.groups();
            let vs = groups
                .get(g)
                .ok_or_else(|| ApiError::no_route(&format!("/apis/{g}")))?;
            let mut doc = group_doc(g, vs);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        }
        Target::Resources { group, version } => {
            if !registry.has_group_version(group, version) {
                return Err(ApiError::no_route(&format!("{group}/{version}")));
            }
            let resources: Vec<Value> = registry
                .in_group_version(group, version)
                .flat_map(resource_entries)
                .collect();
            let gv = if group.is_empty() {
                version.clone()
            } else {
                format!("{group}/{version}")
            };
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
        }
        Target::Object(_) => return Err(ApiError::no_route("object")),
    };
    Ok(json_response(200, &body))
}

fn resource_entries(t: &ResourceType) -> Vec<Value> {
    let mut out = vec![json!({
        "name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind,
        "verbs": VERBS, "shortNames": t.short_names,
    })];
    if t.status_subresource {
        out.push(json!({
            "name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced,
            "kind": t.kind, "verbs": ["get", "patch", "update"],
        }));
    }
    if super::scale::has_scale(t) {
        out.push(json!({
            "name": format!("{}/scale", t.plural), "singularName": "", "namespaced": t.namespaced,
            "group": "autoscaling", "version": "v1", "kind": "Scale",
            "verbs": ["get", "patch", "update"],
        }));
    }
    out
}
