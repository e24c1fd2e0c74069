//! kube-apiserver's RBAC authorizer, as a pure function of a snapshot of RBAC objects.
//!
//! Mirrors `k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac` (`RuleAllows`), the rule
//! helpers of `pkg/apis/rbac/v1` (`VerbMatches`, `APIGroupMatches`, `ResourceMatches`,
//! `ResourceNameMatches`, `NonResourceURLMatches`), the rule resolver and escalation check
//! of `pkg/registry/rbac/validation` (`VisitRulesFor`, `appliesTo`, `ConfirmNoEscalation`,
//! `Covers`, `CompactRules`), the policy-based storages of `pkg/registry/rbac/*/policybased`
//! (`escalate` and `bind` verbs, `EscalationAllowed`), the ClusterRole aggregation
//! controller, and the 403 text of `apiserver/pkg/endpoints/handlers/responsewriters`.
//!
//! Guarantees:
//! - a request is allowed iff the user is in `system:masters` or some rule reachable from a
//!   binding that applies to the user allows it: ClusterRoleBindings everywhere,
//!   RoleBindings (to a Role of their namespace or to a ClusterRole) in their namespace
//!   only; RBAC never denies, it has no opinion ([`Decision::NoOpinion`]);
//! - rules match as the API server matches them: `*` for verbs, groups, resources and
//!   non-resource URLs, `*/sub` for a subresource of every resource, a trailing `*` on a
//!   non-resource URL as a prefix; `resourceNames` restrict only requests that carry a
//!   name (so `list` with names does not grant an unnamed list and `create` cannot be
//!   restricted by name); `pods/*` is *not* a wildcard, as on a real cluster;
//! - a ClusterRole with an `aggregationRule` has the union of the rules of the other
//!   ClusterRoles its selectors pick, transitively, in name order without duplicates
//!   (what the aggregation controller writes into it), instead of its own rules;
//! - messages (`forbidden_message`, escalation refusals, resolution errors in reasons)
//!   are the API server's byte for byte, with Go's `%q` quoting.
//!
//! Caveats:
//! - ServiceAccount usernames are compared as whole strings (`system:serviceaccount:NS:NAME`);
//!   nothing here checks that the account exists;
//! - a malformed stored object is skipped (listed by [`Authorizer::skipped`]) rather
//!   than refused: the store does not validate RBAC objects the way the API server does;
//! - a ClusterRole whose aggregation selector is invalid keeps its stored rules, as the
//!   controller leaves it untouched;
//! - decisions are not cached; a snapshot is meant to be rebuilt when an RBAC object changes.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};

/// The API group of Roles, ClusterRoles and their bindings (defined with the
/// resource types, which the store reads too).
pub use crate::resources::RBAC_GROUP;

/// The group whose members may do anything, bypassing RBAC (`user.SystemPrivilegedGroup`).
pub const SYSTEM_MASTERS: &str = "system:masters";
/// The prefix of ServiceAccount usernames.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Null and absent both mean "empty", as in Go.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// One rule of a Role or ClusterRole (`rbac/v1.PolicyRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default, deserialize_with = "nullable")]
    pub verbs: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub api_groups: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resource_names: Vec<String>,
    #[serde(
        default,
        rename = "nonResourceURLs",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl PolicyRule {
    /// A rule over resources: `verbs` on `resources` of `groups`.
    pub fn resource(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Self {
        Self {
            verbs: strings(verbs),
            api_groups: strings(groups),
            resources: strings(resources),
            ..Self::default()
        }
    }

    /// The same rule restricted to `names`.
    pub fn named(mut self, names: &[&str]) -> Self {
        self.resource_names = strings(names);
        self
    }

    /// A rule over non-resource URLs.
    pub fn urls(verbs: &[&str], urls: &[&str]) -> Self {
        Self {
            verbs: strings(verbs),
            non_resource_urls: strings(urls),
            ..Self::default()
        }
    }

    /// `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`: how the API
    /// server names a rule in escalation refusals (`rbacv1helpers.CompactString`).
    pub fn compact_string(&self) -> String {
        let mut parts = Vec::new();
        for (label, list) in [
            ("APIGroups", &self.api_groups),
            ("Resources", &self.resources),
            ("NonResourceURLs", &self.non_resource_urls),
            ("ResourceNames", &self.resource_names),
            ("Verbs", &self.verbs),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label}:{}", go_quote_list(list)));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }

    /// The rule as `rbac/v1` JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// One `matchExpressions` term of a label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSelectorRequirement {
    #[serde(default)]
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[serde(default)]
    pub operator: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
}

/// A `metav1.LabelSelector`, as ClusterRole aggregation uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, deserialize_with = "nullable")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl LabelSelector {
    /// Whether `labels` satisfy every requirement (the empty selector matches all).
    /// `Err` for a requirement the API server would not turn into a selector: an unknown
    /// operator, `In`/`NotIn` without values, `Exists`/`DoesNotExist` with values.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> Result<bool, String> {
        for r in &self.match_expressions {
            match r.operator.as_str() {
                "In" | "NotIn" if r.values.is_empty() => {
                    return Err(format!(
                        "{}: for 'in', 'notin' operators, values set can't be empty",
                        r.key
                    ));
                }
                "Exists" | "DoesNotExist" if !r.values.is_empty() => {
                    return Err(format!(
                        "{}: values set must be empty for exists and does not exist",
                        r.key
                    ));
                }
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                other => {
                    return Err(format!(
                        "{}: {other:?} is not a valid label selector operator",
                        r.key
                    ));
                }
            }
        }
        let labels_ok = self
            .match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        let exprs_ok = self.match_expressions.iter().all(|r| {
            let value = labels.get(&r.key);
            match r.operator.as_str() {
                "In" => value.is_some_and(|v| r.values.contains(v)),
                "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
                "Exists" => value.is_some(),
                _ => value.is_none(),
            }
        });
        Ok(labels_ok && exprs_ok)
    }
}

/// `aggregationRule` of a ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationRule {
    #[serde(default, deserialize_with = "nullable")]
    pub cluster_role_selectors: Vec<LabelSelector>,
}

