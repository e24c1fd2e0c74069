//! Pages, addressed by the URL fragment so that links, Back and reloads work without
//! server routes: `#/` installed packages, `#/catalogue`, `#/repositories`,
//! `#/packages/NAME?version=V&repository=R`.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Installed,
    Catalogue,
    Repositories,
    Package {
        name: String,
        version: String,
        repository: String,
    },
}

fn decode(s: &str) -> String {
    js_sys::decode_uri_component(s)
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| s.to_string())
}

fn encode(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

impl Route {
    /// Parses a fragment such as `#/packages/hello-web?version=v1.0.0%2B1`.
    pub fn parse(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let param = |key: &str| {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == key)
                .map(|(_, v)| decode(v))
                .unwrap_or_default()
        };
        match path.split_once('/') {
            Some(("packages", name)) if !name.is_empty() => Route::Package {
                name: decode(name),
                version: param("version"),
                repository: param("repository"),
            },
            _ => match path {
                "catalogue" => Route::Catalogue,
                "repositories" => Route::Repositories,
                _ => Route::Installed,
            },
        }
    }

    pub fn href(&self) -> String {
        match self {
            Route::Installed => "#/".into(),
            Route::Catalogue => "#/catalogue".into(),
            Route::Repositories => "#/repositories".into(),
            Route::Package {
                name,
                version,
                repository,
            } => {
                let mut q = Vec::new();
                if !version.is_empty() {
                    q.push(format!("version={}", encode(version)));
                }
                if !repository.is_empty() {
                    q.push(format!("repository={}", encode(repository)));
                }
                let q = if q.is_empty() {
                    String::new()
                } else {
                    format!("?{}", q.join("&"))
                };
                format!("#/packages/{}{q}", encode(name))
            }
        }
    }

    /// The link to a package's page.
    pub fn package(name: &str, version: &str) -> String {
        Route::Package {
            name: name.into(),
            version: version.into(),
            repository: String::new(),
        }
        .href()
    }
}

fn current() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    Route::parse(&hash)
}

/// The current route, following `hashchange`.
pub fn signal() -> ReadSignal<Route> {
    let (route, set_route) = leptos::prelude::signal(current());
    let on_change = Closure::<dyn Fn()>::new(move || set_route.set(current()));
    if let Some(w) = web_sys::window() {
        let _ =
            w.add_event_listener_with_callback("hashchange", on_change.as_ref().unchecked_ref());
    }
    on_change.forget();
    route
}

/// Goes to `route` (a new history entry).
pub fn go(route: &Route) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&route.href());
    }
}
