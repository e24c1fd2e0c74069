//! The state every request handler reaches: the store, faults, counters, the gate and
//! the server's settings.

use crate::counters::Counters;
use crate::faults::Faults;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
    /// Largest request body accepted (the apiserver's is 3 MiB).
    pub body_limit: usize,
    /// Watch length when the client sets no `timeoutSeconds`.
    pub default_watch_timeout: Duration,
    /// The listener is on loopback: refuse requests a web page addressed to it
    /// (see [`crate::auth::loopback`]).
    pub loopback_only: bool,
    /// Where forwarded pod ports go, by image ([`crate::Options::forwards`]).
    pub forwards: Vec<crate::forwards::Forward>,
}

/// Everything a request handler can reach.
pub struct App {
    /// Authentication and RBAC, when the server was started with them.
    pub gate: Option<crate::auth::gate::Gate>,
    pub store: Store,
    pub faults: Faults,
    pub counters: Counters,
    pub settings: Settings,
    /// Turns true at shutdown: open watches end.
    pub shutdown: watch::Receiver<bool>,
}

pub type Shared = Arc<App>;
