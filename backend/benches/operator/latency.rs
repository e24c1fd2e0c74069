//! Latency a user's install sees while something else is wrong: a package whose
//! repository hangs, and an operator restarting over many installed packages (its
//! relist comes after users' changes: `operator/src/relist.rs`).

use super::*;

/// Accepts connections and never answers (a repository that hangs).
pub async fn hung_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    format!("http://{addr}/")
}

/// Create-to-Ready latency of each of `n` packages (created 8 at a time), with or
/// without one package from a hung repository installed first; returns the p99.
pub async fn latency_p99(n: usize, with_hung: bool) -> Duration {
    let (_c, client) = cluster().await;
    add_repository(&client, "bench", serve_repository().await, true).await;
    add_repository(&client, "hung", hung_server().await, false).await;
    let (running, _watch) = start_operator(&client).await;
    let api: Api<Package> = Api::namespaced(client.clone(), NAMESPACE);
    if with_hung {
        api.create(
            &PostParams::default(),
            &package("stuck", "app", "v1.0.0+1", Some("hung")),
        )
        .await
        .expect("create");
    }
    let created: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Default::default();
    let mut ready = watcher::watcher(api.clone(), Default::default())
        .applied_objects()
        .boxed();
    let c2 = created.clone();
    let creating = tokio::spawn(async move {
        futures::stream::iter(0..n)
            .map(|i| {
                let api = api.clone();
                let created = c2.clone();
                async move {
                    let name = format!("app-{i}");
                    let started = Instant::now();
                    api.create(
                        &PostParams::default(),
                        &package(&name, "app", "v1.0.0+1", None),
                    )
                    .await
                    .expect("create");
                    created.lock().expect("lock").insert(name, started);
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
    });
    let mut latencies: HashMap<String, Duration> = HashMap::new();
    while latencies.len() < n {
        let p = ready.next().await.expect("watch open").expect("watch ok");
        let name = p.name_any();
        if name == "stuck" || latencies.contains_key(&name) || !is_ready(&p) {
            continue;
        }
        let started = created.lock().expect("lock").get(&name).copied();
        if let Some(t) = started {
            latencies.insert(name, t.elapsed());
        }
    }
    creating.await.expect("created");
    running.shutdown(Duration::from_secs(1)).await;
    let mut all: Vec<Duration> = latencies.into_values().collect();
    all.sort();
    all[(all.len() * 99).div_ceil(100) - 1]
}

/// `total` tiny packages installed by one operator; a second one starts (the restart's
/// relist of all of them) and a user's install is made at once: how long until its
/// first pass (the finalizer on it) and until it is Ready.
pub async fn install_during_relist(total: usize) -> (Duration, Duration, Duration) {
    let (_c, client) = cluster().await;
    add_repository(&client, "bench", serve_repository().await, true).await;
    let api: Api<Package> = Api::namespaced(client.clone(), NAMESPACE);
    {
        let (running, _watch) = start_operator(&client).await;
        let mut ready = watcher::watcher(api.clone(), Default::default())
            .applied_objects()
            .boxed();
        create_packages_of(&api, 0..total, "t", "tiny", "v1.0.0").await;
        all_ready(&mut ready, total).await;
        running.shutdown(Duration::from_secs(5)).await;
    }
    let mut events = watcher::watcher(
        api.clone(),
        watcher::Config::default().fields("metadata.name=urgent"),
    )
    .applied_objects()
    .boxed();
    let restart = Instant::now();
    let (running, _watch) = start_operator(&client).await;
    let started = restart.elapsed();
    let t = Instant::now();
    api.create(
        &PostParams::default(),
        &package("urgent", "tiny", "v1.0.0", None),
    )
    .await
    .expect("create");
    let mut first_pass = None;
    loop {
        let p = events.next().await.expect("watch open").expect("watch ok");
        if first_pass.is_none() && !p.finalizers().is_empty() {
            first_pass = Some(t.elapsed());
        }
        if is_ready(&p) {
            break;
        }
    }
    let to_ready = t.elapsed();
    running.shutdown(Duration::from_secs(5)).await;
    (started, first_pass.unwrap_or(to_ready), to_ready)
}
