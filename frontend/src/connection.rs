//! The page's one long-lived stream: connect, apply events, and on any failure retry
//! with exponential backoff and full jitter (honouring the server's RetryInfo), with a
//! countdown the page shows and a "retry now" that cuts it short.
//!
//! Resume: the stream is reopened with the instance id and revision last applied, so a
//! reconnect to the same server replays only what was missed; a restarted server sends
//! a snapshot. A revision gap or a silent stream (no heartbeat) forces a resubscribe.

use crate::backoff::Backoff;
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

/// gRPC-web over fetch to the page's own origin.
pub fn transport() -> tonic_web_wasm_client::Client {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    tonic_web_wasm_client::Client::new(origin)
}

/// Starts the stream loop; send `()` on the returned channel to retry at once.
pub fn start(live: Live) -> mpsc::UnboundedSender<()> {
    let (tx, rx) = mpsc::unbounded();
    leptos::task::spawn_local(run(live, rx));
    tx
}

async fn run(live: Live, mut retry_now: mpsc::UnboundedReceiver<()>) {
    let mut backoff = Backoff::default();
    loop {
        let (reason, hint) = follow(live, &mut backoff).await;
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

fn retry_hint(status: &tonic::Status) -> Option<Duration> {
    crate::retry_info::from_details(status.details())
}

/// Follows one stream until it fails; returns why, and the server's retry hint.
async fn follow(live: Live, backoff: &mut Backoff) -> (String, Option<Duration>) {
    let request = live.model.with_untracked(|m| pb::WatchRequest {
        instance_id: m.instance_id.clone(),
        resume_from: if m.packages.is_some() { m.revision } else { 0 },
    });
    let mut stream = match crate::rpc::watch(request).await {
        Ok(s) => s,
        Err(status) => return (describe(&status), retry_hint(&status)),
    };
    loop {
        let next = select(Box::pin(stream.message()), TimeoutFuture::new(SILENCE_MS)).await;
        let message = match next {
            Either::Left((Ok(Some(m)), _)) => m,
            Either::Left((Ok(None), _)) => return ("the server ended the stream".into(), None),
            Either::Left((Err(status), _)) => return (describe(&status), retry_hint(&status)),
            Either::Right(_) => return ("no word from the server for 45 s".into(), None),
        };
        backoff.reset();
        live.last_message_ms.set(js_sys::Date::now());
        if live.connection.get_untracked() != Connection::Live {
            live.connection.set(Connection::Live);
        }
        let Some(event) = message.event else { continue };
        let applied = live.model.try_update(|m| m.apply(event));
        if applied == Some(Applied::Gap) {
            // Ask for a snapshot: an unknown instance id always gets one.
            live.model.update(|m| m.instance_id.clear());
            return (
                "missed changes; resynchronising".into(),
                Some(Duration::ZERO),
            );
        }
    }
}

fn describe(status: &tonic::Status) -> String {
    match status.code() {
        tonic::Code::Unavailable if status.message().is_empty() => {
            "the backend is unavailable".into()
        }
        tonic::Code::Unknown | tonic::Code::Unavailable | tonic::Code::Internal
            if status.message().contains("fetch") =>
        {
            "cannot reach the backend".into()
        }
        _ => status.message().to_string(),
    }
}

/// Asks the server for fresh snapshots on every stream (and, with `clear`, to drop its
/// cached repository files); if it cannot be reached, retries the stream at once instead.
pub fn refresh(retry_now: mpsc::UnboundedSender<()>, clear: bool) {
    leptos::task::spawn_local(async move {
        let request = pb::RefreshRequest {
            clear_repository_cache: clear,
        };
        if crate::rpc::refresh(request).await.is_err() {
            let _ = retry_now.unbounded_send(());
        }
    });
}