/// A subject of a binding: `User`, `Group` or `ServiceAccount`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    #[serde(default)]
    pub name: String,
    /// For ServiceAccounts; in a RoleBinding it defaults to the binding's namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl Subject {
    pub fn user(name: &str) -> Self {
        Self {
            kind: "User".into(),
            api_group: RBAC_GROUP.into(),
            name: name.into(),
            namespace: String::new(),
        }
    }

    pub fn group(name: &str) -> Self {
        Self {
            kind: "Group".into(),
            ..Self::user(name)
        }
    }

    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            kind: "ServiceAccount".into(),
            api_group: String::new(),
            name: name.into(),
            namespace: namespace.into(),
        }
    }

    /// Whether this subject names `user`; `binding_namespace` is empty for a
    /// ClusterRoleBinding (`appliesToUser`).
    pub fn applies_to(&self, user: &UserInfo, binding_namespace: &str) -> bool {
        match self.kind.as_str() {
            "User" => user.name == self.name,
            "Group" => user.groups.contains(&self.name),
            "ServiceAccount" => {
                let ns = if self.namespace.is_empty() {
                    binding_namespace
                } else {
                    &self.namespace
                };
                if ns.is_empty() {
                    return false;
                }
                service_account_matches(ns, &self.name, &user.name)
            }
            _ => false,
        }
    }

    /// `ServiceAccount "name/ns"` or `User "name"`, as in "allowed by" reasons.
    fn describe(&self, binding_namespace: &str) -> String {
        match self.kind.as_str() {
            "ServiceAccount" => {
                let ns = if self.namespace.is_empty() {
                    binding_namespace
                } else {
                    &self.namespace
                };
                format!("{} {}", self.kind, go_quote(&format!("{}/{ns}", self.name)))
            }
            _ => format!("{} {}", self.kind, go_quote(&self.name)),
        }
    }
}

/// `system:serviceaccount:NS:NAME == username`, without allocating.
fn service_account_matches(namespace: &str, name: &str, username: &str) -> bool {
    username
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(name)
}

/// The role a binding grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(default)]
    pub api_group: String,
    /// `Role` or `ClusterRole`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

impl RoleRef {
    pub fn cluster_role(name: &str) -> Self {
        Self {
            api_group: RBAC_GROUP.into(),
            kind: "ClusterRole".into(),
            name: name.into(),
        }
    }

    pub fn role(name: &str) -> Self {
        Self {
            kind: "Role".into(),
            ..Self::cluster_role(name)
        }
    }
}

/// A namespaced Role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Role {
    pub namespace: String,
    pub name: String,
    pub rules: Vec<PolicyRule>,
}

/// A ClusterRole; `rules` are the stored ones (aggregation happens in the snapshot).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterRole {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<PolicyRule>,
    pub aggregation_rule: Option<AggregationRule>,
}

impl ClusterRole {
    /// Whether it has an aggregation rule with at least one selector (`hasAggregationRule`).
    pub fn aggregates(&self) -> bool {
        self.aggregation_rule
            .as_ref()
            .is_some_and(|a| !a.cluster_role_selectors.is_empty())
    }
}

/// A RoleBinding (`namespace` set) or a ClusterRoleBinding (`namespace` empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    pub namespace: String,
    pub name: String,
    pub subjects: Vec<Subject>,
    pub role_ref: RoleRef,
}

/// Why a stored RBAC object could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RbacError {
    #[error("{kind} {name:?}: {reason}")]
    Malformed {
        kind: String,
        name: String,
        reason: String,
    },
    #[error("ClusterRole {name:?}: aggregationRule: {reason}")]
    BadSelector { name: String, reason: String },
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleObject {
    #[serde(default)]
    metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    rules: Vec<PolicyRule>,
    #[serde(default)]
    aggregation_rule: Option<AggregationRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindingObject {
    #[serde(default)]
    metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    subjects: Vec<Subject>,
    #[serde(default)]
    role_ref: RoleRef,
}

fn kind_of(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or_default()
}

fn name_of(obj: &Value) -> String {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn malformed(kind: &str, obj: &Value, e: impl fmt::Display) -> RbacError {
    RbacError::Malformed {
        kind: kind.into(),
        name: name_of(obj),
        reason: e.to_string(),
    }
}

impl Role {
    /// A stored `Role` object.
    pub fn from_json(obj: &Value) -> Result<Self, RbacError> {
        let o = RoleObject::deserialize(obj).map_err(|e| malformed("Role", obj, e))?;
        Ok(Self {
            namespace: o.metadata.namespace,
            name: o.metadata.name,
            rules: o.rules,
        })
    }
}

impl ClusterRole {
    /// A stored `ClusterRole` object.
    pub fn from_json(obj: &Value) -> Result<Self, RbacError> {
        let o = RoleObject::deserialize(obj).map_err(|e| malformed("ClusterRole", obj, e))?;
        Ok(Self {
            name: o.metadata.name,
            labels: o.metadata.labels,
            rules: o.rules,
            aggregation_rule: o.aggregation_rule,
        })
    }
}

impl Binding {
    /// A stored `RoleBinding` or `ClusterRoleBinding` object (a ClusterRoleBinding's
    /// namespace is ignored).
    pub fn from_json(obj: &Value) -> Result<Self, RbacError> {
        let kind = kind_of(obj);
        let o = BindingObject::deserialize(obj).map_err(|e| malformed(kind, obj, e))?;
        Ok(Self {
            namespace: if kind == "ClusterRoleBinding" {
                String::new()
            } else {
                o.metadata.namespace
            },
            name: o.metadata.name,
            subjects: o.subjects,
            role_ref: o.role_ref,
        })
    }
}

/// Who is asking (`user.Info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    pub fn new(name: &str, groups: &[&str]) -> Self {
        Self {
            name: name.into(),
            groups: strings(groups),
            ..Self::default()
        }
    }

    /// A ServiceAccount as the API server authenticates it: `system:serviceaccount:NS:NAME`
    /// in `system:serviceaccounts`, `system:serviceaccounts:NS` and `system:authenticated`.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self::new(
            &format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"),
            &[
                "system:serviceaccounts",
                &format!("system:serviceaccounts:{namespace}"),
                "system:authenticated",
            ],
        )
    }

    /// Whether the user is in `system:masters`.
    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == SYSTEM_MASTERS)
    }
}

/// What a request asks to do (`authorizer.Attributes`); empty strings are "none".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub user: UserInfo,
    pub verb: String,
    pub namespace: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// The URL path of a non-resource request.
    pub path: String,
    pub resource_request: bool,
}

