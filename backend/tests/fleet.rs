//! The fleet controller with a management devcluster and member devclusters (issue 11):
//! a registered member is identified and billed; a refused credential flips at once;
//! a replaced member closes its record as Replaced and opens another; a delete made
//! while the controller is down stops billing at the deletionTimestamp, once; a
//! finalizer stripped by hand leaves an open record the sweep closes as Orphaned.

mod common;

use devcluster::DevCluster;
use devcluster::faults::{Fault, FaultAction};
use hoist::fleet::{self, FleetOptions};
use hoist::types::{Cluster, ClusterSpec, KubeconfigSecretRef, UsageRecord};
use hoist_core::fleet::probe::Policy;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Client, ResourceExt};
use std::time::Duration;

const NS: &str = "hoist-system";
const PATIENCE: Duration = Duration::from_secs(30);

fn quick() -> FleetOptions {
    FleetOptions {
        probe_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(1),
        policy: Policy {
            interval: 1,
            failures: 2,
            grace: 1,
            max_backoff: 2,
            vanish_after: None,
        },
        sweep_interval: Duration::from_millis(500),
        ..Default::default()
    }
}

async fn management() -> (DevCluster, Client) {
    let (c, client) = common::cluster().await;
    hoist::demo::seed::namespace(&client, NS)
        .await
        .expect("namespace");
    (c, client)
}

/// Registers `member` as Cluster `name` (its kubeconfig in a Secret beside it).
async fn register(client: &Client, name: &str, member: &DevCluster) -> Api<Cluster> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let mut s = Secret::default();
    s.metadata.name = Some(format!("{name}-kubeconfig"));
    s.string_data = Some([("value".to_string(), member.kubeconfig())].into());
    secrets
        .create(&PostParams::default(), &s)
        .await
        .expect("secret");
    let clusters: Api<Cluster> = Api::namespaced(client.clone(), NS);
    clusters
        .create(
            &PostParams::default(),
            &Cluster::new(
                name,
                ClusterSpec {
                    kubeconfig_secret_ref: KubeconfigSecretRef {
                        name: format!("{name}-kubeconfig"),
                        ..Default::default()
                    },
                    billing: Default::default(),
                },
            ),
        )
        .await
        .expect("cluster");
    clusters
}

async fn wait(
    api: &Api<Cluster>,
    name: &str,
    what: &str,
    cond: impl Fn(&Cluster) -> bool,
) -> Cluster {
    let done = await_condition(api.clone(), name, move |c: Option<&Cluster>| {
        c.is_some_and(&cond)
    });
    tokio::time::timeout(PATIENCE, done)
        .await
        .unwrap_or_else(|_| panic!("{name}: {what} in time"))
        .expect("watch")
        .expect("exists")
}

fn condition(c: &Cluster, type_: &str) -> Option<String> {
    c.status
        .as_ref()?
        .conditions
        .iter()
        .find(|x| x.type_ == type_)
        .map(|x| x.status.clone())
}

async fn member_identity(member: &DevCluster) -> String {
    let client = member.client().expect("member client");
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client)
        .get("kube-system")
        .await
        .expect("kube-system")
        .uid()
        .expect("uid")
}

async fn records(client: &Client, cluster: &Cluster) -> Vec<UsageRecord> {
    let uid = cluster.uid().expect("uid");
    let mut all: Vec<UsageRecord> = Api::<UsageRecord>::all(client.clone())
        .list(&Default::default())
        .await
        .expect("records")
        .items
        .into_iter()
        .filter(|r| r.spec.cluster_uid == uid)
        .collect();
    all.sort_by_key(|r| r.spec.seq);
    all
}

