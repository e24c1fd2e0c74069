//! The readiness gate: is every cache loaded, and how far along is each?
//!
//! A domain core with no Kubernetes types: the reflector adapters report what happens
//! ([`Gate::listing`], [`Gate::loaded`], [`Gate::synced`], [`Gate::event`],
//! [`Gate::error`]) and the gate derives the phase:
//!
//! - `CONNECTING` until any kind hears from the API server;
//! - `SYNCING` until every kind has finished its first list;
//! - `READY` from then on, except
//! - `DEGRADED` while some kind's watch keeps failing: at least [`DEGRADED_AFTER`]
//!   errors in a row, the last within [`DEGRADED_WINDOW`], and no event since.
//!
//! Guarantees: READY is never reported before every kind synced once; the phase only
//! goes back from READY to DEGRADED, never to SYNCING (a relist after a 410 keeps the
//! old data served). Subscribers ([`Gate::subscribe`]) always see the latest state;
//! intermediate states may be coalesced.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// Errors in a row before a kind counts as failing.
pub const DEGRADED_AFTER: u32 = 3;
/// How recent the last of those errors must be.
pub const DEGRADED_WINDOW: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Connecting,
    Syncing,
    Ready,
    Degraded,
}

/// What one kind's cache is doing.
#[derive(Debug, Clone)]
pub struct KindState {
    pub loaded: u64,
    /// Objects the API server reported at start; 0 when unknown.
    pub total: u64,
    pub pages: u32,
    /// Whether the first full list completed (stays true across relists).
    pub synced: bool,
    pub contacted: bool,
    pub started: Instant,
    /// How long the first sync took.
    pub sync_time: Option<Duration>,
    pub last_error: Option<String>,
    pub errors_in_a_row: u32,
    pub last_error_at: Option<Instant>,
    pub last_event_unix_ms: i64,
}

impl KindState {
    fn new(now: Instant) -> Self {
        Self {
            loaded: 0,
            total: 0,
            pages: 0,
            synced: false,
            contacted: false,
            started: now,
            sync_time: None,
            last_error: None,
            errors_in_a_row: 0,
            last_error_at: None,
            last_event_unix_ms: 0,
        }
    }

    fn failing(&self, now: Instant) -> bool {
        self.errors_in_a_row >= DEGRADED_AFTER
            && self
                .last_error_at
                .is_some_and(|t| now.duration_since(t) < DEGRADED_WINDOW)
    }
}

/// The gate's state as subscribers see it.
#[derive(Debug, Clone)]
pub struct Status {
    pub phase: Phase,
    pub phase_since_unix_ms: i64,
    pub kinds: BTreeMap<&'static str, KindState>,
    pub message: String,
}

/// The readiness gate. Cheap to share (`Arc`), updates never block.
#[derive(Debug)]
pub struct Gate {
    tx: watch::Sender<Status>,
    page_size: u32,
}

pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Gate {
    /// A gate over these kinds, all unsynced. `page_size` is the list page size the
    /// reflectors use (to count pages).
    pub fn new(kinds: &[&'static str], page_size: u32) -> Self {
        let now = Instant::now();
        let status = Status {
            phase: Phase::Connecting,
            phase_since_unix_ms: unix_ms(),
            kinds: kinds.iter().map(|k| (*k, KindState::new(now))).collect(),
            message: "connecting to the Kubernetes API server".into(),
        };
        Self {
            tx: watch::channel(status).0,
            page_size: page_size.max(1),
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.tx.subscribe()
    }

    pub fn status(&self) -> Status {
        self.tx.borrow().clone()
    }

    pub fn phase(&self) -> Phase {
        self.tx.borrow().phase
    }

    /// READY or DEGRADED: the caches hold a full copy and may be served.
    /// Whether `kind` finished its first list.
    pub fn is_synced(&self, kind: &str) -> bool {
        self.tx.borrow().kinds.get(kind).is_some_and(|k| k.synced)
    }

    pub fn is_serving(&self) -> bool {
        matches!(self.phase(), Phase::Ready | Phase::Degraded)
    }

    fn update(&self, kind: &str, f: impl FnOnce(&mut KindState) -> bool) {
        self.tx.send_if_modified(|s| {
            let Some(k) = s.kinds.get_mut(kind) else {
                return false;
            };
            // Only a visible change can move the phase; skipping the rest keeps a
            // 10k-object list from recomputing 10k times.
            f(k) && {
                recompute(s, Instant::now());
                true
            }
        });
    }

    /// The API server counted `total` objects of `kind`.
    pub fn total(&self, kind: &str, total: u64) {
        self.update(kind, |k| {
            k.total = total;
            k.contacted = true;
            true
        });
    }

    /// A (re)list of `kind` began.
    pub fn listing(&self, kind: &str) {
        self.update(kind, |k| {
            k.contacted = true;
            k.loaded = 0;
            k.pages = 0;
            k.errors_in_a_row = 0;
            true
        });
    }

    /// One object of `kind` arrived during a list. Publishes at page boundaries only,
    /// so a 10k-object list wakes subscribers 20 times, not 10,000.
    pub fn loaded(&self, kind: &str) {
        let page_size = u64::from(self.page_size);
        self.update(kind, |k| {
            k.loaded += 1;
            k.pages = k.loaded.div_ceil(page_size) as u32;
            k.loaded % page_size == 1 || k.loaded == k.total
        });
    }

    /// The list of `kind` completed.
    pub fn synced(&self, kind: &str) {
        self.update(kind, |k| {
            if !k.synced {
                k.sync_time = Some(k.started.elapsed());
            }
            k.synced = true;
            k.total = k.total.max(k.loaded);
            k.errors_in_a_row = 0;
            k.last_event_unix_ms = unix_ms();
            true
        });
    }

    /// A watch event for `kind` arrived: the watch works.
    pub fn event(&self, kind: &str) {
        self.update(kind, |k| {
            k.last_event_unix_ms = unix_ms();
            let was_failing = k.errors_in_a_row > 0;
            k.errors_in_a_row = 0;
            was_failing
        });
    }

    /// The watch or list of `kind` failed.
    pub fn error(&self, kind: &str, error: String) {
        self.update(kind, |k| {
            k.errors_in_a_row += 1;
            k.last_error = Some(error);
            k.last_error_at = Some(Instant::now());
            true
        });
    }

    /// `kind` may not be read (an optional kind, forbidden): it counts as synced and
    /// empty, `why` is shown as its error, and it never makes the phase DEGRADED.
    pub fn unavailable(&self, kind: &str, why: String) {
        self.update(kind, |k| {
            k.contacted = true;
            if !k.synced {
                k.sync_time = Some(k.started.elapsed());
            }
            k.synced = true;
            k.errors_in_a_row = 0;
            k.last_error = Some(why);
            k.last_error_at = Some(Instant::now());
            true
        });
    }

    /// Like [`Gate::error`], for an error the API server answered with (403, 404, …):
    /// the server is reachable, so the phase is past CONNECTING.
    pub fn refused(&self, kind: &str, error: String) {
        self.update(kind, |k| {
            k.contacted = true;
            true
        });
        self.error(kind, error);
    }

    /// Re-evaluates time-based state (a failing kind whose errors have aged out).
    pub fn tick(&self) {
        self.tx.send_if_modified(|s| recompute(s, Instant::now()));
    }
}

/// Derives the phase; returns whether it changed.
fn recompute(s: &mut Status, now: Instant) -> bool {
    let all_synced = s.kinds.values().all(|k| k.synced);
    let failing = s.kinds.iter().find(|(_, k)| k.failing(now));
    let (phase, message) = if all_synced {
        match failing {
            Some((name, k)) => (
                Phase::Degraded,
                format!(
                    "watching {name} keeps failing ({} errors in a row): {}",
                    k.errors_in_a_row,
                    k.last_error.as_deref().unwrap_or("")
                ),
            ),
            None => (Phase::Ready, "all caches synced".to_string()),
        }
    } else if s.phase >= Phase::Ready {
        // Never back to SYNCING: a relist keeps serving the old data.
        (s.phase, s.message.clone())
    } else if s.kinds.values().any(|k| k.contacted || k.synced) {
        let waiting: Vec<&str> = s
            .kinds
            .iter()
            .filter(|(_, k)| !k.synced)
            .map(|(n, _)| *n)
            .collect();
        (Phase::Syncing, format!("loading {}", waiting.join(", ")))
    } else {
        let err = s.kinds.values().find_map(|k| k.last_error.clone());
        (
            Phase::Connecting,
            err.map_or_else(
                || "connecting to the Kubernetes API server".into(),
                |e| format!("cannot reach the Kubernetes API server: {e}"),
            ),
        )
    };
    let changed = phase != s.phase || message != s.message;
    if phase != s.phase {
        s.phase_since_unix_ms = unix_ms();
    }
    s.phase = phase;
    s.message = message;
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_after_every_kind_synced() {
        let g = Gate::new(&["a", "b"], 2);
        assert_eq!(g.phase(), Phase::Connecting);
        g.total("a", 3);
        assert_eq!(g.phase(), Phase::Syncing);
        g.listing("a");
        for _ in 0..3 {
            g.loaded("a");
        }
        assert_eq!(g.status().kinds["a"].pages, 2);
        g.synced("a");
        assert_eq!(g.phase(), Phase::Syncing, "b has not synced");
        g.listing("b");
        g.synced("b");
        assert_eq!(g.phase(), Phase::Ready);
    }

    #[test]
    fn repeated_watch_errors_degrade_and_an_event_recovers() {
        let g = Gate::new(&["a"], 10);
        g.listing("a");
        g.synced("a");
        g.error("a", "boom".into());
        g.error("a", "boom".into());
        assert_eq!(g.phase(), Phase::Ready, "two errors are a blip");
        g.error("a", "boom".into());
        assert_eq!(g.phase(), Phase::Degraded);
        assert!(g.status().message.contains("boom"));
        g.event("a");
        assert_eq!(g.phase(), Phase::Ready);
    }

    #[test]
    fn a_relist_after_ready_never_goes_back_to_syncing() {
        let g = Gate::new(&["a"], 10);
        g.listing("a");
        g.synced("a");
        g.listing("a");
        assert_eq!(g.phase(), Phase::Ready);
    }

    #[test]
    fn errors_before_contact_stay_connecting_and_say_why() {
        let g = Gate::new(&["a"], 10);
        g.error("a", "connection refused".into());
        assert_eq!(g.phase(), Phase::Connecting);
        assert!(g.status().message.contains("connection refused"));
    }

    #[test]
    fn an_unavailable_kind_counts_as_synced_and_never_degrades() {
        let g = Gate::new(&["a", "b"], 10);
        g.listing("a");
        g.synced("a");
        for _ in 0..(DEGRADED_AFTER + 2) {
            g.unavailable("b", "forbidden".into());
        }
        assert_eq!(g.phase(), Phase::Ready);
        assert_eq!(
            g.status().kinds["b"].last_error.as_deref(),
            Some("forbidden")
        );
    }

    #[test]
    fn an_error_the_server_answered_with_is_contact() {
        let g = Gate::new(&["a", "b"], 10);
        g.refused("a", "404: not installed".into());
        assert_eq!(g.phase(), Phase::Syncing, "the server is reachable");
        assert_eq!(
            g.status().kinds["a"].last_error.as_deref(),
            Some("404: not installed")
        );
    }
}
