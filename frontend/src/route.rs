//! Pages, addressed by the URL fragment so that links, Back and reloads work without
//! server routes: `#/` installed packages, `#/catalogue`, `#/repositories`,
//! `#/packages/NAME?version=V&repository=R`, `#/clusters`.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Installed,
    Catalogue,
    Repositories,
    /// Member clusters and their billing.
    Clusters,
    Package {
        name: String,
        version: String,
        repository: String,
    },
    /// One install: a ClusterPackage (`namespace` empty) or a Package.
    Install {
        namespace: String,
        name: String,
    },
}

/// Percent-decodes a URL component (a malformed one is kept as written). In the browser
/// this is the browser's own `decodeURIComponent`, which costs the app nothing; the
/// same rules in Rust serve the native unit tests.
#[cfg(target_arch = "wasm32")]
fn decode(s: &str) -> String {
    js_sys::decode_uri_component(s).map_or_else(|_| s.to_string(), String::from)
}

/// Percent-encodes a URL component with the browser's `encodeURIComponent` (the `+`
/// of a version's build revision becomes `%2B` and survives).
#[cfg(target_arch = "wasm32")]
fn encode(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

/// Percent-decodes a URL component (invalid escapes are kept as written).
#[cfg(not(target_arch = "wasm32"))]
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a URL component: everything but `A-Z a-z 0-9 - . _ ~` (so the `+`
/// of a version's build revision survives).
#[cfg(not(target_arch = "wasm32"))]
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
            Some(("installs", name)) if !name.is_empty() => Route::Install {
                namespace: param("namespace"),
                name: decode(name),
            },
            _ => match path {
                "catalogue" => Route::Catalogue,
                "repositories" => Route::Repositories,
                "clusters" => Route::Clusters,
                _ => Route::Installed,
            },
        }
    }

    pub fn href(&self) -> String {
        match self {
            Route::Installed => "#/".into(),
            Route::Catalogue => "#/catalogue".into(),
            Route::Repositories => "#/repositories".into(),
            Route::Clusters => "#/clusters".into(),
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
            Route::Install { namespace, name } if namespace.is_empty() => {
                format!("#/installs/{}", encode(name))
            }
            Route::Install { namespace, name } => {
                format!(
                    "#/installs/{}?namespace={}",
                    encode(name),
                    encode(namespace)
                )
            }
        }
    }

    /// The link to an install's page.
    pub fn install(key: &hoist_proto::v1::PackageKey) -> String {
        Route::Install {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        }
        .href()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_routes_round_trip_with_revisions_and_odd_names() {
        let r = Route::Package {
            name: "hello web/ä".into(),
            version: "v1.1.0+2".into(),
            repository: "main".into(),
        };
        let href = r.href();
        assert_eq!(
            href,
            "#/packages/hello%20web%2F%C3%A4?version=v1.1.0%2B2&repository=main"
        );
        assert_eq!(Route::parse(&href), r);
    }

    #[test]
    fn install_routes_round_trip_for_both_kinds() {
        for r in [
            Route::Install {
                namespace: String::new(),
                name: "metrics-agent".into(),
            },
            Route::Install {
                namespace: "team a".into(),
                name: "web".into(),
            },
        ] {
            assert_eq!(Route::parse(&r.href()), r);
        }
        assert_eq!(
            Route::Install {
                namespace: "team-a".into(),
                name: "web".into()
            }
            .href(),
            "#/installs/web?namespace=team-a"
        );
    }

    #[test]
    fn unknown_and_empty_fragments_are_the_installed_page() {
        assert_eq!(Route::parse(""), Route::Installed);
        assert_eq!(Route::parse("#/"), Route::Installed);
        assert_eq!(Route::parse("#/nowhere"), Route::Installed);
        assert_eq!(Route::parse("#/packages/"), Route::Installed);
        assert_eq!(Route::parse("#/catalogue"), Route::Catalogue);
        assert_eq!(Route::parse("#/repositories"), Route::Repositories);
        assert_eq!(Route::parse("#/clusters"), Route::Clusters);
        assert_eq!(
            Route::parse("#/packages/a?version=%zz"),
            Route::Package {
                name: "a".into(),
                version: "%zz".into(),
                repository: String::new(),
            }
        );
    }
}
