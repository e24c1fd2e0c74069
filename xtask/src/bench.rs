//! `cargo xtask bench`: runs every benchmark and rewrites `docs/BENCHMARKS.md` with the
//! machine and the date. Each benchmark prints its own Markdown section.

use anyhow::Context;
use std::process::Command;

/// `(package, bench target)` in the order they appear in the document.
const BENCHES: &[(&str, &str)] = &[
    ("devcluster", "api"),
    ("devcluster", "auth"),
    ("hoist", "dashboard"),
    ("hoist", "catalogue"),
    ("hoist", "operator"),
    ("hoist", "fleet"),
    // The dashboard in headless Chromium at 10,000 packages: serves `dist/`.
    ("hoist-tests", "browser"),
];

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    // The web app first: the browser benchmark serves it, and its size ends the document.
    crate::setup::build_frontend()?;
    let dist = std::env::current_dir()?.join("dist");
    let mut sections = String::new();
    for (package, bench) in BENCHES {
        eprintln!("xtask> cargo bench -p {package} --bench {bench}");
        let out = Command::new("cargo")
            .args(["bench", "-q", "-p", package, "--bench", bench])
            .env("HOIST_DIST", &dist)
            .output()
            .context("cannot run cargo bench")?;
        if !out.status.success() {
            anyhow::bail!(
                "bench {package}/{bench} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        sections.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    sections.push_str(&wasm_size()?);
    // The soak's sections are written by `cargo xtask soak --record` (long runs of
    // their own); a bench run keeps them.
    let old = std::fs::read_to_string("docs/BENCHMARKS.md").unwrap_or_default();
    for heading in crate::soak::SECTIONS {
        if let Some(soak) = section(&old, heading) {
            sections.push('\n');
            sections.push_str(soak);
        }
    }
    let doc = format!(
        "# Benchmarks\n\nWritten by `cargo xtask bench` on {date}.\n\nMachine: {machine}.\n\n\
         These machines are shared and noisy: compare figures within one run, as ratios.\n\n{sections}",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
    );
    std::fs::write("docs/BENCHMARKS.md", doc).context("cannot write docs/BENCHMARKS.md")?;
    eprintln!("xtask> wrote docs/BENCHMARKS.md");
    Ok(())
}

/// The section of `doc` that starts with the line `heading`, up to the next `## ` line.
pub fn section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let start = doc.find(&format!("\n{heading}\n")).map(|i| i + 1)?;
    let rest = &doc[start + heading.len()..];
    let end = rest
        .find("\n## ")
        .map_or(doc.len(), |i| start + heading.len() + i + 1);
    Some(&doc[start..end])
}

/// The web app as users get it (`dist/`, built by [`run`]) and its size, raw and gzip
/// -9: what the first load fetches, then each lazily loaded page module (decision 0018).
fn wasm_size() -> anyhow::Result<String> {
    let mut first = Vec::new();
    let mut pages = Vec::new();
    let mut shared = (0, 0, 0);
    for entry in std::fs::read_dir("dist")? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "wasm" | "js" | "css") {
            continue;
        }
        let raw = std::fs::metadata(&path)?.len();
        let gz = Command::new("gzip")
            .arg("-9c")
            .arg(&path)
            .output()
            .context("gzip")?
            .stdout
            .len() as u64;
        // Names are `<stem>-<build hash>.<ext>`.
        let stem = name
            .rsplit_once('-')
            .map_or(name.as_str(), |(s, _)| s)
            .to_string();
        if let Some(page) = stem.strip_prefix("split_") {
            pages.push((page.to_string(), raw, gz));
        } else if stem.starts_with("chunk_") {
            shared = (shared.0 + 1, shared.1 + raw, shared.2 + gz);
        } else {
            let label = match (stem.as_str(), ext) {
                (_, "css") => "css".to_string(),
                ("__wasm_split", _) => "js: page loader".to_string(),
                (_, "wasm") => "wasm: main module".to_string(),
                _ => "js: bindings".to_string(),
            };
            first.push((label, raw, gz));
        }
    }
    first.sort();
    pages.sort();
    let kb = |b: u64| b as f64 / 1000.0;
    let mut out = String::from(
        "## web app\n\n`trunk build --release` (opt-level z, LTO; split by `cargo xtask wasm`, then \
         wasm-opt -Oz). The first load fetches the main module; every other page is its own \
         module, fetched when first opened (prefetched at low priority once the app runs).\n\n\
         | first load | raw | gzip -9 |\n|---|---|---|\n",
    );
    for (label, raw, gz) in &first {
        out.push_str(&format!(
            "| {label} | {:.1} KB | {:.1} KB |\n",
            kb(*raw),
            kb(*gz)
        ));
    }
    out.push_str("\n| lazily loaded | raw | gzip -9 |\n|---|---|---|\n");
    for (page, raw, gz) in &pages {
        out.push_str(&format!(
            "| page `{page}` | {:.1} KB | {:.1} KB |\n",
            kb(*raw),
            kb(*gz)
        ));
    }
    out.push_str(&format!(
        "| {} modules shared by pages | {:.1} KB | {:.1} KB |\n\n",
        shared.0,
        kb(shared.1),
        kb(shared.2)
    ));
    Ok(out)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU")
        .to_string();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{model}, {cores} cores, {:.0} GiB, {rustc}",
        mem_kb as f64 / 1024.0 / 1024.0
    )
}
