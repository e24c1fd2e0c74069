//! `hoist-core`: Hoist's domain, with no Kubernetes client, gRPC, HTTP or async runtime
//! (no kube, tonic, axum, hyper, reqwest or tokio: `cargo tree -p hoist-core` shows it).
//! Everything here is a rule over plain values, tested without a cluster; the `hoist`
//! crate holds the adapters (reflectors, the repository fetcher, the API, the CLI) and
//! the runtimes that call these rules.
//!
//! - [`repo`]: the repository format, versions, value checks, the catalogue merge, safe
//!   links.
//! - [`install`]: installs, upgrades and uninstalls as plans from inputs; status words.
//!
//! The operator's pure rules (render, placement, health, ordering, retry
//! classification) land in `operator/`, and the fleet's (what is billable, the ledger)
//! in `fleet/`, beside these; their controllers go to the backend.
//!
//! The readiness gate and the change hub stay in the backend (`cache/`): they are
//! domain-shaped, but their whole job is to hand changes to async subscribers through
//! tokio's `watch` and `broadcast` channels (decision 0012).

#![forbid(unsafe_code)]

pub mod install;
pub mod repo;
