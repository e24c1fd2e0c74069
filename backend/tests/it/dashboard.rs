//! The dashboard backend against devcluster: readiness, the package stream, resume,
//! slow subscribers, watch faults, health and gRPC-web.

use crate::common;
use common::*;
use devcluster::{Fault, FaultAction, WatchEnding};
use hoist::types::ClusterPackage;
use hoist_proto::v1 as pb;
use hoist_proto::v1::watch_event::Event;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use tonic_types::StatusExt;

#[tokio::test]
async fn ready_only_after_every_kind_synced_and_unary_reads_say_when_to_retry() {
    let (c, client) = cluster().await;
    for i in 0..3 {
        create(&client, &format!("p{i}")).await;
    }
    // The Namespace list fails until the test lets it through.
    c.faults().add(
        Fault::new(FaultAction::Error {
            code: 403,
            retry_after: None,
        })
        .verb("list")
        .path("/api/v1/namespaces"),
    );
    let running = backend(&client, options()).await;
    let mut grpc = grpc(&running).await;

    let err = grpc
        .list_packages(pb::ListPackagesRequest {})
        .await
        .expect_err("not ready yet");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let retry = err.get_details_retry_info().expect("RetryInfo attached");
    assert!(retry.retry_delay.is_some_and(|d| !d.is_zero()));

    let mut stream = grpc
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let first = stream.message().await.expect("ok").expect("first message");
    match first.event {
        Some(Event::Status(s)) => assert_ne!(
            s.phase,
            pb::Phase::Ready as i32,
            "READY before the Namespace list finished"
        ),
        other => panic!("the status comes first: {other:?}"),
    }
    let reg = reqwest_like_get(&running, "/readyz").await;
    assert_eq!(reg.0, 503, "{reg:?}");

    c.faults().clear();
    let snap = snapshot(next_data(&mut stream).await);
    assert_eq!(snap.packages.len(), 3);
    let status = running.gate.status();
    assert!(
        status.kinds.values().all(|k| k.synced),
        "a snapshot only after every kind synced: {status:?}"
    );
    assert_eq!(reqwest_like_get(&running, "/readyz").await.0, 200);
    let listed = grpc
        .list_packages(pb::ListPackagesRequest {})
        .await
        .expect("ready now")
        .into_inner();
    assert_eq!(listed.packages.len(), 3);
}

#[tokio::test]
async fn a_slow_list_reports_its_total_before_it_finishes() {
    let (c, client) = cluster().await;
    for i in 0..3 {
        create(&client, &format!("p{i}")).await;
    }
    // ClusterPackage lists take longer than PROBE_AFTER: the page gets a total to show
    // progress against, before the list itself is done.
    c.faults().add(
        Fault::new(FaultAction::Latency {
            millis: 4 * hoist::reflector::PROBE_AFTER.as_millis() as u64,
        })
        .verb("list")
        .path("/clusterpackages")
        .times(1), // the watcher's list, which starts first; not the count
    );
    let running = backend(&client, options()).await;
    let mut stream = open_watch(&running).await;
    let totalled = tokio::time::timeout(PATIENCE, async {
        loop {
            let ev = stream.message().await.expect("ok").expect("open");
            if let Some(Event::Status(s)) = ev.event {
                let cp = s.kinds.iter().find(|k| k.kind == "ClusterPackage").cloned();
                if let Some(k) = cp.filter(|k| k.objects_total > 0) {
                    return k;
                }
            }
        }
    })
    .await
    .expect("a total in time");
    assert_eq!(totalled.objects_total, 3);
    assert!(
        !totalled.synced,
        "the total came while the list was still running"
    );
    running.ready().await;
}

/// Waits until `kind`'s last error in the gate's status satisfies `pred`.
async fn kind_error_until(
    running: &hoist::serve::Running,
    kind: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    let mut rx = running.gate.subscribe();
    let status = tokio::time::timeout(
        PATIENCE,
        rx.wait_for(|s| {
            s.kinds
                .get(kind)
                .and_then(|k| k.last_error.as_deref())
                .is_some_and(&pred)
        }),
    )
    .await
    .expect("the error in time")
    .expect("gate alive")
    .clone();
    status.kinds[kind].last_error.clone().unwrap_or_default()
}

