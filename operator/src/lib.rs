//! The package operator (issue 10, decision 0015): it installs what ClusterPackages and
//! Packages ask for. One kube-runtime Controller per kind, bounded concurrency (fixed,
//! or adaptive to the queue and the API server's answers: [`limiter`], decision 0038),
//! its work queue measured under client-go's names ([`workqueue`]), never two passes
//! over one package at once; a pass ([`reconcile`]) renders the package
//! ([`render`]), applies it staged and drift-only ([`apply`]), prunes what left it,
//! judges health by kstatus' rules and writes a status only when it changed
//! ([`status`]). What it applied is watched ([`objects`]), so a Deployment becoming
//! available or an edit to an applied object moves its package on without polling.
//!
//! The rules it runs (placement, order, inventory, health, retries, conditions, values)
//! are `hoist_core::operator`'s; this module is the adapter between them and the cluster.

#![forbid(unsafe_code)]

pub mod apply;
pub mod auto_update;
pub mod context;
pub mod controller;
pub mod dependencies;
pub mod drift;
pub mod error;
pub mod events;
pub mod finalizer;
pub mod helm;
pub mod identity;
pub mod inputs;
pub mod lease;
pub mod limiter;
pub mod memory;
pub mod metrics;
pub mod metrics_auth;
pub mod objects;
pub mod options;
pub mod package;
pub mod package_infos;
pub mod pass;
pub mod preview;
pub mod probes;
pub mod prune;
pub mod reconcile;
pub mod relist;
pub mod render;
pub mod repositories;
pub mod scopes;
pub mod status;
pub mod watches;
pub mod workqueue;

pub use context::{Context, Passes, Stores};
pub use controller::{Running, start, start_supervised, start_with};
pub use error::Error;
pub use memory::{FIRST_STATUS_GRACE, PROGRESS_WORDS_EVERY, RetryKey};
pub use options::{Concurrency, OperatorOptions};
