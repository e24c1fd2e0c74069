//! `pods/portforward` over WebSocket, as kube-apiserver and the kubelet serve it to
//! kube-rs' `Api::<Pod>::portforward`: `GET .../pods/NAME/portforward?ports=80,8080`
//! upgraded to the `v5.channel.k8s.io` (preferred) or `v4.channel.k8s.io` subprotocol,
//! framed as [`frames`] describes. devcluster runs no containers: each port's bytes go to
//! a loopback target configured for it ([`target`]), as kwok's `PortForward` does.
//!
//! # Guarantees
//! - Authorized as kube-apiserver 1.35 authorizes it (by [`crate::server`]): `get` on
//!   `pods/portforward` (the request's verb) and `create` on it
//!   (`AuthorizePodWebsocketUpgradeCreatePermission`); a refusal is a 403 Status.
//! - Refused with a Status before upgrading: a request that is not an HTTP/1.1
//!   WebSocket upgrade (a plain `GET`, SPDY's `POST`, HTTP/2's `CONNECT`; 400), no or
//!   bad `ports` (0, above 65535, not a number, repeated, more than
//!   [`frames::MAX_PORTS`]; 400), neither subprotocol offered (400), a missing pod
//!   (404), a pod that is not `Running` (400).
//! - After the upgrade, the server's first message on each port's data and error
//!   channel is the port; a port without a usable target (none configured, not
//!   loopback) gets its error, in the kubelet's words (`error forwarding port 80 to pod
//!   NS/NAME: ...`), on its error channel and is never connected; the connection to a
//!   target is given [`CONNECT_TIMEOUT`].
//! - Bytes are copied both ways until the target closes (its EOF ends the port); the
//!   client's v5 CLOSE of a data channel half-closes the target connection. When every
//!   port has ended the server closes the WebSocket; when the client closes it (kube-rs
//!   does once each port's stream is shut) or goes, what it sent is still written to
//!   the targets, their connections are half-closed, and dropped at the latest 1 s
//!   later. Connections end at devcluster's shutdown.
//!
//! # Caveats
//! - One target connection per port per WebSocket, as kube-rs uses it (one
//!   `Api::portforward` per client connection).
//! - No SPDY, plain or tunnelled in a WebSocket (`SPDY/3.1+portforward.k8s.io`):
//!   `kubectl port-forward`, which speaks those, is refused (400).

pub mod frames;

use crate::forwards as target;
pub use crate::forwards::{FORWARD_ANNOTATION, Forward, TargetError};

use crate::app::Shared;
use crate::error::ApiError;
use crate::resources::ResourceType;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use bytes::Bytes;
use frames::{Incoming, Protocol};
use futures::stream::{FuturesUnordered, SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// How long connecting to a target may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the client has to answer the server's close, and the targets to take
/// what the client sent before it closed.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// The most read from a target into one message.
const READ_CHUNK: usize = 32 * 1024;

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// One requested port and where it goes.
#[derive(Debug)]
struct Port {
    port: u16,
    target: Result<SocketAddr, TargetError>,
}

/// The values of every `ports` parameter of `query` (repeated or comma-separated).
fn ports_param(query: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| *k == "ports")
        .map(|(_, v)| {
            let v = v.replace('+', " ");
            urlencoding::decode(&v).map_or(v.clone(), |d| d.into_owned())
        })
        .collect()
}

/// The `Sec-WebSocket-Key` of a WebSocket upgrade request; `None` when it is not one.
fn upgrade_key(headers: &HeaderMap) -> Option<&str> {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let upgrade = has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket");
    let version = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok());
    key.filter(|_| upgrade && version)
}

/// Answers a `pods/NAME/portforward` request that was authorized: the refusals of the
/// module's guarantees, else 101 Switching Protocols, the forwarding running in the
/// background until it ends or the server shuts down.
pub fn handle(
    app: &Shared,
    mut req: Request,
    pods: &ResourceType,
    ns: &str,
    name: &str,
) -> Result<Response, ApiError> {
    const HOW: &str = "devcluster forwards ports over WebSocket only: GET with Upgrade: websocket and the subprotocol v5.channel.k8s.io or v4.channel.k8s.io";
    if req.method() != Method::GET {
        return Err(ApiError::bad_request(format!(
            "{HOW}; SPDY (POST) and HTTP/2 WebSockets (CONNECT) are not served, and this is a {}",
            req.method()
        )));
    }
    let headers = req.headers();
    let Some(key) = upgrade_key(headers) else {
        return Err(ApiError::bad_request(format!(
            "Upgrade request required: {HOW}"
        )));
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let values = ports_param(req.uri().query().unwrap_or(""));
    let ports =
        frames::parse_ports(values.iter().map(String::as_str)).map_err(ApiError::bad_request)?;
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let Some(protocol) = frames::negotiate(offered.iter().copied()) else {
        return Err(ApiError::bad_request(format!(
            "unable to upgrade connection: none of the subprotocols offered ({}) is served; {HOW}",
            offered.join(", ")
        )));
    };
    let pod = app.store.lock().get(pods, ns, name)?;
    let phase = pod
        .pointer("/status/phase")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("Pending");
    if phase != "Running" {
        return Err(ApiError::bad_request(format!(
            "unable to upgrade connection: pod {name} is not running (phase {phase})"
        )));
    }
    let ports: Vec<Port> = ports
        .into_iter()
        .map(|port| Port {
            port,
            target: target::resolve(&pod, port, &app.settings.forwards),
        })
        .collect();
    let upgrade = hyper::upgrade::on(&mut req);
    let who = format!("{ns}/{name}");
    let shutdown = app.shutdown.clone();
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                session(socket, protocol, ports, &who, shutdown).await;
            }
            Err(e) => tracing::debug!(pod = %who, error = %e, "port-forward upgrade failed"),
        }
    });
    Response::builder()
        .status(101)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .header(header::SEC_WEBSOCKET_PROTOCOL, protocol.as_str())
        .body(Body::empty())
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))
}