#[tokio::test]
async fn missing_crds_and_missing_permissions_say_what_to_do_and_fixing_the_cluster_is_enough() {
    // A cluster without Hoist's CRDs, and Namespaces forbidden for the first lists.
    let cluster = devcluster::DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    cluster.faults().add(
        Fault::new(FaultAction::Error {
            code: 403,
            retry_after: None,
        })
        .verb("list")
        .path("/namespaces")
        .times(2),
    );
    let running = backend(&client, options()).await;
    let crd = kind_error_until(&running, "ClusterPackage", |e| e.contains("crdgen")).await;
    assert!(
        crd.contains("CustomResourceDefinition is not installed"),
        "{crd}"
    );
    let forbidden = kind_error_until(&running, "Namespace", |e| e.contains("grant")).await;
    assert!(
        forbidden.contains("may not list and watch Namespace"),
        "{forbidden}"
    );
    assert_eq!(
        running.gate.status().phase,
        hoist::reflector::readiness::Phase::Syncing
    );
    // The CRDs are installed: READY without a restart.
    hoist::demo::install_crds(&client).await.expect("CRDs");
    running.ready().await;
}

#[tokio::test]
async fn a_change_made_through_kube_appears_with_the_next_revision() {
    let (_c, client) = cluster().await;
    create(&client, "a").await;
    let running = backend(&client, options()).await;
    let mut stream = open_watch(&running).await;
    let snap = snapshot(next_data(&mut stream).await);
    create(&client, "b").await;
    let c = change(next_data(&mut stream).await);
    assert_eq!(c.revision, snap.revision + 1);
    match c.change {
        Some(pb::package_change::Change::Upsert(p)) => {
            assert_eq!(p.package_name, "b");
            assert_eq!(p.state, "Pending");
        }
        other => panic!("{other:?}"),
    }
    let api: Api<ClusterPackage> = Api::all(client.clone());
    api.delete("a", &Default::default()).await.expect("delete");
    let d = change(next_data(&mut stream).await);
    assert_eq!(d.revision, snap.revision + 2);
    assert!(matches!(d.change, Some(pb::package_change::Change::Delete(k)) if k.name == "a"));
}

