//! Why a fetch failed: each error names the URL and what to check.

use crate::repo::format::FormatError;

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
    #[error("{url} redirected where Hoist will not follow: {reason}")]
    Redirect { url: String, reason: String },
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
            Self::Redirect { .. } => "redirect",
            Self::Malformed(_) => "malformed",
            Self::Client(_) => "client",
            Self::InvalidUrl { .. } => "invalid_url",
        }
    }
}