impl Attributes {
    /// `verb` on `resource` of `api_group`, cluster-wide until [`Attributes::in_namespace`].
    pub fn resource(user: &UserInfo, verb: &str, api_group: &str, resource: &str) -> Self {
        Self {
            user: user.clone(),
            verb: verb.into(),
            api_group: api_group.into(),
            resource: resource.into(),
            resource_request: true,
            ..Self::default()
        }
    }

    /// `verb` on a non-resource URL such as `/metrics`.
    pub fn non_resource(user: &UserInfo, verb: &str, path: &str) -> Self {
        Self {
            user: user.clone(),
            verb: verb.into(),
            path: path.into(),
            ..Self::default()
        }
    }

    pub fn in_namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace.into();
        self
    }

    pub fn named(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    pub fn subresource(mut self, subresource: &str) -> Self {
        self.subresource = subresource.into();
        self
    }
}

/// An authorizer's answer. The API server refuses what no authorizer allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; the reason names the binding (`RBAC: allowed by ...`), empty for
    /// `system:masters`.
    Allow(String),
    /// RBAC does not deny, it has no opinion. The reason is empty unless a binding named
    /// a missing role (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`); the
    /// API server appends it to the 403 message.
    NoOpinion(String),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    pub fn reason(&self) -> &str {
        match self {
            Self::Allow(r) | Self::NoOpinion(r) => r,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rule matching (`pkg/apis/rbac/v1/evaluation_helpers.go`)
// ---------------------------------------------------------------------------------------

pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

/// `combined` is `resource` or `resource/subresource`. A rule resource matches when it is
/// `*`, equal to `combined`, or `*/subresource`.
pub fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        r == "*"
            || r == combined
            || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

/// No names: every name (and no name). Names: only a request naming one of them.
pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name)
}

/// `*`, the exact path, or a prefix ending in `*`.
pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        u == "*" || u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
    })
}

/// Whether `rule` allows the request (`RuleAllows`).
pub fn rule_allows(attrs: &Attributes, rule: &PolicyRule) -> bool {
    if !verb_matches(rule, &attrs.verb) {
        return false;
    }
    if !attrs.resource_request {
        return non_resource_url_matches(rule, &attrs.path);
    }
    let combined;
    let resource = if attrs.subresource.is_empty() {
        attrs.resource.as_str()
    } else {
        combined = format!("{}/{}", attrs.resource, attrs.subresource);
        combined.as_str()
    };
    api_group_matches(rule, &attrs.api_group)
        && resource_matches(rule, resource, &attrs.subresource)
        && resource_name_matches(rule, &attrs.name)
}

// ---------------------------------------------------------------------------------------
// Aggregation (the clusterroleaggregation controller)
// ---------------------------------------------------------------------------------------

/// The rules each ClusterRole has once the aggregation controller has settled: an
/// aggregating role gets the union of the rules of the other roles its selectors pick
/// (by name, without duplicates, selectors in order), recomputed until nothing changes so
/// that `admin` picks up what `edit` aggregated. Errors name roles whose selectors are
/// invalid; those keep their stored rules.
pub fn aggregate_cluster_roles(
    roles: &[ClusterRole],
) -> (BTreeMap<String, Vec<PolicyRule>>, Vec<RbacError>) {
    let mut current: BTreeMap<String, Vec<PolicyRule>> = roles
        .iter()
        .map(|r| (r.name.clone(), r.rules.clone()))
        .collect();
    let labels: BTreeMap<&str, &BTreeMap<String, String>> =
        roles.iter().map(|r| (r.name.as_str(), &r.labels)).collect();
    let mut errors = Vec::new();
    let mut aggregating: Vec<(&str, &[LabelSelector])> = Vec::new();
    for role in roles.iter().filter(|r| r.aggregation_rule.is_some()) {
        let selectors = role
            .aggregation_rule
            .as_ref()
            .map(|a| a.cluster_role_selectors.as_slice())
            .unwrap_or_default();
        let invalid = selectors
            .iter()
            .find_map(|s| s.matches(&BTreeMap::new()).err());
        match invalid {
            Some(reason) => errors.push(RbacError::BadSelector {
                name: role.name.clone(),
                reason,
            }),
            None => aggregating.push((&role.name, selectors)),
        }
    }
    aggregating.sort_by_key(|(name, _)| *name);
    for _ in 0..=roles.len() {
        let mut changed = false;
        for (name, selectors) in &aggregating {
            let mut rules: Vec<PolicyRule> = Vec::new();
            for selector in *selectors {
                for (other, other_labels) in &labels {
                    if other == name || !selector.matches(other_labels).unwrap_or(false) {
                        continue;
                    }
                    for rule in current.get(*other).map(Vec::as_slice).unwrap_or_default() {
                        if !rules.contains(rule) {
                            rules.push(rule.clone());
                        }
                    }
                }
            }
            if current.get(*name) != Some(&rules) {
                current.insert(name.to_string(), rules);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    (current, errors)
}

// ---------------------------------------------------------------------------------------
// The authorizer
// ---------------------------------------------------------------------------------------

/// Where a rule came from, for "allowed by" reasons.
enum Source<'a> {
    ClusterBinding(&'a Binding, &'a Subject),
    Binding(&'a Binding, &'a Subject),
}

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClusterBinding(b, s) => write!(
                f,
                "ClusterRoleBinding {} of {} {} to {}",
                go_quote(&b.name),
                b.role_ref.kind,
                go_quote(&b.role_ref.name),
                s.describe("")
            ),
            Self::Binding(b, s) => write!(
                f,
                "RoleBinding {} of {} {} to {}",
                go_quote(&format!("{}/{}", b.name, b.namespace)),
                b.role_ref.kind,
                go_quote(&b.role_ref.name),
                s.describe(&b.namespace)
            ),
        }
    }
}

/// What a rule visitor sees.
enum Visit<'a> {
    Rule(Source<'a>, &'a PolicyRule),
    Error(String),
}

/// A snapshot of the RBAC objects of a cluster, answering authorization questions.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    /// namespace → name → rules.
    roles: HashMap<String, HashMap<String, Vec<PolicyRule>>>,
    /// name → rules, after aggregation.
    cluster_roles: HashMap<String, Vec<PolicyRule>>,
    /// namespace → bindings, by name.
    role_bindings: HashMap<String, Vec<Binding>>,
    /// by name.
    cluster_role_bindings: Vec<Binding>,
    skipped: Vec<RbacError>,
}

