//! The review APIs: `TokenReview`, `SelfSubjectReview` (authentication.k8s.io/v1),
//! `SubjectAccessReview`, `LocalSubjectAccessReview`, `SelfSubjectAccessReview`,
//! `SelfSubjectRulesReview` (authorization.k8s.io/v1). Each is a `create` that stores
//! nothing and answers the object with its `status` filled in (`kubectl auth can-i`,
//! `kubectl auth can-i --list`, `kubectl auth whoami`, webhook token and authorization
//! checks through kube-rs or client-go).
//!
//! Mirrors kube-apiserver's `pkg/registry/authentication/{tokenreview,selfsubjectreview}`,
//! `pkg/registry/authorization/{subjectaccessreview,localsubjectaccessreview,
//! selfsubjectaccessreview,selfsubjectrulesreview}`, `pkg/registry/authorization/util`,
//! the checks of `pkg/apis/authorization/validation` and what the generic create
//! handler does before them (decoding, the namespace of the object against the URL's).
//!
//! # Guarantees
//! - The body is decoded as the API server decodes it into the typed object: a field of
//!   the wrong JSON type is a 400 in its words (`SubjectAccessReview in version "v1"
//!   cannot be handled as a SubjectAccessReview: json: cannot unmarshal number into Go
//!   struct field SubjectAccessReviewSpec.spec.user of type string`); unknown fields
//!   and nulls are dropped, as typed decoding drops them; nothing here panics on input.
//! - The answer is the API server's: the decoded object re-encoded (`omitempty` fields
//!   that are empty left out) with `metadata.creationTimestamp: null` and `status`
//!   filled in; `SelfSubjectRulesReview` answers a new object (`spec: {}`) and
//!   `SelfSubjectReview` one whose `creationTimestamp` is now, as upstream.
//! - Access reviews decide exactly as a request would be decided: `system:masters` is
//!   allowed with no reason, anyone else by the RBAC snapshot of [`Gate::authorizer`],
//!   with its reason (`RBAC: allowed by ...`, or the roles a binding names that do not
//!   exist). RBAC never denies, so `denied` is never set.
//! - `SelfSubjectRulesReview` lists what RBAC grants in `spec.namespace` (cluster-wide
//!   bindings first), each rule split into its resource and non-resource halves as the
//!   RBAC rule resolver splits them; missing roles are its `evaluationError`. The
//!   superuser authorizer resolves no rules upstream, so `system:masters` sees what
//!   RBAC grants it (on a cluster with the bootstrap policy, `cluster-admin`'s `*`).
//! - Validation refusals are the API server's 422 text, with its empty kind
//!   (`.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one
//!   of user or group must be specified`); a LocalSubjectAccessReview whose
//!   `spec.resourceAttributes.namespace` is not the URL's is such a 422
//!   (`... must match metadata.namespace`), and one whose `metadata.namespace` is not
//!   the URL's a 400, as upstream.
//!
//! # Caveats
//! - `metadata.managedFields` are left out of the answers: the API server records the
//!   client's field manager (its user agent) there, which this module is not given.
//! - Unknown fields are dropped silently: the `Warning` headers of `fieldValidation=Warn`
//!   are not sent and `fieldValidation=Strict` is not honoured.
//! - `fieldSelector` and `labelSelector` of `resourceAttributes` are checked for the
//!   `rawSelector`/`requirements` exclusivity only; their requirements are not
//!   validated nor parsed (RBAC ignores selectors, so decisions are unaffected, but a
//!   selector that does not parse is not reported in `evaluationError`).
//! - Decode errors follow sorted key order where Go follows the document's; with more
//!   than one bad field the one reported may differ. Bad values shown with Go's `%#v`
//!   (`metadata` that is not empty) are rendered for the usual fields only.
//! - A body of another kind is refused with the API server's wording for an unknown
//!   kind, even when the kind exists elsewhere (upstream then fails to convert it).
//! - Protobuf bodies (what kubectl's typed clients send) reach [`handle`] as JSON only
//!   when [`crate::protobuf`] hands review kinds to [`from_protobuf`]; until it does,
//!   they are its 415.

use super::gate::{Gate, service_account};
use super::rbac::{Attributes, Decision, PolicyRule, UserInfo, go_quote};
use crate::error::ApiError;
use crate::store::Store;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const AUTHENTICATION: &str = "authentication.k8s.io";
const AUTHORIZATION: &str = "authorization.k8s.io";

/// A review kind as discovery lists it.
#[derive(Debug, Clone, Copy)]
pub struct ReviewType {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
}

impl ReviewType {
    const fn new(group: &'static str, plural: &'static str, kind: &'static str) -> Self {
        Self {
            group,
            version: "v1",
            plural,
            kind,
            namespaced: false,
        }
    }

    /// `group/version`, as `apiVersion` names it.
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// The singular name discovery lists (the kind in lower case).
    pub fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }
}

/// The review kinds served, by group and then plural (discovery's order).
pub const SERVED: &[ReviewType] = &[
    ReviewType::new(AUTHENTICATION, "selfsubjectreviews", "SelfSubjectReview"),
    ReviewType::new(AUTHENTICATION, "tokenreviews", "TokenReview"),
    ReviewType {
        namespaced: true,
        ..ReviewType::new(
            AUTHORIZATION,
            "localsubjectaccessreviews",
            "LocalSubjectAccessReview",
        )
    },
    ReviewType::new(
        AUTHORIZATION,
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
    ),
    ReviewType::new(
        AUTHORIZATION,
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
    ),
    ReviewType::new(AUTHORIZATION, "subjectaccessreviews", "SubjectAccessReview"),
];

/// The review kind at `group/version/plural`, if it is one.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ReviewType> {
    SERVED
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Answers a review `requester` created (`namespace` is the URL's, empty when none).
///
/// The caller has authorized `create` on the review's resource and checked that the
/// URL's scope is the kind's; `Err` is the API server's refusal of the body.
pub fn handle(
    gate: &Gate,
    store: &Store,
    requester: &UserInfo,
    review: &ReviewType,
    namespace: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let mut obj = decode(review, body)?;
    // The generic create handler's `EnsureObjectNamespaceMatchesRequestNamespace`.
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        let given = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !namespace.is_empty() && !given.is_empty() && given != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if namespace.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace".into(), json!(namespace));
        }
    }
    match review.kind {
        "TokenReview" => token_review(gate, store, obj),
        "SelfSubjectReview" => Ok(self_subject_review(review, requester)),
        "SelfSubjectRulesReview" => rules_review(gate, store, review, requester, &obj),
        _ => access_review(gate, store, review, requester, obj),
    }
}

