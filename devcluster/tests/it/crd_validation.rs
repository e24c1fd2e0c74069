//! Custom resources are validated against their CRD's `openAPIV3Schema` as
//! `apiextensions-apiserver` validates them: a table of the validator with the API
//! server's texts, then live refusals (422 naming every cause, nothing stored) through
//! kube-rs (create, replace, merge patch, apply, `/status`, dry runs), the exact Status
//! body over HTTP, ratcheting after a CRD gets stricter, and `kubectl apply`.

use crate::common;
use common::*;
use devcluster::error::Cause;
use devcluster::openapi::validate::{prune_nulls, validate, validate_update};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

/// The rules of the table, and of the live CRD's `spec`.
fn spec_schema() -> Value {
    json!({"type": "object", "required": ["name", "version"], "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 63,
                 "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "version": {"type": "string",
                    "pattern": "^v?[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$"},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
        "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "multipleOf": 0.5},
        "step": {"type": "integer", "multipleOf": 5},
        "port": {"type": "integer", "format": "int32"},
        "big": {"type": "integer", "format": "uint32", "minimum": 0},
        "when": {"type": "string", "format": "date-time"},
        "id": {"type": "string", "format": "uuid"},
        "zone": {"type": "string", "format": "not-a-format"},
        "enabled": {"type": "boolean"},
        "note": {"type": "string", "nullable": true},
        "tags": {"type": "array", "minItems": 1, "maxItems": 2, "uniqueItems": true,
                 "items": {"type": "string", "maxLength": 3}},
        "labels": {"type": "object", "minProperties": 1, "maxProperties": 2,
                   "additionalProperties": {"type": "string", "pattern": "^x"}},
        "target": {"x-kubernetes-int-or-string": true,
                   "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "either": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                   "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        "count": {"type": "integer", "not": {"enum": [0]}},
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "required": ["name"], "properties": {
                      "name": {"type": "string"}, "port": {"type": "integer", "maximum": 100}}}},
    }})
}

fn schema() -> Value {
    json!({"type": "object", "required": ["spec"], "properties": {
        "spec": spec_schema(),
        "status": {"type": "object", "properties": {
            "phase": {"type": "string", "enum": ["Pending", "Ready"]}}},
    }})
}

/// A Pkg with a valid spec, changed by `spec` (merged in).
fn pkg(spec: Value) -> Value {
    let mut s = json!({"name": "web", "version": "1.2.3"});
    if let (Some(base), Value::Object(more)) = (s.as_object_mut(), spec) {
        base.extend(more);
    }
    json!({"apiVersion": "valid.hoist.dev/v1", "kind": "Pkg",
           "metadata": {"name": "p"}, "spec": s})
}

fn texts(causes: &[Cause]) -> Vec<String> {
    causes.iter().map(ToString::to_string).collect()
}

