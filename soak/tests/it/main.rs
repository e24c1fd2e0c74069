//! The soak's command line, as `cargo xtask` and a user call it (one binary; it also
//! makes `cargo test --workspace` build `hoist-soak` with the tests' features, so the
//! soak in `cargo xtask test` runs without a build of its own).

mod plan;
