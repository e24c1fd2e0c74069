//! The fleet controller with a management devcluster and member devclusters (issue 11):
//! a registered member is identified and billed; a refused credential flips at once;
//! a replaced member closes its record as Replaced and opens another; a delete made
//! while the controller is down stops billing at the deletionTimestamp, once; a
//! finalizer stripped by hand leaves an open record the sweep closes as Orphaned.
//! A member is hostile input (issue 20): a kubeconfig naming a file, a program or a
//! proxy is refused before anything is sent or run, at `hoist cluster add` and in the
//! controller; a member's answers are read only up to a cap and never copied into a
//! status verbatim.

use crate::common;

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
    register_kubeconfig(client, name, &member.kubeconfig()).await
}

/// Registers Cluster `name` with `kubeconfig` in a Secret beside it, as someone who
/// may write Secrets in Hoist's namespace could.
async fn register_kubeconfig(client: &Client, name: &str, kubeconfig: &str) -> Api<Cluster> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let mut s = Secret::default();
    s.metadata.name = Some(format!("{name}-kubeconfig"));
    s.string_data = Some([("value".to_string(), kubeconfig.to_string())].into());
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
        .map(|x| x.status.to_string())
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
    let (metrics, fleet_metrics) = hoist::app::operator::metrics();
    let running = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(fleet_metrics.clone()),
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
    let (metrics, fleet_metrics) = hoist::app::operator::metrics();
    let _again = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(fleet_metrics.clone()),
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
    let ((one, one_fleet), (two, two_fleet)) = (
        hoist::app::operator::metrics(),
        hoist::app::operator::metrics(),
    );
    let _first = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(one_fleet.clone()),
            ..quick()
        },
    )
    .await;
    let _second = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(two_fleet.clone()),
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

/// The condition `type_` of `c`.
fn condition_of<'a>(c: &'a Cluster, type_: &str) -> Option<&'a hoist::types::Condition> {
    c.status
        .as_ref()?
        .conditions
        .iter()
        .find(|x| x.type_ == type_)
}

fn refused_kubeconfig(c: &Cluster) -> bool {
    condition_of(c, "CredentialsValid").is_some_and(|x| x.reason == "KubeconfigRefused")
}

/// A kubeconfig for the server at `server` whose user is `user` (YAML flow mapping).
fn kubeconfig_with_user(server: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: {server}\n\
         users:\n- name: m\n  user: {user}\ncontexts:\n- name: m\n  context:\n    cluster: m\n    \
         user: m\ncurrent-context: m\n"
    )
}

/// A loopback port that accepts nothing by itself: whatever connected to it waits in
/// its accept queue, where the test looks.
fn tripwire() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, url)
}

/// Whether anything connected to the tripwire. A probe connects before the status
/// write that reported it, and the kernel queues the connection before `connect`
/// returns, so after the status is seen the answer is final.
fn tripped(listener: &std::net::TcpListener) -> bool {
    match listener.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

#[tokio::test]
async fn a_kubeconfig_with_a_token_file_is_refused_without_reading_it_or_sending_anything() {
    let (_m, client) = management().await;
    let (listener, url) = tripwire();
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "the-operators-own-token").expect("token file");
    let _running = fleet::start(client.clone(), NS, quick()).await;
    let clusters = register_kubeconfig(
        &client,
        "theta",
        &kubeconfig_with_user(&url, &format!("{{tokenFile: {}}}", token.display())),
    )
    .await;
    let c = wait(&clusters, "theta", "kubeconfig refused", refused_kubeconfig).await;
    let credentials = condition_of(&c, "CredentialsValid").expect("CredentialsValid");
    assert_eq!(credentials.status, "False");
    assert!(
        credentials.message.contains("users[0].user.tokenFile"),
        "{credentials:?}"
    );
    assert_eq!(
        condition_of(&c, "Ready").map(|x| (x.status.as_str(), x.reason.as_str())),
        Some(("False", "KubeconfigRefused"))
    );
    assert_eq!(
        condition(&c, "Reachable").as_deref(),
        Some("Unknown"),
        "not probed"
    );
    assert!(
        !tripped(&listener),
        "a request went to the kubeconfig's server"
    );

    // Fixed by hand: the same Cluster is probed with the new kubeconfig.
    let member = DevCluster::start(Default::default()).await.expect("member");
    let secret = Secret {
        string_data: Some([("value".to_string(), member.kubeconfig())].into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), NS)
        .patch(
            "theta-kubeconfig",
            &PatchParams::default(),
            &Patch::Merge(&secret),
        )
        .await
        .expect("a usable kubeconfig");
    wait(&clusters, "theta", "ready", |c| {
        condition(c, "Ready").as_deref() == Some("True")
    })
    .await;
    assert!(!tripped(&listener));
}

