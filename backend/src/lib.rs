//! # hoist
//!
//! The Hoist backend: informer caches of the package resources behind a readiness gate
//! ([`cache`]), the dashboard's gRPC / gRPC-web API ([`api`]), Prometheus metrics
//! ([`metrics`]), the custom resource types ([`types`]), package repositories ([`repo`]),
//! installs ([`install`], [`upgrade`], [`uninstall`]), the package operator that carries
//! them out ([`operator`]) and `hoist demo` ([`demo`]).

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod cache;
pub mod cli;
pub mod client;
pub mod demo;
pub mod fleet;
pub mod install;
pub mod installs;
pub mod metrics;
pub mod operator;
pub mod reflector;
pub mod repo;
pub mod runtime;
pub mod serve;
pub mod sink;
pub mod types;
pub mod uninstall;
pub mod upgrade;
pub mod watch_intent;
