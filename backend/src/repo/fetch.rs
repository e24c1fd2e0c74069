//! Fetching repository files over HTTP, with a cache that is correct first and fast
//! second.
//!
//! Guarantees:
//! - **single flight**: concurrent requests for one URL make one HTTP request; the
//!   others wait for it and share its answer;
//! - **TTL with revalidation**: within the TTL no request is made; after it, one
//!   conditional request (`If-None-Match` / `If-Modified-Since`), and a 304 renews the
//!   cached value without a body;
//! - **errors are never cached as data**: a failed or unparsable answer leaves the last
//!   good value in place, served with the error attached ([`Fetched::stale`]), so one
//!   bad refresh never empties a listing;
//! - **bounded**: bodies over `max_body` bytes, connect and total timeouts and redirect
//!   chains over 5 are errors that say which.
//!
//! Values are cached parsed (validated before they replace anything), per URL.

use super::format::{self, FormatError};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Credentials for a repository, resolved by the caller (from Secrets or the spec).
/// `Debug` never prints a password or token.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    #[default]
    None,
    Basic {
        username: String,
        password: String,
    },
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

#[cfg(test)]
mod auth_tests {
    use super::Auth;

    #[test]
    fn debug_output_never_shows_a_secret() {
        let basic = Auth::Basic {
            username: "robot".into(),
            password: "hunter2".into(),
        };
        let text = format!("{basic:?} {:?}", Auth::Bearer("s3cret-token".into()));
        assert!(text.contains("robot"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret-token"),
            "{text}"
        );
    }
}

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub ttl: Duration,
    pub max_body: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Keep fetched files here too, so a restart serves them without refetching.
    pub disk: Option<std::path::PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_body: 4 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            disk: None,
        }
    }
}

/// Why a fetch failed. Each names the URL and what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{url} answered HTTP {code}")]
    Status { url: String, code: u16 },
    #[error("{url} is larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: usize },
    #[error("{url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(transparent)]
    Malformed(#[from] FormatError),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{url:?} is not a usable repository URL: {reason}")]
    InvalidUrl { url: String, reason: String },
}

impl FetchError {
    /// A stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Status { .. } => "status",
            Self::TooLarge { .. } => "too_large",
            Self::Timeout { .. } => "timeout",
            Self::Unreachable { .. } => "unreachable",
            Self::Malformed(_) => "malformed",
            Self::Client(_) => "client",
            Self::InvalidUrl { .. } => "invalid_url",
        }
    }
}

/// Whether a lookup may be answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Freshness {
    /// From the cache within the TTL; revalidated after it.
    #[default]
    Cached,
    /// Always ask the server (conditionally, when something is cached): Refresh, `--no-cache`.
    Revalidate,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cache,
    /// The on-disk cache, after a restart, within the TTL.
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

struct Cached {
    /// The fetcher's generation when this was last validated; older means expired.
    generation: u64,
    value: Arc<dyn Any + Send + Sync>,
    etag: Option<String>,
    last_modified: Option<String>,
    fetched_at: Instant,
    validated_at: Instant,
    /// The body as fetched, kept only with an on-disk cache (to rewrite it on a 304).
    raw: Option<bytes::Bytes>,
    /// Loaded from disk and not yet confirmed by the server.
    from_disk: bool,
}