#[tokio::test]
async fn a_kubeconfig_with_exec_is_refused_and_its_program_never_runs() {
    let (_m, client) = management().await;
    let (listener, url) = tripwire();
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let script = dir.path().join("credential.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\
             \"kind\":\"ExecCredential\",\"status\":{{\"token\":\"t\"}}}}'\n",
            marker.display()
        ),
    )
    .expect("script");
    let _running = fleet::start(client.clone(), NS, quick()).await;
    let user = format!(
        "{{exec: {{apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ['{}'], \
         interactiveMode: Never}}}}",
        script.display()
    );
    let clusters = register_kubeconfig(&client, "iota", &kubeconfig_with_user(&url, &user)).await;
    let c = wait(&clusters, "iota", "kubeconfig refused", refused_kubeconfig).await;
    let message = &condition_of(&c, "CredentialsValid")
        .expect("CredentialsValid")
        .message;
    assert!(
        message.contains("users[0].user.exec") && message.contains("may not run a program"),
        "{message}"
    );
    assert!(
        c.status
            .as_ref()
            .and_then(|s| s.probe.last_error.as_deref())
            .is_some_and(|e| e.contains("users[0].user.exec")),
        "{c:?}"
    );
    assert!(!marker.exists(), "the kubeconfig's program ran");
    assert!(
        !tripped(&listener),
        "a request went to the kubeconfig's server"
    );
}

#[tokio::test]
async fn cluster_add_refuses_a_hostile_kubeconfig_naming_the_field_and_makes_nothing() {
    let (m, client) = management().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let management_kubeconfig = dir.path().join("management");
    std::fs::write(&management_kubeconfig, m.kubeconfig()).expect("kubeconfig");
    let server = "https://member.example:6443";
    for (name, user, field) in [
        (
            "evil-file",
            "{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}".to_string(),
            "users[0].user.tokenFile",
        ),
        (
            "evil-exec",
            "{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}".to_string(),
            "users[0].user.exec",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, kubeconfig_with_user(server, &user)).expect("member kubeconfig");
        let path = path.to_string_lossy().to_string();
        let (ok, text) = common::run_hoist(
            &management_kubeconfig,
            &["cluster", "add", name, "--kubeconfig", &path],
        )
        .await;
        assert!(!ok, "{text}");
        assert!(text.contains(field) && text.contains("refused"), "{text}");
        let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
        let clusters: Api<Cluster> = Api::namespaced(client.clone(), NS);
        assert!(
            secrets
                .get_opt(&format!("{name}-kubeconfig"))
                .await
                .expect("get")
                .is_none(),
            "no Secret"
        );
        assert!(
            clusters.get_opt(name).await.expect("get").is_none(),
            "no Cluster"
        );
    }
}

/// What a fake member answers `/version` with.
#[derive(Clone, Copy)]
enum Answer {
    /// 200 with a JSON body of this many bytes.
    Huge(usize),
    /// 500 with a Status whose message says something that must not be repeated.
    Leaky,
}

/// A fake member on a loopback port answering `/version` with `answer` (anything else
/// 404); `finished` turns true if it ever wrote a whole huge answer.
async fn fake_member(answer: Answer) -> (String, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let finished = std::sync::Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let done = done.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let version = head.starts_with(b"GET /version ");
                let reply = |code: &str, body: &str| {
                    format!(
                        "HTTP/1.1 {code}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                         connection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                match (version, answer) {
                    (true, Answer::Huge(size)) => {
                        let open = "{\"gitVersion\":\"";
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             content-length: {size}\r\nconnection: close\r\n\r\n{open}"
                        );
                        if conn.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = vec![b'a'; 64 * 1024];
                        let mut left = size - open.len() - 2;
                        while left > 0 {
                            let n = left.min(chunk.len());
                            if conn.write_all(&chunk[..n]).await.is_err() {
                                return;
                            }
                            left -= n;
                        }
                        if conn.write_all(b"\"}").await.is_ok() {
                            done.store(true, Ordering::SeqCst);
                        }
                    }
                    (true, Answer::Leaky) => {
                        let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"leaked hunter2 \u001b[31m from the member","reason":"InternalError","code":500}"#;
                        let _ = conn
                            .write_all(reply("500 Internal Server Error", body).as_bytes())
                            .await;
                    }
                    (false, _) => {
                        let _ = conn
                            .write_all(reply("404 Not Found", "{}").as_bytes())
                            .await;
                    }
                }
            });
        }
    });
    (url, finished)
}