#[test]
fn the_validator_words_each_rule_as_the_api_server_does() {
    let long = "a".repeat(64);
    let table: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec![]),
        (
            json!({"note": null, "replicas": 2.0, "target": 8080, "when": "2024-01-02T03:04:05Z",
                "id": "123e4567-e89b-12d3-a456-426614174000", "zone": "anything",
                "free": {"any": {"thing": [1]}}, "either": {"a": "x"}, "big": 5,
                "labels": {"k": "x1"}, "tags": ["a", "b"], "count": 1}),
            vec![],
        ),
        (json!({"target": "http"}), vec![]),
        (
            json!({"name": "Bad_Name"}),
            vec![
                "spec.name: Invalid value: \"Bad_Name\": spec.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
            ],
        ),
        (
            json!({"name": long}),
            vec!["spec.name: Too long: may not be more than 63 bytes"],
        ),
        (
            json!({"name": ""}),
            vec![
                "spec.name: Invalid value: \"\": spec.name in body should be at least 1 chars long",
            ],
        ),
        (
            json!({"name": "dé"}),
            vec![
                "spec.name: Invalid value: \"dé\": spec.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
            ],
        ),
        (
            json!({"version": "1.2"}),
            vec![
                "spec.version: Invalid value: \"1.2\": spec.version in body should match '^v?[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$'",
            ],
        ),
        (
            json!({"kind": "z"}),
            vec!["spec.kind: Unsupported value: \"z\": supported values: \"a\", \"b\""],
        ),
        (
            json!({"replicas": 11}),
            vec![
                "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
            ],
        ),
        (
            json!({"replicas": 0}),
            vec![
                "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
            ],
        ),
        (
            json!({"replicas": "3"}),
            vec![
                "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
            ],
        ),
        (
            json!({"replicas": 2.5}),
            vec![
                "spec.replicas: Invalid value: \"number\": spec.replicas in body must be of type integer: \"number\"",
                "<nil>: Invalid value: \"\": Checked value must be of type integer (default format) in spec.replicas",
            ],
        ),
        // kube-openapi checks an integer against `int64(multipleOf)`: 0.5 becomes 0.
        (
            json!({"ratio": 0}),
            vec![
                "spec.ratio: Invalid value: 0: factor MultipleOf declared for spec.ratio must be positive: 0",
                "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
            ],
        ),
        (json!({"ratio": 1.5}), vec![]),
        (
            json!({"ratio": 0.75}),
            vec!["spec.ratio: Invalid value: 0.75: spec.ratio in body should be a multiple of 0.5"],
        ),
        (
            json!({"step": 7}),
            vec!["spec.step: Invalid value: 7: spec.step in body should be a multiple of 5"],
        ),
        (
            json!({"port": 3_000_000_000u64}),
            vec![
                "<nil>: Invalid value: \"\": Checked value must be of type integer with format int32 in spec.port",
            ],
        ),
        (
            json!({"big": -1}),
            vec![
                "spec.big: Invalid value: -1: spec.big in body should be greater than or equal to 0",
            ],
        ),
        (
            json!({"when": "yesterday"}),
            vec![
                "spec.when: Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\"",
            ],
        ),
        (
            json!({"when": 5}),
            vec![
                "spec.when: Invalid value: \"int64\": spec.when in body must be of type date-time: \"int64\"",
            ],
        ),
        (
            json!({"id": "nope"}),
            vec![
                "spec.id: Invalid value: \"nope\": spec.id in body must be of type uuid: \"nope\"",
            ],
        ),
        (
            json!({"enabled": "yes"}),
            vec![
                "spec.enabled: Invalid value: \"string\": spec.enabled in body must be of type boolean: \"string\"",
            ],
        ),
        (
            json!({"name": null}),
            vec![
                "spec.name: Invalid value: \"null\": spec.name in body must be of type string: \"null\"",
            ],
        ),
        (
            json!({"tags": ["a", "a", "b"]}),
            vec![
                "spec.tags: Too many: 3: must have at most 2 items",
                "spec.tags: Invalid value: \"\": spec.tags in body shouldn't contain duplicates",
            ],
        ),
        (
            json!({"tags": ["abcd"]}),
            vec!["spec.tags[0]: Too long: may not be more than 3 bytes"],
        ),
        (
            json!({"tags": []}),
            vec!["spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"],
        ),
        (
            json!({"labels": {}}),
            vec![
                "spec.labels: Invalid value: 0: spec.labels in body should have at least 1 properties",
            ],
        ),
        (
            json!({"labels": {"a": "y"}}),
            vec!["spec.labels.a: Invalid value: \"y\": spec.labels.a in body should match '^x'"],
        ),
        (
            json!({"labels": {"a": "x", "b": "x", "c": "x"}}),
            vec!["spec.labels: Too many: 3: must have at most 2 items"],
        ),
        (
            json!({"target": true}),
            vec![
                "spec.target: Invalid value: \"boolean\": spec.target in body must be of type integer,string: \"boolean\"",
                "<nil>: Invalid value: \"\": \"spec.target\" must validate at least one schema (anyOf)",
                "spec.target: Invalid value: \"boolean\": spec.target in body must be of type integer: \"boolean\"",
            ],
        ),
        (
            json!({"either": {}}),
            vec![
                "<nil>: Invalid value: \"\": \"spec.either\" must validate one and only one schema (oneOf). Found none valid",
                "spec.either.a: Required value",
            ],
        ),
        (
            json!({"either": {"a": "x", "b": "y"}}),
            vec![
                "<nil>: Invalid value: \"\": \"spec.either\" must validate one and only one schema (oneOf). Found 2 valid alternatives",
            ],
        ),
        (
            json!({"count": 0}),
            vec!["<nil>: Invalid value: \"\": \"spec.count\" must not validate the schema (not)"],
        ),
        (
            json!({"ports": [{"name": "a", "port": 101}, {"port": 1}]}),
            vec![
                "spec.ports[0].port: Invalid value: 101: spec.ports[0].port in body should be less than or equal to 100",
                "spec.ports[1].name: Required value",
            ],
        ),
    ];
    for (spec, want) in table {
        let got = validate(&schema(), &pkg(spec.clone()));
        assert_eq!(texts(&got), want, "spec {spec}");
    }
    // A removed required field, and causes in the API server's order: properties (here
    // sorted), then `required`.
    let mut obj = pkg(json!({"kind": "z", "name": "Bad"}));
    if let Some(s) = obj["spec"].as_object_mut() {
        s.remove("version");
    }
    assert_eq!(
        texts(&validate(&schema(), &obj)),
        [
            "spec.kind: Unsupported value: \"z\": supported values: \"a\", \"b\"",
            "spec.name: Invalid value: \"Bad\": spec.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
            "spec.version: Required value",
        ]
    );
    let no_spec =
        json!({"apiVersion": "valid.hoist.dev/v1", "kind": "Pkg", "metadata": {"name": "p"}});
    assert_eq!(
        texts(&validate(&schema(), &no_spec)),
        ["spec: Required value"]
    );
}