// ---------------------------------------------------------------------------------------
// authentication.k8s.io

/// `tokenreview/storage.go`: the token goes through the request authenticator.
fn token_review(gate: &Gate, store: &Store, mut obj: Value) -> Result<Value, ApiError> {
    let token = obj
        .pointer("/spec/token")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if token.is_empty() {
        return Err(ApiError::bad_request(
            "token is required for TokenReview in authentication",
        ));
    }
    let audiences = strings(obj.pointer("/spec/audiences"));
    let lookup = |ns: &str, name: &str| service_account(store, ns, name);
    let status = gate.authenticator().review(&token, &audiences, &lookup);
    obj["status"] = serde_json::to_value(&status)
        .map_err(|e| ApiError::new(500, "InternalError", format!("encoding the status: {e}")))?;
    Ok(obj)
}

/// `selfsubjectreview/rest.go`: a new object naming the requester.
fn self_subject_review(review: &ReviewType, requester: &UserInfo) -> Value {
    json!({
        "kind": review.kind,
        "apiVersion": review.api_version(),
        "metadata": {"creationTimestamp": crate::meta::now()},
        "status": {"userInfo": user_info(requester)},
    })
}

/// `authentication/v1.UserInfo`, every field `omitempty`.
fn user_info(user: &UserInfo) -> Value {
    let mut out = Map::new();
    if !user.name.is_empty() {
        out.insert("username".into(), json!(user.name));
    }
    if !user.uid.is_empty() {
        out.insert("uid".into(), json!(user.uid));
    }
    if !user.groups.is_empty() {
        out.insert("groups".into(), json!(user.groups));
    }
    if !user.extra.is_empty() {
        out.insert("extra".into(), json!(user.extra));
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------
// authorization.k8s.io

/// SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectAccessReview: validation
/// (`ValidateSubjectAccessReview` and friends), then the authorizer's decision.
fn access_review(
    gate: &Gate,
    store: &Store,
    review: &ReviewType,
    requester: &UserInfo,
    mut obj: Value,
) -> Result<Value, ApiError> {
    let own = review.kind == "SelfSubjectAccessReview";
    let local = review.kind == "LocalSubjectAccessReview";
    let spec = obj.get("spec").cloned().unwrap_or_else(|| json!({}));
    let resource = spec.get("resourceAttributes");
    let non_resource = spec.get("nonResourceAttributes");
    let mut errors = Vec::new();
    let union = "exactly one of nonResourceAttributes or resourceAttributes must be specified";
    match (resource, non_resource) {
        (Some(_), Some(n)) => errors.push(format!(
            "spec: Invalid value: {}: {union}",
            go_non_resource_attributes(n)
        )),
        (None, None) => errors.push(format!("spec: Invalid value: null: {union}")),
        _ => {}
    }
    let user = str_of(&spec, "user");
    if !own && user.is_empty() && strings(spec.get("groups")).is_empty() {
        errors.push(format!(
            "spec.user: Invalid value: {}: at least one of user or group must be specified",
            go_quote(user)
        ));
    }
    if let Some(ra) = resource {
        for selector in ["fieldSelector", "labelSelector"] {
            if let Some(s) = ra.get(selector) {
                selector_errors(selector, s, &mut errors);
            }
        }
    }
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let meta_namespace = str_of(&meta, "namespace").to_string();
    let mut rest = meta.as_object().cloned().unwrap_or_default();
    rest.remove("managedFields");
    if local {
        rest.remove("namespace");
    }
    if !is_empty_meta(&rest) {
        let what = if local {
            "must be empty except for namespace"
        } else {
            "must be empty"
        };
        errors.push(format!(
            "metadata: Invalid value: {}: {what}",
            go_object_meta(&meta)
        ));
    }
    if local {
        if let Some(ra) = resource {
            let ns = str_of(ra, "namespace");
            if ns != meta_namespace {
                errors.push(format!(
                    "spec.resourceAttributes.namespace: Invalid value: {}: must match metadata.namespace",
                    go_quote(ns)
                ));
            }
        }
        if let Some(n) = non_resource {
            errors.push(format!(
                "spec.nonResourceAttributes: Invalid value: {}: disallowed on this kind of request",
                go_non_resource_attributes(n)
            ));
        }
    }
    if !errors.is_empty() {
        return Err(invalid(review, &errors));
    }

    let subject = if own {
        requester.clone()
    } else {
        UserInfo {
            name: user.to_string(),
            uid: str_of(&spec, "uid").to_string(),
            groups: strings(spec.get("groups")),
            extra: extra(spec.get("extra")),
        }
    };
    let attrs = match resource {
        Some(ra) => {
            let s = |k: &str| str_of(ra, k);
            Attributes::resource(&subject, s("verb"), s("group"), s("resource"))
                .in_namespace(s("namespace"))
                .named(s("name"))
                .subresource(s("subresource"))
        }
        None => {
            let nra = non_resource.cloned().unwrap_or_else(|| json!({}));
            Attributes::non_resource(&subject, str_of(&nra, "verb"), str_of(&nra, "path"))
        }
    };
    let decision = gate.authorizer(store).authorize(&attrs);
    let mut status = Map::new();
    status.insert("allowed".into(), json!(decision.is_allowed()));
    let reason = match &decision {
        Decision::Allow(r) | Decision::NoOpinion(r) => r,
    };
    if !reason.is_empty() {
        status.insert("reason".into(), json!(reason));
    }
    obj["status"] = Value::Object(status);
    Ok(obj)
}

/// `validateFieldSelectorAttributes` / `validateLabelSelectorAttributes`: one of
/// `rawSelector` and `requirements`, not both.
fn selector_errors(selector: &str, s: &Value, errors: &mut Vec<String>) {
    let path = format!("spec.resourceAttributes.{selector}");
    let raw = str_of(s, "rawSelector");
    let requirements = s
        .get("requirements")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    if !raw.is_empty() && requirements {
        errors.push(format!(
            "{path}.rawSelector: Invalid value: {}: may not specified at the same time as requirements",
            go_quote(raw)
        ));
    }
    if raw.is_empty() && !requirements {
        errors.push(format!(
            "{path}.requirements: Required value: when {path} is specified, requirements or rawSelector is required"
        ));
    }
}

/// `selfsubjectrulesreview/rest.go`: the rules RBAC resolves for the requester.
fn rules_review(
    gate: &Gate,
    store: &Store,
    review: &ReviewType,
    requester: &UserInfo,
    obj: &Value,
) -> Result<Value, ApiError> {
    let namespace = obj
        .pointer("/spec/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if namespace.is_empty() {
        return Err(ApiError::bad_request("no namespace on request"));
    }
    let (rules, errors) = gate
        .authorizer(store)
        .rules_for_with_errors(requester, namespace);
    let resource_rules: Vec<Value> = rules
        .iter()
        .filter(|r| !r.resources.is_empty())
        .map(resource_rule)
        .collect();
    let non_resource_rules: Vec<Value> = rules
        .iter()
        .filter(|r| !r.non_resource_urls.is_empty())
        .map(|r| {
            json!({
                "verbs": r.verbs,
                "nonResourceURLs": r.non_resource_urls,
            })
        })
        .collect();
    // RBAC's `RulesFor` reports resolution errors but never marks its answer incomplete.
    let mut status = json!({
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": false,
    });
    if !errors.is_empty() {
        status["evaluationError"] = json!(aggregate(&errors));
    }
    Ok(json!({
        "kind": review.kind,
        "apiVersion": review.api_version(),
        "metadata": {"creationTimestamp": null},
        "spec": {},
        "status": status,
    }))
}

/// `authorization/v1.ResourceRule`: `verbs` always, the rest `omitempty`.
fn resource_rule(rule: &PolicyRule) -> Value {
    let mut out = Map::new();
    out.insert("verbs".into(), json!(rule.verbs));
    for (key, list) in [
        ("apiGroups", &rule.api_groups),
        ("resources", &rule.resources),
        ("resourceNames", &rule.resource_names),
    ] {
        if !list.is_empty() {
            out.insert(key.into(), json!(list));
        }
    }
    Value::Object(out)
}

/// `utilerrors.NewAggregate(errs).Error()`: one error as is, several deduplicated in
/// brackets.
fn aggregate(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.as_slice() {
        [one] => one.to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// `apierrors.NewInvalid(authorizationapi.Kind(obj.Kind), "", errs)`: the kind of the
/// internal object the handler validates is empty, so the message starts with the group.
fn invalid(review: &ReviewType, errors: &[String]) -> ApiError {
    ApiError::new(
        422,
        "Invalid",
        format!(".{} \"\" is invalid: {}", review.group, aggregate(errors)),
    )
}

// ---------------------------------------------------------------------------------------
// Protobuf bodies: what client-go's typed clients (kubectl auth can-i, kubectl auth
// whoami) send.

/// The JSON a review kind's protobuf message stands for (`raw`: the `runtime.Unknown`'s
/// bytes), for [`crate::protobuf::decode`] to hand on; `None` when `kind` in
/// `api_version` is not a review kind.
///
/// Guarantees: every field of the messages is placed (the destructuring makes a field
/// `k8s-pb` adds a compile error here) but `status`, which the review overwrites, and
/// `metadata.managedFields`, which the API server replaces; the zero time Go encodes as
/// an empty `Time` message is `null`, as in JSON. Bytes that are not the message are a
/// 400.
pub fn from_protobuf(api_version: &str, kind: &str, raw: &[u8]) -> Option<Result<Value, ApiError>> {
    let review = SERVED
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)?;
    Some(protobuf_to_json(review, raw))
}

fn protobuf_to_json(review: &ReviewType, raw: &[u8]) -> Result<Value, ApiError> {
    use k8s_pb::api::authentication::v1 as authn;
    use k8s_pb::api::authorization::v1 as authz;
    use prost::Message;
    fn parse<M: Message + Default>(kind: &str, raw: &[u8]) -> Result<M, ApiError> {
        M::decode(raw)
            .map_err(|e| ApiError::bad_request(format!("the protobuf {kind} is invalid: {e}")))
    }
    let kind = review.kind;
    let object = |metadata: &Option<pb::ObjectMeta>, spec: Option<Value>| {
        let mut out = Map::new();
        out.insert(
            "metadata".into(),
            metadata.as_ref().map_or_else(|| json!({}), pb::object_meta),
        );
        if let Some(spec) = spec {
            out.insert("spec".into(), spec);
        }
        Value::Object(out)
    };
    Ok(match review.kind {
        "TokenReview" => {
            let authn::TokenReview {
                metadata,
                spec,
                status: _,
            } = parse(kind, raw)?;
            let spec = spec.map(|s| {
                let authn::TokenReviewSpec { token, audiences } = s;
                json!({"token": token, "audiences": audiences})
            });
            object(&metadata, spec)
        }
        "SelfSubjectReview" => {
            let authn::SelfSubjectReview {
                metadata,
                status: _,
            } = parse(kind, raw)?;
            object(&metadata, None)
        }
        "SelfSubjectAccessReview" => {
            let authz::SelfSubjectAccessReview {
                metadata,
                spec,
                status: _,
            } = parse(kind, raw)?;
            let spec = spec.map(|s| {
                    let authz::SelfSubjectAccessReviewSpec {
                        resource_attributes,
                        non_resource_attributes,
                    } = s;
                    json!({
                        "resourceAttributes": resource_attributes.as_ref().map(pb::resource_attributes),
                        "nonResourceAttributes": non_resource_attributes.as_ref().map(pb::non_resource_attributes),
                    })
                });
            object(&metadata, spec)
        }
        "SelfSubjectRulesReview" => {
            let authz::SelfSubjectRulesReview {
                metadata,
                spec,
                status: _,
            } = parse(kind, raw)?;
            let spec = spec.map(|s| {
                let authz::SelfSubjectRulesReviewSpec { namespace } = s;
                json!({"namespace": namespace})
            });
            object(&metadata, spec)
        }
        "LocalSubjectAccessReview" => {
            let authz::LocalSubjectAccessReview {
                metadata,
                spec,
                status: _,
            } = parse(kind, raw)?;
            object(&metadata, spec.as_ref().map(pb::subject_access_review_spec))
        }
        _ => {
            let authz::SubjectAccessReview {
                metadata,
                spec,
                status: _,
            } = parse(kind, raw)?;
            object(&metadata, spec.as_ref().map(pb::subject_access_review_spec))
        }
    })
}

/// The messages the review kinds share, as JSON.
mod pb {
    use k8s_pb::api::authorization::v1 as authz;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    pub use meta::ObjectMeta;
    use serde_json::{Value, json};

    pub fn object_meta(m: &ObjectMeta) -> Value {
        let ObjectMeta {
            name,
            generate_name,
            namespace,
            self_link,
            uid,
            resource_version,
            generation,
            creation_timestamp,
            deletion_timestamp,
            deletion_grace_period_seconds,
            labels,
            annotations,
            owner_references,
            finalizers,
            managed_fields: _,
        } = m;
        let owners: Vec<Value> = owner_references
            .iter()
            .map(|o| {
                let meta::OwnerReference {
                    api_version,
                    kind,
                    name,
                    uid,
                    controller,
                    block_owner_deletion,
                } = o;
                json!({"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
                    "controller": controller, "blockOwnerDeletion": block_owner_deletion})
            })
            .collect();
        json!({
            "name": name, "generateName": generate_name, "namespace": namespace,
            "selfLink": self_link, "uid": uid, "resourceVersion": resource_version,
            "generation": generation,
            "creationTimestamp": creation_timestamp.as_ref().and_then(time),
            "deletionTimestamp": deletion_timestamp.as_ref().and_then(time),
            "deletionGracePeriodSeconds": deletion_grace_period_seconds,
            "labels": labels, "annotations": annotations, "ownerReferences": owners,
            "finalizers": finalizers,
        })
    }

    /// `metav1.Time`: Go marshals the zero time as an empty message.
    fn time(t: &meta::Time) -> Option<Value> {
        let meta::Time { seconds, nanos: _ } = t;
        let at = chrono::DateTime::from_timestamp((*seconds)?, 0)?;
        Some(json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
    }

    pub fn subject_access_review_spec(s: &authz::SubjectAccessReviewSpec) -> Value {
        let authz::SubjectAccessReviewSpec {
            resource_attributes,
            non_resource_attributes,
            user,
            groups,
            extra,
            uid,
        } = s;
        let extra: serde_json::Map<String, Value> = extra
            .iter()
            .map(|(k, v)| {
                let authz::ExtraValue { items } = v;
                (k.clone(), json!(items))
            })
            .collect();
        json!({
            "resourceAttributes": resource_attributes.as_ref().map(self::resource_attributes),
            "nonResourceAttributes": non_resource_attributes.as_ref().map(self::non_resource_attributes),
            "user": user, "groups": groups, "extra": extra, "uid": uid,
        })
    }

    pub fn resource_attributes(r: &authz::ResourceAttributes) -> Value {
        let authz::ResourceAttributes {
            namespace,
            verb,
            group,
            version,
            resource,
            subresource,
            name,
            field_selector,
            label_selector,
        } = r;
        let field_selector = field_selector.as_ref().map(|f| {
            let authz::FieldSelectorAttributes {
                raw_selector,
                requirements,
            } = f;
            let requirements: Vec<Value> = requirements
                .iter()
                .map(|r| {
                    let meta::FieldSelectorRequirement {
                        key,
                        operator,
                        values,
                    } = r;
                    json!({"key": key, "operator": operator, "values": values})
                })
                .collect();
            json!({"rawSelector": raw_selector, "requirements": requirements})
        });
        let label_selector = label_selector.as_ref().map(|l| {
            let authz::LabelSelectorAttributes {
                raw_selector,
                requirements,
            } = l;
            let requirements: Vec<Value> = requirements
                .iter()
                .map(|r| {
                    let meta::LabelSelectorRequirement {
                        key,
                        operator,
                        values,
                    } = r;
                    json!({"key": key, "operator": operator, "values": values})
                })
                .collect();
            json!({"rawSelector": raw_selector, "requirements": requirements})
        });
        json!({
            "namespace": namespace, "verb": verb, "group": group, "version": version,
            "resource": resource, "subresource": subresource, "name": name,
            "fieldSelector": field_selector, "labelSelector": label_selector,
        })
    }

    pub fn non_resource_attributes(n: &authz::NonResourceAttributes) -> Value {
        let authz::NonResourceAttributes { path, verb } = n;
        json!({"path": path, "verb": verb})
    }
}

// ---------------------------------------------------------------------------------------
// Reading the decoded object.

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn extra(v: Option<&Value>) -> BTreeMap<String, Vec<String>> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, vs)| (k.clone(), strings(Some(vs))))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether decoded metadata is `metav1.ObjectMeta{}` (`creationTimestamp: null` is the
/// zero time; empty maps and lists equal nil ones under semantic equality).
///
/// Decoding has already dropped empty `omitempty` fields, so what is left is either
/// null or set.
fn is_empty_meta(meta: &Map<String, Value>) -> bool {
    meta.values().all(Value::is_null)
}

/// Go's `%#v` of a `v1.NonResourceAttributes`.
fn go_non_resource_attributes(v: &Value) -> String {
    format!(
        "v1.NonResourceAttributes{{Path:{}, Verb:{}}}",
        go_quote(str_of(v, "path")),
        go_quote(str_of(v, "verb"))
    )
}

/// Go's `%#v` of a `v1.ObjectMeta` (owner references and pointers approximated: Go
/// prints their addresses).
fn go_object_meta(meta: &Value) -> String {
    let s = |k: &str| go_quote(str_of(meta, k));
    let time = |k: &str| match meta.get(k).and_then(Value::as_str) {
        Some(t) => go_time(t),
        None if k == "creationTimestamp" => {
            "time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)".to_string()
        }
        None => "<nil>".to_string(),
    };
    let map = |k: &str| match meta.get(k).and_then(Value::as_object) {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v.as_str().unwrap_or(""))))
                .collect();
            format!("map[string]string{{{}}}", items.join(", "))
        }
    };
    let finalizers = match meta.get("finalizers").and_then(Value::as_array) {
        None => "[]string(nil)".to_string(),
        Some(a) => {
            let items: Vec<String> = a
                .iter()
                .map(|v| go_quote(v.as_str().unwrap_or("")))
                .collect();
            format!("[]string{{{}}}", items.join(", "))
        }
    };
    let owners = match meta.get("ownerReferences").and_then(Value::as_array) {
        None => "[]v1.OwnerReference(nil)".to_string(),
        Some(a) => {
            let items: Vec<String> = a
                .iter()
                .map(|o| {
                    format!(
                        "v1.OwnerReference{{APIVersion:{}, Kind:{}, Name:{}, UID:{}, Controller:(*bool)(nil), BlockOwnerDeletion:(*bool)(nil)}}",
                        go_quote(str_of(o, "apiVersion")),
                        go_quote(str_of(o, "kind")),
                        go_quote(str_of(o, "name")),
                        go_quote(str_of(o, "uid"))
                    )
                })
                .collect();
            format!("[]v1.OwnerReference{{{}}}", items.join(", "))
        }
    };
    let grace = if meta.get("deletionGracePeriodSeconds").is_some() {
        "(*int64)(0xc000000000)"
    } else {
        "(*int64)(nil)"
    };
    format!(
        "v1.ObjectMeta{{Name:{}, GenerateName:{}, Namespace:{}, SelfLink:{}, UID:{}, ResourceVersion:{}, Generation:{}, CreationTimestamp:{}, DeletionTimestamp:{}, DeletionGracePeriodSeconds:{grace}, Labels:{}, Annotations:{}, OwnerReferences:{owners}, Finalizers:{finalizers}, ManagedFields:[]v1.ManagedFieldsEntry(nil)}}",
        s("name"),
        s("generateName"),
        s("namespace"),
        s("selfLink"),
        s("uid"),
        s("resourceVersion"),
        meta.get("generation").and_then(Value::as_i64).unwrap_or(0),
        time("creationTimestamp"),
        time("deletionTimestamp"),
        map("labels"),
        map("annotations"),
    )
}

