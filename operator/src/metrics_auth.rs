//! Who may read the operator's `/metrics`: as controller-runtime's
//! `filters.WithAuthenticationAndAuthorization` decides it. The request's
//! `Authorization: Bearer` token is checked with an `authentication.k8s.io/v1`
//! TokenReview; the user it names (user, uid, groups, extra) must then be allowed `get`
//! on the non-resource URL `/metrics` by an `authorization.k8s.io/v1`
//! SubjectAccessReview. Both are made with the operator's own client, so its
//! ServiceAccount needs `create` on `tokenreviews` and `subjectaccessreviews`; a scraper
//! needs a ClusterRole granting `get` on `nonResourceURLs: ["/metrics"]` (decision 0027).
//!
//! # Guarantees
//! - No token, or one the API server does not authenticate: 401. Authenticated but not
//!   allowed: 403 naming the user. Allowed: the metrics. The API server unreachable or
//!   slow: 503 (retryable, nothing cached), never the metrics.
//! - Each API call is bounded by [`Reviewer::timeout`], and at most
//!   [`MAX_IN_FLIGHT`] reviews run at once (a flood of made-up tokens costs the API
//!   server that many requests at a time, not one per request).
//! - Decisions are cached by the SHA-256 of the token (never the token itself): allowed
//!   for [`ALLOWED_FOR`], refused for [`REFUSED_FOR`], at most [`CACHED`] of each, so a
//!   Prometheus scrape costs no API call while its token stays allowed.
//! - The token is never logged nor kept; refusals are logged at debug with the user's
//!   name only.
//!
//! # Caveats
//! - A revoked token or binding keeps working for up to [`ALLOWED_FOR`] (the cache), as
//!   with controller-runtime's delegating authorizer.
//! - Concurrent first requests with one token each make their own reviews (no
//!   coalescing); the in-flight bound keeps that small.

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use moka::sync::Cache;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long an allowed token is trusted without asking again.
pub const ALLOWED_FOR: Duration = Duration::from_secs(120);
/// How long a refused token (401 or 403) is refused without asking again.
pub const REFUSED_FOR: Duration = Duration::from_secs(20);
/// Tokens remembered, per outcome.
pub const CACHED: u64 = 1024;
/// Reviews made at once; more wait (up to the timeout) for a turn.
pub const MAX_IN_FLIGHT: usize = 8;
/// The longest one review call may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Who may read `/metrics` on the probe port (`--metrics-auth`).
#[derive(Clone)]
pub enum MetricsAuth {
    /// Anyone who reaches the port (`--metrics-auth=none`: local runs).
    None,
    /// A bearer token the API server authenticates, of a user allowed `get` on the
    /// path (`--metrics-auth=kubernetes`, the default).
    Kubernetes(Arc<Reviewer>),
}

impl MetricsAuth {
    /// Reviews made with `client` (the operator's own).
    pub fn kubernetes(client: kube::Client) -> Self {
        Self::Kubernetes(Arc::new(Reviewer::new(client)))
    }
}

/// What was decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// 401: no token, or one the API server does not accept.
    Unauthenticated,
    /// 403: the user the token names may not `get` the path.
    Forbidden {
        user: String,
    },
    /// 503: the reviews could not be made now (nothing cached).
    Unavailable(String),
}

/// TokenReview and SubjectAccessReview with a cache.
pub struct Reviewer {
    client: kube::Client,
    allowed: Cache<[u8; 32], ()>,
    refused: Cache<[u8; 32], Verdict>,
    in_flight: Semaphore,
    /// The longest one API call may take (and the longest a request waits for a turn).
    pub timeout: Duration,
}

impl Reviewer {
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            allowed: Cache::builder()
                .max_capacity(CACHED)
                .time_to_live(ALLOWED_FOR)
                .build(),
            refused: Cache::builder()
                .max_capacity(CACHED)
                .time_to_live(REFUSED_FOR)
                .build(),
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
            timeout: TIMEOUT,
        }
    }

    /// May the bearer of `token` do `verb` on the non-resource `path`? One `path` and
    /// `verb` per reviewer: the cache is keyed by the token alone.
    pub async fn check(&self, token: Option<&str>, path: &str, verb: &str) -> Verdict {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Verdict::Unauthenticated;
        };
        let key = fingerprint(token);
        if self.allowed.get(&key).is_some() {
            return Verdict::Allowed;
        }
        if let Some(refused) = self.refused.get(&key) {
            return refused;
        }
        let Ok(Ok(_turn)) = tokio::time::timeout(self.timeout, self.in_flight.acquire()).await
        else {
            return Verdict::Unavailable("too many reviews in flight".into());
        };
        let verdict = match self.review(token, path, verb).await {
            Ok(v) => v,
            Err(why) => {
                tracing::warn!(%why, "cannot review a /metrics request");
                return Verdict::Unavailable(why);
            }
        };
        match &verdict {
            Verdict::Allowed => self.allowed.insert(key, ()),
            Verdict::Unauthenticated | Verdict::Forbidden { .. } => {
                self.refused.insert(key, verdict.clone())
            }
            Verdict::Unavailable(_) => {}
        }
        verdict
    }

    /// The two reviews, uncached. `Err`: the API server did not answer in time or
    /// refused the review itself (the operator's own grants).
    async fn review(&self, token: &str, path: &str, verb: &str) -> Result<Verdict, String> {
        let tokens: Api<TokenReview> = Api::all(self.client.clone());
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_string(),
                audiences: None,
            },
            ..Default::default()
        };
        let status =
            tokio::time::timeout(self.timeout, tokens.create(&PostParams::default(), &review))
                .await
                .map_err(|_| format!("the TokenReview took over {:?}", self.timeout))?
                .map_err(|e| format!("the TokenReview failed: {e}"))?
                .status
                .unwrap_or_default();
        let user = match status.user {
            Some(user) if status.authenticated == Some(true) => user,
            _ => {
                // `error` says why (expired, bad signature) without the token.
                tracing::debug!(
                    error = status.error.as_deref().unwrap_or(""),
                    "a /metrics request with a token the API server does not accept"
                );
                return Ok(Verdict::Unauthenticated);
            }
        };
        let name = user.username.clone().unwrap_or_default();
        let access = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: user.username,
                uid: user.uid,
                groups: user.groups,
                extra: user.extra,
                non_resource_attributes: Some(NonResourceAttributes {
                    path: Some(path.to_string()),
                    verb: Some(verb.to_string()),
                }),
                resource_attributes: None,
            },
            ..Default::default()
        };
        let reviews: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let status = tokio::time::timeout(
            self.timeout,
            reviews.create(&PostParams::default(), &access),
        )
        .await
        .map_err(|_| format!("the SubjectAccessReview took over {:?}", self.timeout))?
        .map_err(|e| format!("the SubjectAccessReview failed: {e}"))?
        .status
        .unwrap_or_default();
        if status.allowed {
            Ok(Verdict::Allowed)
        } else {
            tracing::debug!(
                user = %name,
                reason = status.reason.as_deref().unwrap_or(""),
                "{verb} {path} refused"
            );
            Ok(Verdict::Forbidden { user: name })
        }
    }
}

/// The cache key of a token: its SHA-256, so the cache holds no usable credential.
fn fingerprint(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_is_the_tokens_sha256() {
        // printf abc | sha256sum
        let hex: String = fingerprint("abc")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
