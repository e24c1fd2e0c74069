//! Who may do what: kube-apiserver's RBAC authorizer and the policy a cluster starts with.
//!
//! - [`rbac`]: the RBAC authorizer as a pure function of a snapshot of Roles,
//!   ClusterRoles, RoleBindings and ClusterRoleBindings (as stored: JSON objects of
//!   `rbac.authorization.k8s.io/v1`). It decides requests ([`rbac::Authorizer::authorize`]),
//!   lists what a user may do ([`rbac::Authorizer::rules_for`], what a
//!   SelfSubjectRulesReview answers), refuses Role and binding writes that would grant
//!   more than the writer holds ([`rbac::Authorizer::authorize_write`], the API server's
//!   escalation prevention), and renders the API server's 403 text word for word
//!   ([`rbac::forbidden_message`], [`rbac::forbidden_status`]).
//! - [`bootstrap`]: the default ClusterRoles and ClusterRoleBindings (`cluster-admin`,
//!   `admin`, `edit`, `view`, `system:discovery`, ...) with their aggregation labels.
//!
//! Guarantees: nothing here does I/O, locks or allocates per request beyond the decision;
//! the same snapshot and attributes always give the same decision.
//!
//! Caveats: not wired into the request path yet. Nothing here authenticates (a
//! [`rbac::UserInfo`] is taken as given), maps an HTTP request to [`rbac::Attributes`]
//! (verb from method, `metadata.name` field selectors on list/watch), keeps the snapshot
//! up to date as RBAC objects change, seeds the bootstrap objects into the store, or
//! writes aggregated rules back into stored ClusterRoles the way kube-controller-manager's
//! aggregation controller does (the snapshot computes aggregation itself).

pub mod bootstrap;
pub mod rbac;