/// Go's `%#v` of a `time.Time` parsed from RFC 3339 (in UTC).
fn go_time(t: &str) -> String {
    use chrono::{Datelike, Timelike};
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => {
            let d = d.with_timezone(&chrono::Utc);
            let month = MONTHS
                .get(d.month0() as usize)
                .copied()
                .unwrap_or("January");
            format!(
                "time.Date({}, time.{month}, {}, {}, {}, {}, {}, time.UTC)",
                d.year(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.nanosecond()
            )
        }
        Err(_) => "time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)".to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Decoding: what `json.Unmarshal` into the typed object accepts, and how it re-encodes.

/// A Go field type, as far as decoding cares.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
    Int,
    /// `[]string`
    Strings,
    /// `map[string]string`
    StrMap,
    /// `map[string]v1.ExtraValue`
    Extra,
    /// `metav1.Time` (its own `UnmarshalJSON`: a string or null)
    Time,
    /// A struct held by value: always encoded.
    Struct(&'static Def),
    /// A pointer to a struct: absent when null.
    Ptr(&'static Def),
    /// A slice of structs.
    List(&'static Def),
    /// A slice checked only for being one (its Go type name).
    AnyList(&'static str),
}

impl Ty {
    fn go(&self) -> String {
        match self {
            Ty::Str => "string".into(),
            Ty::Bool => "bool".into(),
            Ty::Int => "int64".into(),
            Ty::Strings => "[]string".into(),
            Ty::StrMap => "map[string]string".into(),
            Ty::Extra => "map[string]v1.ExtraValue".into(),
            Ty::Time => "v1.Time".into(),
            Ty::Struct(d) | Ty::Ptr(d) => format!("v1.{}", d.go),
            Ty::List(d) => format!("[]v1.{}", d.go),
            Ty::AnyList(t) => (*t).into(),
        }
    }
}

/// A struct field: its JSON name, type, and whether it is `omitempty`.
struct F(&'static str, Ty, bool);

/// A Go struct.
struct Def {
    go: &'static str,
    fields: &'static [F],
}

use Ty::*;

static OBJECT_META: Def = Def {
    go: "ObjectMeta",
    fields: &[
        F("name", Str, true),
        F("generateName", Str, true),
        F("namespace", Str, true),
        F("selfLink", Str, true),
        F("uid", Str, true),
        F("resourceVersion", Str, true),
        F("generation", Int, true),
        F("creationTimestamp", Time, false),
        F("deletionTimestamp", Time, true),
        F("deletionGracePeriodSeconds", Int, true),
        F("labels", StrMap, true),
        F("annotations", StrMap, true),
        F("ownerReferences", AnyList("[]v1.OwnerReference"), true),
        F("finalizers", Strings, true),
        F("managedFields", AnyList("[]v1.ManagedFieldsEntry"), true),
    ],
};

static FIELD_SELECTOR_REQUIREMENT: Def = Def {
    go: "FieldSelectorRequirement",
    fields: &[
        F("key", Str, false),
        F("operator", Str, false),
        F("values", Strings, true),
    ],
};

static FIELD_SELECTOR: Def = Def {
    go: "FieldSelectorAttributes",
    fields: &[
        F("rawSelector", Str, true),
        F("requirements", List(&FIELD_SELECTOR_REQUIREMENT), true),
    ],
};

static LABEL_SELECTOR_REQUIREMENT: Def = Def {
    go: "LabelSelectorRequirement",
    fields: &[
        F("key", Str, false),
        F("operator", Str, false),
        F("values", Strings, true),
    ],
};

static LABEL_SELECTOR: Def = Def {
    go: "LabelSelectorAttributes",
    fields: &[
        F("rawSelector", Str, true),
        F("requirements", List(&LABEL_SELECTOR_REQUIREMENT), true),
    ],
};

static RESOURCE_ATTRIBUTES: Def = Def {
    go: "ResourceAttributes",
    fields: &[
        F("namespace", Str, true),
        F("verb", Str, true),
        F("group", Str, true),
        F("version", Str, true),
        F("resource", Str, true),
        F("subresource", Str, true),
        F("name", Str, true),
        F("fieldSelector", Ptr(&FIELD_SELECTOR), true),
        F("labelSelector", Ptr(&LABEL_SELECTOR), true),
    ],
};

static NON_RESOURCE_ATTRIBUTES: Def = Def {
    go: "NonResourceAttributes",
    fields: &[F("path", Str, true), F("verb", Str, true)],
};

static SUBJECT_ACCESS_REVIEW_SPEC: Def = Def {
    go: "SubjectAccessReviewSpec",
    fields: &[
        F("resourceAttributes", Ptr(&RESOURCE_ATTRIBUTES), true),
        F("nonResourceAttributes", Ptr(&NON_RESOURCE_ATTRIBUTES), true),
        F("user", Str, true),
        F("groups", Strings, true),
        F("extra", Extra, true),
        F("uid", Str, true),
    ],
};

static SELF_SUBJECT_ACCESS_REVIEW_SPEC: Def = Def {
    go: "SelfSubjectAccessReviewSpec",
    fields: &[
        F("resourceAttributes", Ptr(&RESOURCE_ATTRIBUTES), true),
        F("nonResourceAttributes", Ptr(&NON_RESOURCE_ATTRIBUTES), true),
    ],
};

static SUBJECT_ACCESS_REVIEW_STATUS: Def = Def {
    go: "SubjectAccessReviewStatus",
    fields: &[
        F("allowed", Bool, false),
        F("denied", Bool, true),
        F("reason", Str, true),
        F("evaluationError", Str, true),
    ],
};

static SELF_SUBJECT_RULES_REVIEW_SPEC: Def = Def {
    go: "SelfSubjectRulesReviewSpec",
    fields: &[F("namespace", Str, true)],
};

static SUBJECT_RULES_REVIEW_STATUS: Def = Def {
    go: "SubjectRulesReviewStatus",
    fields: &[
        F("resourceRules", AnyList("[]v1.ResourceRule"), false),
        F("nonResourceRules", AnyList("[]v1.NonResourceRule"), false),
        F("incomplete", Bool, false),
        F("evaluationError", Str, true),
    ],
};

static TOKEN_REVIEW_SPEC: Def = Def {
    go: "TokenReviewSpec",
    fields: &[F("token", Str, true), F("audiences", Strings, true)],
};

static USER_INFO: Def = Def {
    go: "UserInfo",
    fields: &[
        F("username", Str, true),
        F("uid", Str, true),
        F("groups", Strings, true),
        F("extra", Extra, true),
    ],
};

static TOKEN_REVIEW_STATUS: Def = Def {
    go: "TokenReviewStatus",
    fields: &[
        F("authenticated", Bool, true),
        F("user", Struct(&USER_INFO), true),
        F("audiences", Strings, true),
        F("error", Str, true),
    ],
};

static SELF_SUBJECT_REVIEW_STATUS: Def = Def {
    go: "SelfSubjectReviewStatus",
    fields: &[F("userInfo", Struct(&USER_INFO), true)],
};

/// The spec and status types of a review kind (`None`: the kind has no spec).
fn parts(kind: &str) -> (Option<&'static Def>, &'static Def) {
    match kind {
        "TokenReview" => (Some(&TOKEN_REVIEW_SPEC), &TOKEN_REVIEW_STATUS),
        "SelfSubjectReview" => (None, &SELF_SUBJECT_REVIEW_STATUS),
        "SelfSubjectAccessReview" => (
            Some(&SELF_SUBJECT_ACCESS_REVIEW_SPEC),
            &SUBJECT_ACCESS_REVIEW_STATUS,
        ),
        "SelfSubjectRulesReview" => (
            Some(&SELF_SUBJECT_RULES_REVIEW_SPEC),
            &SUBJECT_RULES_REVIEW_STATUS,
        ),
        _ => (
            Some(&SUBJECT_ACCESS_REVIEW_SPEC),
            &SUBJECT_ACCESS_REVIEW_STATUS,
        ),
    }
}

/// The body decoded as the review kind, re-encoded: `apiVersion` and `kind` the
/// endpoint's, `metadata` and `spec` with unknown fields, nulls and empty `omitempty`
/// fields left out, `status` dropped (the caller writes its own).
fn decode(review: &ReviewType, body: &Value) -> Result<Value, ApiError> {
    let version = review.api_version();
    // The serializer's `Interpret`: apiVersion and kind, read first.
    let mut type_meta = [review.kind.to_string(), version.clone()];
    for (slot, key) in type_meta.iter_mut().zip(["kind", "apiVersion"]) {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => *slot = s.clone(),
            Some(other) => {
                let text = serde_json::to_string(body).unwrap_or_default();
                let summary = match text.char_indices().nth(30) {
                    Some((i, _)) => format!("{} ...", &text[..i]),
                    None => text,
                };
                return Err(ApiError::bad_request(format!(
                    "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go struct field .{key} of type string ({summary})",
                    review.kind,
                    json_kind(other)
                )));
            }
        }
    }
    let [kind, api_version] = type_meta;
    let data_version = api_version
        .rsplit_once('/')
        .map_or(api_version.as_str(), |(_, v)| v)
        .to_string();
    let cannot = |why: String| {
        ApiError::bad_request(format!(
            "{kind} in version {} cannot be handled as a {}: {why}",
            go_quote(&data_version),
            review.kind
        ))
    };
    if kind != review.kind {
        return Err(cannot(format!(
            "no kind {} is registered for version {} in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
            go_quote(&kind),
            go_quote(&api_version)
        )));
    }
    let (spec_def, status_def) = parts(review.kind);
    let top = Ctx {
        strukt: review.kind,
        path: String::new(),
    };
    let meta = decode_field(&F("metadata", Struct(&OBJECT_META), true), body, &top)
        .map_err(cannot)?
        .unwrap_or_else(|| json!({"creationTimestamp": null}));
    let spec = match spec_def {
        Some(def) => decode_field(&F("spec", Struct(def), false), body, &top).map_err(cannot)?,
        None => None,
    };
    decode_field(&F("status", Struct(status_def), true), body, &top).map_err(cannot)?;
    if api_version != version {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({version})"
        )));
    }
    let mut out = json!({"kind": review.kind, "apiVersion": version, "metadata": meta});
    if let Some(spec) = spec {
        out["spec"] = spec;
    }
    Ok(out)
}

/// Where decoding is: the innermost Go struct and the JSON path from the root, as
/// `encoding/json` names them in its errors.
struct Ctx {
    strukt: &'static str,
    path: String,
}

/// `json.UnmarshalTypeError`'s kind of value.
fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

/// Field `f` of the JSON object `parent`: `Ok(None)` when it is encoded as absent.
fn decode_field(f: &F, parent: &Value, ctx: &Ctx) -> Result<Option<Value>, String> {
    let F(name, ty, omitempty) = f;
    let here = Ctx {
        strukt: ctx.strukt,
        path: if ctx.path.is_empty() {
            (*name).to_string()
        } else {
            format!("{}.{name}", ctx.path)
        },
    };
    let v = parent.get(*name).unwrap_or(&Value::Null);
    let decoded = decode_value(*ty, v, &here)?;
    Ok(match decoded {
        Some(d) if *omitempty && is_empty_value(*ty, &d) => None,
        Some(d) => Some(d),
        None if *omitempty => None,
        // A non-omitempty field at its zero value.
        None => Some(match ty {
            Str => json!(""),
            Bool => json!(false),
            Int => json!(0),
            Struct(def) => decode_struct(def, &json!({}), &here)?,
            _ => Value::Null,
        }),
    })
}

/// What `omitempty` leaves out (structs are never left out).
fn is_empty_value(ty: Ty, v: &Value) -> bool {
    match ty {
        Struct(_) | Ptr(_) => false,
        _ => match v {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_i64() == Some(0),
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
        },
    }
}

/// A value of type `ty`; `Ok(None)` for null (the zero value).
fn decode_value(ty: Ty, v: &Value, ctx: &Ctx) -> Result<Option<Value>, String> {
    if v.is_null() {
        return Ok(None);
    }
    let mismatch = |what: &Value, go: String| {
        format!(
            "json: cannot unmarshal {} into Go struct field {}.{} of type {go}",
            json_kind(what),
            ctx.strukt,
            ctx.path
        )
    };
    let out = match ty {
        Str => match v {
            Value::String(_) => v.clone(),
            _ => return Err(mismatch(v, ty.go())),
        },
        Bool => match v {
            Value::Bool(_) => v.clone(),
            _ => return Err(mismatch(v, ty.go())),
        },
        Int => match v {
            Value::Number(n) if n.as_i64().is_some() => v.clone(),
            Value::Number(n) => {
                return Err(format!(
                    "json: cannot unmarshal number {n} into Go struct field {}.{} of type int64",
                    ctx.strukt, ctx.path
                ));
            }
            _ => return Err(mismatch(v, ty.go())),
        },
        Time => match v {
            Value::String(_) => v.clone(),
            // `Time.UnmarshalJSON` unmarshals into a string itself: no field context.
            _ => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type string",
                    json_kind(v)
                ));
            }
        },
        Strings => match v {
            Value::Array(items) => {
                for item in items {
                    if !(item.is_string() || item.is_null()) {
                        return Err(mismatch(item, "string".into()));
                    }
                }
                Value::Array(
                    items
                        .iter()
                        .map(|i| if i.is_null() { json!("") } else { i.clone() })
                        .collect(),
                )
            }
            _ => return Err(mismatch(v, ty.go())),
        },
        StrMap => match v {
            Value::Object(m) => {
                for item in m.values() {
                    if !(item.is_string() || item.is_null()) {
                        return Err(mismatch(item, "string".into()));
                    }
                }
                Value::Object(
                    m.iter()
                        .map(|(k, i)| (k.clone(), if i.is_null() { json!("") } else { i.clone() }))
                        .collect(),
                )
            }
            _ => return Err(mismatch(v, ty.go())),
        },
        Extra => match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, item) in m {
                    let decoded = match item {
                        Value::Null => Value::Null,
                        Value::Array(_) => decode_value(Strings, item, ctx)?.unwrap_or(Value::Null),
                        _ => return Err(mismatch(item, "v1.ExtraValue".into())),
                    };
                    out.insert(k.clone(), decoded);
                }
                Value::Object(out)
            }
            _ => return Err(mismatch(v, ty.go())),
        },
        Struct(def) | Ptr(def) => match v {
            Value::Object(_) => decode_struct(def, v, ctx)?,
            _ => return Err(mismatch(v, ty.go())),
        },
        List(def) => match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(match item {
                        Value::Null => decode_struct(def, &json!({}), ctx)?,
                        Value::Object(_) => decode_struct(def, item, ctx)?,
                        _ => return Err(mismatch(item, format!("v1.{}", def.go))),
                    });
                }
                Value::Array(out)
            }
            _ => return Err(mismatch(v, ty.go())),
        },
        AnyList(_) => match v {
            Value::Array(_) => v.clone(),
            _ => return Err(mismatch(v, ty.go())),
        },
    };
    Ok(Some(out))
}