#[tokio::test]
async fn a_member_is_identified_and_billed_and_refused_credentials_flip_at_once() {
    let (_m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    let metrics = hoist::operator::metrics::Metrics::new();
    let running = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(metrics.fleet.clone()),
            ..quick()
        },
    )
    .await;
    let clusters = register(&client, "alpha", &member).await;
    let identity = member_identity(&member).await;
    let c = wait(&clusters, "alpha", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    assert_eq!(condition(&c, "Ready").as_deref(), Some("True"));
    let status = c.status.clone().expect("status");
    assert_eq!(
        status.identity.as_ref().map(|i| i.kube_system_uid.clone()),
        Some(identity.clone())
    );
    assert!(c.finalizers().contains(&fleet::FINALIZER.to_string()));
    let open = records(&client, &c).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].spec.identity, identity);
    assert!(open[0].spec.stop.is_none());
    assert_eq!(
        status.billing.record.as_deref(),
        Some(open[0].name_any().as_str())
    );
    let text = metrics.encode();
    assert!(
        text.contains("hoist_fleet_probes_total{result=\"ok\"}"),
        "{text}"
    );

    // The member refuses the credential: CredentialsValid goes False at the next probe.
    member.faults().add(Fault::new(FaultAction::Error {
        code: 401,
        retry_after: None,
    }));
    let refused = wait(&clusters, "alpha", "credentials refused", |c| {
        condition(c, "CredentialsValid").as_deref() == Some("False")
    })
    .await;
    assert_eq!(
        condition(&refused, "Reachable").as_deref(),
        Some("True"),
        "it answered"
    );
    assert_eq!(
        records(&client, &refused).await.len(),
        1,
        "still billed: the cluster is there"
    );
    drop(running);
}

#[tokio::test]
async fn a_replaced_member_closes_its_record_and_opens_another() {
    let (_m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    let addr = member.addr();
    let _running = fleet::start(client.clone(), NS, quick()).await;
    let clusters = register(&client, "beta", &member).await;
    let first = wait(&clusters, "beta", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    let old_identity = member_identity(&member).await;
    member.shutdown().await;
    // Another cluster answers at the same address.
    let fresh = DevCluster::start(devcluster::Options {
        listen: addr,
        ..Default::default()
    })
    .await
    .expect("a new member on the same address");
    let new_identity = member_identity(&fresh).await;
    assert_ne!(old_identity, new_identity);
    // Its credentials are new too (its own CA and admin token): the kubeconfig Secret
    // is updated, as whoever replaced the cluster would.
    let secret = Secret {
        string_data: Some([("value".to_string(), fresh.kubeconfig())].into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), NS)
        .patch(
            "beta-kubeconfig",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&secret),
        )
        .await
        .expect("the new kubeconfig");
    wait(&clusters, "beta", "the new identity", |c| {
        c.status
            .as_ref()
            .and_then(|s| s.identity.as_ref())
            .is_some_and(|i| i.kube_system_uid == new_identity)
    })
    .await;
    let all = records(&client, &first).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0].spec.stop_source.as_deref(), Some("Replaced"));
    assert_eq!(all[0].spec.identity, old_identity);
    assert!(all[1].spec.stop.is_none());
    assert_eq!(all[1].spec.identity, new_identity);
}

#[tokio::test]
async fn a_delete_while_the_controller_is_down_stops_billing_at_its_deletion_timestamp_once() {
    let (_m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    let running = fleet::start(client.clone(), NS, quick()).await;
    let clusters = register(&client, "gamma", &member).await;
    let billed = wait(&clusters, "gamma", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    running.abort();
    clusters
        .delete("gamma", &DeleteParams::default())
        .await
        .expect("delete");
    let deleting = clusters.get("gamma").await.expect("held by the finalizer");
    let deleted_at = deleting
        .metadata
        .deletion_timestamp
        .clone()
        .expect("deletionTimestamp")
        .0
        .as_second();
    // Some time passes with nobody to stop the record; then the controller comes back.
    member
        .faults()
        .add(Fault::new(FaultAction::Latency { millis: 1100 }).times(1));
    let _ = member_identity(&member).await;
    let metrics = hoist::operator::metrics::Metrics::new();
    let _again = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(metrics.fleet.clone()),
            ..quick()
        },
    )
    .await;
    let gone = await_condition(clusters.clone(), "gamma", |c: Option<&Cluster>| c.is_none());
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("the delete completes")
        .expect("watch");
    let all = records(&client, &billed).await;
    assert_eq!(all.len(), 1);
    let stop = all[0].spec.stop.clone().expect("stopped");
    assert_eq!(
        hoist::fleet::time::parse(&stop),
        Some(deleted_at),
        "stopped at the deletionTimestamp, not when the controller came back"
    );
    assert_eq!(all[0].spec.stop_source.as_deref(), Some("Deleted"));
    assert!(
        metrics
            .encode()
            .contains("hoist_fleet_usage_stops_total{source=\"Deleted\"} 1"),
        "the stop is counted once"
    );
    // A second writer's stop changes nothing.
    let api: Api<UsageRecord> = Api::all(client.clone());
    let kept = hoist::fleet::ledger::stop_once(
        &api,
        &all[0].name_any(),
        deleted_at + 3600,
        hoist_core::fleet::ledger::StopSource::Orphaned,
    )
    .await
    .expect("stop");
    assert_eq!(kept.0, deleted_at);
}

