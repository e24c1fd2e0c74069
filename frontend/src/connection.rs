//! The page's one long-lived stream: connect, apply events, and on any failure retry
//! with exponential backoff and full jitter (honouring the server's RetryInfo), with a
//! countdown the page shows and a "retry now" that cuts it short.
//!
//! Resume: the stream is reopened with the instance id and revision last applied, so a
//! reconnect to the same server replays only what was missed; a restarted server sends
//! a snapshot. A revision gap or a silent stream (no heartbeat) forces a resubscribe.
//!
//! Refresh: the server revalidates its repositories; this page then reopens its own
//! stream for a fresh snapshot (a "retry now" while live). No other page is touched.

use crate::backoff::Backoff;
use crate::grpc_web::{Code, Status};
use crate::model::{Applied, Model};
use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use hoist_proto::v1 as pb;
use leptos::prelude::*;
use std::time::Duration;

/// A stream silent for this long is presumed dead (the server sends heartbeats every 15 s).
const SILENCE_MS: u32 = 45_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Connecting,
    Live,
    /// Waiting to retry; `until_ms` is a `Date.now()` time.
    Retrying {
        attempt: u32,
        until_ms: f64,
        reason: String,
    },
}

/// Signals the connection writes and the views read.
#[derive(Clone, Copy)]
pub struct Live {
    pub model: RwSignal<Model>,
    pub connection: RwSignal<Connection>,
    /// `Date.now()` of the last message from the server.
    pub last_message_ms: RwSignal<f64>,
}

/// Starts the stream loop; send `()` on the returned channel to retry at once (or,
/// while live, to reopen the stream for a fresh snapshot).
pub fn start(live: Live) -> mpsc::UnboundedSender<()> {
    let (tx, rx) = mpsc::unbounded();
    leptos::task::spawn_local(run(live, rx));
    tx
}

async fn run(live: Live, mut retry_now: mpsc::UnboundedReceiver<()>) {
    let mut backoff = Backoff::default();
    loop {
        let Some((reason, hint)) = follow(live, &mut backoff, &mut retry_now).await else {
            // A fresh snapshot asked for while live: reopen at once, still "live".
            continue;
        };
        let delay = backoff.next(js_sys::Math::random(), hint);
        let until_ms = js_sys::Date::now() + delay.as_millis() as f64;
        live.connection.set(Connection::Retrying {
            attempt: backoff.attempt(),
            until_ms,
            reason,
        });
        let wait = TimeoutFuture::new(delay.as_millis().min(u128::from(u32::MAX)) as u32);
        let _ = select(wait, retry_now.next()).await;
        while retry_now.try_recv().is_ok() {}
        // The state stays Retrying (countdown at 0: "retrying now") until the first
        // message arrives, so the banner does not flicker between attempts.
    }
}

fn retry_hint(status: &Status) -> Option<Duration> {
    crate::retry_info::from_details(status.details())
}

/// Follows one stream until it fails (returns why, and the server's retry hint) or a
/// fresh snapshot is asked for (returns `None`).
async fn follow(
    live: Live,
    backoff: &mut Backoff,
    resync: &mut mpsc::UnboundedReceiver<()>,
) -> Option<(String, Option<Duration>)> {
    let request = live.model.with_untracked(|m| pb::WatchRequest {
        instance_id: m.instance_id.clone(),
        resume_from: if m.packages.is_some() { m.revision } else { 0 },
    });
    let mut stream = match crate::rpc::watch(request).await {
        Ok(s) => s,
        Err(status) => return Some((describe(&status), retry_hint(&status))),
    };
    loop {
        let next = select(
            select(Box::pin(stream.message()), TimeoutFuture::new(SILENCE_MS)),
            resync.next(),
        )
        .await;
        let message = match next {
            Either::Left((Either::Left((Ok(Some(m)), _)), _)) => m,
            Either::Left((Either::Left((Ok(None), _)), _)) => {
                return Some(("the server ended the stream".into(), None));
            }
            Either::Left((Either::Left((Err(status), _)), _)) => {
                return Some((describe(&status), retry_hint(&status)));
            }
            Either::Left((Either::Right(_), _)) => {
                return Some(("no word from the server for 45 s".into(), None));
            }
            Either::Right(_) => {
                // An unknown instance id always gets a snapshot.
                live.model.update(|m| m.instance_id.clear());
                return None;
            }
        };
        backoff.reset();
        live.last_message_ms.set(js_sys::Date::now());
        if live.connection.get_untracked() != Connection::Live {
            live.connection.set(Connection::Live);
        }
        let Some(event) = message.event else { continue };
        if matches!(event, pb::watch_event::Event::Snapshot(_)) {
            // The start of a first render (and of a Refresh's): `marks.rs`.
            crate::marks::mark("hoist:snapshot");
        }
        let applied = live.model.try_update(|m| m.apply(event));
        if applied == Some(Applied::Gap) {
            // Ask for a snapshot: an unknown instance id always gets one.
            live.model.update(|m| m.instance_id.clear());
            return Some((
                "missed changes; resynchronising".into(),
                Some(Duration::ZERO),
            ));
        }
    }
}

fn describe(status: &Status) -> String {
    match status.code() {
        Code::Unavailable if status.message().is_empty() => "the backend is unavailable".into(),
        Code::Unknown | Code::Unavailable | Code::Internal
            if status.message().contains("fetch") =>
        {
            "cannot reach the backend".into()
        }
        _ => status.message().to_string(),
    }
}

/// Asks the server to revalidate its repositories (and, with `clear`, to drop its
/// cached repository files), then reopens this page's stream for a fresh snapshot; if
/// the server cannot be reached, the stream is retried at once all the same.
pub fn refresh(retry_now: mpsc::UnboundedSender<()>, clear: bool) {
    leptos::task::spawn_local(async move {
        let request = pb::RefreshRequest {
            clear_repository_cache: clear,
        };
        let _ = crate::rpc::refresh(request).await;
        let _ = retry_now.unbounded_send(());
    });
}
