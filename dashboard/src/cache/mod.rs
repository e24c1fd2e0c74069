//! The dashboard's caches: kube reflectors per kind ([`reflectors`], over the shared
//! loop and readiness gate of [`hoist_kube::reflector`]), and the change hub the dashboard
//! streams from ([`hub`]). `hub` is domain code with no Kubernetes types;
//! `reflectors`, `view` (what the package reflectors parse) and `convert` are the
//! adapter.

pub mod convert;
pub mod fleet;
pub mod hub;
pub mod reflectors;
pub mod shared;
pub mod stored;
pub mod view;