impl Authorizer {
    /// A snapshot of parsed objects. `bindings` holds RoleBindings (namespace set) and
    /// ClusterRoleBindings (namespace empty).
    pub fn new(roles: Vec<Role>, cluster_roles: Vec<ClusterRole>, bindings: Vec<Binding>) -> Self {
        let (aggregated, skipped) = aggregate_cluster_roles(&cluster_roles);
        let mut me = Self {
            cluster_roles: aggregated.into_iter().collect(),
            skipped,
            ..Self::default()
        };
        for r in roles {
            me.roles
                .entry(r.namespace)
                .or_default()
                .insert(r.name, r.rules);
        }
        for b in bindings {
            if b.namespace.is_empty() {
                me.cluster_role_bindings.push(b);
            } else {
                me.role_bindings
                    .entry(b.namespace.clone())
                    .or_default()
                    .push(b);
            }
        }
        me.cluster_role_bindings.sort_by(|a, b| a.name.cmp(&b.name));
        for list in me.role_bindings.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        me
    }

    /// A snapshot of stored objects: every `Role`, `ClusterRole`, `RoleBinding` and
    /// `ClusterRoleBinding` among `objects` (others are ignored; malformed ones skipped
    /// and listed by [`Authorizer::skipped`]).
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        let (mut roles, mut cluster_roles, mut bindings, mut skipped) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for obj in objects {
            let parsed = match kind_of(obj) {
                "Role" => Role::from_json(obj).map(|r| roles.push(r)),
                "ClusterRole" => ClusterRole::from_json(obj).map(|r| cluster_roles.push(r)),
                "RoleBinding" | "ClusterRoleBinding" => {
                    Binding::from_json(obj).map(|b| bindings.push(b))
                }
                _ => Ok(()),
            };
            if let Err(e) = parsed {
                skipped.push(e);
            }
        }
        let mut me = Self::new(roles, cluster_roles, bindings);
        skipped.append(&mut me.skipped);
        me.skipped = skipped;
        me
    }

    /// Objects left out of the snapshot, and aggregation rules not applied.
    pub fn skipped(&self) -> &[RbacError] {
        &self.skipped
    }

    /// A ClusterRole's effective rules (after aggregation).
    pub fn cluster_role_rules(&self, name: &str) -> Option<&[PolicyRule]> {
        self.cluster_roles.get(name).map(Vec::as_slice)
    }

    /// The rules a binding refers to (`GetRoleReferenceRules`); `Err` is the lister's
    /// not-found text, as it appears in RBAC reasons.
    fn role_ref_rules(&self, role_ref: &RoleRef, namespace: &str) -> Result<&[PolicyRule], String> {
        match role_ref.kind.as_str() {
            "Role" => self
                .roles
                .get(namespace)
                .and_then(|m| m.get(&role_ref.name))
                .map(Vec::as_slice)
                .ok_or_else(|| format!("role.{RBAC_GROUP} {} not found", go_quote(&role_ref.name))),
            "ClusterRole" => self.cluster_role_rules(&role_ref.name).ok_or_else(|| {
                format!(
                    "clusterrole.{RBAC_GROUP} {} not found",
                    go_quote(&role_ref.name)
                )
            }),
            other => Err(format!(
                "unsupported role reference kind: {}",
                go_quote(other)
            )),
        }
    }

    /// Calls `visit` with every rule that applies to `user` in `namespace` (cluster-wide
    /// ones first, then the namespace's), and every resolution error; stops when `visit`
    /// returns false (`VisitRulesFor`).
    fn visit_rules_for<'s>(
        &'s self,
        user: &UserInfo,
        namespace: &str,
        mut visit: impl FnMut(Visit<'s>) -> bool,
    ) {
        for b in &self.cluster_role_bindings {
            let Some(subject) = b.subjects.iter().find(|s| s.applies_to(user, "")) else {
                continue;
            };
            match self.role_ref_rules(&b.role_ref, "") {
                Err(e) => {
                    if !visit(Visit::Error(e)) {
                        return;
                    }
                }
                Ok(rules) => {
                    for rule in rules {
                        if !visit(Visit::Rule(Source::ClusterBinding(b, subject), rule)) {
                            return;
                        }
                    }
                }
            }
        }
        if namespace.is_empty() {
            return;
        }
        for b in self
            .role_bindings
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(subject) = b.subjects.iter().find(|s| s.applies_to(user, namespace)) else {
                continue;
            };
            match self.role_ref_rules(&b.role_ref, namespace) {
                Err(e) => {
                    if !visit(Visit::Error(e)) {
                        return;
                    }
                }
                Ok(rules) => {
                    for rule in rules {
                        if !visit(Visit::Rule(Source::Binding(b, subject), rule)) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// kube-apiserver's decision for a request: `system:masters` first (the privileged
    /// group authorizer), then RBAC.
    pub fn authorize(&self, attrs: &Attributes) -> Decision {
        if attrs.user.is_master() {
            return Decision::Allow(String::new());
        }
        self.authorize_rbac(attrs)
    }

    /// [`Authorizer::authorize`] for the request path, which needs no reason when it
    /// allows: the same decision, without formatting the allowing binding. `Err` is the
    /// reason of a refusal (empty unless a binding names a missing role).
    pub fn allows(&self, attrs: &Attributes) -> Result<(), String> {
        if attrs.user.is_master() {
            return Ok(());
        }
        let mut allowed = false;
        let mut errors = Vec::new();
        self.visit_rules_for(&attrs.user, &attrs.namespace, |v| match v {
            Visit::Rule(_, rule) if rule_allows(attrs, rule) => {
                allowed = true;
                false
            }
            Visit::Rule(..) => true,
            Visit::Error(e) => {
                errors.push(e);
                true
            }
        });
        match (allowed, errors.is_empty()) {
            (true, _) => Ok(()),
            (false, true) => Err(String::new()),
            (false, false) => Err(format!("RBAC: {}", aggregate_errors(&errors))),
        }
    }

    /// RBAC alone (`RBACAuthorizer.Authorize`), without the `system:masters` bypass.
    pub fn authorize_rbac(&self, attrs: &Attributes) -> Decision {
        let mut allowed = None;
        let mut errors = Vec::new();
        self.visit_rules_for(&attrs.user, &attrs.namespace, |v| match v {
            Visit::Rule(source, rule) if rule_allows(attrs, rule) => {
                allowed = Some(format!("RBAC: allowed by {source}"));
                false
            }
            Visit::Rule(..) => true,
            Visit::Error(e) => {
                errors.push(e);
                true
            }
        });
        match allowed {
            Some(reason) => Decision::Allow(reason),
            None if errors.is_empty() => Decision::NoOpinion(String::new()),
            None => Decision::NoOpinion(format!("RBAC: {}", aggregate_errors(&errors))),
        }
    }

    /// Every rule that applies to `user` in `namespace` (cluster-wide ones only when the
    /// namespace is empty): what a SelfSubjectRulesReview lists.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<PolicyRule> {
        self.rules_for_with_errors(user, namespace).0
    }

    /// [`Authorizer::rules_for`] with the resolution errors (missing roles), which a
    /// SelfSubjectRulesReview reports as `evaluationError` (RBAC never marks the rules
    /// `incomplete`: the API server leaves it false).
    pub fn rules_for_with_errors(
        &self,
        user: &UserInfo,
        namespace: &str,
    ) -> (Vec<PolicyRule>, Vec<String>) {
        let (mut rules, mut errors) = (Vec::new(), Vec::new());
        self.visit_rules_for(user, namespace, |v| {
            match v {
                Visit::Rule(_, rule) => rules.push(rule.clone()),
                Visit::Error(e) => errors.push(e),
            }
            true
        });
        (rules, errors)
    }

    /// `ConfirmNoEscalation`: `Err` (the API server's text) unless what `user` holds in
    /// `namespace` covers `rules`.
    pub fn confirm_no_escalation(
        &self,
        user: &UserInfo,
        namespace: &str,
        rules: &[PolicyRule],
    ) -> Result<(), String> {
        let (owner, errors) = self.rules_for_with_errors(user, namespace);
        let (ok, missing) = covers(&owner, rules);
        if ok {
            return Ok(());
        }
        let descriptions: BTreeSet<String> = compact_rules(&missing)
            .iter()
            .map(PolicyRule::compact_string)
            .collect();
        let mut msg = format!(
            "user {} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
            go_quote(&user.name),
            go_quote_list(&user.groups),
            descriptions.into_iter().collect::<Vec<_>>().join("\n")
        );
        if !errors.is_empty() {
            let _ = write!(msg, "; resolution errors: [{}]", errors.join(" "));
        }
        Err(msg)
    }

    /// Whether `user` may create (`old` is `None`) or update a Role, ClusterRole,
    /// RoleBinding or ClusterRoleBinding, as the API server's RBAC storages decide before
    /// anything is stored. Other resources are always `Ok`. Run it after the request itself
    /// was authorized (`create`/`update` on the resource).
    ///
    /// - `system:masters`: always;
    /// - an update that changes only ownerReferences, finalizers, selfLink or
    ///   managedFields: always;
    /// - Role/ClusterRole: the `escalate` verb on `roles`/`clusterroles` (named only on
    ///   update: a create has no name yet), or every rule covered by what the user holds
    ///   in the request's namespace; an aggregationRule (new or old) needs `*` on
    ///   everything;
    /// - RoleBinding/ClusterRoleBinding: the `bind` verb on the referenced role (by name,
    ///   in the binding's namespace; cluster-wide for a ClusterRoleBinding), or the
    ///   referenced role's rules covered by what the user holds there. A missing role is
    ///   a 404.
    pub fn authorize_write(
        &self,
        user: &UserInfo,
        write: &RbacWrite<'_>,
    ) -> Result<(), WriteRefusal> {
        let resource = write.resource;
        if !matches!(
            resource,
            "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings"
        ) || user.is_master()
        {
            return Ok(());
        }
        let name = name_of(write.object);
        let refuse = |message: String| WriteRefusal::Forbidden {
            resource: resource.to_string(),
            name: name.clone(),
            message,
        };
        let invalid = |e: RbacError| WriteRefusal::Invalid {
            resource: resource.to_string(),
            name: name.clone(),
            message: e.to_string(),
        };
        let namespace = if resource.starts_with("cluster") {
            ""
        } else {
            write.namespace
        };
        if write
            .old
            .is_some_and(|old| only_gc_fields_change(write.object, old))
        {
            return Ok(());
        }
        match resource {
            "roles" | "clusterroles" => {
                let escalate = Attributes {
                    verb: "escalate".into(),
                    namespace: namespace.into(),
                    api_group: RBAC_GROUP.into(),
                    resource: resource.into(),
                    name: if write.old.is_some() {
                        name.clone()
                    } else {
                        String::new()
                    },
                    resource_request: true,
                    user: user.clone(),
                    ..Attributes::default()
                };
                if self.authorize(&escalate).is_allowed() {
                    return Ok(());
                }
                let (rules, aggregates) = if resource == "roles" {
                    (Role::from_json(write.object).map_err(invalid)?.rules, false)
                } else {
                    let role = ClusterRole::from_json(write.object).map_err(invalid)?;
                    let old_aggregates = match write.old {
                        Some(old) => ClusterRole::from_json(old).is_ok_and(|o| o.aggregates()),
                        None => false,
                    };
                    let aggregates = role.aggregates() || old_aggregates;
                    (role.rules, aggregates)
                };
                self.confirm_no_escalation(user, namespace, &rules)
                    .map_err(&refuse)?;
                if aggregates {
                    let full = [
                        PolicyRule::resource(&["*"], &["*"], &["*"]),
                        PolicyRule::urls(&["*"], &["*"]),
                    ];
                    self.confirm_no_escalation(user, namespace, &full)
                        .map_err(|_| {
                            refuse(
                                "must have cluster-admin privileges to use the aggregationRule"
                                    .into(),
                            )
                        })?;
                }
                Ok(())
            }
            _ => {
                let binding = Binding::from_json(write.object).map_err(invalid)?;
                let role_ref = &binding.role_ref;
                let bind_resource = match role_ref.kind.as_str() {
                    "ClusterRole" => Some("clusterroles"),
                    "Role" => Some("roles"),
                    _ => None,
                };
                if let Some(bind_resource) = bind_resource {
                    let bind = Attributes {
                        verb: "bind".into(),
                        namespace: namespace.into(),
                        api_group: role_ref.api_group.clone(),
                        resource: bind_resource.into(),
                        name: role_ref.name.clone(),
                        resource_request: true,
                        user: user.clone(),
                        ..Attributes::default()
                    };
                    if self.authorize(&bind).is_allowed() {
                        return Ok(());
                    }
                }
                let rules = match (bind_resource, self.role_ref_rules(role_ref, namespace)) {
                    (_, Ok(rules)) => rules,
                    (Some(plural), Err(_)) => {
                        return Err(WriteRefusal::RoleNotFound {
                            resource: plural.into(),
                            name: role_ref.name.clone(),
                        });
                    }
                    (None, Err(e)) => {
                        return Err(WriteRefusal::Invalid {
                            resource: resource.into(),
                            name: name.clone(),
                            message: e,
                        });
                    }
                };
                self.confirm_no_escalation(user, namespace, rules)
                    .map_err(refuse)
            }
        }
    }
}

/// A write of an RBAC object, as [`Authorizer::authorize_write`] judges it.
#[derive(Debug, Clone, Copy)]
pub struct RbacWrite<'a> {
    /// The plural of the request: `roles`, `clusterroles`, `rolebindings`,
    /// `clusterrolebindings` (anything else is not judged).
    pub resource: &'a str,
    /// The request's namespace (ignored for cluster-scoped kinds).
    pub namespace: &'a str,
    /// The object to be stored, as the client sent it.
    pub object: &'a Value,
    /// The stored object for an update; `None` for a create.
    pub old: Option<&'a Value>,
}

/// Why an RBAC write was refused, with the API server's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteRefusal {
    /// 403: the write would grant what the writer does not hold.
    #[error("{}", forbidden_text(resource, name, message))]
    Forbidden {
        resource: String,
        name: String,
        message: String,
    },
    /// 404: a binding names a role that does not exist (`resource` is `roles` or
    /// `clusterroles`).
    #[error("{resource}.{RBAC_GROUP} {} not found", go_quote(name))]
    RoleNotFound { resource: String, name: String },
    /// 422: the object is not a well-formed RBAC object.
    #[error("{resource}.{RBAC_GROUP} {} is invalid: {message}", go_quote(name))]
    Invalid {
        resource: String,
        name: String,
        message: String,
    },
}

