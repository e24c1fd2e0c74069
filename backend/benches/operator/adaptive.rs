//! Adaptive concurrency (issue 23, goal 5; decision 0038): the operator with its limit
//! learnt (`--min-concurrency 2 --max-concurrency 32`, by each algorithm) against a
//! fixed one, in clear weather and in two kinds made by devcluster's faults:
//!
//! - none: 1,000 packages from create to Ready against fixed 8 (what the default
//!   costs where nothing is wrong);
//! - a distant API server: 50 ms added to every request (as `hoist demo --api-latency`
//!   does); 1,000 packages from create to Ready, against fixed 8 (the old default) and
//!   fixed 32 (the maximum, for what learning it costs);
//! - 429 storms: every PATCH refused with 429 and `Retry-After: 1` for 2 s of every
//!   4 s (the first storm after 2 s, once the adaptive limit had time to grow), until
//!   2,000 packages are Ready; the refusals counted by the fault itself (how many of
//!   its matches it used), against fixed 32.
//!
//! `HOIST_BENCH_ONLY=adaptive cargo bench --bench operator` runs only these rows.

use super::{NAMESPACE, add_repository, cluster, is_ready, serve_repository};
use devcluster::{Fault, FaultAction, Faults};
use futures::{StreamExt, TryStreamExt};
use hoist::operator::limiter::Algorithm;
use hoist::operator::{self, Concurrency, OperatorOptions};
use hoist::types::{NamespacedPackageSpec, Package, PackageInfoTemplate, PackageSpec};
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const PACKAGES: usize = 1000;
/// Packages in the storm runs: enough for a few storms.
const STORM_PACKAGES: usize = 2000;
/// Added to every request in the latency runs.
const LATENCY_MS: u64 = 50;
/// A storm: how long every PATCH is refused, and the calm before each.
const STORM: Duration = Duration::from_secs(2);
const CALM: Duration = Duration::from_secs(2);
/// More refusals than any run makes: the fault's count of matches left says how many
/// it used.
const BUDGET: u32 = 10_000_000;

/// How a run sets its concurrency.
#[derive(Clone, Copy)]
pub enum Pace {
    Fixed(u16),
    Adaptive(Algorithm),
}

impl Pace {
    fn concurrency(self) -> Concurrency {
        match self {
            Pace::Fixed(n) => Concurrency::fixed(n),
            Pace::Adaptive(a) => Concurrency::default().with_algorithm(a),
        }
    }

    pub fn label(self) -> String {
        match self {
            Pace::Fixed(n) => format!("fixed {n}"),
            Pace::Adaptive(Algorithm::Gradient) => "adaptive (Gradient2)".into(),
            Pace::Adaptive(Algorithm::Aimd) => "adaptive (AIMD)".into(),
        }
    }
}

/// What the API server does in a run.
#[derive(Clone, Copy, PartialEq)]
enum Weather {
    Clear,
    Latency,
    Storms,
}

/// What a run measured.
pub struct Run {
    pub took: Duration,
    /// PATCHes refused with 429 (storm runs).
    pub refused: u64,
    /// The Package controller's limit: its time-weighted mean and its peak.
    pub mean_limit: f64,
    pub peak_limit: u16,
}

/// 1,000 packages to Ready, no faults.
pub async fn in_clear_weather(pace: Pace) -> Run {
    run(pace, Weather::Clear).await
}

/// 1,000 packages to Ready with [`LATENCY_MS`] added to every request.
pub async fn under_latency(pace: Pace) -> Run {
    run(pace, Weather::Latency).await
}

/// [`STORM_PACKAGES`] packages to Ready through 429 storms.
pub async fn through_storms(pace: Pace) -> Run {
    run(pace, Weather::Storms).await
}

async fn run(pace: Pace, weather: Weather) -> Run {
    let (c, client) = cluster().await;
    add_repository(&client, "bench", serve_repository().await, true).await;
    let repos = hoist::reflector::watch_repositories(&client, Default::default(), "hoist-system");
    repos.synced().await;
    if weather == Weather::Latency {
        c.faults()
            .add(Fault::new(FaultAction::Latency { millis: LATENCY_MS }));
    }
    let opts = OperatorOptions {
        concurrency: pace.concurrency(),
        ..Default::default()
    };
    let running = operator::start(client.clone(), repos.clientset.clone(), opts)
        .await
        .expect("operator");
    let limiter = running.context.lanes.namespaced.limiter.clone();
    let (done, finished) = watch::channel(false);
    let t = Instant::now();
    let packages = match weather {
        Weather::Clear | Weather::Latency => PACKAGES,
        Weather::Storms => STORM_PACKAGES,
    };
    let work = async {
        create_and_wait(&client, packages).await;
        let took = t.elapsed();
        let _ = done.send(true);
        took
    };
    let sampling = async {
        let (mut sum, mut n, mut peak) = (0.0, 0u64, 0u16);
        let mut finished = finished.clone();
        loop {
            let l = limiter.limit();
            sum += f64::from(l);
            n += 1;
            peak = peak.max(l);
            if calm_or_done(Duration::from_millis(50), &mut finished).await {
                return (sum / n as f64, peak);
            }
        }
    };
    let storms = async {
        match weather {
            Weather::Storms => storms(c.faults(), finished.clone()).await,
            Weather::Clear | Weather::Latency => 0,
        }
    };
    let (took, (mean_limit, peak_limit), refused) = tokio::join!(work, sampling, storms);
    c.faults().clear();
    running.shutdown(Duration::from_secs(5)).await;
    Run {
        took,
        refused,
        mean_limit,
        peak_limit,
    }
}

