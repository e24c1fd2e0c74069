//! Marks on the page's performance timeline (the User Timing API), always on: a mark is
//! a name and a time, kept by the browser until read, costing microseconds. The browser
//! benchmark (`tests/benches/browser.rs`) reads them back with
//! `performance.getEntriesByName(name)`; anyone can, in the DevTools' Performance panel.
//!
//! - `hoist:snapshot`: a snapshot arrived and is about to be applied (`connection.rs`);
//! - `hoist:table:<table id>`: an Installed table's rows, read from a new snapshot, have
//!   been painted (`views/packages.rs`).
//!
//! Each mark's `detail.wasmBytes` is the size of the app's WebAssembly memory then:
//! where its state lives, which the JS heap figures (`performance.memory`) leave out.

use leptos::prelude::{request_animation_frame, set_timeout};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `performance.mark(name, options)`; `catch`: a page without it is no error.
    #[wasm_bindgen(js_namespace = performance, js_name = mark, catch)]
    fn performance_mark(name: &str, options: &JsValue) -> Result<JsValue, JsValue>;
}

/// Marks `name` now, with the WebAssembly memory's size as its detail.
pub fn mark(name: &str) {
    let wasm_bytes = wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0, |b| b.byte_length());
    let detail = js_sys::Object::new();
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&detail, &"wasmBytes".into(), &wasm_bytes.into());
    let _ = js_sys::Reflect::set(&options, &"detail".into(), &detail);
    let _ = performance_mark(name, &options);
}

/// Marks `name` once what the DOM holds now has been painted: a frame callback runs
/// just before the browser lays out and paints, and a zero timeout queued from it runs
/// after that frame is done.
pub fn mark_after_paint(name: String) {
    request_animation_frame(move || set_timeout(move || mark(&name), Default::default()));
}