fn forbidden_text(resource: &str, name: &str, message: &str) -> String {
    if name.is_empty() {
        format!("{resource}.{RBAC_GROUP} is forbidden: {message}")
    } else {
        format!(
            "{resource}.{RBAC_GROUP} {} is forbidden: {message}",
            go_quote(name)
        )
    }
}

impl WriteRefusal {
    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            Self::Forbidden { .. } => 403,
            Self::RoleNotFound { .. } => 404,
            Self::Invalid { .. } => 422,
        }
    }

    /// `Status.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Forbidden { .. } => "Forbidden",
            Self::RoleNotFound { .. } => "NotFound",
            Self::Invalid { .. } => "Invalid",
        }
    }

    /// The `v1.Status` body the API server answers with.
    pub fn to_status(&self) -> Value {
        let (resource, name) = match self {
            Self::Forbidden { resource, name, .. }
            | Self::RoleNotFound { resource, name }
            | Self::Invalid { resource, name, .. } => (resource, name),
        };
        status(
            self.code(),
            self.reason(),
            &self.to_string(),
            RBAC_GROUP,
            resource,
            name,
        )
    }
}

/// Whether `new` differs from `old` only in the fields the garbage collector writes
/// (`IsOnlyMutatingGCFields`).
fn only_gc_fields_change(new: &Value, old: &Value) -> bool {
    let mut copied = new.clone();
    if let Some(meta) = copied.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["ownerReferences", "finalizers", "selfLink", "managedFields"] {
            match old.pointer(&format!("/metadata/{field}")) {
                Some(v) => {
                    meta.insert(field.to_string(), v.clone());
                }
                None => {
                    meta.remove(field);
                }
            }
        }
    }
    copied == *old
}