#[test]
fn each_cause_carries_the_api_server_s_reason_and_one_error_lists_them_all() {
    let causes = validate(
        &schema(),
        &pkg(json!({"name": "Bad", "kind": "z", "tags": ["abcd"], "enabled": 1})),
    );
    let reasons: Vec<(&str, &str)> = causes
        .iter()
        .map(|c| (c.field.as_str(), c.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("spec.enabled", "FieldValueTypeInvalid"),
            ("spec.kind", "FieldValueNotSupported"),
            ("spec.name", "FieldValueInvalid"),
            ("spec.tags[0]", "FieldValueTooLong"),
        ]
    );
    let e = devcluster::ApiError::invalid_causes("valid.hoist.dev", "Pkg", "p", causes);
    assert_eq!(e.code, 422);
    let status = e.to_status();
    assert_eq!(
        status["message"],
        "Pkg.valid.hoist.dev \"p\" is invalid: [spec.enabled: Invalid value: \"integer\": spec.enabled in body must be of type boolean: \"integer\", spec.kind: Unsupported value: \"z\": supported values: \"a\", \"b\", spec.name: Invalid value: \"Bad\": spec.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', spec.tags[0]: Too long: may not be more than 3 bytes]"
    );
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["group"], "valid.hoist.dev");
    assert_eq!(status["details"]["kind"], "Pkg");
    assert_eq!(status["details"]["name"], "p");
    assert_eq!(
        status["details"]["causes"][1],
        json!({"reason": "FieldValueNotSupported", "field": "spec.kind",
               "message": "Unsupported value: \"z\": supported values: \"a\", \"b\""})
    );
    let one = devcluster::ApiError::invalid_causes(
        "valid.hoist.dev",
        "Pkg",
        "p",
        validate(&schema(), &pkg(json!({"replicas": 11}))),
    );
    assert_eq!(
        one.message,
        "Pkg.valid.hoist.dev \"p\" is invalid: spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
        "a single cause has no brackets"
    );
}

#[test]
fn updates_ratchet_errors_in_unchanged_parts_and_nulls_of_non_nullable_fields_are_dropped() {
    let old = pkg(json!({"name": "Old_Name", "tags": ["abcd"], "replicas": 2,
        "ports": [{"name": "a", "port": 200}]}));
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(3);
    assert!(
        validate_update(&schema(), &new, &old).is_empty(),
        "what was already there stays allowed"
    );
    new["spec"]["name"] = json!("Other_Name");
    new["spec"]["ports"] = json!([{"name": "b", "port": 1}, {"name": "a", "port": 200}]);
    assert_eq!(
        texts(&validate_update(&schema(), &new, &old)),
        [
            "spec.name: Invalid value: \"Other_Name\": spec.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"
        ],
        "list-map items correlate by key; a changed value is checked"
    );
    new["spec"]["tags"] = json!(["abcd", "b"]);
    assert!(
        texts(&validate_update(&schema(), &new, &old))
            .contains(&"spec.tags[0]: Too long: may not be more than 3 bytes".to_string()),
        "items of an atomic list do not correlate: a changed list is checked whole"
    );

    let mut obj = pkg(json!({"name": null, "note": null, "labels": {"k": null}}));
    prune_nulls(&mut obj, &schema());
    assert_eq!(
        obj["spec"],
        json!({"version": "1.2.3", "note": null, "labels": {}})
    );
    assert_eq!(
        texts(&validate(&schema(), &obj)),
        [
            "spec.labels: Invalid value: 0: spec.labels in body should have at least 1 properties",
            "spec.name: Required value",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Live.

fn crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "pkgs.valid.hoist.dev"},
        "spec": {"group": "valid.hoist.dev", "scope": "Namespaced",
            "names": {"plural": "pkgs", "singular": "pkg", "kind": "Pkg"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": schema()}}]}
    }))
    .expect("a CRD")
}

