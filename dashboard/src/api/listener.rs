//! The accept loop: every connection the dashboard takes, bounded in number and in how
//! long a client may take to send its request headers, and drained on shutdown.
//!
//! `axum::serve` builds its connections without a timer, and hyper then drops its own
//! header-read timeout: a client that sends one header line a second kept its
//! connection forever, and nothing capped how many such connections it could open
//! (slowloris). This loop serves the same router through hyper-util itself, as
//! mini-redis bounds its connections: a semaphore permit per connection.
//!
//! # Guarantees
//! - A connection whose request headers are not complete within
//!   [`Limits::header_read_timeout`] is closed (HTTP/1.1; HTTP/2 connections are kept
//!   honest by keep-alive pings that must be answered within the same time).
//! - At most [`Limits::max_connections`] connections are served at once. One more is
//!   answered `503 Service Unavailable` with `Retry-After: 1` and closed at once, so a
//!   client learns why instead of hanging; the slot of a connection that closes serves
//!   the next one.
//! - One HTTP/2 connection carries at most [`Limits::max_concurrent_streams`] streams
//!   at once (announced in its SETTINGS): a client that respects them queues the next
//!   one until a stream ends; one that does not has the extra stream reset
//!   (`REFUSED_STREAM`). gRPC-web over HTTP/1.1 carries one stream per connection, so
//!   there [`Limits::max_connections`] is the cap.
//! - On stop, no new connection is accepted; requests in flight finish (streams are
//!   ended by their own shutdown signal), then [`serve`] returns. The caller bounds the
//!   wait (see [`hoist_kube::runtime`]).
//!
//! # Caveats
//! - Refused connections are counted (`hoist_http_connections_refused_total`), not
//!   logged one by one: a flood must not become a flood of log lines.

use crate::metrics::Metrics;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// How much the listener lets one client take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time to send complete request headers (and to answer an HTTP/2 ping).
    pub header_read_timeout: Duration,
    /// Connections served at once; more are refused with 503.
    pub max_connections: usize,
    /// Streams (calls, `Watch` subscriptions) one HTTP/2 connection may have open at
    /// once ([`MAX_CONCURRENT_STREAMS`] by default).
    pub max_concurrent_streams: u32,
}

/// Streams per HTTP/2 connection: a dashboard tab needs one `Watch` and a few calls,
/// gRPC clients multiplex tens at most; 100 is what RFC 9113 recommends as the least a
/// server should allow, and below hyper's own default (200).
pub const MAX_CONCURRENT_STREAMS: u32 = 100;

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_concurrent_streams: MAX_CONCURRENT_STREAMS,
        }
    }
}

/// The answer a connection over the cap gets before it is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
content-type: text/plain\r\ncontent-length: 44\r\nconnection: close\r\n\r\n\
hoist: too many connections; retry shortly\r\n";

/// Serves `router` on `listener` until `stop` turns true, then drains the connections.
/// See the module doc for the guarantees.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // One `write` of a flattened buffer rather than a `writev` of the chunk's
        // three parts: a stream's change is a few hundred bytes, the copy is nothing
        // next to the syscall, and it measured cheaper per stream (decision 0041).
        .writev(false)
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(limits.header_read_timeout)
        .max_concurrent_streams(limits.max_concurrent_streams);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of file descriptors, most likely: let some close before the next
                // try instead of spinning on the error.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.connection_refused();
            tokio::spawn(refuse(stream, limits.header_read_timeout));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timed out, malformed): nothing to do.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Tells a connection over the cap why it is closed, without waiting on it for long.
async fn refuse(mut stream: tokio::net::TcpStream, within: Duration) {
    let _ = tokio::time::timeout(within, async {
        stream.write_all(OVER_CAPACITY).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_over_capacity_answer_declares_its_exact_body_length() {
        let text = std::str::from_utf8(OVER_CAPACITY).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let declared: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.parse().ok())
            .expect("content-length");
        assert_eq!(declared, body.len());
    }
}
