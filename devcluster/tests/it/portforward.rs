//! `pods/portforward` through kube-rs' `Api::<Pod>::portforward`: a pod's port reaches
//! a real TCP server on loopback, configured per image or per pod; what cannot be
//! forwarded says why on the port's error channel, or is refused before the upgrade.

use crate::common;
use crate::pods::{deployment, pods_until, ready};
use common::auth::{api_error, client_with, token_for};
use common::*;
use devcluster::{Forward, Options};
use futures::{SinkExt, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A server on loopback that, per connection, answers the first line upper-cased, then
/// reads to the end and reports everything it read.
async fn echo_server() -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = tcp.into_split();
                let mut read = tokio::io::BufReader::new(read);
                let mut line = String::new();
                read.read_line(&mut line).await.expect("a line");
                write
                    .write_all(line.to_uppercase().as_bytes())
                    .await
                    .expect("answer");
                let mut rest = Vec::new();
                read.read_to_end(&mut rest).await.expect("to the end");
                let mut all = line.into_bytes();
                all.extend(rest);
                let _ = tx.send(all);
            });
        }
    });
    (addr, rx)
}

/// A server on loopback that writes `text` to each connection and closes it.
async fn greeter(text: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let _ = tcp.write_all(text.as_bytes()).await;
        }
    });
    addr
}

/// Creates Deployment `name` (image nginx:1.27-alpine, or `image`) with the pod
/// template's `annotations`, and waits for its ready pod's name.
async fn ready_pod(
    client: &Client,
    name: &str,
    image: &str,
    annotations: serde_json::Value,
) -> String {
    let mut d = serde_json::to_value(deployment(name, 1, json!({}))).expect("json");
    d["spec"]["template"]["metadata"]["annotations"] = annotations;
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
    let d: Deployment = serde_json::from_value(d).expect("deployment");
    Api::<Deployment>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &d)
        .await
        .expect("create");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let found = pods_until(&pods, &format!("app={name}"), |ps| {
        ps.len() == 1 && ready(&ps[0])
    })
    .await;
    found[0].name_any()
}

#[tokio::test]
async fn a_forwarded_port_reaches_the_images_target_both_ways_and_the_close_reaches_it() {
    let (echo, mut heard) = echo_server().await;
    let (_c, client) = start_with(Options {
        forwards: vec![Forward {
            image: "nginx:1.27-alpine".into(),
            port: None,
            to: echo,
        }],
        ..Options::default()
    })
    .await;
    let pod = ready_pod(&client, "web", "nginx:1.27-alpine", json!({})).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let mut pf = pods.portforward(&pod, &[80]).await.expect("upgraded");
    let mut stream = pf.take_stream(80).expect("port 80");
    stream
        .write_all(b"hello devcluster\n")
        .await
        .expect("write");
    let mut answer = [0u8; 17];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut answer))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(&answer, b"HELLO DEVCLUSTER\n");
    stream.write_all(b"more").await.expect("write more");
    stream.shutdown().await.expect("shutdown");
    let got = tokio::time::timeout(PATIENCE, heard.recv())
        .await
        .expect("the target saw its end in time")
        .expect("reported");
    assert_eq!(got, b"hello devcluster\nmore", "every byte, then EOF");
}

#[tokio::test]
async fn a_pod_annotation_names_the_target_and_the_targets_close_ends_the_stream() {
    let greeting = greeter("greetings from the target").await;
    let (_c, client) = start().await;
    let annotation = json!({"devcluster.hoist.dev/forward": format!("8080={greeting}")});
    let pod = ready_pod(&client, "annotated", "example.dev/app:1", annotation).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let mut pf = pods.portforward(&pod, &[8080]).await.expect("upgraded");
    let mut stream = pf.take_stream(8080).expect("port");
    let mut all = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut all))
        .await
        .expect("EOF in time")
        .expect("read");
    assert_eq!(all, "greetings from the target");
}