/// Serves one upgraded connection until every port ended, the client went, or shutdown.
async fn session(
    socket: Socket,
    protocol: Protocol,
    ports: Vec<Port>,
    pod: &str,
    mut shutdown: watch::Receiver<bool>,
) {
    let (mut sink, stream) = socket.split();
    for (i, p) in ports.iter().enumerate() {
        for channel in [frames::data_channel(i), frames::error_channel(i)] {
            let first = Message::binary(frames::port_frame(channel, p.port));
            if sink.send(first).await.is_err() {
                return;
            }
        }
    }
    let (out, outgoing) = mpsc::channel::<Vec<u8>>(16);
    let mut inbound = Vec::with_capacity(ports.len());
    let forwards = FuturesUnordered::new();
    for (i, p) in ports.into_iter().enumerate() {
        let (tx, rx) = mpsc::channel::<Bytes>(8);
        inbound.push(Some(tx));
        forwards.push(forward(i, p, rx, out.clone(), pod));
    }
    drop(out);
    let serving = async {
        let ports_done = forwards.collect::<Vec<()>>();
        tokio::join!(ports_done, write_all(sink, outgoing));
    };
    let reading = read_all(stream, inbound, protocol);
    let stopping = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    tokio::pin!(serving, reading);
    tokio::select! {
        () = &mut serving => {
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut reading).await;
        }
        // The client closed or went: what it sent still reaches the targets (their
        // connections half-closed), for as long as CLOSE_WAIT.
        () = &mut reading => {
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut serving).await;
        }
        () = stopping => {}
    }
}

/// Sends what the ports write; closes the WebSocket once they all ended.
async fn write_all(mut sink: SplitSink<Socket, Message>, mut outgoing: mpsc::Receiver<Vec<u8>>) {
    while let Some(message) = outgoing.recv().await {
        if sink.send(Message::binary(message)).await.is_err() {
            return;
        }
    }
    let _ = sink.send(Message::Close(None)).await;
}

/// Hands each port what the client sends it; drops a port's sender at its v5 CLOSE.
/// Ends when the client closes or goes.
async fn read_all(
    mut stream: SplitStream<Socket>,
    mut inbound: Vec<Option<mpsc::Sender<Bytes>>>,
    protocol: Protocol,
) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Binary(bytes) = message else {
            continue;
        };
        match frames::parse(protocol, &bytes, inbound.len()) {
            Incoming::Data { index, .. } => {
                let Some(tx) = &inbound[index] else { continue };
                if tx.send(bytes.slice(1..)).await.is_err() {
                    inbound[index] = None;
                }
            }
            Incoming::Close { index } => inbound[index] = None,
            Incoming::Ignored => {}
        }
    }
}

/// Forwards the `index`th port: connects its target, then copies until the target
/// closes. `inbound` ending half-closes the target connection.
async fn forward(
    index: usize,
    port: Port,
    mut inbound: mpsc::Receiver<Bytes>,
    out: mpsc::Sender<Vec<u8>>,
    pod: &str,
) {
    let fail = |why: String| {
        let text = format!("error forwarding port {} to pod {pod}: {why}", port.port);
        frames::frame(frames::error_channel(index), text.as_bytes())
    };
    let to = match &port.target {
        Ok(to) => *to,
        Err(e) => {
            let _ = out.send(fail(e.to_string())).await;
            return;
        }
    };
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(to)).await
    {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            let _ = out.send(fail(format!("dial tcp {to}: {e}"))).await;
            return;
        }
        Err(_) => {
            let why = format!("dial tcp {to}: no answer in {CONNECT_TIMEOUT:?}");
            let _ = out.send(fail(why)).await;
            return;
        }
    };
    let (mut from, mut to_target) = tcp.into_split();
    let writing = async {
        while let Some(bytes) = inbound.recv().await {
            if to_target.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to_target.shutdown().await;
        // The port lasts until the target closes its side.
        std::future::pending::<()>().await;
    };
    let reading = async {
        let mut buf = vec![0u8; READ_CHUNK + 1];
        buf[0] = frames::data_channel(index);
        loop {
            match from.read(&mut buf[1..]).await {
                Ok(0) => return,
                Ok(n) => {
                    if out.send(buf[..=n].to_vec()).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = out.send(fail(format!("read from {to}: {e}"))).await;
                    return;
                }
            }
        }
    };
    tokio::select! {
        () = writing => {}
        () = reading => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_every_ports_parameter_decoded() {
        assert_eq!(ports_param("&ports=80%2C1234"), vec!["80,1234"]);
        assert_eq!(
            ports_param("ports=80&x=1&ports=443"),
            vec!["80".to_string(), "443".to_string()]
        );
        assert!(ports_param("port=80").is_empty());
    }

    #[test]
    fn only_a_websocket_upgrade_has_a_key() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            "keep-alive, Upgrade".parse().expect("v"),
        );
        h.insert(header::UPGRADE, "websocket".parse().expect("v"));
        h.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().expect("v"));
        assert_eq!(upgrade_key(&h), None, "no key");
        h.insert(header::SEC_WEBSOCKET_KEY, "abc".parse().expect("v"));
        assert_eq!(upgrade_key(&h), Some("abc"));
        h.insert(header::UPGRADE, "SPDY/3.1".parse().expect("v"));
        assert_eq!(upgrade_key(&h), None);
    }
}
