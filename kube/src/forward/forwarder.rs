//! A local listener whose connections are carried to a pod through the API server's
//! `pods/portforward`.
//!
//! # Guarantees
//! - Binds loopback only; [`Forward::url`] is `localhost` on the port bound.
//! - The pod is chosen when a connection comes and the one used last is gone (the
//!   port-forward is refused: deleted, replaced), so the forward follows a rollout.
//! - At most [`MAX_CONNECTIONS`] connections at once; more wait in the listen backlog.
//! - Events go out with `try_send`: a slow reader of them never slows a connection
//!   (events it did not take are dropped).
//! - Dropping or [`Forward::stop`]ping it closes the listener and every connection.
//!
//! # Caveats
//! - An error the pod side reports after the connection was set up (the kubelet's
//!   "error forwarding port") ends that connection and is sent as an event; the next
//!   connection tries again.

use super::target::{OpenError, Opening, ready_pod};
use hoist_core::entrypoint;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

/// Connections carried at once per forward.
pub const MAX_CONNECTIONS: usize = 64;
/// How long setting up one port-forward may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What happened on a forward, for whoever shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardEvent {
    /// Connections now go to this pod (at the start and after a rollout).
    Pod { name: String, port: u16 },
    /// A connection could not be carried.
    Failed(String),
}

/// A running forward.
pub struct Forward {
    opening: Opening,
    local: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Forward {
    /// Binds `127.0.0.1:port` (`0`: a free port) and starts carrying connections to
    /// `opening`'s Service. Fails, binding nothing, when no pod is ready behind it.
    pub async fn start(
        client: Client,
        opening: Opening,
        port: u16,
        events: Option<mpsc::Sender<ForwardEvent>>,
    ) -> Result<Self, OpenError> {
        let (pod, pod_port) = ready_pod(&client, &opening).await?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| OpenError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| OpenError::Bind { addr, source })?;
        let shared = Arc::new(Shared {
            client,
            opening: opening.clone(),
            current: Mutex::new(Some((pod.clone(), pod_port))),
            events,
        });
        shared.event(ForwardEvent::Pod {
            name: pod,
            port: pod_port,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared, stopped));
        Ok(Self {
            opening,
            local,
            stop,
            task,
        })
    }

    /// The local address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// What the user opens: `scheme://localhost:PORT/`.
    pub fn url(&self) -> String {
        entrypoint::local_url(self.opening.scheme, self.local.port())
    }

    pub fn opening(&self) -> &Opening {
        &self.opening
    }

    /// Whether it still listens.
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Closes the listener and every connection, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct Shared {
    client: Client,
    opening: Opening,
    /// The pod used last and its port; `None` after it failed.
    current: Mutex<Option<(String, u16)>>,
    events: Option<mpsc::Sender<ForwardEvent>>,
}

impl Shared {
    fn event(&self, e: ForwardEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.try_send(e);
        }
    }

    fn current(&self) -> Option<(String, u16)> {
        self.current.lock().ok().and_then(|c| c.clone())
    }

    fn set_current(&self, now: Option<(String, u16)>) {
        if let Ok(mut c) = self.current.lock() {
            *c = now;
        }
    }

    /// The pod to use: the last one, or a ready one found now.
    async fn pod(&self) -> Result<(String, u16), OpenError> {
        if let Some(p) = self.current() {
            return Ok(p);
        }
        let (name, port) = ready_pod(&self.client, &self.opening).await?;
        self.set_current(Some((name.clone(), port)));
        self.event(ForwardEvent::Pod {
            name: name.clone(),
            port,
        });
        Ok((name, port))
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.wait_for(|s| *s) => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        // Reap finished connections so the set stays as large as what is open.
        while connections.try_join_next().is_some() {}
        match accepted {
            Ok((conn, _)) => {
                let shared = shared.clone();
                connections.spawn(async move {
                    carry(conn, &shared).await;
                    drop(permit);
                });
            }
            Err(e) => {
                shared.event(ForwardEvent::Failed(format!("accepting a connection: {e}")));
            }
        }
    }
    connections.shutdown().await;
}

/// Carries one connection; tries a second pod when the first refuses.
async fn carry(mut conn: TcpStream, shared: &Shared) {
    for _ in 0..2 {
        let (pod, port) = match shared.pod().await {
            Ok(p) => p,
            Err(e) => {
                shared.event(ForwardEvent::Failed(e.to_string()));
                return;
            }
        };
        let pods: Api<Pod> =
            Api::namespaced(shared.client.clone(), &shared.opening.service.namespace);
        let forwarded =
            tokio::time::timeout(CONNECT_TIMEOUT, pods.portforward(&pod, &[port])).await;
        let mut forwarder = match forwarded {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                // Gone or refused: look for a ready pod again.
                shared.event(ForwardEvent::Failed(format!(
                    "port-forward to pod {pod} port {port}: {e}"
                )));
                shared.set_current(None);
                continue;
            }
            Err(_) => {
                shared.event(ForwardEvent::Failed(format!(
                    "port-forward to pod {pod} port {port}: no answer within {CONNECT_TIMEOUT:?}"
                )));
                shared.set_current(None);
                continue;
            }
        };
        let (Some(mut upstream), Some(error)) =
            (forwarder.take_stream(port), forwarder.take_error(port))
        else {
            return;
        };
        let failed = {
            let copy = tokio::io::copy_bidirectional(&mut conn, &mut upstream);
            tokio::pin!(copy, error);
            // An error the pod side reports ends the connection; an error channel that
            // closes without one leaves the copy running.
            tokio::select! {
                _ = &mut copy => None,
                Some(message) = &mut error => Some(message),
            }
        };
        drop(upstream);
        forwarder.abort();
        if let Some(message) = failed {
            shared.event(ForwardEvent::Failed(format!(
                "pod {pod} port {port}: {message}"
            )));
        }
        return;
    }
}
