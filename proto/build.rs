//! Compiles `hoist/v1/*.proto` with protox (pure Rust: no protoc to install).
//! Client and server code are generated always and compiled by feature.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["hoist/v1/dashboard.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["."])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        .server_mod_attribute("hoist.v1", "#[cfg(feature = \"server\")]")
        .client_mod_attribute("hoist.v1", "#[cfg(feature = \"client\")]")
        .compile_fds(fds)?;
    Ok(())
}
