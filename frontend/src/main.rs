//! Hoist's dashboard: a Leptos single-page app. One gRPC-web stream per page carries
//! the backend's cache status and every package change ([`connection`]); [`model`]
//! applies them; [`views`] render them.

#![forbid(unsafe_code)]

mod backoff;
mod connection;
mod grpc_web;
mod marks;
mod model;
mod retry_info;
mod route;
mod rpc;
mod views;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(views::App);
}
