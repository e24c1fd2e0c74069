//! The guard on opening a record: the Cluster read fresh from the API server, not from
//! the watch.
//!
//! A pass runs on the controller's copy of a Cluster, and that copy can lag: a watch
//! stalled or cut while the API server restarts, or a replica finishing a pass after it
//! lost the Lease, still holds a Cluster that another replica has already cleaned up and
//! removed. The records watch may be current meanwhile and show the last record
//! stopped, so the core's rule ("identified, no open record") would open another one: a
//! deleted cluster billed again (the soak's finding, decision 0030). Stopping a record
//! needs no such guard (a stop is a compare-and-set and the earliest stands); opening
//! one does.
//!
//! Guarantees (with [`crate::cleanup`], which lists records fresh after the
//! `deletionTimestamp` is set): a record is opened only for a Cluster that was live
//! before the create, and is found live again after it, or stopped at once. If the
//! second read finds it live, its delete started after the create, so the cleanup's
//! list sees the record and stops it. Costs one GET before and one after each record
//! opened: once per cluster life, not per pass.

use hoist_core::fleet::Seconds;
use hoist_kube::types::Cluster;
use kube::ResourceExt;
use kube::api::Api;

/// The Cluster as the API server has it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fresh {
    /// It exists under this uid and is not being deleted.
    Live,
    /// It is being deleted since this second.
    Deleting(Seconds),
    /// It is gone, or its name now belongs to another Cluster.
    Gone,
}

/// Reads `cluster` fresh (a GET, not the watch's copy).
pub(super) async fn read(api: &Api<Cluster>, cluster: &Cluster) -> Result<Fresh, kube::Error> {
    let Some(now) = api.get_opt(&cluster.name_any()).await? else {
        return Ok(Fresh::Gone);
    };
    if now.uid() != cluster.uid() {
        return Ok(Fresh::Gone);
    }
    Ok(match &now.metadata.deletion_timestamp {
        Some(t) => Fresh::Deleting(t.0.as_second()),
        None => Fresh::Live,
    })
}

/// When a record opened for a Cluster found not live afterwards stops: at the
/// deletion's second when it is known, else `fallback` (the record's own start: it
/// bills nothing).
pub(super) fn stop_at(fresh: Fresh, fallback: Seconds) -> Seconds {
    match fresh {
        Fresh::Deleting(at) => at,
        Fresh::Live | Fresh::Gone => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_found_after_a_delete_stops_at_the_deletion_or_bills_nothing() {
        assert_eq!(stop_at(Fresh::Deleting(100), 120), 100);
        assert_eq!(stop_at(Fresh::Gone, 120), 120);
    }
}
