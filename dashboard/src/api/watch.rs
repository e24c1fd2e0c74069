//! One `Watch` stream: the status at once and on every change; from READY the package
//! snapshot (or the replay of what a resuming client missed), the catalogue and the
//! fleet, then each change and heartbeats.
//!
//! The stream is a state machine polled directly by the connection that carries it: no
//! task and no channel per stream, so a change costs each stream one wake-up (its
//! connection's), which matters with a thousand dashboards open.
//!
//! A stream waits on **one** thing: the hub's broadcast. Everything else a stream
//! sends (status, catalogue, fleet, heartbeats) and the server's stop reach it as
//! [`HubEvent::Control`] and [`HubEvent::Heartbeat`] on that same channel, sent by one
//! task for all streams ([`super::watch_signals`]); on a `Control` the stream reads the
//! watch channels it holds without waiting on them. Waiting on five channels instead
//! cost every stream a lock on each channel's shared waiter list at every wake-up
//! (tokio's `Notified` re-registers its waker under that lock), on both cores at once,
//! for each change (decision 0041).
//!
//! # Guarantees
//! - A client that stops reading stops polling only its own stream; its broadcast
//!   receiver falls behind, and when it reads again it is resynchronised with a
//!   snapshot and re-reads status, catalogue and fleet (what it may have missed).
//!   Nothing it does delays another stream, and the hub never waits for it.
//! - The stream ends when the server stops (the stop flag, read on every `Control`; the
//!   signal task sends one when it sees the stop and when it is dropped) or when the
//!   gate or the stop flag's sender is gone.
//!
//! Package changes leave as [`Out::Change`]: the hub's [`SharedChange`], whose bytes
//! are framed once for all streams; the served route ([`super::watch_route`]) hands
//! them to the connection as they are. [`stream`] (the generated service's `Watch`,
//! for clients of the trait) turns them back into messages.

use super::dashboard::DashboardService;
use super::status::status_message;
use crate::cache::hub::{HubEvent, Start};
use crate::cache::shared::SharedChange;
use futures::Stream;
use hoist_kube::reflector::readiness::{self, Phase};
use hoist_kube::repo::live::Current;
use hoist_proto::v1 as pb;
use hoist_proto::v1::watch_event::Event;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::watch;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tonic::Status;

/// The stream type the service returns.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEvent, Status>> + Send>>;

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

/// Builds the stream for one request, as messages (the generated service's `Watch`).
pub fn stream(svc: DashboardService, req: pb::WatchRequest) -> EventStream {
    let mut state = WatchState::new(svc, req);
    Box::pin(futures::stream::poll_fn(move |cx| {
        state.poll_next(cx).map(|o| o.map(|o| Ok(o.into_event())))
    }))
}

/// One stream's state. Poll it with [`WatchState::poll_next`].
pub struct WatchState {
    svc: DashboardService,
    req: pb::WatchRequest,
    /// Before READY: the hub's signals only. From READY: the receiver the subscription
    /// started (its snapshot or replay and then every change, in order).
    events: BroadcastStream<HubEvent>,
    status: watch::Receiver<readiness::Status>,
    catalogue: watch::Receiver<Current>,
    fleet: watch::Receiver<Option<Arc<pb::Fleet>>>,
    stop: watch::Receiver<bool>,
    /// Whether the snapshot (or replay) went out and changes follow.
    live: bool,
    ended: bool,
    /// Events decided but not yet handed to the connection (a replay, a start).
    pending: VecDeque<Out>,
}

fn serving(s: &readiness::Status) -> bool {
    matches!(s.phase, Phase::Ready | Phase::Degraded)
}

