//! The fleet's rules (issue 11, seed 003: a platform kept billing clusters it had
//! deleted): what is billed, for how long, and what a member cluster's probes mean.
//! Plain values and integer Unix seconds (UTC), no clock and no cluster: the backend's
//! controller reads the clock, the API server and the members, and asks these rules.
//!
//! - [`ledger`]: usage records as intervals (`start`, a `stop` set once), "billed now"
//!   and "cluster-seconds in a period" in one place, deterministic export ids.
//! - [`probe`]: a member's probe results to its conditions and to billing events
//!   (identity seen, replaced, vanished, back), and when to probe next.
//! - [`kubeconfig`]: a member's kubeconfig as hostile input: only inline credentials,
//!   no files, programs or proxies (issue 20).
//! - [`conditions`]: a Cluster's status and conditions from its probes and its ledger,
//!   and the rule that bills again a member identified with no open record.
//! - [`view`]: a cluster's state in one word and where billing and reality may
//!   disagree, as the metrics, the CLI and the dashboard show them.

pub mod conditions;
pub mod kubeconfig;
pub mod ledger;
pub mod probe;
pub mod view;

/// Unix time in whole seconds, UTC.
pub type Seconds = i64;
