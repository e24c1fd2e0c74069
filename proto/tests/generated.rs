//! The checked-in code (`src/gen/hoist.v1.rs`) is what prost and tonic generate from
//! `hoist/v1/*.proto` today: a `.proto` edited without regenerating fails here.
//! `HOIST_WRITE_PROTO=1 cargo test -p hoist-proto` writes it instead.

use std::path::Path;

/// The protocol files, relative to the crate.
const PROTOS: &[&str] = &["hoist/v1/dashboard.proto"];
const GENERATED: &str = "src/gen/hoist.v1.rs";

/// Generates the code into `out` (protox: pure Rust, no protoc to install). Client and
/// server are generated always and compiled by feature.
fn generate(crate_dir: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let protos: Vec<_> = PROTOS.iter().map(|p| crate_dir.join(p)).collect();
    let fds = protox::compile(&protos, [crate_dir])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        .server_mod_attribute("hoist.v1", "#[cfg(feature = \"server\")]")
        .client_mod_attribute("hoist.v1", "#[cfg(feature = \"client\")]")
        .out_dir(out)
        .compile_fds(fds)?;
    Ok(())
}

#[test]
fn the_checked_in_code_is_what_the_proto_compiles_to() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("a temporary directory");
    generate(crate_dir, out.path()).expect("the .proto compiles");
    let fresh = std::fs::read_to_string(out.path().join("hoist.v1.rs")).expect("generated");
    let checked_in = crate_dir.join(GENERATED);
    if std::env::var_os("HOIST_WRITE_PROTO").is_some() {
        std::fs::write(&checked_in, &fresh).expect("writable source tree");
        return;
    }
    let current = std::fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        current == fresh,
        "{GENERATED} is not what {PROTOS:?} compile to: run `HOIST_WRITE_PROTO=1 cargo test -p hoist-proto` and commit it"
    );
}