// ---------------------------------------------------------------------------------------
// Covering (`component-helpers/auth/rbac/validation/policy_comparator.go`)
// ---------------------------------------------------------------------------------------

/// Splits a rule into rules of one group, one resource, one verb and at most one name
/// (or one URL and one verb) (`BreakdownRule`).
pub fn breakdown_rule(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let base = PolicyRule {
                    api_groups: vec![group.clone()],
                    resources: vec![resource.clone()],
                    verbs: vec![verb.clone()],
                    ..PolicyRule::default()
                };
                if rule.resource_names.is_empty() {
                    out.push(base);
                } else {
                    for name in &rule.resource_names {
                        out.push(PolicyRule {
                            resource_names: vec![name.clone()],
                            ..base.clone()
                        });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: vec![url.clone()],
                verbs: vec![verb.clone()],
                ..PolicyRule::default()
            });
        }
    }
    out
}

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|i| has(set, i))
}

fn resource_covers_all(owner: &[String], requested: &[String]) -> bool {
    if has(owner, "*") || has_all(owner, requested) {
        return true;
    }
    requested.iter().all(|path| {
        has(owner, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

fn non_resource_urls_cover_all(owner: &[String], requested: &[String]) -> bool {
    requested.iter().all(|path| {
        owner
            .iter()
            .any(|o| o == path || (o.ends_with('*') && path.starts_with(o.trim_end_matches('*'))))
    })
}

/// Whether `owner` covers `sub` (a broken-down rule) (`ruleCovers`).
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, "*") || has_all(&owner.api_groups, &sub.api_groups);
    let resources = resource_covers_all(&owner.resources, &sub.resources);
    let urls = non_resource_urls_cover_all(&owner.non_resource_urls, &sub.non_resource_urls);
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs && groups && resources && names && urls
}

/// Whether `owner` rules allow everything `requested` rules allow, and the broken-down
/// requested rules they do not cover (`validation.Covers`). Note that a request for a
/// `*` is covered only by a `*`.
pub fn covers(owner: &[PolicyRule], requested: &[PolicyRule]) -> (bool, Vec<PolicyRule>) {
    let uncovered: Vec<PolicyRule> = requested
        .iter()
        .flat_map(breakdown_rule)
        .filter(|sub| !owner.iter().any(|o| rule_covers(o, sub)))
        .collect();
    (uncovered.is_empty(), uncovered)
}

/// Merges rules of one group, one resource and at most one name that differ only in verbs
/// (`CompactRules`), keeping the others as they are.
pub fn compact_rules(rules: &[PolicyRule]) -> Vec<PolicyRule> {
    /// Group, resource and name of a simple rule.
    type Key = (String, String, Option<String>);
    let mut simple: Vec<(Key, PolicyRule)> = Vec::new();
    let mut out = Vec::new();
    for rule in rules {
        let is_simple = rule.resource_names.len() <= 1
            && rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1;
        if !is_simple {
            out.push(rule.clone());
            continue;
        }
        let key = (
            rule.api_groups[0].clone(),
            rule.resources[0].clone(),
            rule.resource_names.first().cloned(),
        );
        match simple.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => existing.verbs.extend(rule.verbs.iter().cloned()),
            None => simple.push((key, rule.clone())),
        }
    }
    out.extend(simple.into_iter().map(|(_, r)| r));
    out
}

// ---------------------------------------------------------------------------------------
// 403 text (`responsewriters.forbiddenMessage`, `apierrors.NewForbidden`)
// ---------------------------------------------------------------------------------------

/// Go's `%q` of a string: double quotes, backslash escapes, printable Unicode kept.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = if (c as u32) < 0x10000 {
                    write!(out, "\\u{:04x}", c as u32)
                } else {
                    write!(out, "\\U{:08x}", c as u32)
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// `User "x" cannot get resource "pods" in API group "" in the namespace "ns"`: the part
/// of the 403 message that describes the request (`forbiddenMessage`).
pub fn forbidden_detail(attrs: &Attributes) -> String {
    let user = go_quote(&attrs.user.name);
    if !attrs.resource_request {
        return format!(
            "User {user} cannot {} path {}",
            attrs.verb,
            go_quote(&attrs.path)
        );
    }
    let resource = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {}", go_quote(&attrs.namespace))
    };
    format!(
        "User {user} cannot {} resource {} in API group {} {scope}",
        attrs.verb,
        go_quote(&resource),
        go_quote(&attrs.api_group)
    )
}

