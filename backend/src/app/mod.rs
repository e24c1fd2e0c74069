//! The top floor: where Hoist's components are put together into the processes users
//! run. Components (the operator, the fleet controller, the dashboard's `serve`) are
//! started only from here, the binary and the demo (`crate::demo`, `hoist demo`'s
//! composition in one process); none of them starts another.
//!
//! - `operator.rs`: `hoist operator` (probes, leader election, the package operator
//!   and the fleet controller while leading).

pub mod operator;
