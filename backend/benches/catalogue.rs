//! Catalogue benchmarks: loading the merged catalogue cold (every index over HTTP),
//! warm (from the memory cache) and after a restart (from the on-disk cache), and
//! package lookups per second (what a detail page or an install resolves) from cache.
//!
//! Repositories are generated and served over real HTTP on 127.0.0.1 with ETags.
//! Prints a Markdown section for `cargo xtask bench`.

use hoist::repo::catalogue;
use hoist::repo::clientset::Clientset;
use hoist::repo::fetch::{FetchOptions, Freshness};
use hoist::repo::resolve;
use hoist::types::{PackageRepository, PackageRepositorySpec};
use hoist_testkit::stats::{median, ms};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPOSITORIES: usize = 4;
const PACKAGES: usize = 250;

/// One generated repository: `index.yaml`, and per package a versions file and three
/// package.yaml files.
fn files(repo: usize) -> HashMap<String, String> {
    let mut f = HashMap::new();
    let mut index = String::from("packages:\n");
    for p in 0..PACKAGES {
        let name = format!("pkg-{repo}-{p:03}");
        let _ = writeln!(
            index,
            "- name: {name}\n  shortDescription: generated package {p} of repository {repo}\n  scope: Cluster\n  latestVersion: v1.2.0+1"
        );
        f.insert(
            format!("{name}/versions.yaml"),
            "latestVersion: v1.2.0+1\nversions:\n- version: v1.0.0+1\n- version: v1.1.0+1\n- version: v1.2.0+1\n".into(),
        );
        for v in ["v1.0.0+1", "v1.1.0+1", "v1.2.0+1"] {
            f.insert(
                format!("{name}/{v}/package.yaml"),
                format!(
                    "name: {name}\nscope: Cluster\nshortDescription: generated\nlongDescription: a generated package for benchmarks\nmanifests:\n- url: manifests.yaml\nvalueDefinitions:\n  replicas:\n    type: number\n    defaultValue: \"1\"\ndependencies:\n- name: pkg-{repo}-000\n  version: \">=1.0.0\"\n"
                ),
            );
        }
    }
    f.insert("index.yaml".into(), index);
    f
}

async fn serve(repo: usize) -> String {
    hoist_testkit::files::serve(files(repo)).await
}

fn clientset(urls: &[String], disk: Option<std::path::PathBuf>) -> Arc<Clientset> {
    use hoist::sink::Sink;
    let set = Clientset::new(FetchOptions {
        disk,
        ..Default::default()
    });
    for (i, url) in urls.iter().enumerate() {
        let repo = PackageRepository::new(
            &format!("repo-{i}"),
            PackageRepositorySpec {
                url: url.clone(),
                auth: None,
            },
        );
        Sink::<PackageRepository>::apply(&*set, &repo);
    }
    set
}

#[tokio::main]
async fn main() {
    let mut urls = Vec::new();
    for r in 0..REPOSITORIES {
        urls.push(serve(r).await);
    }
    let disk = tempfile::tempdir().expect("temp dir");
    let (mut cold, mut warm, mut from_disk) = (Vec::new(), Vec::new(), Vec::new());
    let mut client_builds = Vec::new();
    for round in 0..7 {
        // Cold: a new clientset, nothing cached anywhere (a fresh disk dir per round).
        // Its HTTP client (TLS roots) is a once-per-process cost, measured on its own.
        let dir = disk.path().join(format!("round-{round}"));
        let set = clientset(&urls, Some(dir.clone()));
        let t = Instant::now();
        set.http().prepare().await.expect("HTTP client");
        client_builds.push(t.elapsed());
        let t = Instant::now();
        let cat = catalogue::load(&set, Freshness::Cached).await;
        cold.push(t.elapsed());
        assert_eq!(cat.entries.len(), REPOSITORIES * PACKAGES);
        // Warm: the same clientset again, within the TTL.
        let t = Instant::now();
        catalogue::load(&set, Freshness::Cached).await;
        warm.push(t.elapsed());
        // A restart: a new clientset over the same disk cache.
        let set = clientset(&urls, Some(dir));
        let t = Instant::now();
        catalogue::load(&set, Freshness::Cached).await;
        from_disk.push(t.elapsed());
    }
    let (c, w, d) = (median(cold), median(warm), median(from_disk));
    let build = median(client_builds);

    // Lookups: resolve a package (versions + manifest) with everything cached.
    let set = clientset(&urls, None);
    let cat = catalogue::load(&set, Freshness::Cached).await;
    let names: Vec<String> = cat.entries.iter().map(|e| e.name.clone()).collect();
    for n in &names {
        resolve::resolve(&set, &cat, n, None, None, Freshness::Cached)
            .await
            .expect("resolves");
    }
    let t = Instant::now();
    let mut lookups = 0u64;
    while t.elapsed() < Duration::from_secs(1) {
        for n in names.iter().step_by(7) {
            resolve::resolve(&set, &cat, n, None, None, Freshness::Cached)
                .await
                .expect("resolves");
            lookups += 1;
        }
    }
    let per_sec = lookups as f64 / t.elapsed().as_secs_f64();

    println!("## catalogue\n");
    println!(
        "{REPOSITORIES} repositories of {PACKAGES} packages each, generated and served over HTTP on loopback (ETags); median of 7.\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| the HTTP client, built once per process by the first fetch (TLS roots) | {} |",
        ms(build)
    );
    println!(
        "| catalogue load, cold (every index over HTTP) | {} |",
        ms(c)
    );
    println!(
        "| catalogue load, warm (memory cache, within the TTL) | {} = **{:.0}× faster than cold** |",
        ms(w),
        c.as_secs_f64() / w.as_secs_f64()
    );
    println!(
        "| catalogue load after a restart (on-disk cache, no request) | {} = **{:.1}× faster than cold** |",
        ms(d),
        c.as_secs_f64() / d.as_secs_f64()
    );
    println!(
        "| package lookups from cache (resolve: versions + manifest, one task) | **{:.0} /s** |",
        per_sec
    );
    println!();
}
