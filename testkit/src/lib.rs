//! What Hoist's tests and benchmarks share (issue 25, step 9), so each fixture is
//! written once: the backend's integration tests, the browser tests (`hoist-tests`) and
//! the benchmarks all use it.
//!
//! - [`cluster`]: devcluster with Hoist's CRDs, with the sample repository, or with
//!   authentication and RBAC; ServiceAccount clients; `deploy/`'s RBAC applied.
//! - [`files`]: a fixed set of files over HTTP (a generated package repository).
//! - [`repo_server`]: a repository whose replies a test scripts and whose requests it
//!   counts.
//! - [`dist`]: the web app to serve: the built one, or a stand-in page.
//! - [`stats`]: medians and percentiles of timings, and how to print them.
//!
//! Every server binds 127.0.0.1 on a free port and stops with the test's runtime.
//! Fixtures panic with what failed: they are for tests, where that is the report.

#![forbid(unsafe_code)]

/// How long a fixture waits for what a test expects: generous for shared CI machines.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

pub mod cluster;
pub mod dist;
pub mod files;
pub mod repo_server;
pub mod stats;
