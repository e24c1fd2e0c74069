//! The HTTP side of fetching: the one shared client, credentials, which redirects are
//! followed, and one request with its size and time limits.

use super::FetchOptions;
use super::error::FetchError;
use super::lifetime::{self, Lifetime};
use std::sync::Arc;

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

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// Whether a redirect chain that began at `first` may go on to `next` after `hops`
/// redirects: at most [`MAX_REDIRECTS`], and never from `https` to anything else
/// (content fetched over TLS must not continue in clear text). Credentials are not at
/// risk either way: reqwest drops `Authorization` when the host, port or scheme changes.
fn may_follow(
    first: Option<&reqwest::Url>,
    next: &reqwest::Url,
    hops: usize,
) -> Result<(), String> {
    if hops > MAX_REDIRECTS {
        return Err(format!("more than {MAX_REDIRECTS} redirects"));
    }
    if first.is_some_and(|u| u.scheme() == "https") && next.scheme() != "https" {
        let to = hoist_core::repo::links::shown_url(next.as_str());
        return Err(format!("from https to {to}, which is not https"));
    }
    Ok(())
}

fn redirect_policy(destinations: Arc<Destinations>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let checked = may_follow(
            attempt.previous().first(),
            attempt.url(),
            attempt.previous().len(),
        )
        .and_then(|()| {
            // The first URL's host was the caller's to allow; another host is checked.
            let first_host = attempt.previous().first().and_then(|u| u.host_str());
            if first_host == attempt.url().host_str() {
                Ok(())
            } else {
                destinations.check_literal(attempt.url())
            }
        });
        match checked {
            Ok(()) => attempt.follow(),
            Err(why) => attempt.error(why),
        }
    })
}

/// The HTTP client fetchers use: timeouts from `opts`, the redirect policy above, and
/// a resolver that keeps names off private addresses ([`Destinations`]).
fn http_client(
    opts: &FetchOptions,
    destinations: Arc<Destinations>,
) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.timeout)
        .redirect(redirect_policy(destinations.clone()))
        .dns_resolver(destinations)
        .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Client(e.to_string()))
}

/// Which hosts may be reached at private addresses (loopback, link-local, private
/// ranges; see [`hoist_core::repo::destinations::is_private`]): those of the
/// configured repositories, which an administrator chose, and every host when Hoist
/// runs with `--allow-private-manifest-hosts`.
///
/// # Guarantees
/// - A name that is not a repository's host resolves only to public addresses: its
///   private ones are dropped before connecting, and a name with no public address is
///   an error that says so. Checked at connection time, so a name re-pointed after a
///   check (DNS rebinding) gains nothing.
/// - An address written into a URL (which no resolver sees) is checked by
///   [`Destinations::check_literal`] before a redirect is followed, and by the caller
///   before a manifest is fetched.
#[derive(Debug, Default)]
pub struct Destinations {
    allow_private: bool,
    repository_hosts: std::sync::RwLock<std::collections::BTreeSet<String>>,
}

impl Destinations {
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            ..Self::default()
        }
    }

    /// The configured repositories' hosts, replacing the previous set.
    pub fn set_repository_hosts(&self, hosts: impl IntoIterator<Item = String>) {
        let hosts = hosts
            .into_iter()
            .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
            .collect();
        *self
            .repository_hosts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = hosts;
    }

    /// Whether `host` (a name or an address) may be reached at a private address.
    pub fn may_be_private(&self, host: &str) -> bool {
        self.allow_private
            || self
                .repository_hosts
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&host.trim_matches(['[', ']']).to_ascii_lowercase())
    }

    /// `Err` when `url` is written with a private address of a host that may not be
    /// private.
    pub fn check_literal(&self, url: &reqwest::Url) -> Result<(), String> {
        use hoist_core::repo::destinations::{DestinationError, ip_literal, is_private};
        match ip_literal(url) {
            Some(ip) if is_private(ip) && !self.may_be_private(&ip.to_string()) => {
                Err(DestinationError::PrivateAddress {
                    host: ip.to_string(),
                }
                .to_string())
            }
            _ => Ok(()),
        }
    }
}