/// Creates `n` packages (32 at a time) and waits until every one is Ready.
async fn create_and_wait(client: &Client, n: usize) {
    let api: Api<Package> = Api::namespaced(client.clone(), NAMESPACE);
    let mut ready = watcher::watcher(api.clone(), Default::default())
        .applied_objects()
        .boxed();
    let creating = futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let spec = PackageSpec {
                    package_info: PackageInfoTemplate {
                        name: "app".into(),
                        version: "v1.0.0+1".into(),
                        repository_name: None,
                    },
                    ..Default::default()
                };
                api.create(
                    &PostParams::default(),
                    &Package::new(&format!("app-{i}"), NamespacedPackageSpec::from(spec)),
                )
                .await
                .map(|_| ())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>();
    let waiting = async {
        let mut done: HashSet<String> = HashSet::new();
        while done.len() < n {
            let p = ready.next().await.expect("watch open").expect("watch ok");
            if is_ready(&p) {
                done.insert(p.name_any());
            }
        }
    };
    let (created, ()) = tokio::join!(creating, waiting);
    created.expect("all created");
}

/// Storms until `finished`: [`CALM`], then every PATCH refused for [`STORM`], again
/// and again. Returns the refusals.
async fn storms(faults: &Faults, mut finished: watch::Receiver<bool>) -> u64 {
    let mut refused = 0u64;
    loop {
        if calm_or_done(CALM, &mut finished).await {
            return refused;
        }
        faults.add(
            Fault::new(FaultAction::Error {
                code: 429,
                retry_after: Some(1),
            })
            .verb("patch")
            .times(BUDGET),
        );
        let ended = calm_or_done(STORM, &mut finished).await;
        let left = faults
            .list()
            .iter()
            .find(|f| matches!(f.action, FaultAction::Error { code: 429, .. }))
            .and_then(|f| f.times)
            .unwrap_or(0);
        faults.clear();
        refused += u64::from(BUDGET - left);
        if ended {
            return refused;
        }
    }
}

/// Waits `d`; true if `finished` turned true first.
async fn calm_or_done(d: Duration, finished: &mut watch::Receiver<bool>) -> bool {
    let done = tokio::select! {
        _ = tokio::time::sleep(d) => None,
        r = finished.wait_for(|f| *f) => Some(r.is_ok()),
    };
    done.unwrap_or_else(|| *finished.borrow())
}

/// The section's rows (Markdown table rows).
pub async fn rows() -> Vec<String> {
    let gradient = Pace::Adaptive(Algorithm::Gradient);
    let aimd = Pace::Adaptive(Algorithm::Aimd);
    let fixed8 = under_latency(Pace::Fixed(8)).await;
    let fixed32 = under_latency(Pace::Fixed(32)).await;
    let mut rows = Vec::new();
    for pace in [gradient, aimd] {
        let r = under_latency(pace).await;
        rows.push(format!(
            "| {PACKAGES} packages to Ready, {LATENCY_MS} ms added to every API request: {} / fixed 8 (the old default) | {:.0} ms / {:.0} ms = **{:.2}×** (limit: mean {:.1}, peak {}; fixed 32: {:.0} ms) |",
            pace.label(),
            ms(r.took),
            ms(fixed8.took),
            r.took.as_secs_f64() / fixed8.took.as_secs_f64(),
            r.mean_limit,
            r.peak_limit,
            ms(fixed32.took),
        ));
    }
    let clear8 = in_clear_weather(Pace::Fixed(8)).await;
    for pace in [gradient, aimd] {
        let r = in_clear_weather(pace).await;
        rows.push(format!(
            "| {PACKAGES} packages to Ready, no faults (devcluster on this machine's 2 cores): {} / fixed 8 | {:.0} ms / {:.0} ms = **{:.2}×** (limit: mean {:.1}, peak {}) |",
            pace.label(),
            ms(r.took),
            ms(clear8.took),
            r.took.as_secs_f64() / clear8.took.as_secs_f64(),
            r.mean_limit,
            r.peak_limit,
        ));
    }
    let fixed = through_storms(Pace::Fixed(32)).await;
    for pace in [gradient, aimd] {
        let r = through_storms(pace).await;
        rows.push(format!(
            "| 429 storms (every PATCH refused, `Retry-After: 1`, {} s of every {} s): PATCHes refused, {} / fixed 32; all {STORM_PACKAGES} Ready after | **{} / {} = {:.2}×**; {:.0} ms / {:.0} ms (limit: mean {:.1}, peak {}) |",
            STORM.as_secs(),
            (STORM + CALM).as_secs(),
            pace.label(),
            r.refused,
            fixed.refused,
            r.refused as f64 / fixed.refused.max(1) as f64,
            ms(r.took),
            ms(fixed.took),
            r.mean_limit,
            r.peak_limit,
        ));
    }
    rows
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
