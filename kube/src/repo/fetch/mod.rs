//! Fetching repository files over HTTP, with a cache that is correct first and fast
//! second.
//!
//! # Guarantees
//! - **Single flight**: concurrent requests for one URL make one HTTP request; the
//!   others wait for it and share its answer.
//! - **Freshness as the repository says, else the TTL**: within an answer's lifetime no
//!   request is made; after it, one conditional request (`If-None-Match` /
//!   `If-Modified-Since`), and a 304 renews the cached value without a body. The
//!   lifetime is `Cache-Control: max-age` or `Expires` when the repository sends one
//!   (`no-cache`: revalidate every time; `no-store`: never kept), the configured TTL
//!   otherwise; a TTL of zero (`--no-repo-cache`) revalidates every lookup whatever the
//!   repository says.
//! - **Errors are never cached as data**: a failed or unparsable answer leaves the last
//!   good value in place, served with the error attached ([`Fetched::stale`]), so one
//!   bad refresh never empties a listing.
//! - **Bounded**: bodies over `max_body` bytes, connect and total timeouts, more than
//!   five redirects and a redirect from https to anything else are errors that say
//!   which; parsed values are kept within `max_memory` bytes per repository (weighed by
//!   their source size, least useful evicted first), so browsing every version of a
//!   large repository does not grow the process without end.
//!
//! Values are cached parsed (validated before they replace anything), per URL. The
//! parts: `http` (client, credentials, redirects, one request), `lifetime` (what the
//! repository's cache headers allow), `disk` (the cache that survives restarts),
//! `error`.

mod disk;
mod error;
mod http;
mod lifetime;

pub(crate) use disk::unix_ms;
pub use disk::{DISK_FOLDER, clear_disk, disk_dir};
pub use error::FetchError;
pub use http::{Auth, Destinations, SharedHttp};
pub use lifetime::Lifetime;

use super::format;
use http::{Answer, Validators};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// How long an answer is served without asking, when the repository does not say.
    pub ttl: Duration,
    pub max_body: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Keep fetched files here too (in [`DISK_FOLDER`]), so a restart serves them
    /// without refetching.
    pub disk: Option<std::path::PathBuf>,
    /// Bytes of parsed files kept in memory per repository (weighed by source size).
    pub max_memory: usize,
    /// Let manifests be fetched from private addresses of any host, not only of the
    /// repositories' own (`--allow-private-manifest-hosts`; see [`Destinations`]).
    pub allow_private_hosts: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_body: 4 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            disk: None,
            max_memory: 32 * 1024 * 1024,
            allow_private_hosts: false,
        }
    }
}

/// Whether a lookup may be answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Freshness {
    /// From the cache while fresh; revalidated after.
    #[default]
    Cached,
    /// Always ask the server (conditionally, when something is cached): Refresh,
    /// one-shot CLI commands.
    Revalidate,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cache,
    /// The on-disk cache, after a restart, while fresh.
    Disk,
    /// The server answered 304.
    Revalidated,
    Network,
}

/// A fetched, parsed value.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    pub value: Arc<T>,
    pub source: Source,
    /// How long ago the value was fetched from the server.
    pub age: Duration,
    /// Set when the server could not be asked or gave a bad answer, and the last good
    /// value is served instead.
    pub stale: Option<FetchError>,
}

/// One cached answer; replaced whole, never changed in place.
#[derive(Clone)]
struct Cached {
    /// The fetcher's generation when this was last validated; older means expired.
    generation: u64,
    value: Arc<dyn Any + Send + Sync>,
    validators: Validators,
    fetched_at: Instant,
    validated_at: Instant,
    /// What the repository allowed; `None`: the TTL.
    fresh_for: Option<Duration>,
    /// The body as fetched, kept only with an on-disk cache (to rewrite it on a 304).
    raw: Option<bytes::Bytes>,
    /// Loaded from disk and not yet confirmed by the server.
    from_disk: bool,
    /// What it counts against `max_memory`.
    weight: u32,
}

