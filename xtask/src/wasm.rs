//! The web app's wasm, split into a first-load module and lazily loaded pages.
//!
//! Trunk builds the page (HTML, CSS, hashing) and calls this as its `post_build` hook
//! (`Trunk.toml`), because Trunk 0.21 cannot split wasm (trunk-rs/trunk#1022): the
//! split has to happen between `cargo build` and `wasm-bindgen`, and Trunk runs both
//! in one step. This is the pipeline cargo-leptos runs for `--split`:
//!
//! 1. `cargo build` of `hoist-frontend` for wasm32, linked with `--emit-relocs`
//!    (`.cargo/config.toml`) so the splitter can move functions between modules;
//! 2. `wasm-split-cli` cuts every `#[lazy]` function (and what only it uses) into
//!    its own module and writes `__wasm_split.js`, the loader those calls go through;
//! 3. `wasm-bindgen` on the main module, keeping the linker's exports the chunks
//!    import (`--keep-lld-exports`);
//! 4. `wasm-opt -Oz` on every module (release builds, except `cargo xtask demo`'s:
//!    [`SKIP_WASM_OPT`]);
//! 5. every file gets the build's content hash in its name (a browser never mixes
//!    a new main module with an old chunk), the references between them are
//!    rewritten, and the loader goes into the staged `index.html`, with the chunks
//!    prefetched at low priority so opening a lazy page rarely waits.
//!
//! Guarantees: a reference that is not found exactly once where it is rewritten
//! fails the build (a new tool version that changes its output cannot produce a
//! page that loads the wrong file).

use crate::sh;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const CRATE: &str = "hoist-frontend";
const LOADER: &str = "__wasm_split";

/// Set (to anything) by `cargo xtask demo`: a release build without `wasm-opt`'s size
/// pass. The code is the same; the modules are larger, which a page on the loopback
/// does not notice, and the first demo on a fresh clone is up sooner (decision 0033).
pub const SKIP_WASM_OPT: &str = "XTASK_SKIP_WASM_OPT";

