//! The OpenAPI documents: `/openapi/v3` (a list of group-versions, each with the URL of
//! its own document), `/openapi/v3/api/v1` and `/openapi/v3/apis/{group}/{version}`
//! (paths and schemas of one group-version), and `/openapi/v2` (everything in one
//! Swagger 2.0 document, JSON only).
//!
//! What kubectl needs from them, and so what they carry:
//! - every PATCH operation names its kind in `x-kubernetes-group-version-kind` and lists
//!   the `fieldValidation` query parameter: kubectl then leaves validation to the server
//!   (`fieldValidation=Strict`) instead of downloading Swagger 2.0 as protobuf;
//! - every kind's schema carries `x-kubernetes-group-version-kind`, which is how
//!   `kubectl explain` finds it, with descriptions (Kubernetes' own for built-in kinds,
//!   the CRD's for custom resources).
//!
//! Guarantees: a document's URL carries a hash of what it is made from (the served
//! types and each CRD's resourceVersion), so a client caching by URL sees a changed CRD.
//!
//! Caveats: PATCH request bodies do not list `application/strategic-merge-patch+json`
//! (the built-in schemas carry no patch merge keys, so kubectl computes strategic
//! patches from its compiled-in types, as it does without OpenAPI); list responses have
//! no schema.

use crate::openapi::builtin::{OBJECT_META, builtins};
use crate::resources::ResourceType;
use crate::store::State;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

const SCHEMAS: &str = "#/components/schemas/";

