//! The dashboard in a browser at 10,000 installed packages (issue 23), run by
//! `cargo xtask bench` (which writes docs/BENCHMARKS.md; alone: `HOIST_DIST=… cargo
//! bench -p hoist-tests --bench browser`). Prints a Markdown section.
//!
//! devcluster with 10,000 ClusterPackages, `hoist serve` with the built web app, headless
//! Chromium on the Installed page. Times come from the page itself:
//!
//! - first render: the app's performance marks (`frontend/src/marks.rs`):
//!   `hoist:snapshot` when the snapshot arrived, `hoist:table:cluster-packages` once its
//!   rows were painted;
//! - API write → row updated: this process takes the wall-clock time just before each
//!   status write; a MutationObserver in the page takes `performance.timeOrigin +
//!   performance.now()` when the row's cell changes. Both are the machine's clock, but
//!   Chromium derives `timeOrigin` from its monotonic clock, so the page's offset from
//!   `Date.now()` (the system clock this process reads) is measured first and taken off;
//! - memory: `performance.memory` after a forced collection (`--js-flags=--expose-gc`),
//!   and the WebAssembly memory the marks carry: the app's state lives there, out of
//!   the JS heap's count.

use fantoccini::Client;
use hoist_testkit::stats::{median, ms, percentile};
use hoist_tests::Browser;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PACKAGES: usize = 10_000;
/// Page loads whose first render is measured.
const LOADS: usize = 5;
/// Status writes per second, and for how long.
const RATE: u64 = 100;
const SECONDS: u64 = 10;

/// Goals (issue 23, goal 6).
const RENDER_GOAL_MS: f64 = 100.0;
const UPDATE_GOAL_MS: f64 = 16.0;
const MEMORY_GOAL: f64 = 3.0;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

async fn run(b: &Client, script: &str) -> Value {
    b.execute(script, vec![])
        .await
        .expect("a script in the page")
}