async fn install(client: &kube::Client) -> Api<DynamicObject> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd())
        .await
        .expect("CRD created");
    let established = await_condition(
        crds,
        "pkgs.valid.hoist.dev",
        conditions::is_crd_established(),
    );
    tokio::time::timeout(PATIENCE, established)
        .await
        .expect("established in time")
        .expect("watch works");
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("valid.hoist.dev", "v1", "Pkg"),
        "pkgs",
    );
    Api::namespaced_with(client.clone(), "default", &ar)
}

fn object(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("an object")
}

/// The Status of a refused write, which must be a 422 Invalid.
fn refused<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> Box<kube::core::Status> {
    match r {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"), "{s:?}");
            s
        }
        other => panic!("not refused with a Status: {other:?}"),
    }
}

fn causes(s: &kube::core::Status) -> Vec<String> {
    s.details
        .iter()
        .flat_map(|d| &d.causes)
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

const BAD_NAME: &str = "spec.name: Invalid value: \"Bad_Name\": spec.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'";
const BAD_KIND: &str = "spec.kind: Unsupported value: \"z\": supported values: \"a\", \"b\"";

#[tokio::test]
async fn kube_rs_writes_that_break_the_schema_are_refused_with_every_cause_and_store_nothing() {
    let (c, client) = start().await;
    let pkgs = install(&client).await;
    let rv = c.resource_version();

    let bad = object(pkg(json!({"name": "Bad_Name", "kind": "z"})));
    let s = refused(pkgs.create(&PostParams::default(), &bad).await);
    assert_eq!(causes(&s), [BAD_KIND, BAD_NAME]);
    assert_eq!(
        s.message,
        format!("Pkg.valid.hoist.dev \"p\" is invalid: [{BAD_KIND}, {BAD_NAME}]")
    );
    let details = s.details.as_ref().expect("details");
    assert_eq!(
        (
            details.group.as_str(),
            details.kind.as_str(),
            details.name.as_str()
        ),
        ("valid.hoist.dev", "Pkg", "p")
    );
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let s = refused(pkgs.create(&dry, &bad).await);
    assert_eq!(causes(&s), [BAD_KIND, BAD_NAME], "a dry run is refused too");
    let s = refused(
        pkgs.patch(
            "p",
            &PatchParams::apply("tester"),
            &Patch::Apply(pkg(json!({"replicas": 11}))),
        )
        .await,
    );
    assert_eq!(
        causes(&s),
        [
            "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"
        ],
        "an apply that would create"
    );
    assert!(c.objects("valid.hoist.dev", "pkgs").is_empty());
    assert_eq!(c.resource_version(), rv, "nothing moved");

    // A valid object, then every way of changing it into an invalid one.
    let good = pkgs
        .create(&PostParams::default(), &object(pkg(json!({"replicas": 2}))))
        .await
        .expect("a valid Pkg is created");
    let stored = c.objects("valid.hoist.dev", "pkgs");
    let rv = c.resource_version();

    let mut replaced = good.clone();
    replaced.data["spec"]["kind"] = json!("z");
    let s = refused(pkgs.replace("p", &PostParams::default(), &replaced).await);
    assert_eq!(causes(&s), [BAD_KIND]);
    assert_eq!(
        s.message,
        format!("Pkg.valid.hoist.dev \"p\" is invalid: {BAD_KIND}")
    );

    let s = refused(
        pkgs.patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"name": "Bad_Name", "version": null}})),
        )
        .await,
    );
    assert_eq!(causes(&s), [BAD_NAME, "spec.version: Required value"]);

    let dry_patch = PatchParams {
        dry_run: true,
        ..Default::default()
    };
    let s = refused(
        pkgs.patch(
            "p",
            &dry_patch,
            &Patch::Merge(json!({"spec": {"name": "Bad_Name"}})),
        )
        .await,
    );
    assert_eq!(causes(&s), [BAD_NAME]);

    let s = refused(
        pkgs.patch(
            "p",
            &PatchParams::apply("tester").force(),
            &Patch::Apply(pkg(json!({"tags": ["a", "a"]}))),
        )
        .await,
    );
    assert_eq!(
        causes(&s),
        ["spec.tags: Invalid value: \"\": spec.tags in body shouldn't contain duplicates"]
    );

    let s = refused(
        pkgs.patch_status(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Gone"}})),
        )
        .await,
    );
    assert_eq!(
        causes(&s),
        ["status.phase: Unsupported value: \"Gone\": supported values: \"Pending\", \"Ready\""]
    );
    assert_eq!(
        c.objects("valid.hoist.dev", "pkgs"),
        stored,
        "nothing changed"
    );
    assert_eq!(c.resource_version(), rv);

    let ready = pkgs
        .patch_status(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .expect("a valid status is written");
    assert_eq!(ready.data["status"]["phase"], "Ready");
}