fn last_error(c: &Cluster) -> String {
    c.status
        .as_ref()
        .and_then(|s| s.probe.last_error.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_oversized_version_answer_is_a_failed_probe_read_only_up_to_the_cap() {
    let (_m, client) = management().await;
    // Far more than the cap, and far more than the sockets between us can buffer: if
    // the probe read it all, the member would finish writing it.
    let (url, finished) = fake_member(Answer::Huge(64 << 20)).await;
    let _running = fleet::start(client.clone(), NS, quick()).await;
    let clusters =
        register_kubeconfig(&client, "kappa", &kubeconfig_with_user(&url, "{token: t}")).await;
    let c = wait(&clusters, "kappa", "a failed probe", |c| {
        last_error(c).contains("answered more than")
    })
    .await;
    assert!(
        last_error(&c).contains(&hoist::fleet::probe::MAX_ANSWER_BYTES.to_string()),
        "{c:?}"
    );
    assert_ne!(condition(&c, "Ready").as_deref(), Some("True"));
    assert!(
        !finished.load(std::sync::atomic::Ordering::SeqCst),
        "the whole answer was read"
    );
}

#[tokio::test]
async fn an_error_answer_from_a_member_never_reaches_the_status_verbatim() {
    let (_m, client) = management().await;
    let (url, _) = fake_member(Answer::Leaky).await;
    let _running = fleet::start(client.clone(), NS, quick()).await;
    let clusters =
        register_kubeconfig(&client, "lambda", &kubeconfig_with_user(&url, "{token: t}")).await;
    let c = wait(&clusters, "lambda", "a failed probe", |c| {
        last_error(c).contains("500")
    })
    .await;
    let error = last_error(&c);
    assert!(error.contains("(InternalError)"), "{error}");
    let all = serde_json::to_string(&c.status).expect("status");
    assert!(
        !all.contains("hunter2") && !all.contains('\u{1b}'),
        "the member's words reached the status: {all}"
    );
}

/// The soak's finding (decision 0030, seed 468): a controller whose Cluster watch lags
/// (here: stalled, as a watch is while an API server restarts under load) still holds
/// a Cluster another controller has already cleaned up and deleted; its records watch
/// is current and shows the record stopped. Its passes over that stale copy must not
/// open a second record: a deleted cluster billed again.
#[tokio::test]
async fn a_pass_over_a_stale_copy_of_a_deleted_cluster_opens_no_second_record() {
    let (m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    // The current controller: it bills the member, then sees the delete and cleans up.
    let _current = fleet::start(client.clone(), NS, quick()).await;
    let clusters = register(&client, "stale", &member).await;
    let billed = wait(&clusters, "stale", "billed", |c| {
        condition(c, "Billed").as_deref() == Some("True")
    })
    .await;
    // The lagging controller: its Cluster watch goes silent after its list.
    m.faults().add(
        Fault::new(FaultAction::WatchStall {
            after_events: 0,
            millis: 120_000,
        })
        .verb("watch")
        .path("/clusters")
        .times(1),
    );
    let (_, lagging) = hoist::app::operator::metrics();
    let _lagging = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(lagging.clone()),
            ..quick()
        },
    )
    .await;
    let stalled = async {
        while !m.faults().list().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(PATIENCE, stalled)
        .await
        .expect("the lagging controller's Cluster watch is stalled");
    // It probes the member (its client held) before the delete.
    let holding = async {
        while lagging.member_clients.get() != 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(PATIENCE, holding)
        .await
        .expect("the lagging controller holds the member's client");
    clusters
        .delete("stale", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = await_condition(clusters.clone(), "stale", |c: Option<&Cluster>| c.is_none());
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("the delete completes")
        .expect("watch");
    // A pass of the lagging controller over its stale copy (it probes the member, which
    // still answers): it either opens a record (the defect) or finds, reading the
    // Cluster fresh, that its copy is stale.
    let settled = async {
        loop {
            if lagging.stale_passes.get() > 0 || records(&client, &billed).await.len() > 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(PATIENCE, settled)
        .await
        .expect("the lagging controller passes over its stale copy");
    let all = records(&client, &billed).await;
    let names: Vec<String> = all.iter().map(|r| r.name_any()).collect();
    assert_eq!(
        all.len(),
        1,
        "one record for the deleted cluster: {names:?}"
    );
    assert_eq!(all[0].spec.stop_source.as_deref(), Some("Deleted"));
    // Nor does it keep the member client its pass built (connections and tasks held
    // for a Cluster that is gone).
    let released = async {
        while lagging.member_clients.get() != 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(PATIENCE, released)
        .await
        .expect("the member client of a gone Cluster is released");
}

/// The other side of the same guard: a record whose create was still on its way when
/// the Cluster was deleted and cleaned up (by another controller, whose fresh list of
/// records could not see it yet) is stopped by the controller that created it, not
/// left open.
#[tokio::test]
async fn a_record_created_while_its_cluster_was_being_removed_is_stopped_not_left_open() {
    let (m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    // The opening controller's record create takes a while on the wire.
    m.faults().add(
        Fault::new(FaultAction::Latency { millis: 4_000 })
            .verb("create")
            .path("/usagerecords")
            .times(1),
    );
    let _opening = fleet::start(client.clone(), NS, quick()).await;
    let clusters = register(&client, "racing", &member).await;
    let in_flight = async {
        while !m.faults().list().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("the record's create is on its way");
    let uid = clusters.get("racing").await.expect("cluster").uid();
    clusters
        .delete("racing", &DeleteParams::default())
        .await
        .expect("delete");
    // Another controller sees the delete and cleans up meanwhile.
    let _cleaning = fleet::start(client.clone(), NS, quick()).await;
    let gone = await_condition(clusters.clone(), "racing", |c: Option<&Cluster>| {
        c.is_none()
    });
    tokio::time::timeout(PATIENCE, gone)
        .await
        .expect("the delete completes")
        .expect("watch");
    let records_api: Api<UsageRecord> = Api::all(client.clone());
    let settled = async {
        loop {
            let mine: Vec<UsageRecord> = records_api
                .list(&Default::default())
                .await
                .expect("records")
                .items
                .into_iter()
                .filter(|r| Some(&r.spec.cluster_uid) == uid.as_ref())
                .collect();
            if !mine.is_empty() && mine.iter().all(|r| r.spec.stop.is_some()) {
                return mine;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mine = tokio::time::timeout(PATIENCE, settled)
        .await
        .expect("the record created late is stopped, not left open");
    assert_eq!(mine.len(), 1);
    assert_eq!(
        mine[0].spec.stop_source.as_deref(),
        Some("Deleted"),
        "stopped by its creator, not left for the orphan sweep"
    );
}

/// One lifecycle (issue 25, step 5): a fleet controller shut down while a probe is on
/// its way lets that pass finish within the drain (the member identified, its record
/// opened), where an abort would have cut it.
#[tokio::test]
async fn a_shutdown_mid_probe_lets_the_pass_finish_and_open_the_record() {
    let (_m, client) = management().await;
    let member = DevCluster::start(Default::default()).await.expect("member");
    // The member answers, slowly (within the probe's 2-second deadline): each probe is
    // in flight for most of a second.
    member
        .faults()
        .add(Fault::new(FaultAction::Latency { millis: 400 }));
    let (_, fleet_metrics) = hoist::app::operator::metrics();
    let running = fleet::start(
        client.clone(),
        NS,
        FleetOptions {
            metrics: Some(fleet_metrics.clone()),
            ..quick()
        },
    )
    .await;
    let clusters = register(&client, "draining", &member).await;
    let in_flight = async {
        while fleet_metrics.in_flight.get() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("a probe is on its way");
    running.shutdown(Duration::from_secs(20)).await;
    let cluster = clusters.get("draining").await.expect("cluster");
    let all = records(&client, &cluster).await;
    assert_eq!(
        all.len(),
        1,
        "the pass under way finished: its record is open"
    );
    assert!(all[0].spec.stop.is_none());
}