#[tokio::test]
async fn a_port_without_a_usable_target_says_why_on_its_error_channel() {
    let (_c, client) = start().await;
    let elsewhere = json!({"devcluster.hoist.dev/forward": "192.0.2.1:80"});
    let remote = ready_pod(&client, "remote", "nginx:1.27-alpine", elsewhere).await;
    let bare = ready_pod(&client, "bare", "redis:7", json!({})).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    for (pod, says) in [
        (&remote, "192.0.2.1:80 is not a loopback address"),
        (
            &bare,
            "no forward target: devcluster has no containers; configure one for image redis:7",
        ),
    ] {
        let mut pf = pods.portforward(pod, &[80]).await.expect("upgraded");
        let error = pf.take_error(80).expect("error channel");
        let text = tokio::time::timeout(PATIENCE, error)
            .await
            .expect("in time")
            .expect("an error");
        assert!(
            text.starts_with(&format!("error forwarding port 80 to pod default/{pod}: "))
                && text.contains(says),
            "{text}"
        );
    }
}

/// The next WebSocket message, within [`PATIENCE`].
async fn next<S>(ws: &mut S) -> Message
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("a message")
}

#[tokio::test]
async fn v5_close_half_closes_the_target_which_still_answers() {
    // Reads to the end, then answers with what it read.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.expect("accept");
        let mut got = Vec::new();
        tcp.read_to_end(&mut got).await.expect("read");
        tcp.write_all(&[b"got ".as_slice(), &got].concat())
            .await
            .expect("answer");
    });
    let (_c, client) = start().await;
    let annotation = json!({"devcluster.hoist.dev/forward": addr.to_string()});
    let pod = ready_pod(&client, "halfclose", "x", annotation).await;
    let req = axum::http::Request::get(format!(
        "/api/v1/namespaces/default/pods/{pod}/portforward?ports=80"
    ))
    .body(vec![])
    .expect("request");
    let connection = client.connect(req).await.expect("upgraded");
    assert!(connection.supports_stream_close(), "v5 was chosen");
    let mut ws = connection.into_stream();
    let first = [next(&mut ws).await, next(&mut ws).await];
    assert_eq!(
        first,
        [
            Message::binary(vec![0u8, 80, 0]),
            Message::binary(vec![1u8, 80, 0])
        ],
        "each channel starts with the port"
    );
    ws.send(Message::binary(b"\x00ping".to_vec()))
        .await
        .expect("send");
    ws.send(Message::binary(vec![255u8, 0]))
        .await
        .expect("CLOSE");
    assert_eq!(
        next(&mut ws).await,
        Message::binary(b"\x00got ping".to_vec())
    );
    let closed = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("in time");
    assert!(
        matches!(closed, Some(Ok(Message::Close(_))) | None),
        "the target's EOF ends the port, and the connection: {closed:?}"
    );
}

#[tokio::test]
async fn refusals_come_before_the_upgrade_as_status() {
    let (cluster, admin) = start().await;
    let pod = ready_pod(&admin, "web", "nginx:1.27-alpine", json!({})).await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let e = pods.portforward("missing", &[80]).await.err().expect("404");
    assert_eq!(api_error(e).0, 404);
    let e = pods.portforward(&pod, &[0]).await.err().expect("400");
    let (code, _, message) = api_error(e);
    assert!(code == 400 && message.contains("must be > 0"), "{message}");

    // May get pods/portforward but not create it: refused, as kube-apiserver 1.35.
    let token = token_for(&admin, "default", "reader").await;
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "pods/portforward"],
                   "verbs": ["get", "list"]}],
    }))
    .expect("role");
    Api::<Role>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &role)
        .await
        .expect("role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}],
    }))
    .expect("binding");
    Api::<RoleBinding>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &binding)
        .await
        .expect("binding");
    let reader: Api<Pod> = Api::namespaced(client_with(&cluster, Some(&token)), "default");
    reader.get(&pod).await.expect("may read the pod");
    let e = reader.portforward(&pod, &[80]).await.err().expect("403");
    let (code, _, message) = api_error(e);
    assert!(
        code == 403 && message.contains("cannot create resource \"pods/portforward\""),
        "{message}"
    );

    // Not an upgrade, or no subprotocol devcluster speaks: 400 with a Status.
    let path = format!("/api/v1/namespaces/default/pods/{pod}/portforward?ports=80");
    let plain = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    let answer = String::from_utf8_lossy(&raw_exchange(&cluster, &plain, b"").await).to_string();
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("Upgrade request required"),
        "{answer}"
    );
    let spdy = format!(
        "GET {path} HTTP/1.1\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n"
    );
    let answer = String::from_utf8_lossy(&raw_exchange(&cluster, &spdy, b"").await).to_string();
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("\"kind\":\"Status\""),
        "{answer}"
    );
}
