//! `hoist open NAME [ENTRYPOINT]`: a local port per entrypoint, forwarded to a ready
//! pod of the entrypoint's Service ([`hoist_kube::forward`]) until the caller stops it.
//!
//! # Guarantees
//! - Everything is resolved before anything listens: an unknown entrypoint, an install
//!   that is not there, a Service with no ready pod is an error and binds nothing.
//! - The port: `--port`, else the package's `localPort`, else a free one; a
//!   `localPort` already taken falls back to a free port (said in [`Opened::note`]),
//!   a `--port` taken is an error (the user asked for that one).

use super::repo::fresh_catalogue;
use hoist_core::install::InstallRef;
use hoist_kube::forward::{Forward, ForwardEvent, OpenError, target};
use kube::Client;
use tokio::sync::mpsc;

/// One forward started, with what to tell the user about it.
pub struct Opened {
    pub forward: Forward,
    /// Why the port is not the one the package suggests, if it is not.
    pub note: Option<String>,
}

impl Opened {
    /// `ENTRYPOINT  URL  → Service NS/NAME port P`.
    pub fn line(&self) -> String {
        let o = self.forward.opening();
        format!(
            "{}  {}  → Service {} port {}",
            o.entrypoint,
            self.forward.url(),
            o.service,
            o.port
        )
    }
}

/// Starts a forward for each entrypoint `entrypoint` names (all when `None`); events
/// of every forward go to `events`.
pub async fn open(
    client: &Client,
    hoist_namespace: &str,
    at: &InstallRef,
    entrypoint: Option<&str>,
    port: Option<u16>,
    events: mpsc::Sender<(String, ForwardEvent)>,
) -> Result<Vec<Opened>, OpenError> {
    let (set, cat) = fresh_catalogue(client, hoist_namespace).await?;
    let openings = target::resolve_openings(client, &set, &cat, at, entrypoint).await?;
    if port.is_some() && openings.len() > 1 {
        return Err(OpenError::PortForMany(openings.len()));
    }
    let mut opened = Vec::new();
    for opening in openings {
        let (tx, mut rx) = mpsc::channel(64);
        let name = opening.entrypoint.clone();
        let relay = events.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                if relay.try_send((name.clone(), e)).is_err() {
                    // The reader is gone or behind: events are for showing, not keeping.
                }
            }
        });
        let suggested = opening.local_port;
        let wanted = port.or(suggested).unwrap_or(0);
        let (forward, note) =
            match Forward::start(client.clone(), opening.clone(), wanted, Some(tx.clone())).await {
                Err(OpenError::Bind { addr, .. }) if port.is_none() && wanted != 0 => {
                    let f = Forward::start(client.clone(), opening, 0, Some(tx)).await?;
                    let note = format!(
                        "port {} (the package's localPort) is in use; using {}",
                        addr.port(),
                        f.local_addr().port()
                    );
                    (f, Some(note))
                }
                other => (other?, None),
            };
        opened.push(Opened { forward, note });
    }
    Ok(opened)
}