/// A JSON object decoded into `def`: its known fields, each decoded (Go matches field
/// names case-sensitively in the API server's decoder).
fn decode_struct(def: &Def, v: &Value, ctx: &Ctx) -> Result<Value, String> {
    let inner = Ctx {
        strukt: def.go,
        path: ctx.path.clone(),
    };
    let mut out = Map::new();
    for f in def.fields {
        if let Some(d) = decode_field(f, v, &inner)? {
            out.insert(f.0.to_string(), d);
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sar() -> &'static ReviewType {
        find(AUTHORIZATION, "v1", "subjectaccessreviews").expect("served")
    }

    #[test]
    fn every_served_kind_is_found_and_only_local_reviews_are_namespaced() {
        for r in SERVED {
            assert!(find(r.group, r.version, r.plural).is_some());
            assert_eq!(r.namespaced, r.kind == "LocalSubjectAccessReview");
        }
        assert!(find(AUTHORIZATION, "v1beta1", "subjectaccessreviews").is_none());
    }

    #[test]
    fn wrong_types_are_refused_in_the_api_servers_words() {
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": 5, "resourceAttributes": {"verb": "get"}}});
        let e = decode(sar(), &body).expect_err("refused");
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "SubjectAccessReview in version \"v1\" cannot be handled as a SubjectAccessReview: json: cannot unmarshal number into Go struct field SubjectAccessReviewSpec.spec.user of type string"
        );
        let e = decode(sar(), &json!({"spec": {"resourceAttributes": "x"}})).expect_err("x");
        assert!(
            e.message.ends_with("json: cannot unmarshal string into Go struct field SubjectAccessReviewSpec.spec.resourceAttributes of type v1.ResourceAttributes"),
            "{}",
            e.message
        );
        let e = decode(sar(), &json!({"spec": {"groups": ["a", 1]}})).expect_err("x");
        assert!(
            e.message
                .ends_with("Go struct field SubjectAccessReviewSpec.spec.groups of type string"),
            "{}",
            e.message
        );
        let e = decode(sar(), &json!({"spec": "x"})).expect_err("x");
        assert!(
            e.message.ends_with("json: cannot unmarshal string into Go struct field SubjectAccessReview.spec of type v1.SubjectAccessReviewSpec"),
            "{}",
            e.message
        );
    }

    #[test]
    fn decoding_drops_unknown_fields_nulls_and_empty_omitempty_fields() {
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "metadata": {"creationTimestamp": null, "managedFields": null},
            "spec": {"user": "bob", "groups": [], "uid": null, "bogus": 1,
                     "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": ""}},
            "status": {"allowed": false}});
        let out = decode(sar(), &body).expect("decoded");
        assert_eq!(
            out,
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "metadata": {"creationTimestamp": null},
                "spec": {"user": "bob", "resourceAttributes": {"verb": "get", "resource": "pods"}}})
        );
    }

    #[test]
    fn another_kind_or_version_is_refused() {
        let e = decode(sar(), &json!({"kind": "Pod", "apiVersion": "v1"})).expect_err("kind");
        assert_eq!(e.code, 400);
        assert!(
            e.message
                .starts_with("Pod in version \"v1\" cannot be handled as a SubjectAccessReview"),
            "{}",
            e.message
        );
        let e = decode(
            sar(),
            &json!({"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1beta1"}),
        )
        .expect_err("version");
        assert_eq!(
            e.message,
            "the API version in the data (authorization.k8s.io/v1beta1) does not match the expected API version (authorization.k8s.io/v1)"
        );
        let e = decode(sar(), &json!({"kind": 3})).expect_err("type meta");
        assert!(
            e.message.contains("couldn't get version/kind"),
            "{}",
            e.message
        );
    }

    #[test]
    fn protobuf_bodies_decode_to_what_json_would_carry() {
        use k8s_pb::api::authorization::v1 as authz;
        use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
        use prost::Message;
        // What kubectl auth can-i sends: the zero creation time as an empty message.
        let sent = authz::SelfSubjectAccessReview {
            metadata: Some(meta::ObjectMeta {
                creation_timestamp: Some(meta::Time::default()),
                ..Default::default()
            }),
            spec: Some(authz::SelfSubjectAccessReviewSpec {
                resource_attributes: Some(authz::ResourceAttributes {
                    namespace: Some("team-a".into()),
                    verb: Some("create".into()),
                    resource: Some("configmaps".into()),
                    ..Default::default()
                }),
                non_resource_attributes: None,
            }),
            status: Some(authz::SubjectAccessReviewStatus {
                allowed: Some(false),
                ..Default::default()
            }),
        };
        let review = find(AUTHORIZATION, "v1", "selfsubjectaccessreviews").expect("served");
        let json = from_protobuf(
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            &sent.encode_to_vec(),
        )
        .expect("a review kind")
        .expect("decoded");
        assert_eq!(
            decode(review, &json).expect("well-formed"),
            json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": null},
                "spec": {"resourceAttributes": {"namespace": "team-a", "verb": "create", "resource": "configmaps"}}})
        );
        assert!(from_protobuf("v1", "ConfigMap", &[]).is_none());
        let e = from_protobuf(
            "authorization.k8s.io/v1",
            "SubjectAccessReview",
            &[0xff, 0xff],
        )
        .expect("a review kind")
        .expect_err("not a message");
        assert_eq!(e.code, 400);
    }

    #[test]
    fn go_renderings_of_bad_values() {
        assert_eq!(
            go_non_resource_attributes(&json!({"path": "/healthz", "verb": "get"})),
            "v1.NonResourceAttributes{Path:\"/healthz\", Verb:\"get\"}"
        );
        assert_eq!(
            go_object_meta(&json!({"name": "x", "creationTimestamp": null, "labels": {"a": "b"}})),
            "v1.ObjectMeta{Name:\"x\", GenerateName:\"\", Namespace:\"\", SelfLink:\"\", UID:\"\", ResourceVersion:\"\", Generation:0, CreationTimestamp:time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC), DeletionTimestamp:<nil>, DeletionGracePeriodSeconds:(*int64)(nil), Labels:map[string]string{\"a\":\"b\"}, Annotations:map[string]string(nil), OwnerReferences:[]v1.OwnerReference(nil), Finalizers:[]string(nil), ManagedFields:[]v1.ManagedFieldsEntry(nil)}"
        );
        assert_eq!(
            go_time("2024-05-01T10:20:30Z"),
            "time.Date(2024, time.May, 1, 10, 20, 30, 0, time.UTC)"
        );
        assert_eq!(aggregate(&["a".into(), "b".into(), "a".into()]), "[a, b]");
        assert_eq!(aggregate(&["a".into()]), "a");
    }
}
