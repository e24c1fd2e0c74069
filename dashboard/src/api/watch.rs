//! One `Watch` stream: the status at once and on every change; from READY the package
//! snapshot (or the replay of what a resuming client missed), the catalogue and the
//! fleet, then each change and heartbeats.
//!
//! The stream is a state machine polled directly by the connection that carries it: no
//! task and no channel per stream, so a change costs each stream one wake-up (its
//! connection's), which matters with a thousand dashboards open.
//!
//! Guarantees: a client that stops reading stops polling only its own stream; its
//! broadcast receiver falls behind, and when it reads again it is resynchronised with a
//! snapshot. Nothing it does delays another stream, and the hub never waits for it.
//!
//! Package changes leave as [`Out::Change`]: the hub's [`SharedChange`], whose bytes
//! are encoded once for all streams; the served route ([`super::watch_route`]) copies
//! them into the frame. [`stream`] (the generated service's `Watch`, for clients of
//! the trait) turns them back into messages.

use super::dashboard::DashboardService;
use super::status::status_message;
use crate::cache::hub::{HubEvent, Start};
use crate::cache::shared::SharedChange;
use futures::StreamExt;
use hoist_kube::reflector::readiness::{self, Phase};
use hoist_kube::repo::live::Current;
use hoist_proto::v1 as pb;
use hoist_proto::v1::watch_event::Event;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, WatchStream};
use tonic::Status;

/// The stream type the service returns.
pub type EventStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::WatchEvent, Status>> + Send>>;

/// What a Watch stream sends next.
#[derive(Debug, Clone)]
pub enum Out {
    /// A package change, encoded once for every stream.
    Change(Arc<SharedChange>),
    /// Anything else, encoded per stream.
    Event(Box<Event>),
}

impl Out {
    /// The message, for clients that take messages (not bytes).
    pub fn into_event(self) -> pb::WatchEvent {
        pb::WatchEvent {
            event: Some(match self {
                Out::Change(c) => Event::Change(c.change().clone()),
                Out::Event(e) => *e,
            }),
        }
    }
}

/// The stream the served route sends: changes as shared bytes.
pub type OutStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<Out, Status>> + Send>>;

/// Builds the stream for one request, as messages (the generated service's `Watch`).
pub fn stream(svc: DashboardService, req: pb::WatchRequest) -> EventStream {
    Box::pin(out_stream(svc, req).map(|o| o.map(Out::into_event)))
}

/// Builds the stream for one request, package changes as shared bytes.
pub fn out_stream(svc: DashboardService, req: pb::WatchRequest) -> OutStream {
    let state = WatchState {
        // Yields the current status first, then each change.
        status: WatchStream::new(svc.gate.subscribe()),
        shutdown: WatchStream::from_changes(svc.shutdown.clone()),
        serving: false,
        svc,
        req,
        live: None,
        pending: VecDeque::new(),
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        let out = st.next().await?;
        Some((Ok(out), st))
    }))
}

/// What a stream holds once the caches are READY.
///
/// The receivers are wrapped as streams on purpose: their wrappers keep one registered
/// future between polls, where `select!` over `recv()`/`changed()` would register and
/// deregister a waiter on the shared channels at every wake-up (measurable with a
/// thousand streams woken by each change).
struct Live {
    changes: BroadcastStream<HubEvent>,
    catalogue: WatchStream<Current>,
    fleet: WatchStream<Option<std::sync::Arc<pb::Fleet>>>,
    heartbeat: tokio::time::Interval,
}

struct WatchState {
    svc: DashboardService,
    req: pb::WatchRequest,
    status: WatchStream<readiness::Status>,
    shutdown: WatchStream<bool>,
    /// Whether the last status seen was READY or DEGRADED.
    serving: bool,
    /// `None` until READY: until then only the status travels.
    live: Option<Live>,
    /// Events decided but not yet handed to the connection (a replay, a start).
    pending: VecDeque<Out>,
}

fn serving(s: &readiness::Status) -> bool {
    matches!(s.phase, Phase::Ready | Phase::Degraded)
}

impl WatchState {
    /// The next event, or `None` when the stream ends (shutdown, gate gone).
    async fn next(&mut self) -> Option<Out> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            self.fill().await?;
        }
    }

    fn push(&mut self, e: Event) {
        self.pending.push_back(Out::Event(Box::new(e)));
    }

    fn push_status(&mut self, s: &readiness::Status) {
        self.serving = serving(s);
        self.push(Event::Status(status_message(s, &self.svc.hub)));
    }

    fn push_catalogue(&mut self, current: Current) {
        if let Some(c) = current {
            self.push(Event::Catalogue(super::catalogue::catalogue(&c)));
        }
    }

    fn push_start(&mut self, start: Start) {
        match start {
            Start::Snapshot(snap) => {
                self.svc.metrics.snapshot_sent();
                self.push(Event::Snapshot(snap));
            }
            Start::Replay(changes) => self.pending.extend(changes.into_iter().map(Out::Change)),
        }
    }

    /// Waits for something to send and queues it; `None` ends the stream.
    async fn fill(&mut self) -> Option<()> {
        let Some(live) = self.live.as_mut() else {
            if self.serving {
                let (start, changes) = self
                    .svc
                    .hub
                    .subscribe(&self.req.instance_id, self.req.resume_from);
                let mut heartbeat = tokio::time::interval(self.svc.heartbeat);
                heartbeat.reset();
                self.live = Some(Live {
                    changes: BroadcastStream::new(changes),
                    // Yields the current catalogue first (after the start below).
                    catalogue: WatchStream::new(self.svc.catalogue.subscribe()),
                    // The fleet as it is now (once listed), then each rebuild.
                    fleet: WatchStream::new(self.svc.fleet.clone()),
                    heartbeat,
                });
                self.push_start(start);
                return Some(());
            }
            tokio::select! {
                s = self.status.next() => self.push_status(&s?),
                _ = self.shutdown.next() => return None,
            }
            return Some(());
        };
        tokio::select! {
            s = self.status.next() => self.push_status(&s?),
            ev = live.changes.next() => match ev? {
                Ok(HubEvent::Change(c)) => self.pending.push_back(Out::Change(c)),
                // A relist too large for the ring, or this stream fell behind.
                Ok(HubEvent::Resync) | Err(BroadcastStreamRecvError::Lagged(_)) => {
                    self.svc.metrics.resync();
                    let (start, rx) = self.svc.hub.subscribe("", 0);
                    live.changes = BroadcastStream::new(rx);
                    self.push_start(start);
                }
            },
            c = live.catalogue.next() => self.push_catalogue(c?),
            f = live.fleet.next() => {
                if let Some(f) = f? {
                    self.push(Event::Fleet((*f).clone()));
                }
            }
            _ = live.heartbeat.tick() => {
                self.push(Event::Heartbeat(pb::Heartbeat {
                    revision: self.svc.hub.revision(),
                    server_unix_ms: readiness::unix_ms(),
                }));
            }
            _ = self.shutdown.next() => return None,
        }
        Some(())
    }
}
