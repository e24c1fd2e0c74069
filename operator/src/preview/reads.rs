//! What a preview reads of the installs, and nothing else: the one part of a plan that
//! a process may already hold in a cache. The dashboard answers from the caches it
//! keeps for its pages (`hoist_dashboard::api::cached_reads`); the CLI from one LIST of each
//! package kind ([`super::Listed`]). Neither starts a watch.
//!
//! Everything else a plan reads it asks for once, as it needs it (see
//! [`super::Planner`]): discovery, the namespaces a package would apply, the
//! ConfigMaps and Secrets its values name, each object it plans.

use futures::future::BoxFuture;
use hoist_core::operator::dependencies::Existing;
use hoist_kube::types::ValueConfiguration;
use std::collections::BTreeMap;

/// The installs a preview reads.
///
/// Guarantees an implementation gives: [`Reads::installs`] is every ClusterPackage and
/// Package it knows, each with its spec's package and version and its state by the
/// operator's rule (a true `Failed` condition, then a true `Ready`, otherwise pending);
/// nothing here writes.
///
/// Caveat: what it returns may be a cache's, a moment behind the cluster (as the
/// operator's own watches are).
pub trait Reads: Send + Sync {
    /// Every install (ClusterPackages and Packages), as the dependency rule reads them.
    /// Only asked for when the package has dependencies.
    fn installs(&self) -> BoxFuture<'_, Result<Vec<Existing>, kube::Error>>;

    /// The values ClusterPackage `name` sets (a `packageRef` reads one of them);
    /// `None` when there is no such ClusterPackage.
    fn cluster_package_values<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, ValueConfiguration>>, kube::Error>>;
}