#[tokio::test]
async fn the_refusal_is_the_api_server_s_status_body_and_nulls_are_dropped_not_refused() {
    let (c, client) = start().await;
    install(&client).await;
    let path = "/apis/valid.hoist.dev/v1/namespaces/default/pkgs";
    let body = pkg(json!({"replicas": 11})).to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    let answer = raw_exchange(&c, &head, body.as_bytes()).await;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 422"), "{head}");
    let status: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Pkg.valid.hoist.dev \"p\" is invalid: spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
            "reason": "Invalid", "code": 422,
            "details": {"name": "p", "group": "valid.hoist.dev", "kind": "Pkg", "causes": [
                {"reason": "FieldValueInvalid", "field": "spec.replicas",
                 "message": "Invalid value: 11: spec.replicas in body should be less than or equal to 10"}]}})
    );

    // As the API server's decoder: a null where the schema does not allow one is dropped.
    let pkgs: Api<DynamicObject> = Api::namespaced_with(
        client,
        "default",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("valid.hoist.dev", "v1", "Pkg"),
            "pkgs",
        ),
    );
    let created = pkgs
        .create(
            &PostParams::default(),
            &object(pkg(json!({"kind": null, "note": null}))),
        )
        .await
        .expect("created");
    assert_eq!(
        created.data["spec"],
        json!({"name": "web", "version": "1.2.3", "note": null})
    );
}

#[tokio::test]
async fn a_stricter_crd_applies_at_once_and_ratchets_what_objects_already_hold() {
    let (_c, client) = start().await;
    let pkgs = install(&client).await;
    pkgs.create(
        &PostParams::default(),
        &object(pkg(json!({"name": "a-long-name"}))),
    )
    .await
    .expect("created");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut stricter = crds.get("pkgs.valid.hoist.dev").await.expect("CRD");
    let mut schema_json = schema();
    schema_json["properties"]["spec"]["properties"]["name"]["maxLength"] = json!(5);
    stricter.spec.versions[0].schema =
        serde_json::from_value(json!({"openAPIV3Schema": schema_json})).expect("a schema");
    crds.replace("pkgs.valid.hoist.dev", &PostParams::default(), &stricter)
        .await
        .expect("CRD updated");

    pkgs.patch(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .expect("an unchanged name that is now too long is ratcheted");
    pkgs.patch_status(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Pending"}})),
    )
    .await
    .expect("a status write checks the whole object, ratcheted the same way");
    let s = refused(
        pkgs.patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"name": "another"}})),
        )
        .await,
    );
    assert_eq!(
        causes(&s),
        ["spec.name: Too long: may not be more than 5 bytes"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_of_a_bad_custom_object_prints_the_api_server_s_error() {
    let kubectl_present = std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok();
    assert!(
        kubectl_present,
        "kubectl is not installed: apt-get install -y kubernetes-client (cargo xtask test does this)"
    );
    let (c, client) = start().await;
    install(&client).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, c.kubeconfig()).expect("kubeconfig written");
    let manifest = dir.path().join("bad.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: valid.hoist.dev/v1\nkind: Pkg\nmetadata:\n  name: bad\n  namespace: default\nspec:\n  name: Bad_Name\n  version: \"1.2.3\"\n  kind: z\n",
    )
    .expect("manifest written");
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["apply", "-f"])
        .arg(&manifest)
        .output()
        .await
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    // kubectl lists the causes under the kind and name from `details`, one a line.
    assert!(
        text.contains(&format!(
            "The Pkg \"bad\" is invalid: \n* {BAD_KIND}\n* {BAD_NAME}\n"
        )),
        "{text}"
    );
    assert!(c.objects("valid.hoist.dev", "pkgs").is_empty());
}
