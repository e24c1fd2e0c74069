//! The web app a test serves.

use std::path::PathBuf;

/// The built web app: `HOIST_DIST`, or `dist/` at the workspace root. Panics with what
/// to run when it is not built (`cargo xtask test` builds it and sets `HOIST_DIST`).
pub fn built() -> PathBuf {
    let dir = std::env::var_os("HOIST_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../dist")));
    assert!(
        dir.join("index.html").exists(),
        "the web app is not built in {}: run `cargo xtask test` (or `trunk build --release`)",
        dir.display()
    );
    dir
}

/// A stand-in `dist/` with an index page, so static serving can be checked without
/// building the web app. One per process, made on first use.
pub fn stand_in() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hoist-test-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dist dir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Hoist</title>",
    )
    .expect("index");
    dir
}
