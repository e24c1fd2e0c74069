//! The fleet controller (issue 11, seed 003): member Clusters probed on their own
//! schedules, their billing kept in UsageRecords by the core's ledger rules, deletes
//! that are never lost. The rules are the core's (`hoist_core::fleet`: the ledger, the
//! probes, the conditions, the view); this is where they meet the API server and the
//! members.
//!
//! Guarantees:
//! - A Cluster carries the finalizer `fleet.hoist.dev/usage` before anything of it is
//!   billed (kube-runtime's finalizer helper adds it first).
//! - A delete stops billing at the Cluster's `deletionTimestamp` (the API server's clock,
//!   so a delete made while Hoist was down is stopped at the right second), with a
//!   compare-and-set: a retry or a second writer never moves it. Cleanup never calls
//!   the member, so a gone member cannot hang its delete.
//! - Probes run inside the controller's bounded concurrency, each within
//!   [`FleetOptions::probe_timeout`]: a hung member holds one worker for that long and
//!   never delays the rest beyond it.
//! - A record is opened only for a Cluster the API server has live, read fresh before
//!   the create and again after it (`fresh.rs`): a pass over a stale copy of a deleted
//!   Cluster never bills it again.
//! - A sweep stops open records whose Cluster is gone without cleanup (its finalizer
//!   stripped by hand) as Orphaned.
//! - The status is written only when something visible changed (probe times at most
//!   every [`PROBE_TIMES_EVERY`]).
//! - A member's kubeconfig is checked before any client is built from it (issue 20;
//!   [`probe::member_client`]): a refused one (a file path, `exec`, `auth-provider`,
//!   `tokenFile`, a proxy, plain http off loopback…) sends nothing anywhere, reads no
//!   file and runs nothing; the Cluster's `CredentialsValid` and `Ready` conditions
//!   say why with reason [`KUBECONFIG_REFUSED`] and the field, `Reachable` goes
//!   Unknown (not probed). Billing is left as it was: a refused kubeconfig stops
//!   probing, it does not open, close or vanish a record.
//!
//! The rooms:
//! - `start.rs`: the watches and the [`Running`] tasks; `context.rs`: the [`Context`]
//!   every pass reads; `error.rs`: the [`Error`];
//!   `options.rs`: how it runs ([`FleetOptions`]); `memory.rs`: what it remembers of
//!   each Cluster.
//! - `reconcile.rs`: one pass over a Cluster (probe, ledger, status); `fresh.rs`: the
//!   Cluster read fresh around each record opened; `member.rs`: its member client;
//!   `status.rs`: its status written; `cleanup.rs`: its delete.
//! - `sweep.rs`: orphaned records stopped, expired ones released ([`sweep()`]);
//!   `gauges.rs`: the gauges; [`relay`]: closed periods to a usage sink.
//! - Adapters the rest of Hoist uses too: [`ledger`] (UsageRecords), [`probe`] (one
//!   probe of a member), [`facts`] (a Cluster as the core's view facts), [`usage`]
//!   (usage for a period), [`metrics`], [`time`], and [`remove()`] (a member removed,
//!   for `hoist cluster remove` and the dashboard's RemoveCluster alike).

#![forbid(unsafe_code)]

mod cleanup;
mod context;
mod error;
pub mod facts;
mod fresh;
mod gauges;
pub mod ledger;
mod member;
mod memory;
pub mod metrics;
mod options;
pub mod probe;
mod reconcile;
pub mod relay;
mod removal;
mod start;
mod status;
mod sweep;
pub mod time;
pub mod usage;

pub use context::Context;
pub use error::Error;
pub use hoist_core::fleet::conditions::{KUBECONFIG_REFUSED, PROBE_TIMES_EVERY};
pub use options::FleetOptions;
pub use reconcile::FINALIZER;
pub use removal::{RemoveError, remove};
pub use start::{Running, start};
pub use sweep::sweep;
