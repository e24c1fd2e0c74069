//! Discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{g}`, `/apis/{g}/{v}`.
//!
//! These are the legacy (non-aggregated) documents that kube-rs' `Discovery::run()` and
//! kubectl read. A group with no versions is never listed (kube-rs treats it as an error).
//!
//! When the server authenticates (`app.gate`), what only then is served is listed too:
//! the review kinds of [`crate::auth::review::SERVED`] (`authentication.k8s.io` and
//! `authorization.k8s.io`, verbs `create` only, as the API server lists them) and the
//! `serviceaccounts/token` subresource (`TokenRequest`). Without it, none of them is.

use crate::app::App;
use crate::auth::review::{self, ReviewType};
use crate::error::ApiError;
use crate::resources::{Registry, ResourceType};
use crate::respond::json_response;
use crate::route::Target;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
            let groups: Vec<Value> = served_groups(app, registry)
                .iter()
                .map(|(g, vs)| group_doc(g, vs))
                .collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        Target::Group(g) => {
            let groups = served_groups(app, registry);
            let vs = groups
                .get(g)
                .ok_or_else(|| ApiError::no_route(&format!("/apis/{g}")))?;
            let mut doc = group_doc(g, vs);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        }
        Target::Resources { group, version } => {
            let auth = app.gate.is_some();
            let reviews: Vec<&ReviewType> = review::SERVED
                .iter()
                .filter(|r| auth && r.group == group && r.version == version)
                .collect();
            if !registry.has_group_version(group, version) && reviews.is_empty() {
                return Err(ApiError::no_route(&format!("{group}/{version}")));
            }
            let resources: Vec<Value> = registry
                .in_group_version(group, version)
                .flat_map(|t| resource_entries(t, auth))
                .chain(reviews.into_iter().map(review_entry))
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

/// The groups served, with their versions: the registry's, and the review groups when
/// the server authenticates.
fn served_groups(app: &App, registry: &Registry) -> BTreeMap<String, Vec<String>> {
    let mut groups = registry.groups();
    if app.gate.is_some() {
        for r in review::SERVED {
            let versions = groups.entry(r.group.to_string()).or_default();
            if !versions.iter().any(|v| v == r.version) {
                versions.push(r.version.to_string());
            }
        }
    }
    groups
}

/// A review kind: created, never stored, so `create` is its only verb.
fn review_entry(r: &ReviewType) -> Value {
    json!({
        "name": r.plural, "singularName": r.singular(), "namespaced": r.namespaced,
        "kind": r.kind, "verbs": ["create"],
    })
}

/// `auth`: whether the server authenticates (and so serves `serviceaccounts/token`).
fn resource_entries(t: &ResourceType, auth: bool) -> Vec<Value> {
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
    if t.group.is_empty() && t.plural == "pods" {
        out.push(json!({
            "name": "pods/portforward", "singularName": "", "namespaced": true,
            "kind": "PodPortForwardOptions", "verbs": ["create", "get"],
        }));
    }
    if auth && t.group.is_empty() && t.plural == "serviceaccounts" {
        out.push(json!({
            "name": "serviceaccounts/token", "singularName": "", "namespaced": t.namespaced,
            "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
            "verbs": ["create"],
        }));
    }
    out
}
