//! WATCH: newline-delimited JSON events over a chunked body.
//!
//! Guarantees:
//! - from a resourceVersion: every later event of the kind, in order, then live ones;
//!   no event is sent twice and none is skipped;
//! - from "now" (no resourceVersion, `0`, or `sendInitialEvents=true`): ADDED for every
//!   current object, then (streaming lists) a BOOKMARK annotated
//!   `k8s.io/initial-events-end`, then live events;
//! - a resourceVersion older than the history window gets 410 Expired *inside* the stream
//!   (an ERROR event), as the apiserver does; kube-rs then relists;
//! - with selectors, a MODIFIED that leaves the selection is sent as DELETED and one that
//!   enters it as ADDED;
//! - a watcher that falls more than the channel's buffer behind gets 410 and is ended;
//! - the stream ends cleanly at `timeoutSeconds` and at server shutdown;
//! - asked for `PartialObjectMetadata`, every object (bookmarks too) is its metadata
//!   only (see [`crate::partial`]).

use super::Ctx;
use super::list::selectors;
use crate::error::ApiError;
use crate::faults::{FaultAction, WatchEnding};
use crate::resources::ResourceType;
use crate::selector::Selectors;
use crate::store::{Change, EventType, Signal, WatchFrom, watch_line};
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

type Chunk = Result<Bytes, std::io::Error>;

/// What one watch request asked for.
struct Spec {
    rt: ResourceType,
    ns: Option<String>,
    selectors: Selectors,
    bookmarks: bool,
    initial_events_end: bool,
    timeout: Duration,
    end: Option<(usize, WatchEnding)>,
    stall: Option<(usize, Duration)>,
    /// Each event's object as a Table of one row (`kubectl get -w`).
    table: Option<crate::table::Printer>,
    /// Each event's object as `PartialObjectMetadata` (`watch_metadata`).
    partial: Option<crate::partial::Partial>,
}

