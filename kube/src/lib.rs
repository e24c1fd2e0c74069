//! # hoist-kube
//!
//! Hoist's Kubernetes side that every component shares: the custom resources
//! ([`types`]), the one kube-side adapter for installs ([`installs`]) and the requests
//! over it ([`install`], [`upgrade`], [`uninstall`]), package repositories ([`repo`]),
//! the reflector loop and readiness gate ([`reflector`]) with the sinks it feeds
//! ([`sink`]), the lifecycle every long-running part runs under ([`runtime`]), and
//! the kube clients Hoist builds ([`client`]).
//!
//! Guarantee: nothing here starts a component. The operator (`hoist-operator`), the
//! fleet (`hoist-fleet`), the dashboard (`hoist-dashboard`) and the CLI (`hoist-cli`)
//! are built on it, and none of them can import another's insides except along the
//! arrows their manifests declare (decision 0032).

#![forbid(unsafe_code)]

pub mod client;
pub mod configure;
pub mod forward;
pub mod install;
pub mod installs;
pub mod reflector;
pub mod repo;
pub mod runtime;
pub mod sink;
pub mod types;
pub mod uninstall;
pub mod upgrade;
pub mod values;
pub mod watch_intent;
