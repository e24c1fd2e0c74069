//! The Installed page at thousands of packages (issue 23): the tables hold only the rows
//! in view (`frontend/src/views/virtual_rows.rs`), the scrollbar is the whole table's,
//! scrolling (by keyboard too) renders the rows scrolled to, and a status change
//! rewrites its own row and no other.

use fantoccini::Locator;
use fantoccini::key::Key;
use hoist_tests::Browser;

const PACKAGES: usize = 2_000;
/// `ROW_PX` in `virtual_rows.rs`, and `.rows tbody tr` in `style.css`.
const ROW_PX: f64 = 38.0;

fn name(i: usize) -> String {
    format!("pkg-{i:04}")
}

/// `data-name` of every row of the cluster table in the DOM, in order.
async fn rendered(b: &fantoccini::Client) -> Vec<String> {
    let names = b
        .execute(
            "return [...document.querySelectorAll('#cluster-packages tbody tr')].map(r => r.dataset.name);",
            vec![],
        )
        .await
        .expect("rows");
    serde_json::from_value(names).expect("names")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_packages_keep_only_the_rows_in_view_scroll_to_the_last_and_update_one_row() {
    let cluster = devcluster::DevCluster::start(Default::default())
        .await
        .expect("devcluster");
    let client = cluster.client().expect("client");
    hoist::demo::install_crds(&client).await.expect("CRDs");
    let names: Vec<String> = (0..PACKAGES).map(name).collect();
    hoist_tests::create_cluster_packages(&client, &names).await;
    let backend = hoist_tests::serve(&client).await;
    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&backend.url()).await.expect("open the page");
    browser
        .wait_text("#cluster-packages-scroll", |_| true)
        .await;
    browser
        .wait_text(".packages .count", |t| t == PACKAGES.to_string())
        .await;

    // Only the rows in view (and a few beyond) are in the DOM, the first ones first.
    let first = rendered(b).await;
    assert!(
        (10..80).contains(&first.len()),
        "{} rows in the DOM for {PACKAGES} packages",
        first.len()
    );
    assert_eq!(first, names[..first.len()], "the first rows, in order");
    // Every row is ROW_PX high, and the spacers make the scrollbar the whole table's:
    // the header and every package's row.
    let geometry = b
        .execute(
            "const s = document.querySelector('#cluster-packages-scroll');
             const rows = [...s.querySelectorAll('tbody tr')].map(r => r.getBoundingClientRect().height);
             const header = s.querySelector('thead tr').getBoundingClientRect().height;
             return {rows, header, scroll: s.scrollHeight, view: s.clientHeight};",
            vec![],
        )
        .await
        .expect("geometry");
    let heights: Vec<f64> = serde_json::from_value(geometry["rows"].clone()).expect("rows");
    assert!(
        heights.iter().all(|h| (h - ROW_PX).abs() < 0.01),
        "rows of {ROW_PX} px: {heights:?}"
    );
    let header = geometry["header"].as_f64().expect("header");
    let scroll = geometry["scroll"].as_f64().expect("scrollHeight");
    let whole = header + PACKAGES as f64 * ROW_PX;
    assert!(
        (scroll - whole).abs() <= 2.0,
        "scrollHeight {scroll}, the whole table {whole}"
    );
    let view = geometry["view"].as_f64().expect("clientHeight");
    assert!(
        first.len() as f64 <= view / ROW_PX + 2.0 + 2.0 * 8.0,
        "no more than the rows in view and the overscan: {} in {view} px",
        first.len()
    );

    // The keyboard: End scrolls the focused table to its last package, Home back.
    let scroller = b
        .find(Locator::Css("#cluster-packages-scroll"))
        .await
        .expect("the scroll container");
    scroller
        .send_keys(&Key::End.to_string())
        .await
        .expect("End");
    let last = name(PACKAGES - 1);
    browser
        .wait_count(
            &format!("#cluster-packages tbody tr[data-name='{last}']"),
            1,
        )
        .await;
    let at_end = rendered(b).await;
    assert!(at_end.len() < 80, "{} rows at the end", at_end.len());
    assert!(!at_end.contains(&name(0)), "the first rows left the DOM");
    let is_visible = format!(
        "const s = document.querySelector('#cluster-packages-scroll').getBoundingClientRect();
         const r = document.querySelector(\"#cluster-packages tr[data-name='{last}']\").getBoundingClientRect();
         return r.top >= s.top && r.bottom <= s.bottom + 0.5;"
    );
    // Keyboard scrolling may be animated: wait until it has come to rest at the end.
    let deadline = tokio::time::Instant::now() + hoist_tests::PATIENCE;
    while b.execute(&is_visible, vec![]).await.expect("visible") != serde_json::json!(true) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{last} never came into view"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A status change of a package in view rewrites that row's cells, and no row is
    // rendered again: each row element in the DOM now is still there after it.
    b.execute(
        "document.querySelectorAll('#cluster-packages tbody tr').forEach(r => r.__kept = true);",
        vec![],
    )
    .await
    .expect("mark the rows");
    let changed = name(PACKAGES - 3);
    hoist_tests::set_ready(&client, &changed, true, "Installed", "all objects ready").await;
    let row = format!("#cluster-packages tr[data-name='{changed}']");
    browser
        .wait_text(&format!("{row} .state"), |t| t == "Ready")
        .await;
    let title = b
        .find(Locator::Css(&format!("{row} .state")))
        .await
        .expect("state")
        .attr("title")
        .await
        .expect("title");
    assert_eq!(title.as_deref(), Some("Installed: all objects ready"));
    let kept = b
        .execute(
            "return [...document.querySelectorAll('#cluster-packages tbody tr')].every(r => r.__kept);",
            vec![],
        )
        .await
        .expect("kept");
    assert_eq!(kept, serde_json::json!(true), "no row was rendered again");
    assert_eq!(
        rendered(b).await,
        at_end,
        "the same rows, in the same order"
    );

    // Home: back to the first package; rows scrolled to are rendered again.
    scroller
        .send_keys(&Key::Home.to_string())
        .await
        .expect("Home");
    browser
        .wait_count(
            &format!("#cluster-packages tbody tr[data-name='{}']", name(0)),
            1,
        )
        .await;

    browser.close().await;
    backend.shutdown().await;
    cluster.shutdown().await;
}
