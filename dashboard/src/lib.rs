//! # hoist-dashboard
//!
//! The dashboard's backend: informer caches of the package resources behind the
//! readiness gate ([`cache`]), the `hoist.v1.Dashboard` gRPC / gRPC-web API ([`api`]),
//! Prometheus metrics ([`metrics`]) and `hoist serve` ([`serve`]). It reads the
//! operator's planner for previews and the fleet's rules for the Clusters page; neither
//! of those can import it (decision 0032).

#![forbid(unsafe_code)]

pub mod api;
pub mod cache;
pub mod metrics;
pub mod serve;