/// One file of the on-disk cache.
#[derive(serde::Serialize, serde::Deserialize)]
struct DiskEntry {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    fetched_unix_ms: u64,
    validated_unix_ms: u64,
    body: String,
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The folder Hoist owns inside the on-disk cache directory a user names: everything
/// Hoist writes goes there, so a directory shared with other files (`.`, `~/.config`)
/// is never cleared wholesale. Versioned, so a change of the file format starts afresh.
pub const DISK_FOLDER: &str = "hoist-repository-cache-v1";

/// Where the files of an on-disk cache under `dir` live.
pub fn disk_dir(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join(DISK_FOLDER)
}

/// Removes the files this module wrote in the on-disk cache under `dir` (names
/// [`disk_name`] makes, and their temporary files), and nothing else: a foreign file,
/// even a `*.json` one, survives. Returns how many were removed; a missing dir is empty.
pub fn clear_disk(dir: &std::path::Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(disk_dir(dir)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if entry.file_type()?.is_file() && name.to_str().is_some_and(is_disk_name) {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether `name` is one [`disk_name`] made (or its temporary file).
fn is_disk_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".json")
        .or_else(|| name.strip_suffix(".tmp"))
    else {
        return false;
    };
    stem.rsplit_once('-').is_some_and(|(readable, hash)| {
        !readable.is_empty()
            && hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A file name for `url`: readable, bounded, and unique (FNV-1a of the whole URL).
fn disk_name(url: &str) -> String {
    let readable: String = url
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{readable}-{hash:016x}.json")
}

fn instant_ago(unix_then_ms: u64) -> Instant {
    let now = Instant::now();
    now.checked_sub(Duration::from_millis(
        unix_ms().saturating_sub(unix_then_ms),
    ))
    .unwrap_or(now)
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// The HTTP client fetchers use: timeouts from `opts`, at most 5 redirects.
fn http_client(opts: &FetchOptions) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Client(e.to_string()))
}

/// One HTTP client shared by fetchers (connections and TLS set-up are shared), built
/// on the first request.
///
/// Building a client loads the TLS roots, ~2.5 ms of CPU: done at start it delayed
/// `hoist serve`'s first sync by as much (measured in `cargo xtask bench`). Built on
/// first use, on a blocking thread, it costs the first fetch that and nothing else;
/// handles are cheap to clone, so a repository swap on a reflector's event loop builds
/// nothing.
#[derive(Clone)]
pub struct SharedHttp {
    opts: FetchOptions,
    /// Set once a build succeeded; a failed build is not kept, so the next request
    /// tries again instead of failing for the life of the process.
    client: Arc<tokio::sync::OnceCell<reqwest::Client>>,
}

impl SharedHttp {
    pub fn new(opts: &FetchOptions) -> Self {
        Self {
            opts: opts.clone(),
            client: Default::default(),
        }
    }

    /// Builds the client now if nobody has yet (the first fetch would otherwise).
    pub async fn prepare(&self) -> Result<(), FetchError> {
        self.get().await.map(|_| ())
    }

    /// The client, built now if this is the first request (or every one before failed).
    async fn get(&self) -> Result<&reqwest::Client, FetchError> {
        self.client
            .get_or_try_init(|| {
                let opts = self.opts.clone();
                async move {
                    tokio::task::spawn_blocking(move || http_client(&opts))
                        .await
                        .unwrap_or_else(|e| Err(FetchError::Client(e.to_string())))
                }
            })
            .await
    }
}

/// A caching fetcher for one repository's files.
pub struct Fetcher {
    http: SharedHttp,
    opts: FetchOptions,
    auth: Auth,
    slots: Mutex<HashMap<String, Slot>>,
    generation: std::sync::atomic::AtomicU64,
    /// Bumped by [`Fetcher::clear`]: a fetch that began before a clear does not write
    /// its answer to disk after it.
    cleared: std::sync::atomic::AtomicU64,
}

enum Answer {
    NotModified,
    Body {
        bytes: bytes::Bytes,
        etag: Option<String>,
        last_modified: Option<String>,
    },
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
        Self {
            http,
            opts,
            auth,
            slots: Mutex::new(HashMap::new()),
            generation: Default::default(),
            cleared: Default::default(),
        }
    }

    fn slot(&self, url: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(url.to_string()).or_default().clone()
    }

    /// Marks every cached value expired: the next lookup of each revalidates (a 304
    /// keeps it), and the values stay available if the server cannot be reached.
    pub fn expire(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn current_generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Drops every cached value: the next lookups go to the server. Waits for fetches
    /// in flight, so that when it returns none of them will still write to disk (the
    /// caller can then clear the disk cache and know it stays cleared).
    pub async fn clear(&self) {
        self.cleared
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slots: Vec<Slot> =
            std::mem::take(&mut *self.slots.lock().unwrap_or_else(|p| p.into_inner()))
                .into_values()
                .collect();
        for slot in slots {
            *slot.lock().await = None;
        }
    }

    /// Fetches and parses `url` (named `file` in errors), through the cache.
    pub async fn get<T>(
        &self,
        url: &str,
        file: &str,
        freshness: Freshness,
    ) -> Result<Fetched<T>, FetchError>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        let epoch = self.cleared.load(std::sync::atomic::Ordering::Relaxed);
        let slot = self.slot(url);
        // Holding the slot's lock across the request is the single flight: concurrent
        // callers wait here and then find the fresh value.
        let mut cached = slot.lock().await;
        if cached.is_none() {
            *cached = self.load_disk::<T>(url, file).await;
        }
        if let Some(c) = cached.as_ref()
            && freshness == Freshness::Cached
            && c.validated_at.elapsed() < self.opts.ttl
            && c.generation == self.current_generation()
            && let Ok(value) = c.value.clone().downcast::<T>()
        {
            return Ok(Fetched {
                value,
                source: if c.from_disk {
                    Source::Disk
                } else {
                    Source::Cache
                },
                age: c.fetched_at.elapsed(),
                stale: None,
            });
        }
        let conditional = cached
            .as_ref()
            .map(|c| (c.etag.clone(), c.last_modified.clone()));
        let outcome = match self.request(url, conditional).await {
            Ok(Answer::NotModified) => match cached.as_mut() {
                Some(c) => {
                    c.validated_at = Instant::now();
                    c.generation = self.current_generation();
                    c.from_disk = false;
                    if let Some(raw) = c.raw.clone() {
                        let fetched =
                            unix_ms().saturating_sub(c.fetched_at.elapsed().as_millis() as u64);
                        let (etag, modified) = (c.etag.clone(), c.last_modified.clone());
                        self.save_disk(epoch, url, &raw, etag, modified, fetched)
                            .await;
                    }
                    c.value
                        .clone()
                        .downcast::<T>()
                        .map(|v| (v, Source::Revalidated))
                        .map_err(|_| FetchError::Status {
                            url: url.into(),
                            code: 304,
                        })
                }
                None => Err(FetchError::Status {
                    url: url.into(),
                    code: 304,
                }),
            },
            Ok(Answer::Body {
                bytes,
                etag,
                last_modified,
            }) => match format::parse::<T>(file, &bytes) {
                Ok(parsed) => {
                    let value = Arc::new(parsed);
                    let now = Instant::now();
                    let raw = self.opts.disk.is_some().then(|| bytes.clone());
                    if raw.is_some() {
                        let (e, m) = (etag.clone(), last_modified.clone());
                        self.save_disk(epoch, url, &bytes, e, m, unix_ms()).await;
                    }
                    *cached = Some(Cached {
                        generation: self.current_generation(),
                        value: value.clone(),
                        etag,
                        last_modified,
                        fetched_at: now,
                        validated_at: now,
                        raw,
                        from_disk: false,
                    });
                    Ok((value, Source::Network))
                }
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok((value, source)) => {
                let age = cached
                    .as_ref()
                    .map(|c| c.fetched_at.elapsed())
                    .unwrap_or_default();
                Ok(Fetched {
                    value,
                    source,
                    age,
                    stale: None,
                })
            }
            Err(e) => match cached.as_ref().and_then(|c| {
                c.value
                    .clone()
                    .downcast::<T>()
                    .ok()
                    .map(|v| (v, c.fetched_at))
            }) {
                Some((value, fetched_at)) => Ok(Fetched {
                    value,
                    source: Source::Cache,
                    age: fetched_at.elapsed(),
                    stale: Some(e),
                }),
                None => Err(e),
            },
        }
    }

    /// The on-disk copy of `url`, parsed, if there is a readable one.
    async fn load_disk<T>(&self, url: &str, file: &str) -> Option<Cached>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        let path = disk_dir(self.opts.disk.as_ref()?).join(disk_name(url));
        let text = tokio::fs::read(&path).await.ok()?;
        let entry: DiskEntry = serde_json::from_slice(&text)
            .ok()
            .filter(|e: &DiskEntry| e.url == url)?;
        let value: T = match format::parse(file, entry.body.as_bytes()) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable on-disk cache entry");
                return None;
            }
        };
        Some(Cached {
            generation: self.current_generation(),
            value: Arc::new(value),
            etag: entry.etag,
            last_modified: entry.last_modified,
            fetched_at: instant_ago(entry.fetched_unix_ms),
            validated_at: instant_ago(entry.validated_unix_ms),
            raw: Some(bytes::Bytes::from(entry.body.into_bytes())),
            from_disk: true,
        })
    }

    /// Writes `url`'s body to the on-disk cache, atomically; failures are logged, never
    /// fatal. Skipped when the cache was cleared since the fetch began (`epoch`), so a
    /// clear is never undone by an answer that was already on its way.
    async fn save_disk(
        &self,
        epoch: u64,
        url: &str,
        body: &[u8],
        etag: Option<String>,
        last_modified: Option<String>,
        fetched_unix_ms: u64,
    ) {
        let Some(dir) = self.opts.disk.as_deref().map(disk_dir) else {
            return;
        };
        if self.cleared.load(std::sync::atomic::Ordering::Relaxed) != epoch {
            return;
        }
        let Ok(body) = std::str::from_utf8(body) else {
            return;
        };
        let entry = DiskEntry {
            url: url.into(),
            etag,
            last_modified,
            fetched_unix_ms,
            validated_unix_ms: unix_ms(),
            body: body.into(),
        };
        let path = dir.join(disk_name(url));
        let tmp = path.with_extension("tmp");
        let write = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(
                &tmp,
                serde_json::to_vec(&entry).map_err(std::io::Error::other)?,
            )
            .await?;
            tokio::fs::rename(&tmp, &path).await
        };
        if let Err(e) = write.await {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the on-disk cache");
        }
    }

