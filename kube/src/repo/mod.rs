//! Package repositories, the adapter side: a caching HTTP fetcher ([`fetch`]), the
//! clientset that keeps one client per PackageRepository in step with the watch
//! ([`clientset`]) with the credentials it reads from Secrets (`credentials`), the
//! catalogue loaded from every repository ([`catalogue`]) and kept current in the
//! background ([`live`]), and a package resolved to one repository, version and
//! manifest ([`resolve`]). The format, versions, value checks and the merge rules are
//! `hoist-core`'s, re-exported here under their old paths.

pub use hoist_core::repo::{format, links, values, version};

pub mod catalogue;
pub mod clientset;
mod credentials;
pub mod fetch;
pub mod live;
pub mod resolve;
