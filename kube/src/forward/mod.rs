//! Port-forwarding to what a package installed (`hoist open`, the dashboard's Open):
//! [`target`] finds each entrypoint's Service where the install put it, [`forwarder`]
//! listens on a local port and carries each connection to a ready pod behind that
//! Service through the API server's `pods/portforward` (kube-rs, WebSocket).
//!
//! # Guarantees
//! - Only loopback is ever bound (`127.0.0.1`): a forward is for the user at this
//!   machine, never for the network.
//! - Each connection asks for a ready pod when the one it used last is gone, so a
//!   forward outlives a rollout: the next connection reaches the new pod.
//! - Every call to the API server has a timeout; the accept loop never waits on a
//!   connection, and connections are bounded ([`forwarder::MAX_CONNECTIONS`]).
//!
//! # Caveats
//! - The identity is the client's: the CLI's user, or the dashboard's own
//!   ServiceAccount when the dashboard forwards (it does so only when it serves
//!   loopback, the user's own machine). RBAC decides (`get` and `create` on `pods/portforward`,
//!   as kube-apiserver checks a WebSocket port-forward).

pub mod forwarder;
pub mod target;

pub use forwarder::{Forward, ForwardEvent};
pub use target::{OpenError, Opening};