    async fn request(
        &self,
        url: &str,
        conditional: Option<(Option<String>, Option<String>)>,
    ) -> Result<Answer, FetchError> {
        let mut req = self.http.get().await?.get(url);
        req = match &self.auth {
            Auth::None => req,
            Auth::Basic { username, password } => req.basic_auth(username, Some(password)),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        if let Some((etag, last_modified)) = conditional {
            if let Some(e) = etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, e);
            }
            if let Some(l) = last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, l);
            }
        }
        let map_err = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Timeout {
                    url: url.into(),
                    secs: self.opts.timeout.as_secs(),
                }
            } else {
                FetchError::Unreachable {
                    url: url.into(),
                    reason: e.to_string(),
                }
            }
        };
        let mut resp = req.send().await.map_err(map_err)?;
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Answer::NotModified);
        }
        if !resp.status().is_success() {
            return Err(FetchError::Status {
                url: url.into(),
                code: resp.status().as_u16(),
            });
        }
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let (etag, last_modified) = (
            header(reqwest::header::ETAG),
            header(reqwest::header::LAST_MODIFIED),
        );
        let limit = self.opts.max_body;
        if resp.content_length().is_some_and(|n| n as usize > limit) {
            return Err(FetchError::TooLarge {
                url: url.into(),
                limit,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map_err)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge {
                    url: url.into(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer::Body {
            bytes: body.into(),
            etag,
            last_modified,
        })
    }
}

#[cfg(test)]
mod disk_tests {
    use super::*;

    #[test]
    fn only_names_this_module_makes_count_as_its_files() {
        let ours = disk_name("https://repo.example/index.yaml");
        assert!(is_disk_name(&ours), "{ours}");
        assert!(is_disk_name(&ours.replace(".json", ".tmp")));
        for foreign in [
            "settings.json",
            "package-lock.json",
            "x-0123456789abcdeg.json",
            "-0123456789abcdef.json",
            "x-0123456789abcdef.yaml",
        ] {
            assert!(!is_disk_name(foreign), "{foreign}");
        }
    }

    #[test]
    fn a_clear_removes_only_its_own_files_in_its_own_folder() {
        let dir = tempfile::tempdir().expect("dir");
        let ours = disk_dir(dir.path());
        std::fs::create_dir_all(&ours).expect("folder");
        std::fs::write(ours.join(disk_name("https://r.example/index.yaml")), "{}").expect("w");
        std::fs::write(ours.join("notes.json"), "{}").expect("w");
        std::fs::write(dir.path().join("settings.json"), "{}").expect("w");
        assert_eq!(clear_disk(dir.path()).expect("cleared"), 1);
        assert!(ours.join("notes.json").exists());
        assert!(dir.path().join("settings.json").exists());
        assert_eq!(clear_disk(&dir.path().join("missing")).expect("empty"), 0);
    }
}