/// Loads the page afresh and waits for the table's mark; returns snapshot → painted.
async fn first_render(browser: &Browser, url: &str) -> Duration {
    let b = &browser.client;
    b.goto("about:blank").await.expect("blank");
    b.goto(url).await.expect("the page");
    let deadline = tokio::time::Instant::now() + hoist_tests::PATIENCE;
    loop {
        let marks = run(
            b,
            "const at = n => performance.getEntriesByName(n).map(e => e.startTime);
             return [at('hoist:snapshot'), at('hoist:table:cluster-packages')];",
        )
        .await;
        if let (Some(snapshot), Some(table)) = (marks[0][0].as_f64(), marks[1][0].as_f64()) {
            return Duration::from_secs_f64((table - snapshot).max(0.0) / 1000.0);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the table never painted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The page's clock minus the system clock, in ms: read at the instant `Date.now()`
/// ticks over (its ms then has no fraction to guess), the median of a few.
async fn page_clock_offset(b: &Client) -> f64 {
    let mut offsets = Vec::new();
    for _ in 0..9 {
        let pair = run(
            b,
            "const d0 = Date.now(); let d;
             while ((d = Date.now()) === d0) {}
             return [d, performance.timeOrigin + performance.now()];",
        )
        .await;
        let (date, page) = (pair[0].as_f64().expect("ms"), pair[1].as_f64().expect("ms"));
        offsets.push(page - date);
    }
    offsets.sort_by(f64::total_cmp);
    offsets[offsets.len() / 2]
}

/// Writes `RATE` status changes a second for `SECONDS` to the packages named, in turn;
/// returns each write's message and the wall-clock ms just before it was sent.
async fn write_statuses(client: &kube::Client, names: &[String]) -> Vec<(String, f64)> {
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE));
    let mut writes = Vec::new();
    for i in 0..(RATE * SECONDS) as usize {
        tick.tick().await;
        let (client, name) = (client.clone(), names[i % names.len()].clone());
        let message = format!("w{i}");
        // Each write in its own task: a slow one does not delay the next.
        writes.push(tokio::spawn(async move {
            let sent = now_ms();
            // Alternate Ready and not, so the state's word and class change too.
            hoist_tests::set_ready(&client, &name, i % 2 == 0, "Bench", &message).await;
            (format!("Bench: {message}"), sent)
        }));
    }
    let mut sent = Vec::new();
    for w in writes {
        sent.push(w.await.expect("a write"));
    }
    sent
}

#[tokio::main]
async fn main() {
    let cluster = devcluster::DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    let names: Vec<String> = (0..PACKAGES).map(|i| format!("pkg-{i:05}")).collect();
    hoist_tests::create_cluster_packages(&client, &names).await;
    let list = axum::http::Request::get("/apis/packages.hoist.dev/v1alpha1/clusterpackages")
        .body(Vec::new())
        .expect("request");
    let json_bytes = client.request_text(list).await.expect("LIST").len() as f64;
    let backend = hoist_tests::serve(&client).await;
    backend.ready().await;
    let browser =
        Browser::start_with(&["--js-flags=--expose-gc", "--enable-precise-memory-info"]).await;
    let b = &browser.client;
    let url = backend.url();

    let mut renders = Vec::new();
    for _ in 0..LOADS {
        renders.push(first_render(&browser, &url).await);
    }
    let worst = *renders.iter().max().expect("loads");
    let render = median(renders);

    // Memory, once the page has settled, after collections.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let memory = run(
        b,
        "return (async () => {
             gc(); await new Promise(r => setTimeout(r, 100)); gc();
             const mark = performance.getEntriesByName('hoist:table:cluster-packages').pop();
             return [performance.memory.usedJSHeapSize, mark.detail.wasmBytes];
         })();",
    )
    .await;
    let heap = memory[0].as_f64().expect("usedJSHeapSize");
    let wasm = memory[1].as_f64().expect("wasmBytes");
    let rows = run(
        b,
        "return [document.querySelectorAll('#cluster-packages tbody tr').length,
                 document.querySelectorAll('#cluster-packages tr').length];",
    )
    .await;

    // The rows in view: their packages get the status writes.
    let in_view: Vec<String> = serde_json::from_value(
        run(
            b,
            "const s = document.querySelector('#cluster-packages-scroll').getBoundingClientRect();
             return [...document.querySelectorAll('#cluster-packages tbody tr')]
                 .filter(r => { const b = r.getBoundingClientRect(); return b.top >= s.top && b.bottom <= s.bottom; })
                 .map(r => r.dataset.name);",
        )
        .await,
    )
    .expect("names");
    assert!(!in_view.is_empty(), "no row in view");
    let offset = page_clock_offset(b).await;
    // The observer notes when each status title first appears in the table.
    run(
        b,
        "window.__seen = {};
         const body = document.querySelector('#cluster-packages tbody');
         new MutationObserver(records => {
             const t = performance.timeOrigin + performance.now();
             for (const r of records) {
                 const title = r.target.getAttribute('title');
                 if (title && !(title in window.__seen)) window.__seen[title] = t;
             }
         }).observe(body, {subtree: true, attributes: true, attributeFilter: ['title']});",
    )
    .await;
    let sent = write_statuses(&client, &in_view).await;
    // Wait for the last ones to land.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let seen = loop {
        let seen = run(b, "return window.__seen;").await;
        let all = sent
            .iter()
            .all(|(title, _)| seen.get(title.as_str()).is_some());
        if all || tokio::time::Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut latencies: Vec<Duration> = sent
        .iter()
        .filter_map(|(title, at)| {
            let shown = seen.get(title.as_str())?.as_f64()? - offset;
            Some(Duration::from_secs_f64((shown - at).max(0.0) / 1000.0))
        })
        .collect();
    assert!(!latencies.is_empty(), "no status change reached the page");
    let (p50, p99) = (
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
    let worst_update = *latencies.last().expect("sorted");

    let mb = |b: f64| format!("{:.1} MB", b / 1e6);
    let ratio = |d: Duration, goal: f64| d.as_secs_f64() * 1000.0 / goal;
    println!("## dashboard in the browser\n");
    println!(
        "devcluster with {PACKAGES} ClusterPackages, `hoist serve` with the built web app (`HOIST_DIST`), \
         headless Chromium (1280×900) on the Installed page, all on this machine. Times from the page: \
         the app's performance marks, and a MutationObserver's `performance.timeOrigin + performance.now()` \
         against the wall clock this process read before each write (the page's clock offset from \
         `Date.now()`, {offset:+.2} ms here, taken off).\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| first render of the Installed page, {PACKAGES} packages: snapshot arrived (`hoist:snapshot`) → its table painted (`hoist:table:cluster-packages`), median of {LOADS} page loads (goal ≤ {RENDER_GOAL_MS:.0} ms; slowest {}) | {} / {RENDER_GOAL_MS:.0} ms = **{:.2}×** |",
        ms(worst),
        ms(render),
        ratio(render, RENDER_GOAL_MS)
    );
    println!(
        "| API write → its row's DOM updated, {RATE} status writes a second for {SECONDS} s to the {} packages in view: p50 / p99 (goal p99 ≤ {UPDATE_GOAL_MS:.0} ms; {} of {} seen, slowest {}) | {} / {} = **{:.2}×** the goal |",
        in_view.len(),
        latencies.len(),
        sent.len(),
        ms(worst_update),
        ms(p50),
        ms(p99),
        ratio(p99, UPDATE_GOAL_MS)
    );
    println!(
        "| the page's JS heap after a GC (`usedJSHeapSize`) / the packages' LIST JSON (goal ≤ {MEMORY_GOAL:.0}×) | {} / {} = **{:.2}×** |",
        mb(heap),
        mb(json_bytes),
        heap / json_bytes
    );
    println!(
        "| the page's JS heap and WebAssembly memory (where the app's state is) / the LIST JSON (goal ≤ {MEMORY_GOAL:.0}×) | ({} + {}) / {} = **{:.2}×** |",
        mb(heap),
        mb(wasm),
        mb(json_bytes),
        (heap + wasm) / json_bytes
    );
    println!(
        "| `tr` rows in the DOM of the {PACKAGES}-package table (the package rows; and with the header and the two spacers) | **{}** ({}) |",
        rows[0], rows[1]
    );
    println!();

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
}
