//! Who is asking and what they may do: kube-apiserver's authenticators, its RBAC
//! authorizer and the policy a cluster starts with.
//!
//! - [`authn`]: authentication as kube-apiserver does it with bearer tokens: the admin
//!   token devcluster's kubeconfig carries (`devcluster-admin` in `system:masters`), a
//!   static token file in `--token-file`'s CSV format, ServiceAccount tokens as
//!   `TokenRequest` issues them (ES256 JWTs with `aud`, `exp`, `jti` and the bound-object
//!   claims, verified against the ServiceAccount's current uid), anonymous requests when
//!   allowed, `TokenReview` answers, and the API server's 401 body
//!   ([`authn::Authenticator::authenticate`], [`authn::Authenticator::issue`],
//!   [`authn::Authenticator::review`], [`authn::unauthorized_status`]).
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
//! Guarantees: the authorizer does no I/O, locks nothing and allocates per request only
//! for the decision; the same snapshot and attributes always give the same decision. The
//! authenticator does no I/O after start (reading the token file is the caller's choice,
//! [`authn::TokenFile::load`]); it locks only its small verification cache; it asks the
//! caller whether a ServiceAccount exists through a lookup function.
//!
//! - [`gate`]: both in the request path (401/403 before routing), the authorizer a
//!   snapshot rebuilt when an RBAC object changes, its decisions remembered per snapshot.
//! - [`impersonate`]: `Impersonate-*` headers, each part authorized (`kubectl --as`).
//! - [`review`]: TokenReview, SelfSubjectReview, SubjectAccessReview,
//!   LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview.
//! - [`token_request`] serves `serviceaccounts/NAME/token`.
//! - [`loopback`]: a loopback listener refuses requests a web page addressed to it.
//! - [`tls`]: HTTPS with a CA made at start (client-go sends tokens only over TLS).
//!
//! All of it is on by default ([`crate::AuthOptions`]); `Options.auth: None`
//! (`devcluster serve --no-rbac`) serves plain HTTP and lets every request do everything.
//!
//! Caveats: aggregated rules are computed in the snapshot, not written back into the
//! stored ClusterRoles as kube-controller-manager's aggregation controller does; the CA
//! and the token signing key live as long as the process, so tokens and kubeconfigs
//! from before a restart are refused after it.

pub mod authn;
pub mod bootstrap;
pub mod gate;
pub mod impersonate;
pub mod loopback;
pub mod rbac;
pub mod review;
pub mod tls;
pub mod token_request;