impl reqwest::dns::Resolve for Destinations {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let private_ok = self.may_be_private(&host);
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<std::net::SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| private_ok || !hoist_core::repo::destinations::is_private(a.ip()))
                .collect();
            if kept.is_empty() && !found.is_empty() {
                let refused = hoist_core::repo::destinations::DestinationError::PrivateAddress {
                    host: host.clone(),
                };
                return Err(refused.to_string().into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
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
    destinations: Arc<Destinations>,
    /// Set once a build succeeded; a failed build is not kept, so the next request
    /// tries again instead of failing for the life of the process.
    client: Arc<tokio::sync::OnceCell<reqwest::Client>>,
}

impl SharedHttp {
    pub fn new(opts: &FetchOptions) -> Self {
        Self {
            opts: opts.clone(),
            destinations: Arc::new(Destinations::new(opts.allow_private_hosts)),
            client: Default::default(),
        }
    }

    /// Where this client may connect (see [`Destinations`]).
    pub fn destinations(&self) -> &Arc<Destinations> {
        &self.destinations
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
                let destinations = self.destinations.clone();
                async move {
                    tokio::task::spawn_blocking(move || http_client(&opts, destinations))
                        .await
                        .unwrap_or_else(|e| Err(FetchError::Client(e.to_string())))
                }
            })
            .await
    }
}

/// What a repository answered.
pub enum Answer {
    NotModified {
        lifetime: Lifetime,
    },
    Body {
        bytes: bytes::Bytes,
        etag: Option<String>,
        last_modified: Option<String>,
        lifetime: Lifetime,
    },
}

/// The validators of a cached answer, for a conditional request.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// One GET of `url`, conditional when `validators` are given; the body read within
/// `opts.max_body` bytes and the whole within `opts.timeout`.
pub async fn request(
    http: &SharedHttp,
    auth: &Auth,
    opts: &FetchOptions,
    url: &str,
    validators: Option<Validators>,
) -> Result<Answer, FetchError> {
    // Errors name the URL without any user info it carries (it is sent, never shown).
    let shown = hoist_core::repo::links::shown_url(url);
    let mut req = http.get().await?.get(url);
    req = match auth {
        Auth::None => req,
        Auth::Basic { username, password } => req.basic_auth(username, Some(password)),
        Auth::Bearer(token) => req.bearer_auth(token),
    };
    if let Some(v) = validators {
        if let Some(e) = v.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(l) = v.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, l);
        }
    }
    let map_err = |e: reqwest::Error| {
        if e.is_timeout() {
            FetchError::Timeout {
                url: shown.clone(),
                secs: opts.timeout.as_secs(),
            }
        } else if e.is_redirect() {
            FetchError::Redirect {
                url: shown.clone(),
                reason: redirect_reason(&e),
            }
        } else {
            FetchError::Unreachable {
                url: shown.clone(),
                reason: e.without_url().to_string(),
            }
        }
    };
    let mut resp = req.send().await.map_err(map_err)?;
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let lifetime = lifetime::from_headers(
        header(reqwest::header::CACHE_CONTROL).as_deref(),
        header(reqwest::header::EXPIRES).as_deref(),
        header(reqwest::header::DATE).as_deref(),
        std::time::SystemTime::now(),
    );
    if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Answer::NotModified { lifetime });
    }
    if !resp.status().is_success() {
        return Err(FetchError::Status {
            url: shown.clone(),
            code: resp.status().as_u16(),
        });
    }
    let (etag, last_modified) = (
        header(reqwest::header::ETAG),
        header(reqwest::header::LAST_MODIFIED),
    );
    let limit = opts.max_body;
    if resp.content_length().is_some_and(|n| n as usize > limit) {
        return Err(FetchError::TooLarge {
            url: shown.clone(),
            limit,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(map_err)? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge {
                url: shown.clone(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer::Body {
        bytes: body.into(),
        etag,
        last_modified,
        lifetime,
    })
}

/// The policy's own words for a refused redirect (reqwest wraps them).
fn redirect_reason(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).expect("url")
    }

    #[test]
    fn a_redirect_never_leaves_https_and_chains_end_after_five() {
        let secure = url("https://repo.example/index.yaml");
        assert!(may_follow(Some(&secure), &url("https://cdn.example/x"), 1).is_ok());
        let down = may_follow(Some(&secure), &url("http://me:pw@cdn.example/x"), 1)
            .expect_err("a downgrade");
        assert!(down.contains("not https") && !down.contains("pw"), "{down}");
        let plain = url("http://repo.example/");
        assert!(may_follow(Some(&plain), &url("https://repo.example/"), 1).is_ok());
        assert!(may_follow(Some(&plain), &url("http://other.example/"), 5).is_ok());
        assert!(may_follow(Some(&plain), &url("http://other.example/"), 6).is_err());
    }

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