pub fn run() -> anyhow::Result<()> {
    let staging = PathBuf::from(std::env::var_os("TRUNK_STAGING_DIR").context(
        "`cargo xtask wasm` is Trunk's post_build hook: run `cargo xtask dist` or `trunk build`",
    )?);
    let release = std::env::var("TRUNK_PROFILE").is_ok_and(|p| p == "release");
    let public_url = std::env::var("TRUNK_PUBLIC_URL").unwrap_or_else(|_| "/".into());
    let public_url = if public_url.ends_with('/') {
        public_url
    } else {
        format!("{public_url}/")
    };

    let (profile, profile_dir) = if release {
        ("wasm-release", "wasm-release")
    } else {
        ("dev", "debug")
    };
    sh(Command::new("cargo").args([
        "build",
        "--package",
        CRATE,
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
    ]))?;
    let input = PathBuf::from(format!(
        "target/wasm32-unknown-unknown/{profile_dir}/{CRATE}.wasm"
    ));

    let work = PathBuf::from("target/xtask/wasm-split");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    sh(Command::new("wasm-split-cli")
        .args(["--target", "web", "--out-name", CRATE])
        .arg(&input)
        .arg(&work))?;
    let bindgen = work.join("bindgen");
    sh(Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--keep-lld-exports",
            "--no-demangle",
            "--no-typescript",
        ])
        .args(["--out-name", CRATE, "--out-dir"])
        .arg(&bindgen)
        .arg(work.join(format!("{CRATE}.wasm"))))?;
    if bindgen.join("snippets").exists() {
        bail!("wasm-bindgen wrote JS snippets; copy them into the dist before using inline_js");
    }

    let main_js = bindgen.join(format!("{CRATE}.js"));
    let main_wasm = bindgen.join(format!("{CRATE}_bg.wasm"));
    let loader = work.join(format!("{LOADER}.js"));
    let mut chunks: Vec<PathBuf> = std::fs::read_dir(&work)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "wasm") && p.file_stem().is_some_and(|s| s != CRATE)
        })
        .collect();
    chunks.sort();
    if release && std::env::var_os(SKIP_WASM_OPT).is_none() {
        // One module at a time: wasm-opt already runs its passes on every core.
        for wasm in std::iter::once(&main_wasm).chain(&chunks) {
            sh(Command::new(crate::setup::binaryen_bin().join("wasm-opt"))
                .args(["-Oz", "--strip-debug", "--strip-producers"])
                .arg(wasm)
                .arg("-o")
                .arg(wasm))?;
        }
    }

    // One hash of everything, in every name: the files refer to each other in a cycle
    // (main JS → loader → main JS), so no file's own hash could name it.
    let mut hash = Fnv::default();
    for file in [&main_js, &main_wasm, &loader].into_iter().chain(&chunks) {
        hash.write(&std::fs::read(file).with_context(|| file.display().to_string())?);
    }
    let h = format!("{:016x}", hash.0);
    let named = |stem: &str, ext: &str| format!("{stem}-{h}.{ext}");

    let mut js = std::fs::read_to_string(&main_js)?;
    // wasm-bindgen imports the loader once per lazy function.
    replace_all(
        &mut js,
        &format!("from \"./{LOADER}.js\""),
        &format!("from \"./{}\"", named(LOADER, "js")),
    )?;
    std::fs::write(staging.join(named(CRATE, "js")), js)?;
    std::fs::copy(
        &main_wasm,
        staging.join(named(&format!("{CRATE}_bg"), "wasm")),
    )?;

    let mut loader_js = std::fs::read_to_string(&loader)?;
    replace_once(
        &mut loader_js,
        &format!("from \"./{CRATE}.js\""),
        &format!("from \"./{}\"", named(CRATE, "js")),
    )?;
    let mut prefetch = String::new();
    for chunk in &chunks {
        let stem = stem(chunk)?;
        let file = named(stem, "wasm");
        replace_once(
            &mut loader_js,
            &format!("\"./{stem}.wasm\""),
            &format!("\"./{file}\""),
        )?;
        std::fs::copy(chunk, staging.join(&file))?;
        prefetch.push_str(&format!(
            "<link rel=\"prefetch\" href=\"{public_url}{file}\" as=\"fetch\" type=\"application/wasm\" crossorigin=\"anonymous\">\n"
        ));
    }
    std::fs::write(staging.join(named(LOADER, "js")), loader_js)?;

    let html_path = staging.join("index.html");
    let mut html = std::fs::read_to_string(&html_path)?;
    let js_url = format!("{public_url}{}", named(CRATE, "js"));
    let wasm_url = format!("{public_url}{}", named(&format!("{CRATE}_bg"), "wasm"));
    let tags = format!(
        "<link rel=\"modulepreload\" href=\"{js_url}\">\n\
         <link rel=\"preload\" href=\"{wasm_url}\" as=\"fetch\" type=\"application/wasm\" crossorigin=\"anonymous\">\n\
         {prefetch}<script type=\"module\">import init from '{js_url}'; await init({{ module_or_path: '{wasm_url}' }});</script>\n</head>"
    );
    replace_once(&mut html, "</head>", &tags)?;
    std::fs::write(&html_path, html)?;
    eprintln!(
        "xtask> web app: main module and {} lazily loaded module(s), build {h}",
        chunks.len()
    );
    Ok(())
}

fn stem(path: &Path) -> anyhow::Result<&str> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .with_context(|| format!("{} has no UTF-8 name", path.display()))
}

/// Replaces every `from` with `to`, failing unless there is at least one.
fn replace_all(text: &mut String, from: &str, to: &str) -> anyhow::Result<()> {
    if !text.contains(from) {
        bail!("expected `{from}` in the generated web app, found none");
    }
    *text = text.replace(from, to);
    Ok(())
}

/// Replaces `from` with `to`, failing unless `from` occurs exactly once.
fn replace_once(text: &mut String, from: &str, to: &str) -> anyhow::Result<()> {
    match text.matches(from).count() {
        1 => {
            *text = text.replacen(from, to, 1);
            Ok(())
        }
        n => bail!("expected `{from}` once in the generated web app, found it {n} times"),
    }
}

/// FNV-1a, 64 bits: a stable content hash for cache-busting names (not for security).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
