//! The Clusters page in the browser, against a management devcluster running the fleet
//! controller and two member devclusters: both identified and billed; one stopped turns
//! Unreachable with a billing warning; the other removed after typing its name, its
//! billing stopped (Deleted) and gone from the page; usage downloads as CSV.

use fantoccini::Locator;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NS: &str = "hoist-system";

/// A plain `GET path` on the dashboard's port: the status line and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("request");
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .expect("an answer in time")
        .expect("read");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clusters_page_shows_billing_live_warns_on_an_unreachable_member_and_removes_one_after_its_name_is_typed()
 {
    let (cluster, client, _samples) = hoist_tests::cluster_with_samples().await;
    hoist::demo::seed::namespace(&client, NS)
        .await
        .expect("namespace");
    let fleet = hoist::fleet::start(
        client.clone(),
        NS,
        hoist::fleet::FleetOptions {
            probe_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(1),
            policy: hoist_core::fleet::probe::Policy {
                interval: 1,
                failures: 2,
                grace: 1,
                max_backoff: 2,
                vanish_after: Some(3600),
            },
            ..Default::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut members = Vec::new();
    for name in ["edge-a", "edge-b"] {
        let member = devcluster::DevCluster::start(Default::default())
            .await
            .expect("member");
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, member.kubeconfig()).expect("kubeconfig");
        hoist::cli::fleet::add(&client, NS, name, &file, None)
            .await
            .expect("cluster add");
        members.push(member);
    }
    let backend = hoist::serve::start(
        client.clone(),
        hoist::serve::ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            dist: hoist_tests::dist(),
            namespace: NS.into(),
            ..Default::default()
        },
    )
    .await
    .expect("backend");
    let browser = hoist_tests::Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{}/#/clusters", backend.url()))
        .await
        .expect("open");

    // Both identified and billed, from the operator's records.
    browser.wait_text("#billed-now", |t| t == "2").await;
    browser
        .wait_count("#clusters tr[data-name=edge-a][data-state=Ready]", 1)
        .await;
    browser
        .wait_text("#clusters tr[data-name=edge-a] td:nth-child(4)", |t| {
            !t.is_empty() && t != "—"
        })
        .await;
    browser
        .wait_text("#period-hours", |t| t.ends_with(" h"))
        .await;

    // A member that stops answering: Unreachable, still billed, and the page says so.
    let b_member = members.pop().expect("edge-b");
    b_member.shutdown().await;
    browser
        .wait_count("#clusters tr[data-name=edge-b][data-state=Unreachable]", 1)
        .await;
    browser
        .wait_text("#clusters tr[data-name=edge-b] .warning", |t| {
            t.contains("unreachable and billed")
        })
        .await;

    // Removing asks for the name; the wrong one leaves the button disabled.
    b.find(Locator::Css("#clusters tr[data-name=edge-a] .remove"))
        .await
        .expect("remove")
        .click()
        .await
        .expect("ask");
    let input = b
        .find(Locator::Css("#remove-confirm"))
        .await
        .expect("confirmation");
    input.send_keys("edge-b").await.expect("type");
    let button = b
        .find(Locator::Css("#remove-button"))
        .await
        .expect("button");
    assert!(
        button.attr("disabled").await.expect("attr").is_some(),
        "the wrong name typed must not enable the removal"
    );
    input.clear().await.expect("clear");
    input.send_keys("edge-a").await.expect("type");
    browser
        .wait_count("#remove-button:not([disabled])", 1)
        .await;
    b.find(Locator::Css("#remove-button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("remove");
    browser
        .wait_text("#cluster-answer", |t| t.contains("billing stops now"))
        .await;
    // The operator records the stop and releases the Cluster: the row goes, and only
    // the unreachable member is billed.
    browser
        .wait_count("#clusters tr[data-name=edge-a]", 0)
        .await;
    browser.wait_text("#billed-now", |t| t == "1").await;
    // Gone from the clusters, kept where billing is: the recorded stop and why.
    browser
        .wait_text("#removed tr[data-name=edge-a] .stop", |t| {
            t.contains("(Deleted)")
        })
        .await;

    // The page's download link, and what it serves: edge-a's record, stopped as Deleted.
    let href = b
        .find(Locator::Css("#usage-link"))
        .await
        .expect("link")
        .attr("href")
        .await
        .expect("attr")
        .expect("href");
    assert!(href.starts_with("/api/usage?format=csv"), "{href}");
    let (status, csv) = get(backend.addr, &href).await;
    assert!(status.contains("200"), "{status}: {csv}");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows.first().copied(),
        Some("cluster,clusterUID,record,start,stop,stopSource,seconds")
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("edge-a,") && r.contains(",Deleted,")),
        "{csv}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("edge-b,") && r.contains(",,,")),
        "edge-b is still billed (no stop): {csv}"
    );
    let (status, body) = get(backend.addr, "/api/usage?from=yesterday").await;
    assert!(
        status.contains("400") && body.contains("RFC 3339"),
        "{status}: {body}"
    );

    browser.close().await;
    backend.shutdown().await;
    fleet.abort();
    for m in members {
        m.shutdown().await;
    }
    cluster.shutdown().await;
}
