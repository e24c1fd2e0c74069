//! The caches: kube reflectors per kind ([`reflectors`]), the readiness gate
//! ([`readiness`]), and the change hub the dashboard streams from ([`hub`]).
//! `readiness` and `hub` are domain code with no Kubernetes types; `reflectors` and
//! `convert` are the adapter.

pub mod convert;
pub mod fleet;
pub mod hub;
pub mod readiness;
pub mod reflectors;
pub mod stored;