impl Cached {
    fn typed<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.value.clone().downcast::<T>().ok()
    }
}

/// A caching fetcher for one repository's files.
pub struct Fetcher {
    http: SharedHttp,
    opts: FetchOptions,
    auth: Auth,
    memory: moka::sync::Cache<String, Arc<Cached>>,
    /// One lock per URL being fetched: the single flight.
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    generation: AtomicU64,
    /// Bumped by [`Fetcher::clear`]: a fetch that began before a clear does not write
    /// its answer to disk after it.
    cleared: AtomicU64,
}

impl Fetcher {
    /// A fetcher with its own HTTP client.
    pub fn new(opts: FetchOptions, auth: Auth) -> Self {
        let http = SharedHttp::new(&opts);
        Self::with_client(opts, auth, http)
    }

    /// A fetcher over a shared HTTP client (made with the same options): building one
    /// costs nothing, so the clientset can swap one on the reflector's event loop.
    pub fn with_client(opts: FetchOptions, auth: Auth, http: SharedHttp) -> Self {
        let memory = moka::sync::Cache::builder()
            .weigher(|url: &String, c: &Arc<Cached>| {
                c.weight
                    .saturating_add(url.len().min(u32::MAX as usize) as u32)
            })
            .max_capacity(opts.max_memory as u64)
            .build();
        Self {
            http,
            opts,
            auth,
            memory,
            flights: Mutex::new(HashMap::new()),
            generation: Default::default(),
            cleared: Default::default(),
        }
    }

    /// Marks every cached value expired: the next lookup of each revalidates (a 304
    /// keeps it), and the values stay available if the server cannot be reached.
    pub fn expire(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    fn current_generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Drops every cached value: the next lookups go to the server. Waits for fetches
    /// in flight, so that when it returns none of them will still write to disk (the
    /// caller can then clear the disk cache and know it stays cleared).
    pub async fn clear(&self) {
        self.cleared.fetch_add(1, Ordering::Relaxed);
        self.memory.invalidate_all();
        let flights: Vec<_> = self.lock_flights().values().cloned().collect();
        for flight in flights {
            drop(flight.lock().await);
        }
        // A flight that ended while we waited may have stored its answer.
        self.memory.invalidate_all();
    }

    /// Parsed files held in memory now (for tests and metrics).
    pub fn cached_entries(&self) -> u64 {
        self.memory.run_pending_tasks();
        self.memory.entry_count()
    }

    /// Fetches and parses `url` (named `file` in errors), through the cache.
    pub async fn get<T>(
        &self,
        url: &str,
        file: &str,
        freshness: Freshness,
    ) -> Result<Fetched<T>, FetchError>
    where
        T: format::RepoFile + Send + Sync + 'static,
    {
        if let Some(hit) = self.fresh::<T>(url, freshness) {
            return Ok(hit);
        }
        let flight = self.flight(url);
        let result = {
            let _only_one = flight.lock().await;
            self.fetch::<T>(url, file, freshness).await
        };
        self.land(url, flight);
        result
    }

    /// The steps of one fetch, under the URL's flight lock.
    async fn fetch<T>(
        &self,
        url: &str,
        file: &str,
        freshness: Freshness,
    ) -> Result<Fetched<T>, FetchError>
    where
        T: format::RepoFile + Send + Sync + 'static,
    {
        // The flight before ours may have just answered.
        if let Some(hit) = self.fresh::<T>(url, freshness) {
            return Ok(hit);
        }
        let epoch = self.cleared.load(Ordering::Relaxed);
        let cached = match self.memory.get(url) {
            Some(c) => Some(c),
            None => self.load_disk::<T>(url, file).await,
        };
        if let Some(hit) = cached.as_ref().and_then(|c| self.serve_fresh(c, freshness)) {
            return Ok(hit);
        }
        let validators = cached.as_ref().map(|c| c.validators.clone());
        let answer = http::request(&self.http, &self.auth, &self.opts, url, validators).await;
        let outcome = match answer {
            Ok(Answer::NotModified { lifetime }) => {
                self.renew::<T>(epoch, url, cached.as_deref(), lifetime)
                    .await
            }
            Ok(Answer::Body {
                bytes,
                etag,
                last_modified,
                lifetime,
            }) => {
                let validators = Validators {
                    etag,
                    last_modified,
                };
                self.replace::<T>(epoch, url, file, bytes, validators, lifetime)
                    .await
            }
            Err(e) => Err(e),
        };
        outcome.or_else(|e| stale(cached.as_deref(), e))
    }

    /// The cached value of `url`, if it may be served without asking.
    fn fresh<T: Send + Sync + 'static>(
        &self,
        url: &str,
        freshness: Freshness,
    ) -> Option<Fetched<T>> {
        self.serve_fresh(&*self.memory.get(url)?, freshness)
    }

