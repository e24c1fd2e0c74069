//! Watching kinds into sinks, behind a readiness gate: the part of the caches the
//! operator shares with the dashboard.
//!
//! - [`readiness`]: the gate (phases and per-kind progress; no Kubernetes types);
//! - [`driver`]: one kind's reflector loop (kube-rs' watcher, the gate, a sink);
//! - [`repositories`]: the PackageRepository and Secret watches that keep the
//!   repository clientset current.

pub mod driver;
pub mod readiness;
pub mod repositories;

pub use driver::PROBE_AFTER;
pub use repositories::{RepositoryWatch, watch_repositories};