/// The path key of a group-version: `api/v1` or `apis/{group}/{version}`.
fn key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`.
pub fn v3_root(state: &State) -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions(state) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        env!("CARGO_PKG_VERSION").hash(&mut h);
        for rt in state.registry.in_group_version(&group, &version) {
            (&rt.plural, &rt.kind, rt.namespaced, rt.status_subresource).hash(&mut h);
            if rt.custom
                && let Some(crd) = state.crd_of(rt)
            {
                crate::meta::resource_version(&crd).hash(&mut h);
            }
        }
        let k = key(&group, &version);
        paths.insert(
            k.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={:016X}", h.finish())}),
        );
    }
    json!({ "paths": paths })
}

/// Every served group-version, core first.
fn group_versions(state: &State) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if state.registry.has_group_version("", "v1") {
        out.push((String::new(), "v1".to_string()));
    }
    for (g, vs) in state.registry.groups() {
        for v in vs {
            out.push((g.clone(), v));
        }
    }
    out
}

/// `/openapi/v3/{key}`, where `key` is `api/v1` or `apis/{group}/{version}`; `None` when
/// nothing is served there.
pub fn v3_group_version(state: &State, key_path: &str) -> Option<Value> {
    let (group, version) = match key_path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => return None,
    };
    if !state.registry.has_group_version(&group, &version) {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for rt in state.registry.in_group_version(&group, &version) {
        let Some((name, schema)) = kind_schema(state, rt) else {
            continue;
        };
        for (p, item) in resource_paths(rt, &name) {
            paths.insert(p, item);
        }
        schemas.insert(name, schema);
    }
    add_referenced(&mut schemas);
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0-devcluster"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// `/openapi/v2`: every group-version's paths and schemas in one Swagger 2.0 document.
pub fn v2(state: &State) -> Value {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for (group, version) in group_versions(state) {
        let Some(doc) = v3_group_version(state, &key(&group, &version)) else {
            continue;
        };
        if let Some(Value::Object(ps)) = doc.get("paths") {
            for (p, item) in ps {
                paths.insert(p.clone(), v2_path_item(item));
            }
        }
        if let Some(Value::Object(ss)) = doc.pointer("/components/schemas") {
            definitions.extend(ss.clone());
        }
    }
    let doc = json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0-devcluster"},
        "paths": paths,
        "definitions": definitions,
    });
    // References move from v3's place to v2's; the text is the simplest faithful rewrite.
    let text = doc.to_string().replace(SCHEMAS, "#/definitions/");
    serde_json::from_str(&text).unwrap_or(doc)
}

/// The definition name and schema of a served kind: Kubernetes' own for a built-in
/// kind, the CRD version's `openAPIV3Schema` for a custom one (with `apiVersion`,
/// `kind` and `metadata` described, as the API server publishes them).
fn kind_schema(state: &State, rt: &ResourceType) -> Option<(String, Value)> {
    if !rt.custom {
        let b = builtins();
        let name = b
            .kinds
            .get(&(rt.group.clone(), rt.version.clone(), rt.kind.clone()))?;
        return Some((name.clone(), b.definitions.get(name)?.clone()));
    }
    let crd = state.crd_of(rt)?;
    let mut schema = crate::crd::version_schema(&crd, &rt.version)
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    let obj = schema.as_object_mut()?;
    let props = obj
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()?;
    let common = builtins().kind("", "v1", "ConfigMap")?;
    for field in ["apiVersion", "kind"] {
        if let Some(s) = common.pointer(&format!("/properties/{field}")) {
            props.insert(field.into(), s.clone());
        }
    }
    props.insert(
        "metadata".into(),
        json!({"allOf": [{"$ref": format!("{SCHEMAS}{OBJECT_META}")}],
               "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}),
    );
    obj.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([{"group": rt.group, "version": rt.version, "kind": rt.kind}]),
    );
    // The API server's name: the group reversed, then version and kind.
    let mut parts: Vec<&str> = rt.group.split('.').collect();
    parts.reverse();
    let name = format!("{}.{}.{}", parts.join("."), rt.version, rt.kind);
    Some((name, schema))
}

/// Adds every built-in definition the schemas reference, transitively.
fn add_referenced(schemas: &mut Map<String, Value>) {
    let defs = &builtins().definitions;
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = Vec::new();
    for s in schemas.values() {
        refs(s, &mut queue);
    }
    while let Some(name) = queue.pop() {
        if schemas.contains_key(&name) || !wanted.insert(name.clone()) {
            continue;
        }
        if let Some(d) = defs.get(&name) {
            refs(d, &mut queue);
        }
    }
    for name in wanted {
        if let Some(d) = defs.get(&name) {
            schemas.insert(name, d.clone());
        }
    }
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref")
                && let Some(name) = r.strip_prefix(SCHEMAS)
            {
                out.push(name.to_string());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

fn query_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description,
           "schema": {"type": "string", "uniqueItems": true}})
}

/// The write parameters every create, update and patch takes.
fn write_params(patch: bool) -> Vec<Value> {
    let mut p = vec![
        query_param(
            "dryRun",
            "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
        ),
        query_param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query_param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn (the default) - Strict",
        ),
    ];
    if patch {
        p.push(json!({"name": "force", "in": "query", "description": "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people.",
                      "schema": {"type": "boolean", "uniqueItems": true}}));
    }
    p
}

/// The operations on one resource: its collection, its objects, and their status.
fn resource_paths(rt: &ResourceType, schema_name: &str) -> Vec<(String, Value)> {
    let prefix = if rt.group.is_empty() {
        format!("/api/{}", rt.version)
    } else {
        format!("/apis/{}/{}", rt.group, rt.version)
    };
    let collection = if rt.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", rt.plural)
    } else {
        format!("{prefix}/{}", rt.plural)
    };
    let gvk = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
    let object_ref = json!({"$ref": format!("{SCHEMAS}{schema_name}")});
    let ok = |code: &str| json!({code: {"description": "OK", "content": {"application/json": {"schema": object_ref}}}});
    let body = |types: &[&str]| {
        let content: Map<String, Value> = types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": object_ref})))
            .collect();
        json!({"content": content, "required": true})
    };
    let patch_types = [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
    ];
    let op = |action: &str, id: &str, params: Vec<Value>, extra: Value| {
        let mut o = json!({
            "operationId": id,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "parameters": params,
        });
        if let (Value::Object(o), Value::Object(e)) = (&mut o, extra) {
            o.extend(e);
        }
        o
    };
    let mut path_params = Vec::new();
    if rt.namespaced {
        path_params.push(json!({"name": "namespace", "in": "path", "required": true,
            "description": "object name and auth scope, such as for teams and projects",
            "schema": {"type": "string", "uniqueItems": true}}));
    }
    let mut named_params = path_params.clone();
    named_params.push(json!({"name": "name", "in": "path", "required": true,
        "description": format!("name of the {}", rt.kind),
        "schema": {"type": "string", "uniqueItems": true}}));
    let id = |verb: &str, suffix: &str| format!("{verb}{}{suffix}", rt.kind);
    let mut out = vec![(
        collection.clone(),
        json!({
            "parameters": path_params,
            "get": op("list", &id("list", ""), vec![], json!({"responses": {"200": {"description": "OK"}}})),
            "post": op("post", &id("create", ""), write_params(false),
                json!({"requestBody": body(&["*/*"]), "responses": ok("201")})),
        }),
    )];
    let item = |status: bool| {
        let suffix = if status { "Status" } else { "" };
        json!({
            "parameters": named_params,
            "get": op("get", &id("read", suffix), vec![], json!({"responses": ok("200")})),
            "put": op("put", &id("replace", suffix), write_params(false),
                json!({"requestBody": body(&["*/*"]), "responses": ok("200")})),
            "patch": op("patch", &id("patch", suffix), write_params(true),
                json!({"requestBody": body(&patch_types), "responses": ok("200")})),
        })
    };
    let mut object = item(false);
    object["delete"] = op(
        "delete",
        &id("delete", ""),
        vec![query_param(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        )],
        json!({"responses": {"200": {"description": "OK"}}}),
    );
    out.push((format!("{collection}/{{name}}"), object));
    if rt.status_subresource {
        out.push((format!("{collection}/{{name}}/status"), item(true)));
    }
    out
}

/// A v3 path item in Swagger 2.0's shape: bodies become `in: body` parameters,
/// parameter and response schemas move up a level.
fn v2_path_item(item: &Value) -> Value {
    let mut item = item.clone();
    let Some(entries) = item.as_object_mut() else {
        return item;
    };
    for (name, entry) in entries.iter_mut() {
        if name == "parameters" {
            if let Value::Array(params) = entry {
                v2_params(params);
            }
            continue;
        }
        let Some(o) = entry.as_object_mut() else {
            continue;
        };
        let body = o.remove("requestBody");
        if let Some(Value::Array(params)) = o.get_mut("parameters") {
            v2_params(params);
            if let Some(body) = &body {
                let schema = body["content"]
                    .as_object()
                    .and_then(|c| c.values().next())
                    .map(|c| c["schema"].clone())
                    .unwrap_or(Value::Null);
                params.push(
                    json!({"name": "body", "in": "body", "required": true, "schema": schema}),
                );
            }
        }
        if let Some(Value::Object(content)) = body.as_ref().map(|b| &b["content"]) {
            let consumes: Vec<&String> = content.keys().collect();
            o.insert("consumes".into(), json!(consumes));
        }
        if let Some(Value::Object(responses)) = o.get_mut("responses") {
            for r in responses.values_mut() {
                let schema = r.pointer("/content/application~1json/schema").cloned();
                if let (Some(schema), Some(m)) = (schema, r.as_object_mut()) {
                    m.remove("content");
                    m.insert("schema".into(), schema);
                }
            }
        }
        o.insert("produces".into(), json!(["application/json"]));
    }
    item
}

/// Swagger 2.0 puts a parameter's type beside its name, not under `schema`.
fn v2_params(params: &mut [Value]) {
    for p in params {
        if let Some(p) = p.as_object_mut()
            && let Some(Value::Object(schema)) = p.remove("schema")
        {
            p.extend(schema);
        }
    }
}
