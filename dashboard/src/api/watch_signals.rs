//! The one task that turns everything a `Watch` stream sends besides package changes
//! into events on the hub's broadcast: a [`HubEvent::Control`] when the gate's status,
//! the catalogue, the fleet or the stop flag changes, a heartbeat every interval.
//! Streams then wait on the broadcast alone ([`super::watch`], decision 0041).
//!
//! # Guarantees
//! - Every change of a watched channel is followed by a `Control` sent after it (changes
//!   in between may share one: a stream reads the channels' latest values).
//! - When the stop flag turns true, a `Control` goes out and the task ends; if the task
//!   is dropped first (aborted with the server), one goes out from its drop, so no
//!   stream is left waiting for a stop it was never told of.
//! - Never waits on a stream: sending on the broadcast does not block.
//!
//! [`HubEvent::Control`]: crate::cache::hub::HubEvent::Control

use crate::cache::hub::Hub;
use hoist_kube::reflector::readiness;
use hoist_kube::repo::live::Current;
use hoist_proto::v1 as pb;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The channels a stream reads on a `Control`.
pub struct Signals {
    pub status: watch::Receiver<readiness::Status>,
    pub catalogue: watch::Receiver<Current>,
    pub fleet: watch::Receiver<Option<Arc<pb::Fleet>>>,
    pub stop: watch::Receiver<bool>,
}

/// Sends a `Control` when dropped.
struct ControlOnDrop(Arc<Hub>);

impl Drop for ControlOnDrop {
    fn drop(&mut self) {
        self.0.control();
    }
}

/// Runs until the stop flag turns true (or its sender is gone).
pub async fn run(hub: Arc<Hub>, mut signals: Signals, heartbeat: Duration) {
    let _on_drop = ControlOnDrop(hub.clone());
    // `interval` refuses a zero period; a heartbeat that often is no heartbeat anyway.
    let mut beat = tokio::time::interval(heartbeat.max(Duration::from_millis(10)));
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: a heartbeat is due one interval from now.
    beat.reset();
    loop {
        // A closed channel other than the stop flag cannot change any more: its branch
        // is disabled rather than spinning on the error.
        tokio::select! {
            r = signals.stop.changed() => {
                if r.is_err() || *signals.stop.borrow_and_update() {
                    return;
                }
            }
            Ok(()) = signals.status.changed() => {}
            Ok(()) = signals.catalogue.changed() => {}
            Ok(()) = signals.fleet.changed() => {}
            _ = beat.tick() => {
                hub.heartbeat();
                continue;
            }
        }
        hub.control();
    }
}