/// The `message` of the API server's 403 for a refused request, with no reason:
/// `configmaps is forbidden: User "..." cannot create resource "configmaps" in API group ""
/// in the namespace "team-b"`; `deployments.apps "web" is forbidden: ...` for a named
/// object; `forbidden: User "x" cannot get path "/metrics"` for a non-resource URL.
pub fn forbidden_message(attrs: &Attributes) -> String {
    forbidden_message_with_reason(attrs, "")
}

/// [`forbidden_message`] with the authorizer's reason appended (`...: RBAC: ...`), as
/// the API server writes it when the reason is not empty.
pub fn forbidden_message_with_reason(attrs: &Attributes, reason: &str) -> String {
    let mut detail = forbidden_detail(attrs);
    if !reason.is_empty() {
        detail = format!("{detail}: {reason}");
    }
    let (group, resource) = if attrs.resource_request {
        (attrs.api_group.as_str(), attrs.resource.as_str())
    } else {
        ("", "")
    };
    if group.is_empty() && resource.is_empty() {
        return format!("forbidden: {detail}");
    }
    let qualified = if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    };
    if attrs.name.is_empty() {
        format!("{qualified} is forbidden: {detail}")
    } else {
        format!(
            "{qualified} {} is forbidden: {detail}",
            go_quote(&attrs.name)
        )
    }
}

/// The `v1.Status` body of the API server's 403 for a refused request (`reason` from
/// [`Decision::reason`]).
pub fn forbidden_status(attrs: &Attributes, reason: &str) -> Value {
    let (group, resource) = if attrs.resource_request {
        (attrs.api_group.as_str(), attrs.resource.as_str())
    } else {
        ("", "")
    };
    status(
        403,
        "Forbidden",
        &forbidden_message_with_reason(attrs, reason),
        group,
        resource,
        &attrs.name,
    )
}

/// A failure `Status`; details keep only the non-empty fields, as Go's `omitempty` does.
fn status(code: u16, reason: &str, message: &str, group: &str, kind: &str, name: &str) -> Value {
    let mut details = serde_json::Map::new();
    for (k, v) in [("name", name), ("group", group), ("kind", kind)] {
        if !v.is_empty() {
            details.insert(k.into(), Value::String(v.into()));
        }
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    })
}

