//! # hoist
//!
//! The top floor: where Hoist's components become processes ([`app`]: `hoist operator`
//! leads and runs the operator and the fleet; `hoist serve` and [`demo`] compose the
//! dashboard), and the `hoist` binary. The components are crates of their own
//! (decision 0032), re-exported here under the names the binary, the tests and the
//! benches use:
//! - `hoist-kube`: [`types`], [`installs`], [`install`], [`upgrade`], [`uninstall`],
//!   [`repo`], [`reflector`], [`sink`], [`runtime`], [`client`], [`watch_intent`];
//! - `hoist-operator`: [`operator`]; `hoist-fleet`: [`fleet`];
//! - `hoist-dashboard`: [`cache`], [`api`], [`metrics`], [`serve`];
//! - `hoist-cli`: [`cli`].

#![forbid(unsafe_code)]

pub mod app;
pub mod demo;

pub use hoist_cli as cli;
pub use hoist_dashboard::{api, cache, metrics, serve};
pub use hoist_fleet as fleet;
pub use hoist_kube::{
    client, forward, install, installs, reflector, repo, runtime, sink, types, uninstall, upgrade,
    watch_intent,
};
pub use hoist_operator as operator;
