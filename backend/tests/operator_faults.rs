//! The operator under failure (seed 004): transient API faults are retried and shown as
//! progress, never as Failed; a terminal error is not retried until the package
//! changes; a transient failure that outlasts the retry budget is dead-lettered, and
//! `hoist retry` starts it over.

mod common;
use common::operator::*;

use devcluster::faults::{Fault, FaultAction};
use futures::StreamExt;
use hoist::operator::OperatorOptions;
use hoist::types::Package;
use hoist_core::install::InstallRef;
use hoist_core::operator::retry::Policy;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fast retries, so a test sees several in a short time.
fn quick(budget: u32) -> OperatorOptions {
    OperatorOptions {
        policy: Policy {
            base: Duration::from_millis(20),
            max: Duration::from_millis(200),
            budget,
            jitter: 0.1,
        },
        ..Default::default()
    }
}

/// Every (Ready, Failed) condition status the package's watch shows, in order.
fn record_conditions(api: Api<Package>, name: &str) -> Arc<Mutex<Vec<(String, String)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    let name = name.to_string();
    tokio::spawn(async move {
        let mut events = watcher::watcher(api, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Some(Ok(p)) = events.next().await {
            if p.name_any() != name {
                continue;
            }
            let cond = |t: &str| condition(p.status.as_ref(), t).map(|(s, _)| s);
            if let (Some(r), Some(f)) = (cond("Ready"), cond("Failed")) {
                into.lock().expect("lock").push((r, f));
            }
        }
    });
    seen
}

#[tokio::test]
async fn transient_api_faults_are_retried_as_progress_never_shown_as_failed() {
    let h = harness_with(quick(12)).await;
    let faults = h.setup.cluster.faults();
    faults.add(
        Fault::new(FaultAction::Error {
            code: 500,
            retry_after: None,
        })
        .verb("create")
        .path("/deployments")
        .times(2),
    );
    faults.add(
        Fault::new(FaultAction::Error {
            code: 429,
            retry_after: Some(0),
        })
        .verb("create")
        .path("/services")
        .times(2),
    );
    faults.add(
        Fault::new(FaultAction::Conflict)
            .verb("patch")
            .path("/status")
            .times(2),
    );
    faults.add(
        Fault::new(FaultAction::Latency { millis: 300 })
            .verb("create")
            .path("/deployments")
            .times(1),
    );
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    let seen = record_conditions(packages.clone(), "site");
    install(&h.client, "team-a", "site", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "site", is_ready).await;
    assert!(
        faults.list().is_empty(),
        "every injected fault was met: {:?}",
        faults.list()
    );
    let seen = seen.lock().expect("lock").clone();
    assert!(
        seen.iter().all(|(_, failed)| failed != "True"),
        "Failed flapped: {seen:?}"
    );
    assert!(
        seen.iter().any(|(ready, _)| ready == "Unknown"),
        "the retries were shown as progress: {seen:?}"
    );
}

#[tokio::test]
async fn a_terminal_error_is_not_retried_until_the_package_changes() {
    let h = harness().await;
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-a");
    install(&h.client, "team-a", "big", "hello-web", "v1.1.0+2").await;
    set_value(&packages, "big", "replicas", "50").await;
    let failed = wait_package(&packages, "big", |p| {
        p.and_then(|p| condition(p.status.as_ref(), "Failed"))
            .is_some_and(|(s, _)| s == "True")
    })
    .await;
    let (_, message) = condition(failed.status.as_ref(), "Failed").expect("Failed");
    assert!(message.contains("replicas"), "{message}");
    let uid = failed.uid().expect("uid");
    let retries = &h.operator.context.retries;
    assert_eq!(retries.failures(&uid), 1);

    // Other work goes on (a whole install, start to Ready); the failed package is not
    // tried again meanwhile.
    install(&h.client, "team-a", "other", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "other", is_ready).await;
    assert_eq!(retries.failures(&uid), 1, "a terminal error was retried");

    // A change to the package is what moves it on.
    set_value(&packages, "big", "replicas", "2").await;
    wait_package(&packages, "big", is_ready).await;
}

#[tokio::test]
async fn a_failure_outlasting_the_retry_budget_is_dead_lettered_until_retried() {
    let h = harness_with(quick(3)).await;
    let repo = glasskube_format_repository(&h.client).await;
    repo.set(
        "/kv-store/v1.2.0/package.yaml",
        common::repo_server::Reply::Status(503),
    );
    let mut kv = common::spec("kv-store", "v1.2.0");
    kv.package_info.repository_name = Some("glasskube-format".into());
    let packages: Api<Package> = Api::namespaced(h.client.clone(), "team-b");
    packages
        .create(
            &kube::api::PostParams::default(),
            &Package::new("kv", hoist::types::NamespacedPackageSpec { spec: kv }),
        )
        .await
        .expect("create");
    let dead = wait_package(&packages, "kv", |p| {
        p.and_then(|p| p.status.as_ref()).is_some_and(|s| {
            s.conditions.iter().any(|c| {
                c.type_ == "Stalled" && c.status == "True" && c.reason == "RetriesExhausted"
            })
        })
    })
    .await;
    let (_, message) = condition(dead.status.as_ref(), "Failed").expect("Failed");
    assert!(message.contains("gave up after 3 attempts"), "{message}");
    assert!(
        h.operator
            .context
            .metrics
            .encode()
            .contains("hoist_operator_dead_letters_total 1"),
        "the dead letter is counted"
    );

    // The repository recovers; the package stays where it is until asked to retry.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/glasskube-format/kv-store/v1.2.0/package.yaml");
    repo.set(
        "/kv-store/v1.2.0/package.yaml",
        common::repo_server::Reply::Body(std::fs::read_to_string(fixture).expect("fixture")),
    );
    let target = InstallRef::namespaced("team-b", "kv");
    let (_, token) = hoist::cli::status::retry(&h.client, &target)
        .await
        .expect("retry");
    let said = hoist::cli::status::wait(&h.client, &target, PATIENCE, Some(&token))
        .await
        .expect("Ready after the retry");
    assert!(said.contains("Ready"), "{said}");
}