impl WatchState {
    /// A stream for `req`: its first event, the status, is already queued.
    pub fn new(svc: DashboardService, req: pb::WatchRequest) -> Self {
        // The broadcast first: a signal sent after any of the reads below reaches it.
        let events = BroadcastStream::new(svc.hub.signals());
        let mut st = Self {
            events,
            status: svc.gate.subscribe(),
            catalogue: svc.catalogue.subscribe(),
            fleet: svc.fleet.clone(),
            stop: svc.shutdown.clone(),
            svc,
            req,
            live: false,
            ended: false,
            pending: VecDeque::new(),
        };
        let status = st.status.borrow_and_update().clone();
        st.push_status(&status);
        st.check_stop();
        st
    }

    /// The next event, or `None` once the stream has ended (stop, gate gone).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Out>> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Poll::Ready(Some(e));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            let event = match Pin::new(&mut self.events).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    // The hub is gone: so is the server.
                    self.ended = true;
                    continue;
                }
                Poll::Ready(Some(event)) => event,
            };
            match event {
                Ok(HubEvent::Change(c)) if self.live => self.pending.push_back(Out::Change(c)),
                Ok(HubEvent::Change(_) | HubEvent::Resync) if !self.live => {}
                Ok(HubEvent::Control) => self.on_control(),
                Ok(HubEvent::Heartbeat(beat)) => {
                    if self.live {
                        self.push(Event::Heartbeat(beat));
                    }
                }
                // A relist too large for the ring, or this stream fell behind: start
                // again from a snapshot and re-read what signals it may have missed.
                Ok(HubEvent::Change(_) | HubEvent::Resync)
                | Err(BroadcastStreamRecvError::Lagged(_)) => {
                    if self.live {
                        self.svc.metrics.resync();
                        let (start, rx) = self.svc.hub.subscribe("", 0);
                        self.events = BroadcastStream::new(rx);
                        self.push_start(start);
                    }
                    self.on_control();
                }
            }
        }
    }

    fn push(&mut self, e: Event) {
        self.pending.push_back(Out::Event(Box::new(e)));
    }

    fn push_status(&mut self, s: &readiness::Status) {
        self.push(Event::Status(status_message(s, &self.svc.hub)));
        if serving(s) && !self.live {
            self.go_live();
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

    /// READY: the snapshot or replay, then the catalogue and the fleet as they are now;
    /// from here every change.
    fn go_live(&mut self) {
        let (start, rx) = self
            .svc
            .hub
            .subscribe(&self.req.instance_id, self.req.resume_from);
        self.events = BroadcastStream::new(rx);
        self.live = true;
        self.push_start(start);
        let catalogue = self.catalogue.borrow_and_update().clone();
        self.push_catalogue(catalogue);
        let fleet = self.fleet.borrow_and_update().clone();
        self.push_fleet(fleet);
    }

    fn push_catalogue(&mut self, current: Current) {
        if let Some(c) = current {
            self.push(Event::Catalogue(super::catalogue::catalogue(&c)));
        }
    }

    fn push_fleet(&mut self, fleet: Option<Arc<pb::Fleet>>) {
        if let Some(f) = fleet {
            self.push(Event::Fleet((*f).clone()));
        }
    }

    /// Something other than packages changed: reads each signal's channel, queues what
    /// changed. A channel whose sender is gone ends the stream.
    fn on_control(&mut self) {
        if self.check_stop() {
            return;
        }
        match self.status.has_changed() {
            Ok(true) => {
                let status = self.status.borrow_and_update().clone();
                self.push_status(&status);
            }
            Ok(false) => {}
            Err(_) => self.ended = true,
        }
        if !self.live {
            return;
        }
        if self.catalogue.has_changed().unwrap_or(false) {
            let catalogue = self.catalogue.borrow_and_update().clone();
            self.push_catalogue(catalogue);
        }
        if self.fleet.has_changed().unwrap_or(false) {
            let fleet = self.fleet.borrow_and_update().clone();
            self.push_fleet(fleet);
        }
    }

    /// Ends the stream if the server stops (or its stop flag is gone); whether it did.
    fn check_stop(&mut self) -> bool {
        let stopped = self.stop.has_changed().is_err() || *self.stop.borrow();
        if stopped {
            // What is already queued still goes out.
            self.ended = true;
        }
        stopped
    }
}
