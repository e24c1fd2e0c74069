//! `hoist-core`: Hoist's domain, with no Kubernetes client, gRPC, HTTP or async runtime
//! (no kube, tonic, axum, hyper, reqwest or tokio: `cargo tree -p hoist-core` shows it).
//! Everything here is a rule over plain values, tested without a cluster; the `hoist`
//! crate holds the adapters (reflectors, the repository fetcher, the API, the CLI) and
//! the runtimes that call these rules.
//!
//! - [`repo`]: the repository format, versions, value checks, the catalogue merge, safe
//!   links.
//! - [`install`]: installs, upgrades and uninstalls as plans from inputs; status words.
//! - [`operator`]: the package operator's rules: placement, apply order, inventory,
//!   health (kstatus), retries, conditions.
//!
//! - [`fleet`]: the usage ledger (intervals, a stop set once, billed seconds) and what
//!   a member cluster's probes mean (issue 11); their controllers go to the backend.
//!
//! The readiness gate and the change hub stay in the backend (`cache/`): they are
//! domain-shaped, but their whole job is to hand changes to async subscribers through
//! tokio's `watch` and `broadcast` channels (decision 0012).

#![forbid(unsafe_code)]

pub mod entrypoint;
pub mod fleet;
pub mod install;
pub mod lint;
pub mod operator;
pub mod repo;
