//! Refresh is the caller's: it revalidates the repositories (coalesced, so a loop of
//! Refreshes costs each repository little) and never resynchronises other streams.

use crate::common;
use common::repo_server::{Reply, RepoServer};
use common::*;
use hoist_proto::v1 as pb;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_client_refreshing_in_a_loop_for_2_s_adds_no_snapshot_to_another_stream_and_asks_the_repository_little()
 {
    let server = RepoServer::start().await;
    server.set(
        "/index.yaml",
        Reply::Body("packages:\n- name: hello\n".into()),
    );
    let (_c, client) = cluster().await;
    add_repository(&client, "main", &server.base).await;
    let running = backend(&client, options()).await;
    running.ready().await;
    let mut observer = open_watch(&running).await;
    assert!(snapshot(next_data(&mut observer).await).packages.is_empty());
    catalogue_until(&mut observer, |c| c.entries.len() == 1).await;
    let index_hits = server.hits("/index.yaml");
    let snapshots = running.metrics.snapshots_sent();

    let mut g = grpc(&running).await;
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(2) && calls < 10_000 {
        g.refresh(pb::RefreshRequest::default())
            .await
            .expect("refresh");
        calls += 1;
    }
    assert!(calls > 10, "the loop ran ({calls} calls)");

    // The observer's next package event is the change below, not a snapshot.
    create(&client, "after-the-loop").await;
    let next = change(next_data(&mut observer).await);
    assert_eq!(next.revision, 1);
    assert_eq!(
        running.metrics.snapshots_sent(),
        snapshots,
        "no stream was sent a snapshot"
    );
    // At most one revalidation per 2 s window: the loop's first call, and at most one
    // more if the loop ran a little past the window.
    let asked = server.hits("/index.yaml") - index_hits;
    assert!(
        asked <= 2,
        "{calls} Refreshes asked the repository {asked} times"
    );
}