#[tokio::test]
async fn resume_after_a_disconnect_loses_and_repeats_nothing() {
    let (_c, client) = cluster().await;
    create(&client, "a").await;
    let running = backend(&client, options()).await;
    let mut grpc = grpc(&running).await;
    let mut stream = grpc
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let snap = snapshot(next_data(&mut stream).await);
    drop(stream);
    let (_, mut hub_events) = running.hub.subscribe("", 0);
    for n in ["b", "c", "d"] {
        create(&client, n).await;
    }
    // Wait until the hub has all three before resuming, so the replay is complete.
    tokio::time::timeout(PATIENCE, async {
        while running.hub.revision() < snap.revision + 3 {
            hub_events.recv().await.expect("hub open");
        }
    })
    .await
    .expect("the hub saw the changes");
    let req = pb::WatchRequest {
        instance_id: snap.instance_id.clone(),
        resume_from: snap.revision,
    };
    let mut resumed = grpc.watch(req).await.expect("watch").into_inner();
    let revisions: Vec<u64> = [
        next_data(&mut resumed).await,
        next_data(&mut resumed).await,
        next_data(&mut resumed).await,
    ]
    .into_iter()
    .map(|e| change(e).revision)
    .collect();
    assert_eq!(
        revisions,
        [snap.revision + 1, snap.revision + 2, snap.revision + 3]
    );
    create(&client, "e").await;
    assert_eq!(
        change(next_data(&mut resumed).await).revision,
        snap.revision + 4,
        "then live, nothing repeated"
    );

    let other = pb::WatchRequest {
        instance_id: "a-previous-server".into(),
        resume_from: snap.revision,
    };
    let mut fresh = grpc.watch(other).await.expect("watch").into_inner();
    assert_eq!(
        snapshot(next_data(&mut fresh).await).packages.len(),
        5,
        "another instance's revision gets a snapshot"
    );
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_does_not_delay_another() {
    let (_c, client) = cluster().await;
    let opts = hoist::serve::ServeOptions {
        subscriber_buffer: 8,
        ..options()
    };
    let running = backend(&client, opts).await;
    // The stalled client has its own connection with a small HTTP/2 window, so that
    // not reading soon pushes back on the server.
    let channel = tonic::transport::Channel::from_shared(running.url())
        .expect("url")
        .initial_stream_window_size(Some(1024))
        .connect()
        .await
        .expect("connect");
    let mut stalled_client = hoist_proto::v1::dashboard_client::DashboardClient::new(channel);
    let mut stalled = stalled_client
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    snapshot(next_data(&mut stalled).await);
    let mut grpc = grpc(&running).await;
    let mut live = grpc
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let snap = snapshot(next_data(&mut live).await);
    let n = 300;
    for i in 0..n {
        create(&client, &format!("p{i:03}")).await;
    }
    for i in 0..n {
        let c = change(next_data(&mut live).await);
        assert_eq!(
            c.revision,
            snap.revision + 1 + i as u64,
            "the live subscriber gets every change in order"
        );
    }
    // The stalled one fell behind its buffer: when it reads again it is resynchronised.
    let mut saw_snapshot = false;
    let mut last = None;
    while last != Some(snap.revision + n as u64) {
        match next_data(&mut stalled).await {
            Event::Snapshot(s) => {
                saw_snapshot = true;
                last = Some(s.revision);
                assert_eq!(s.packages.len() as u64, s.revision - snap.revision);
            }
            Event::Change(c) => last = Some(c.revision),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        saw_snapshot,
        "overflow turned into a fresh snapshot for that subscriber"
    );
}

#[tokio::test]
async fn watch_drops_and_410s_never_emit_spurious_deletes() {
    let (c, client) = cluster().await;
    for i in 0..5 {
        create(&client, &format!("p{i}")).await;
    }
    let running = backend(&client, options()).await;
    let mut stream = open_watch(&running).await;
    let snap = snapshot(next_data(&mut stream).await);
    // Cut the next watches, and compact so that the re-watch gets 410 and relists.
    c.faults().add(
        Fault::new(FaultAction::WatchEnd {
            after_events: 1,
            how: WatchEnding::Abrupt,
        })
        .verb("watch")
        .path("clusterpackages")
        .times(2),
    );
    let api: Api<ClusterPackage> = Api::all(client.clone());
    api.patch(
        "p0",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .expect("patch");
    c.compact();
    api.patch(
        "p1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .expect("patch");
    create(&client, "late").await;
    c.compact();
    let mut names = std::collections::BTreeSet::new();
    while names.len() < 3 {
        match change(next_data(&mut stream).await).change {
            Some(pb::package_change::Change::Upsert(p)) => {
                names.insert(p.key.expect("key").name);
            }
            other => panic!("only upserts happened, got {other:?}"),
        }
    }
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["late", "p0", "p1"]);
    assert_eq!(running.hub.len(), snap.packages.len() + 1);
}

#[tokio::test]
async fn health_metrics_spa_and_grpc_web_share_one_port() {
    let (_c, client) = cluster().await;
    create(&client, "a").await;
    let running = backend(&client, options()).await;
    assert_eq!(reqwest_like_get(&running, "/livez").await.0, 200);
    running.ready().await;
    let (code, metrics) = reqwest_like_get(&running, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("hoist_cache_objects{kind=\"ClusterPackage\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("hoist_cache_ready 1"), "{metrics}");
    let (code, page) = reqwest_like_get(&running, "/packages/some/client/route").await;
    assert_eq!(
        (code, page.contains("<title>Hoist</title>")),
        (200, true),
        "unknown paths get the SPA"
    );

    // gRPC-web over HTTP/1.1: a ListPackages call framed by hand.
    let body = [0u8, 0, 0, 0, 0];
    let (code, text) = raw_post(
        &running,
        "/hoist.v1.Dashboard/ListPackages",
        "application/grpc-web+proto",
        &body,
    )
    .await;
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("grpc-status:0"),
        "trailers carry grpc-status 0: {text:?}"
    );
}

/// A plain HTTP/1.1 GET; returns the status code and body.
async fn reqwest_like_get(running: &hoist::serve::Running, path: &str) -> (u16, String) {
    raw(running, "GET", path, "", &[]).await
}

async fn raw_post(
    running: &hoist::serve::Running,
    path: &str,
    ct: &str,
    body: &[u8],
) -> (u16, String) {
    raw(running, "POST", path, ct, body).await
}

async fn raw(
    running: &hoist::serve::Running,
    method: &str,
    path: &str,
    ct: &str,
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(running.addr)
        .await
        .expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        running.addr,
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[tokio::test]
async fn every_live_stream_gets_a_heartbeat_each_interval_carrying_the_current_revision() {
    let (_c, client) = cluster().await;
    create(&client, "p0").await;
    let opts = hoist::serve::ServeOptions {
        heartbeat: std::time::Duration::from_millis(100),
        ..options()
    };
    let running = backend(&client, opts).await;
    let mut first = open_watch(&running).await;
    let mut second = open_watch(&running).await;
    let revision = snapshot(next_data(&mut first).await).revision;
    assert_eq!(snapshot(next_data(&mut second).await).revision, revision);
    for stream in [&mut first, &mut second] {
        // Two beats each, well within the bound: one task beats for every stream.
        let beats = async {
            let mut beats = 0;
            while beats < 2 {
                let event = stream.message().await.expect("read").expect("open");
                if let Some(Event::Heartbeat(h)) = event.event {
                    assert_eq!(h.revision, revision, "no change since the snapshot");
                    assert!(h.server_unix_ms > 0);
                    beats += 1;
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), beats)
            .await
            .expect("heartbeats on every live stream");
    }
}