#[tokio::test]
async fn a_finalizer_stripped_by_hand_leaves_an_open_record_the_sweep_closes_as_orphaned() {
    let (_m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    let running = fleet::start(client.clone(), NS, quick()).await;
    let clusters = register(&client, "delta", &member).await;
    let billed = wait(&clusters, "delta", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    running.abort();
    clusters
        .delete("delta", &DeleteParams::default())
        .await
        .expect("delete");
    clusters
        .patch(
            "delta",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("strip the finalizer");
    let _again = fleet::start(client.clone(), NS, quick()).await;
    let api: Api<UsageRecord> = Api::all(client.clone());
    let name = records(&client, &billed).await[0].name_any();
    let closed = await_condition(api, &name, |r: Option<&UsageRecord>| {
        r.is_some_and(|r| r.spec.stop.is_some())
    });
    let r = tokio::time::timeout(PATIENCE, closed)
        .await
        .expect("swept in time")
        .expect("watch")
        .expect("kept: billing history is never deleted");
    assert_eq!(r.spec.stop_source.as_deref(), Some("Orphaned"));
}

/// A usage sink on a loopback port: records each CloudEvent id it is sent, answering
/// 503 while `failing`.
struct Sink {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sent: tokio::sync::watch::Receiver<usize>,
}

async fn sink() -> Sink {
    use axum::http::StatusCode;
    use std::sync::atomic::{AtomicBool, Ordering};
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>> = Default::default();
    let failing = std::sync::Arc::new(AtomicBool::new(true));
    let (tx, sent) = tokio::sync::watch::channel(0usize);
    let (s2, f2) = (seen.clone(), failing.clone());
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: String| {
            let (seen, failing, tx) = (s2.clone(), f2.clone(), tx.clone());
            async move {
                let id = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["id"].as_str().map(String::from))
                    .unwrap_or_default();
                let fail = failing.load(Ordering::SeqCst);
                let n = {
                    let mut s = seen.lock().expect("lock");
                    s.push((id, !fail));
                    s.len()
                };
                tx.send_replace(n);
                if fail {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Sink {
        url,
        seen,
        failing,
        sent,
    }
}

#[tokio::test]
async fn usage_reaches_a_sink_that_was_down_every_period_once_acknowledged_with_stable_ids() {
    use std::sync::atomic::Ordering;
    let (_m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    let mut sink = sink().await;
    let _running = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            relay: Some(hoist::fleet::relay::RelayOptions {
                period: 1,
                grace: 0,
                every: Duration::from_millis(100),
                ..hoist::fleet::relay::RelayOptions::new(sink.url.clone())
            }),
            ..quick()
        },
    )
    .await;
    let clusters = register(&client, "epsilon", &member).await;
    let billed = wait(&clusters, "epsilon", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    // The sink refuses a few deliveries: nothing is acknowledged, the error is kept.
    tokio::time::timeout(PATIENCE, sink.sent.wait_for(|n| *n >= 3))
        .await
        .expect("deliveries tried")
        .expect("sink alive");
    let record = records(&client, &billed).await.remove(0);
    let record_name = record.name_any();
    let api: Api<UsageRecord> = Api::all(client.clone());
    let failed = await_condition(api.clone(), &record_name, |r: Option<&UsageRecord>| {
        r.and_then(|r| r.status.as_ref()).is_some_and(|s| {
            s.last_export_error
                .as_deref()
                .is_some_and(|e| e.contains("503"))
        })
    });
    let failed = tokio::time::timeout(PATIENCE, failed)
        .await
        .expect("the failure recorded")
        .expect("watch")
        .expect("record");
    assert!(failed.status.expect("status").exported_through.is_none());
    // The sink recovers: deliveries resume from the first unacknowledged period.
    sink.failing.store(false, Ordering::SeqCst);
    let caught_up = await_condition(api.clone(), &record_name, |r: Option<&UsageRecord>| {
        r.and_then(|r| r.status.as_ref())
            .is_some_and(|s| s.exported_through.is_some() && s.last_export_error.is_none())
    });
    let r = tokio::time::timeout(PATIENCE, caught_up)
        .await
        .expect("delivered")
        .expect("watch")
        .expect("record");
    let through = hoist::fleet::time::parse(
        r.status
            .as_ref()
            .and_then(|s| s.exported_through.as_deref())
            .expect("watermark"),
    )
    .expect("a time");
    let seen = sink.seen.lock().expect("lock").clone();
    let refused_first = seen.iter().find(|(_, ok)| !ok).map(|(id, _)| id.clone());
    let accepted: Vec<&String> = seen
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        refused_first.as_ref(),
        accepted.first().copied(),
        "the first period, resent with the same id"
    );
    // Every period from the record's start to the watermark, each acknowledged once.
    let start = hoist::fleet::time::parse(&r.spec.start).expect("start");
    let expected: Vec<String> = (start..through)
        .map(|t| format!("{}/{}/{t}-{}", r.spec.cluster_uid, r.spec.seq, t + 1))
        .collect();
    let mut got: Vec<String> = accepted.iter().map(|s| s.to_string()).collect();
    got.retain(|id| expected.contains(id));
    assert_eq!(got, expected, "no gap, no duplicate acknowledgement");
}

#[tokio::test]
async fn member_faults_turn_reachable_false_only_when_they_last_and_billing_stays() {
    let (_m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    let _running = fleet::start(client.clone(), NS, quick()).await;
    let clusters = register(&client, "zeta", &member).await;
    wait(&clusters, "zeta", "ready", |c| {
        condition(c, "Ready").as_deref() == Some("True")
    })
    .await;
    let unreachable = |c: &Cluster| condition(c, "Reachable").as_deref() == Some("False");
    let reachable = |c: &Cluster| condition(c, "Reachable").as_deref() == Some("True");
    // 503 from everything: unreachable once failures last; the credential is not
    // blamed, and the cluster is still billed (it may come back).
    member.faults().add(Fault::new(FaultAction::Error {
        code: 503,
        retry_after: None,
    }));
    let down = wait(&clusters, "zeta", "unreachable on 503", unreachable).await;
    assert_eq!(
        condition(&down, "CredentialsValid").as_deref(),
        Some("True")
    );
    assert_eq!(condition(&down, "Billed").as_deref(), Some("True"));
    member.faults().clear();
    wait(&clusters, "zeta", "back", reachable).await;
    // Slower than the probe's deadline: the same.
    member
        .faults()
        .add(Fault::new(FaultAction::Latency { millis: 3000 }));
    wait(&clusters, "zeta", "unreachable when too slow", unreachable).await;
    member.faults().clear();
    wait(&clusters, "zeta", "back", reachable).await;
    // Stopped altogether.
    member.shutdown().await;
    let gone = wait(&clusters, "zeta", "unreachable when stopped", unreachable).await;
    assert!(
        gone.status
            .and_then(|s| s.probe.last_error)
            .is_some_and(|e| !e.is_empty())
    );
}

#[tokio::test]
async fn a_management_cluster_restarted_from_its_state_file_keeps_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("management.json");
    let management = DevCluster::start(devcluster::Options {
        state_file: Some(state.clone()),
        ..Default::default()
    })
    .await
    .expect("management");
    let client = management.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    hoist::demo::seed::namespace(&client, NS)
        .await
        .expect("namespace");
    let member = DevCluster::start(Default::default()).await.expect("member");
    let running = fleet::start(client.clone(), NS, quick()).await;
    let clusters = register(&client, "eta", &member).await;
    let billed = wait(&clusters, "eta", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    let before = records(&client, &billed).await;
    running.abort();
    management.shutdown().await;
    let again = DevCluster::start(devcluster::Options {
        state_file: Some(state),
        ..Default::default()
    })
    .await
    .expect("management again");
    let client = again.client().expect("client");
    let after = records(&client, &billed).await;
    assert_eq!(
        after.iter().map(|r| r.spec.clone()).collect::<Vec<_>>(),
        before.iter().map(|r| r.spec.clone()).collect::<Vec<_>>()
    );
    assert!(after.iter().all(|r| {
        r.finalizers()
            .contains(&"fleet.hoist.dev/retain".to_string())
    }));
}

#[tokio::test]
async fn two_controllers_and_a_conflict_on_the_stop_write_record_one_stop_that_never_moves() {
    let (m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    // Two controllers on one management cluster (as two replicas between leases), each
    // counting the stops it sets.
    let (one, two) = (
        hoist::operator::metrics::Metrics::new(),
        hoist::operator::metrics::Metrics::new(),
    );
    let _first = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(one.fleet.clone()),
            ..quick()
        },
    )
    .await;
    let _second = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(two.fleet.clone()),
            ..quick()
        },
    )
    .await;
    let clusters = register(&client, "delta", &member).await;
    let billed = wait(&clusters, "delta", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    // The first stop write conflicts, as when another writer changed the record.
    m.faults().add(
        Fault::new(FaultAction::Error {
            code: 409,
            retry_after: None,
        })
        .verb("patch")
        .path("/usagerecords/")
        .times(1),
    );
    clusters
        .delete("delta", &DeleteParams::default())
        .await
        .expect("delete");
    let deleted_at = clusters
        .get_opt("delta")
        .await
        .expect("get")
        .and_then(|c| c.metadata.deletion_timestamp)
        .map(|t| t.0.as_second());
    let gone = await_condition(clusters.clone(), "delta", |c: Option<&Cluster>| c.is_none());
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("the delete completes")
        .expect("watch");
    let all = records(&client, &billed).await;
    assert_eq!(all.len(), 1, "one record, never a second");
    let stop = all[0]
        .spec
        .stop
        .as_deref()
        .and_then(hoist::fleet::time::parse);
    if let Some(at) = deleted_at {
        assert_eq!(stop, Some(at), "stopped at the deletionTimestamp");
    }
    assert_eq!(all[0].spec.stop_source.as_deref(), Some("Deleted"));
    let counted = |m: &hoist::operator::metrics::Metrics| {
        m.encode()
            .lines()
            .find(|l| l.starts_with("hoist_fleet_usage_stops_total{source=\"Deleted\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert_eq!(
        counted(&one) + counted(&two),
        1,
        "exactly one writer set the stop"
    );
}

#[tokio::test]
async fn a_record_past_its_retention_is_released_and_one_deleted_by_hand_while_open_keeps_billing()
{
    let (_m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    let _running = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            retention: Some(1),
            ..quick()
        },
    )
    .await;
    let clusters = register(&client, "epsilon", &member).await;
    let billed = wait(&clusters, "epsilon", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    let api: Api<UsageRecord> = Api::all(client.clone());
    let open = records(&client, &billed).await.remove(0);
    // Someone deletes the open record by hand: the retain finalizer keeps it, and it
    // still bills (the ledger never loses an interval to a stray delete).
    api.delete(&open.name_any(), &DeleteParams::default())
        .await
        .expect("delete by hand");
    let kept = api
        .get(&open.name_any())
        .await
        .expect("kept by its finalizer");
    assert!(kept.metadata.deletion_timestamp.is_some());
    assert!(kept.spec.stop.is_none(), "still open");
    // The Cluster goes: the record stops, and a second past its stop the sweep
    // releases it.
    clusters
        .delete("epsilon", &DeleteParams::default())
        .await
        .expect("delete");
    let name = open.name_any();
    let released = await_condition(api.clone(), &name, |u: Option<&UsageRecord>| u.is_none());
    tokio::time::timeout(PATIENCE, released)
        .await
        .expect("released after its retention")
        .expect("watch");
}
