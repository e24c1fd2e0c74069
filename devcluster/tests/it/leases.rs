//! Leader election as operators do it: two `kube-lease-manager` holders contending for
//! one Lease (server-side apply; the loser's apply is a 409 Conflict on
//! `holderIdentity`) never both hold it, and the survivor takes over when the holder
//! lets go.

use crate::common;
use common::*;
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube::runtime::watcher;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;

const LEASE: &str = "hoist-operator";

/// Who the Lease names as holder.
fn holder(lease: &Lease) -> Option<String> {
    lease.spec.as_ref()?.holder_identity.clone()
}

#[tokio::test]
async fn two_lease_managers_contending_for_one_lease_never_both_hold_it() {
    let (_c, client) = start().await;
    let manager = |id: &'static str| {
        LeaseManagerBuilder::new(client.clone(), LEASE)
            .with_namespace("default")
            .with_identity(id)
            .with_duration(2)
            .with_grace(1)
            .build()
    };
    let (a, b) = (
        manager("a").await.expect("a"),
        manager("b").await.expect("b"),
    );
    // Both start at once: both see the Lease free and try to take it.
    let ((mut ra, ha), (mut rb, hb)) = tokio::join!(a.watch(), b.watch());

    let both =
        |ra: &watch::Receiver<bool>, rb: &watch::Receiver<bool>| (*ra.borrow(), *rb.borrow());
    let first = tokio::time::timeout(PATIENCE, async {
        loop {
            tokio::select! {
                r = ra.changed() => r.expect("a's task runs"),
                r = rb.changed() => r.expect("b's task runs"),
            }
            let (x, y) = both(&ra, &rb);
            assert!(!(x && y), "both hold the lease");
            if x || y {
                return if x { "a" } else { "b" };
            }
        }
    })
    .await
    .expect("one of them takes the lease");

    // Through several renewals, the Lease names that one and the other never holds.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let config = watcher::Config::default().fields(&format!("metadata.name={LEASE}"));
    let mut events = watcher::watcher(leases.clone(), config).boxed();
    let mut renewals = 0;
    let mut last_renew = None;
    tokio::time::timeout(PATIENCE, async {
        while renewals < 3 {
            let event = events.next().await.expect("watch open").expect("watch ok");
            let lease = match event {
                watcher::Event::Apply(l) | watcher::Event::InitApply(l) => l,
                _ => continue,
            };
            let (x, y) = both(&ra, &rb);
            assert!(!(x && y), "both hold the lease");
            assert_eq!(holder(&lease).as_deref(), Some(first), "{lease:?}");
            let renew = lease.spec.as_ref().and_then(|s| s.renew_time.clone());
            if renew.is_some() && renew != last_renew {
                renewals += 1;
                last_renew = renew;
            }
        }
    })
    .await
    .expect("the holder renews");

    // The holder lets go (its channel closes: it releases the Lease); the other takes it.
    let (mut survivor, survivor_name, leaver) = if first == "a" {
        drop(ra);
        (rb, "b", ha)
    } else {
        drop(rb);
        (ra, "a", hb)
    };
    tokio::time::timeout(PATIENCE, leaver)
        .await
        .expect("the leaver stops")
        .expect("joins")
        .expect("releases cleanly");
    tokio::time::timeout(PATIENCE, survivor.wait_for(|held| *held))
        .await
        .expect("the survivor takes over in time")
        .expect("its task runs");
    let lease = leases.get(LEASE).await.expect("lease");
    assert_eq!(holder(&lease).as_deref(), Some(survivor_name));
}
