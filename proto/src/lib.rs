//! Hoist's gRPC protocol, package `hoist.v1` (see `hoist/v1/dashboard.proto`).
//!
//! Messages are always built; `dashboard_server` needs feature `server`, and
//! `dashboard_client` feature `client` (tests and benches; the web app takes the
//! messages only and calls through its own `rpc` module, to stay small).

pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("hoist.v1");
}
