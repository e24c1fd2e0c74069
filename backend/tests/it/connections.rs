//! What a hostile or broken client can do to the dashboard's port, and what it cannot:
//! trickled headers are cut, connections are capped (a freed slot serves again),
//! every answer forbids framing and foreign scripts, big gRPC messages and slow unary
//! calls are refused with a status, and a stop lets a call in flight finish.

use crate::common;
use common::*;
use devcluster::{Fault, FaultAction};
use hoist::api::listener::Limits;
use hoist_proto::v1 as pb;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A GET over a fresh raw connection; the status line and headers of the answer.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("send");
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, s.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    answer
}

fn assert_protective_headers(what: &str, headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{what}: {csp}"
    );
}

#[tokio::test]
async fn every_answer_forbids_framing_and_foreign_scripts_the_app_a_grpc_web_call_a_404_and_a_refusal()
 {
    let (_c, client) = cluster().await;
    let running = backend(&client, options()).await;
    running.ready().await;
    let http = reqwest::Client::new();
    let url = running.url();

    let page = http.get(format!("{url}/")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert_protective_headers("the web app", page.headers());

    // A gRPC-web unary call, as the browser makes it: an empty ListPackages request.
    let grpc_web = http
        .post(format!("{url}/hoist.v1.Dashboard/ListPackages"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .expect("grpc-web");
    assert_eq!(grpc_web.status(), 200);
    assert_eq!(
        grpc_web.headers()["content-type"],
        "application/grpc-web+proto"
    );
    assert_protective_headers("a gRPC-web answer", grpc_web.headers());

    // A refusal by the guard (a name that is not loopback) carries them too.
    let refused = http
        .get(format!("{url}/"))
        .header("host", "evil.example")
        .send()
        .await
        .expect("refused");
    assert_eq!(refused.status(), 403);
    assert_protective_headers("a refusal", refused.headers());

    // And a 404: a server whose dist/ has no page at all.
    let empty = tempfile::tempdir().expect("dir");
    let bare = backend(
        &client,
        hoist::serve::ServeOptions {
            dist: empty.path().to_path_buf(),
            ..options()
        },
    )
    .await;
    let missing = http
        .get(format!("{}/no-such-file.js", bare.url()))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    assert_protective_headers("a 404", missing.headers());
}

#[tokio::test]
async fn the_inline_loader_of_the_served_app_is_allowed_by_its_hash_and_nothing_else_inline() {
    let (_c, client) = cluster().await;
    let dist = tempfile::tempdir().expect("dir");
    std::fs::write(
        dist.path().join("index.html"),
        "<html><script type=\"module\">alert(1)</script></html>",
    )
    .expect("index");
    let running = backend(
        &client,
        hoist::serve::ServeOptions {
            dist: dist.path().to_path_buf(),
            ..options()
        },
    )
    .await;
    let page = reqwest::get(running.url()).await.expect("page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
    assert!(
        csp.contains("'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"),
        "{csp}"
    );
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_while_a_normal_request_is_served() {
    let (_c, client) = cluster().await;
    let running = backend(
        &client,
        hoist::serve::ServeOptions {
            limits: Limits {
                header_read_timeout: Duration::from_secs(1),
                ..Default::default()
            },
            ..options()
        },
    )
    .await;
    let addr = running.addr;
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .await
        .expect("first line");
    // One header line every 200 ms for up to 10 s: ten times the limit. The server
    // must close the connection long before the loop runs out.
    let mut cut = false;
    for i in 0..50 {
        if slow
            .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            cut = true;
            break;
        }
        // Meanwhile, another connection is served as usual.
        if i == 1 {
            let answer = raw_get(addr, "/livez").await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut = true;
                break;
            }
            // hyper may answer 408 before closing: cut all the same.
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
    }
    assert!(cut, "a connection trickling headers was kept for 10 s");
}

#[tokio::test]
async fn over_the_connection_cap_a_client_is_told_503_and_a_freed_slot_serves_again() {
    let (_c, client) = cluster().await;
    let running = backend(
        &client,
        hoist::serve::ServeOptions {
            limits: Limits {
                max_connections: 2,
                ..Default::default()
            },
            ..options()
        },
    )
    .await;
    let addr = running.addr;
    // Two idle connections hold both slots; a request on each shows it was taken.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(format!("GET /livez HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .expect("send");
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf))
            .await
            .expect("answered")
            .expect("read");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(s);
    }
    let answer = raw_get(addr, "/livez").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");

    // Free one slot: the server notices the close and serves the next connection.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answer = raw_get(addr, "/livez").await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a freed slot never served again: {answer}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_grpc_request_over_64_kib_is_refused_and_installs_nothing() {
    let (_c, client, _samples) = cluster_with_samples().await;
    let running = backend(&client, options()).await;
    running.ready().await;
    let huge = "x".repeat(100 * 1024);
    let refused = grpc(&running)
        .await
        .install(pb::InstallRequest {
            package: "hello-web".into(),
            namespace: "team-a".into(),
            values: vec![pb::Setting {
                key: "greeting".into(),
                value: huge,
            }],
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::OutOfRange, "{refused:?}");
    nothing_installed(&client).await;
}

#[tokio::test]
async fn a_unary_call_past_its_limit_is_answered_deadline_exceeded() {
    let (c, client, _samples) = cluster_with_samples().await;
    let running = backend(
        &client,
        hoist::serve::ServeOptions {
            unary_timeout: Duration::from_millis(300),
            ..options()
        },
    )
    .await;
    running.ready().await;
    // The install's namespace check hangs far past the limit.
    c.faults().add(
        Fault::new(FaultAction::Latency { millis: 60_000 })
            .verb("get")
            .path("/namespaces/team-a"),
    );
    let refused = grpc(&running)
        .await
        .install(pb::InstallRequest {
            package: "hello-web".into(),
            namespace: "team-a".into(),
            ..Default::default()
        })
        .await
        .expect_err("cut");
    assert_eq!(refused.code(), tonic::Code::DeadlineExceeded, "{refused:?}");
    let metrics = reqwest::get(format!("{}/metrics", running.url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("hoist_unary_timeouts_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_stop_lets_a_call_in_flight_finish_and_ends_open_streams() {
    let (c, client, _samples) = cluster_with_samples().await;
    let running = backend(&client, options()).await;
    running.ready().await;
    let mut stream = open_watch(&running).await;
    assert!(snapshot(next_data(&mut stream).await).packages.is_empty());
    c.faults().add(
        Fault::new(FaultAction::Latency { millis: 1_000 })
            .verb("create")
            .path("packages"),
    );
    let mut g = grpc(&running).await;
    let call = tokio::spawn(async move {
        g.install(pb::InstallRequest {
            package: "hello-web".into(),
            namespace: "team-a".into(),
            ..Default::default()
        })
        .await
    });
    // Stop once the create has reached the API server (and is held there).
    while c.counters().get("create", "packages.packages.hoist.dev") == 0 {
        tokio::task::yield_now().await;
    }
    let drained = running.shutdown().await;
    assert_eq!(drained, hoist::runtime::Drained::Completely);
    let done = call
        .await
        .expect("joined")
        .expect("the call in flight completed");
    assert_eq!(done.into_inner().version, "v1.1.0+2");
    // The open stream ended instead of being cut mid-message.
    loop {
        match tokio::time::timeout(PATIENCE, stream.message()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => break,
            Err(_) => panic!("the stream stayed open after the stop"),
        }
    }
}

/// `hoist serve` as Kubernetes runs it: SIGTERM while an install is in flight lets the
/// install finish, then the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_slow_call_lets_it_complete_and_the_process_exits_zero() {
    use tokio::io::AsyncBufReadExt;
    let (c, _client, _samples) = cluster_with_samples().await;
    let kubeconfig = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(kubeconfig.path(), c.kubeconfig()).expect("kubeconfig");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["serve", "--listen", "127.0.0.1:0", "--dist"])
        .arg(dist())
        .env("KUBECONFIG", kubeconfig.path())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("hoist serve starts");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = loop {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("a log line in time")
            .expect("stderr readable")
            .expect("hoist serve logs where it listens");
        if line.contains("listening")
            && let Some(at) = line.find("127.0.0.1:")
        {
            let port: String = line[at + 10..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            break format!("127.0.0.1:{port}");
        }
    };
    // Keep reading the log so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let url = format!("http://{addr}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while reqwest::get(format!("{url}/readyz"))
        .await
        .map_or(true, |r| r.status() != 200)
    {
        assert!(tokio::time::Instant::now() < deadline, "never READY");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    c.faults().add(
        Fault::new(FaultAction::Latency { millis: 1_500 })
            .verb("create")
            .path("packages"),
    );
    let channel = tonic::transport::Channel::from_shared(url)
        .expect("url")
        .connect()
        .await
        .expect("connects");
    let mut g = hoist_proto::v1::dashboard_client::DashboardClient::new(channel);
    let call = tokio::spawn(async move {
        g.install(pb::InstallRequest {
            package: "hello-web".into(),
            namespace: "team-a".into(),
            ..Default::default()
        })
        .await
    });
    while c.counters().get("create", "packages.packages.hoist.dev") == 0 {
        tokio::task::yield_now().await;
    }
    let pid = child.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(killed.success());
    let done = call
        .await
        .expect("joined")
        .expect("the install in flight completed");
    assert_eq!(done.into_inner().version, "v1.1.0+2");
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("exited within the drain deadline")
        .expect("waited");
    assert!(status.success(), "exit status {status:?}");
}