pub fn handle(
    ctx: &Ctx<'_>,
    ns: Option<&str>,
    faults: Vec<FaultAction>,
) -> Result<Response, ApiError> {
    let q = ctx.query;
    let flag = |k: &str| q.get(k).is_some_and(|v| v == "true" || v == "1");
    let send_initial = flag("sendInitialEvents");
    let rv = q.get("resourceVersion").map(String::as_str).unwrap_or("");
    if send_initial
        && q.get("resourceVersionMatch")
            .is_none_or(|m| m != "NotOlderThan")
    {
        return Err(ApiError::invalid(
            "watch",
            "",
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    let from = if send_initial || rv.is_empty() || rv == "0" {
        WatchFrom::Current
    } else {
        WatchFrom::Version(
            rv.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        )
    };
    let timeout = match q.get("timeoutSeconds").filter(|t| !t.is_empty()) {
        Some(t) => Duration::from_secs(
            t.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds {t:?}")))?,
        ),
        None => ctx.app.settings.default_watch_timeout,
    };
    let mut spec = Spec {
        rt: ctx.rt.clone(),
        ns: ns.map(str::to_string),
        selectors: selectors(q, ctx.rt)?,
        bookmarks: flag("allowWatchBookmarks"),
        initial_events_end: send_initial,
        timeout,
        end: None,
        stall: None,
        table: ctx.table.cloned(),
        partial: ctx.partial,
    };
    for f in faults {
        match f {
            FaultAction::WatchEnd { after_events, how } => spec.end = Some((after_events, how)),
            FaultAction::WatchStall {
                after_events,
                millis,
            } => spec.stall = Some((after_events, Duration::from_millis(millis))),
            FaultAction::SuppressBookmarks => spec.bookmarks = false,
            FaultAction::SuppressInitialEventsEnd => spec.initial_events_end = false,
            _ => {}
        }
    }
    let (tx, rx) = mpsc::channel::<Chunk>(256);
    let subscription = ctx.app.store.lock().watch(ctx.rt, from);
    let shutdown = ctx.app.shutdown.clone();
    tokio::spawn(async move {
        let mut w = Writer { tx, sent: 0, spec };
        match subscription {
            Err(expired) => {
                let _ =
                    w.tx.send(Ok(watch_line("ERROR", &expired.to_status())))
                        .await;
            }
            Ok(sub) => {
                let _ = w.run(sub, shutdown).await;
            }
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// Why a watch stream stopped early; only used to unwind.
struct Stop;

struct Writer {
    tx: mpsc::Sender<Chunk>,
    sent: usize,
    spec: Spec,
}

impl Writer {
    async fn run(
        &mut self,
        sub: crate::store::Subscription,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let deadline = tokio::time::sleep(self.spec.timeout);
        tokio::pin!(deadline);
        self.check_faults().await?;
        for obj in &sub.initial {
            if self.wanted(obj) {
                let line = self.line("ADDED", obj);
                self.event(line).await?;
            }
        }
        if self.spec.initial_events_end {
            let mut bookmark = self.bookmark(sub.rv);
            bookmark["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            self.send(watch_line("BOOKMARK", &bookmark)).await?;
        }
        for change in &sub.replay {
            self.change(change).await?;
        }
        let mut rx = sub.rx;
        loop {
            tokio::select! {
                _ = &mut deadline => return Ok(()),
                _ = shutdown.changed() => return Ok(()),
                signal = rx.recv() => match signal {
                    Ok(Signal::Change(c)) if c.rv > sub.rv => self.change(&c).await?,
                    Ok(Signal::Change(_)) => {}
                    Ok(Signal::Progress(rv)) if self.spec.bookmarks && rv >= sub.rv => {
                        let b = self.bookmark(rv);
                        self.send(watch_line("BOOKMARK", &b)).await?;
                    }
                    Ok(Signal::Progress(_)) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let e = ApiError::expired(format!("watch of {} fell {n} events behind; start a new watch", self.spec.rt.plural));
                        return self.send(watch_line("ERROR", &e.to_status())).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                }
            }
        }
    }

    fn bookmark(&self, rv: u64) -> Value {
        if let Some(partial) = &self.spec.partial {
            return partial.bookmark(rv);
        }
        json!({"kind": self.spec.rt.kind, "apiVersion": self.spec.rt.api_version(), "metadata": {"resourceVersion": rv.to_string()}})
    }

    fn wanted(&self, obj: &Value) -> bool {
        self.spec
            .ns
            .as_deref()
            .is_none_or(|ns| crate::meta::namespace(obj) == ns)
            && self.spec.selectors.matches(obj)
    }

    /// Sends a change as this watch sees it (selector transitions, served version).
    async fn change(&mut self, c: &Change) -> Result<(), Stop> {
        let now = self.wanted(&c.object);
        let before = c.previous.as_deref().is_some_and(|p| self.wanted(p));
        let event = match (c.event, before, now) {
            (EventType::Added, _, true) => EventType::Added,
            (EventType::Modified, true, true) => EventType::Modified,
            (EventType::Modified, false, true) => EventType::Added,
            (EventType::Modified, true, false) => EventType::Deleted,
            (EventType::Deleted, b, n) if b || n => EventType::Deleted,
            _ => return Ok(()),
        };
        let same_version = c.object.get("apiVersion").and_then(Value::as_str)
            == Some(self.spec.rt.api_version().as_str());
        let as_stored = self.spec.table.is_none() && self.spec.partial.is_none();
        let line = if event == c.event && same_version && as_stored {
            c.line.clone()
        } else {
            self.line(event.as_str(), &c.object)
        };
        self.event(line).await
    }

    /// The watch line of `obj` in the served version: the object, its Table row, or
    /// its metadata.
    fn line(&self, event: &str, obj: &Value) -> Bytes {
        if let Some(partial) = &self.spec.partial {
            return watch_line(event, &partial.object(obj));
        }
        let rendered = crate::events::render(&self.spec.rt, obj);
        match &self.spec.table {
            Some(printer) => {
                let rv = rendered.pointer("/metadata/resourceVersion").cloned();
                let table = printer.table([&rendered], json!({ "resourceVersion": rv }));
                watch_line(event, &table)
            }
            None => watch_line(event, &rendered),
        }
    }

    async fn event(&mut self, line: Bytes) -> Result<(), Stop> {
        if let Some((after, WatchEnding::HalfLine)) = self.spec.end
            && self.sent >= after
        {
            let _ = self.tx.send(Ok(line.slice(..line.len() / 2))).await;
            return self.cut().await;
        }
        self.send(line).await?;
        self.sent += 1;
        self.check_faults().await
    }

    async fn check_faults(&mut self) -> Result<(), Stop> {
        if let Some((after, how)) = self.spec.end
            && self.sent >= after
        {
            return match how {
                WatchEnding::Clean => Err(Stop),
                WatchEnding::Abrupt => self.cut().await,
                WatchEnding::HalfLine => Ok(()),
            };
        }
        if let Some((after, pause)) = self.spec.stall
            && self.sent >= after
        {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.tx.closed() => {}
            }
            return self.cut().await;
        }
        Ok(())
    }

    /// Ends the response with an error: hyper drops the connection mid-body.
    async fn cut(&mut self) -> Result<(), Stop> {
        let _ = self
            .tx
            .send(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "injected fault",
            )))
            .await;
        Err(Stop)
    }

    async fn send(&mut self, chunk: Bytes) -> Result<(), Stop> {
        self.tx.send(Ok(chunk)).await.map_err(|_| Stop)
    }
}
