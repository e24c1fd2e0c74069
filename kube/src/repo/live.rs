//! The live catalogue: the merged catalogue kept current in the background and
//! published on a `watch` channel, so the dashboard streams repository state and
//! catalogue changes without a page asking for them.
//!
//! It is reloaded (through the fetch cache, so within the TTL this costs no request)
//! when the clientset swaps a client (a repository added, changed, removed, or its
//! credentials changed), when Refresh asks for it, and every `interval`, which also
//! retries repositories that failed. Subscribers only wake when something they can see
//! changed: a reload that finds the same packages and states publishes nothing.

use super::catalogue::{self, Catalogue};
use super::clientset::Clientset;
use super::fetch::Freshness;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The catalogue as last loaded; `None` until the first load finished.
pub type Current = Option<Arc<Catalogue>>;

/// Refreshes closer together than this are one refresh (see [`LiveCatalogue::refresh`]).
pub const REFRESH_COALESCE: Duration = Duration::from_secs(2);

pub struct LiveCatalogue {
    tx: watch::Sender<Current>,
    /// The clientset generation the current catalogue was loaded from.
    generation: watch::Sender<u64>,
    refresh: Notify,
    /// When the last refresh that went to the repositories was asked for.
    last_refresh: std::sync::Mutex<Option<std::time::Instant>>,
}

impl LiveCatalogue {
    /// Starts the reload loop on `tasks`; it stops when they are dropped or aborted.
    pub fn start(
        clientset: Arc<Clientset>,
        interval: Duration,
        tasks: &mut crate::runtime::Supervisor,
    ) -> Arc<Self> {
        let live = Arc::new(Self {
            tx: watch::channel(None).0,
            generation: watch::channel(0).0,
            refresh: Notify::new(),
            last_refresh: std::sync::Mutex::new(None),
        });
        tasks.spawn_watched(
            "the catalogue's reload loop",
            live.clone().run(clientset, interval),
        );
        live
    }

    pub fn subscribe(&self) -> watch::Receiver<Current> {
        self.tx.subscribe()
    }

    pub fn current(&self) -> Current {
        self.tx.borrow().clone()
    }

    /// The catalogue loaded from every repository the clientset holds now: waits for a
    /// reload in flight when a repository was just added or changed, so a lookup right
    /// after the watch saw a change never answers from the catalogue before it.
    pub async fn up_to_date(&self, clientset: &Clientset) -> Arc<Catalogue> {
        let wanted = clientset.generation();
        let mut rx = self.generation.subscribe();
        let _ = rx.wait_for(|g| *g >= wanted).await;
        self.current().unwrap_or_default()
    }

    /// Revalidates every repository now (the dashboard's Refresh), expiring the
    /// clientset's cached files first.
    ///
    /// # Guarantees
    /// Refreshes asked within [`REFRESH_COALESCE`] of one that went ahead are one
    /// refresh: a page (or a script) calling Refresh in a loop costs each repository at
    /// most one conditional request per window, and a refresh asked while a reload runs
    /// waits for it to end (the notification holds one permit). `force` (after a cache
    /// clear) always goes ahead. Returns whether this call started a refresh.
    pub fn refresh(&self, clientset: &Clientset, force: bool) -> bool {
        let now = std::time::Instant::now();
        if !force {
            let last = self.last_refresh.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| now.duration_since(t) < REFRESH_COALESCE) {
                return false;
            }
        }
        *self.last_refresh.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        clientset.expire_all();
        self.refresh.notify_one();
        true
    }

    async fn run(self: Arc<Self>, clientset: Arc<Clientset>, interval: Duration) {
        let mut changes = clientset.subscribe();
        let mut freshness = Freshness::Cached;
        loop {
            let generation = *changes.borrow_and_update();
            let loaded = catalogue::load(&clientset, freshness).await;
            self.tx.send_if_modified(|current| {
                let changed = current.as_deref().is_none_or(|c| !c.same_as(&loaded));
                if changed {
                    *current = Some(Arc::new(loaded));
                }
                changed
            });
            self.generation.send_replace(generation);
            freshness = tokio::select! {
                r = changes.changed() => {
                    if r.is_err() {
                        return;
                    }
                    Freshness::Cached
                }
                _ = self.refresh.notified() => Freshness::Revalidate,
                _ = tokio::time::sleep(interval) => Freshness::Cached,
            };
        }
    }
}