/// `utilerrors.NewAggregate(errs).Error()`: one error as is, several deduplicated in
/// brackets.
fn aggregate_errors(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    if seen.len() == 1 {
        seen[0].to_string()
    } else {
        format!("[{}]", seen.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn star_slash_subresource_matches_any_resource_but_resource_slash_star_does_not() {
        let any_status = PolicyRule::resource(&["get"], &["*"], &["*/status"]);
        assert!(resource_matches(&any_status, "packages/status", "status"));
        assert!(!resource_matches(&any_status, "packages", ""));
        assert!(!resource_matches(&any_status, "packages/scale", "scale"));
        let pods_star = PolicyRule::resource(&["get"], &[""], &["pods/*"]);
        assert!(!resource_matches(&pods_star, "pods/log", "log"));
    }

    #[test]
    fn non_resource_star_is_a_prefix_match() {
        let r = PolicyRule::urls(&["get"], &["/healthz/*", "/version"]);
        assert!(non_resource_url_matches(&r, "/healthz/etcd"));
        assert!(non_resource_url_matches(&r, "/healthz/"));
        assert!(!non_resource_url_matches(&r, "/healthz"));
        assert!(!non_resource_url_matches(&r, "/version/"));
    }

    #[test]
    fn service_account_usernames_match_exactly() {
        assert!(service_account_matches(
            "ns",
            "sa",
            "system:serviceaccount:ns:sa"
        ));
        assert!(!service_account_matches(
            "ns",
            "sa",
            "system:serviceaccount:ns:sa2"
        ));
        assert!(!service_account_matches(
            "n",
            "s:sa",
            "system:serviceaccount:ns:sa"
        ));
        assert!(!service_account_matches(
            "ns",
            "sa",
            "system:serviceaccounts:ns:sa"
        ));
    }

    #[test]
    fn label_selector_operators() {
        let sel = |op: &str, values: &[&str]| LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: op.into(),
                values: strings(values),
            }],
        };
        let web = labels(&[("tier", "web")]);
        let none = labels(&[]);
        assert_eq!(sel("In", &["web", "db"]).matches(&web), Ok(true));
        assert_eq!(sel("In", &["db"]).matches(&web), Ok(false));
        assert_eq!(sel("NotIn", &["db"]).matches(&none), Ok(true));
        assert_eq!(sel("NotIn", &["web"]).matches(&web), Ok(false));
        assert_eq!(sel("Exists", &[]).matches(&web), Ok(true));
        assert_eq!(sel("DoesNotExist", &[]).matches(&web), Ok(false));
        assert!(sel("In", &[]).matches(&web).is_err());
        assert!(sel("Exists", &["x"]).matches(&web).is_err());
        assert!(sel("Matches", &["x"]).matches(&web).is_err());
        assert_eq!(LabelSelector::default().matches(&none), Ok(true));
    }

    #[test]
    fn aggregation_is_transitive_and_a_bad_selector_keeps_stored_rules() {
        let sel = |k: &str| AggregationRule {
            cluster_role_selectors: vec![LabelSelector {
                match_labels: labels(&[(k, "true")]),
                match_expressions: vec![],
            }],
        };
        let leaf = ClusterRole {
            name: "leaf".into(),
            labels: labels(&[("to-mid", "true")]),
            rules: vec![PolicyRule::resource(&["get"], &[""], &["pods"])],
            aggregation_rule: None,
        };
        let mid = ClusterRole {
            name: "mid".into(),
            labels: labels(&[("to-top", "true")]),
            rules: vec![],
            aggregation_rule: Some(sel("to-mid")),
        };
        let top = ClusterRole {
            name: "a-top".into(),
            labels: BTreeMap::new(),
            rules: vec![PolicyRule::resource(&["*"], &["*"], &["*"])],
            aggregation_rule: Some(sel("to-top")),
        };
        let broken = ClusterRole {
            name: "broken".into(),
            labels: BTreeMap::new(),
            rules: vec![PolicyRule::resource(&["list"], &[""], &["nodes"])],
            aggregation_rule: Some(AggregationRule {
                cluster_role_selectors: vec![LabelSelector {
                    match_labels: BTreeMap::new(),
                    match_expressions: vec![LabelSelectorRequirement {
                        key: "x".into(),
                        operator: "In".into(),
                        values: vec![],
                    }],
                }],
            }),
        };
        let (rules, errors) = aggregate_cluster_roles(&[leaf, mid, top, broken.clone()]);
        let pods = vec![PolicyRule::resource(&["get"], &[""], &["pods"])];
        assert_eq!(
            rules.get("a-top"),
            Some(&pods),
            "own rules replaced, transitive"
        );
        assert_eq!(rules.get("mid"), Some(&pods));
        assert_eq!(rules.get("broken"), Some(&broken.rules));
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn covers_reports_broken_down_missing_rules_and_compacts_them() {
        let owner = vec![
            PolicyRule::resource(&["get", "list"], &[""], &["pods"]),
            PolicyRule::resource(&["get"], &["*"], &["*/status"]),
            PolicyRule::urls(&["get"], &["/healthz/*"]),
        ];
        let ok = vec![
            PolicyRule::resource(&["get"], &["apps"], &["deployments/status"]),
            PolicyRule::resource(&["list"], &[""], &["pods"]).named(&["p"]),
            PolicyRule::urls(&["get"], &["/healthz/etcd"]),
        ];
        assert_eq!(covers(&owner, &ok), (true, vec![]));
        let wanted = vec![PolicyRule::resource(
            &["get", "delete", "watch"],
            &[""],
            &["pods"],
        )];
        let (covered, missing) = covers(&owner, &wanted);
        assert!(!covered);
        assert_eq!(missing.len(), 2);
        let compact = compact_rules(&missing);
        assert_eq!(
            compact
                .iter()
                .map(PolicyRule::compact_string)
                .collect::<Vec<_>>(),
            vec![r#"{APIGroups:[""], Resources:["pods"], Verbs:["delete" "watch"]}"#]
        );
        let named_owner = vec![PolicyRule::resource(&["get"], &[""], &["pods"]).named(&["a"])];
        let unnamed = vec![PolicyRule::resource(&["get"], &[""], &["pods"])];
        assert!(
            !covers(&named_owner, &unnamed).0,
            "names never cover all names"
        );
    }

    #[test]
    fn go_quote_escapes_like_go() {
        assert_eq!(go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(go_quote("\u{1}é"), "\"\\x01é\"");
        assert_eq!(go_quote_list(&strings(&["a", ""])), r#"["a" ""]"#);
        assert_eq!(go_quote_list(&[]), "[]");
    }

    #[test]
    fn only_gc_field_updates_are_recognised() {
        let old = json!({"metadata": {"name": "r", "finalizers": ["x"]}, "rules": []});
        let gc = json!({"metadata": {"name": "r", "ownerReferences": [{"uid": "1"}]}, "rules": []});
        let real = json!({"metadata": {"name": "r"}, "rules": [{"verbs": ["get"]}]});
        assert!(only_gc_fields_change(&gc, &old));
        assert!(!only_gc_fields_change(&real, &old));
    }

    #[test]
    fn missing_roles_surface_in_the_no_opinion_reason_deduplicated() {
        let b = |name: &str, role: &str| Binding {
            namespace: String::new(),
            name: name.into(),
            subjects: vec![Subject::user("u")],
            role_ref: RoleRef::cluster_role(role),
        };
        let one = Authorizer::new(vec![], vec![], vec![b("b1", "gone")]);
        let u = UserInfo::new("u", &[]);
        let attrs = Attributes::resource(&u, "get", "", "pods");
        assert_eq!(
            one.authorize(&attrs),
            Decision::NoOpinion(
                r#"RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found"#.into()
            )
        );
        let two = Authorizer::new(
            vec![],
            vec![],
            vec![b("b1", "gone"), b("b2", "gone"), b("b3", "lost")],
        );
        assert_eq!(
            two.authorize(&attrs).reason(),
            r#"RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, clusterrole.rbac.authorization.k8s.io "lost" not found]"#
        );
    }
}