    fn serve_fresh<T: Send + Sync + 'static>(
        &self,
        c: &Cached,
        freshness: Freshness,
    ) -> Option<Fetched<T>> {
        let fresh_for = if self.opts.ttl.is_zero() {
            Duration::ZERO
        } else {
            c.fresh_for.unwrap_or(self.opts.ttl)
        };
        let fresh = freshness == Freshness::Cached
            && c.generation == self.current_generation()
            && c.validated_at.elapsed() < fresh_for;
        Some(Fetched {
            value: fresh.then(|| c.typed::<T>()).flatten()?,
            source: if c.from_disk {
                Source::Disk
            } else {
                Source::Cache
            },
            age: c.fetched_at.elapsed(),
            stale: None,
        })
    }

    /// A 304: the cached value is valid again for its new lifetime.
    async fn renew<T: Send + Sync + 'static>(
        &self,
        epoch: u64,
        url: &str,
        cached: Option<&Cached>,
        lifetime: Lifetime,
    ) -> Result<Fetched<T>, FetchError> {
        let not_modified = || FetchError::Status {
            url: hoist_core::repo::links::shown_url(url),
            code: 304,
        };
        let c = cached.ok_or_else(not_modified)?;
        let value = c.typed::<T>().ok_or_else(not_modified)?;
        let renewed = Cached {
            generation: self.current_generation(),
            validated_at: Instant::now(),
            fresh_for: fresh_for(lifetime),
            from_disk: false,
            ..c.clone()
        };
        self.keep(epoch, url, renewed, lifetime).await;
        Ok(Fetched {
            value,
            source: Source::Revalidated,
            age: c.fetched_at.elapsed(),
            stale: None,
        })
    }

    /// A new body: parsed first, and only then does it replace what was cached.
    async fn replace<T>(
        &self,
        epoch: u64,
        url: &str,
        file: &str,
        bytes: bytes::Bytes,
        validators: Validators,
        lifetime: Lifetime,
    ) -> Result<Fetched<T>, FetchError>
    where
        T: format::RepoFile + Send + Sync + 'static,
    {
        let value = Arc::new(T::parse(file, &bytes)?);
        let now = Instant::now();
        let raw = self.opts.disk.is_some().then(|| bytes.clone());
        let weight = weight(bytes.len(), raw.is_some());
        let cached = Cached {
            generation: self.current_generation(),
            value: value.clone(),
            validators,
            fetched_at: now,
            validated_at: now,
            fresh_for: fresh_for(lifetime),
            raw,
            from_disk: false,
            weight,
        };
        self.keep(epoch, url, cached, lifetime).await;
        Ok(Fetched {
            value,
            source: Source::Network,
            age: Duration::ZERO,
            stale: None,
        })
    }

    /// Keeps `c` in memory and on disk, unless the repository said `no-store` (then
    /// any copy of `url` is dropped) or the cache was cleared since the fetch began.
    async fn keep(&self, epoch: u64, url: &str, c: Cached, lifetime: Lifetime) {
        if lifetime == Lifetime::NoStore {
            self.memory.invalidate(url);
            if let Some(dir) = &self.opts.disk {
                disk::remove(dir, url).await;
            }
            return;
        }
        if self.cleared.load(Ordering::Relaxed) != epoch {
            return;
        }
        if let (Some(dir), Some(raw)) = (&self.opts.disk, &c.raw)
            && let Ok(body) = std::str::from_utf8(raw)
        {
            let entry = disk::DiskEntry {
                url: hoist_core::repo::links::shown_url(url),
                etag: c.validators.etag.clone(),
                last_modified: c.validators.last_modified.clone(),
                fetched_unix_ms: disk::unix_ms()
                    .saturating_sub(c.fetched_at.elapsed().as_millis() as u64),
                validated_unix_ms: disk::unix_ms(),
                body: body.into(),
            };
            disk::save(dir, &entry).await;
        }
        self.memory.insert(url.to_string(), Arc::new(c));
    }

    /// The on-disk copy of `url`, parsed and remembered, if there is a readable one.
    async fn load_disk<T>(&self, url: &str, file: &str) -> Option<Arc<Cached>>
    where
        T: format::RepoFile + Send + Sync + 'static,
    {
        let dir = self.opts.disk.as_ref()?;
        let entry = disk::load(dir, url).await?;
        let value: T = match T::parse(file, entry.body.as_bytes()) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(url, error = %e, "ignoring an unreadable on-disk cache entry");
                return None;
            }
        };
        let c = Arc::new(Cached {
            generation: self.current_generation(),
            value: Arc::new(value),
            validators: Validators {
                etag: entry.etag,
                last_modified: entry.last_modified,
            },
            fetched_at: disk::instant_ago(entry.fetched_unix_ms),
            validated_at: disk::instant_ago(entry.validated_unix_ms),
            fresh_for: None,
            weight: weight(entry.body.len(), true),
            raw: Some(bytes::Bytes::from(entry.body.into_bytes())),
            from_disk: true,
        });
        self.memory.insert(url.to_string(), c.clone());
        Some(c)
    }

    fn lock_flights(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.flights.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The flight lock for `url` (made if nobody is fetching it).
    fn flight(&self, url: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.lock_flights()
            .entry(url.to_string())
            .or_default()
            .clone()
    }

    /// Forgets `url`'s flight lock once nobody else holds or waits on it.
    fn land(&self, url: &str, flight: Arc<tokio::sync::Mutex<()>>) {
        let mut flights = self.lock_flights();
        // Ours and the map's: nobody is waiting.
        if Arc::strong_count(&flight) <= 2 {
            flights.remove(url);
        }
    }
}

/// What the repository's lifetime makes of `fresh_for` (`None`: the TTL).
fn fresh_for(lifetime: Lifetime) -> Option<Duration> {
    match lifetime {
        Lifetime::For(d) => Some(d),
        Lifetime::NoStore | Lifetime::Unspecified => None,
    }
}

/// A cached file's weight: its source size (the parsed value is a small multiple of
/// it), twice when the source is kept too (for the disk cache).
fn weight(source_len: usize, keeps_source: bool) -> u32 {
    let w = if keeps_source {
        source_len.saturating_mul(2)
    } else {
        source_len
    };
    w.min(u32::MAX as usize) as u32
}

/// The last good value with `error` attached, or the error when there is none.
fn stale<T: Send + Sync + 'static>(
    cached: Option<&Cached>,
    error: FetchError,
) -> Result<Fetched<T>, FetchError> {
    match cached.and_then(|c| Some((c.typed::<T>()?, c.fetched_at))) {
        Some((value, fetched_at)) => Ok(Fetched {
            value,
            source: Source::Cache,
            age: fetched_at.elapsed(),
            stale: Some(error),
        }),
        None => Err(error),
    }
}
