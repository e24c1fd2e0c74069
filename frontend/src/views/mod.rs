//! The page: header with navigation, connection state and Refresh, the retry banner,
//! the cache status, and the current page: installed packages (or the loading state
//! before the first snapshot), the catalogue, one package, or the repositories.

mod banner;
mod catalogue;
mod clusters;
mod configure;
mod details;
mod entrypoints;
mod install;
mod packages;
mod plan;
mod repositories;
mod status;
mod value_input;
mod virtual_rows;

use crate::connection::{self, Connection, Live};
use crate::model::Model;
use crate::route::{self, Route};
use gloo_timers::callback::Interval;
use hoist_proto::v1 as pb;
use leptos::prelude::*;

/// "just now", "12 s ago", "3 min ago", "2 h ago".
pub fn age(ms: f64) -> String {
    let s = (ms / 1000.0).max(0.0) as u64;
    match s {
        0..=1 => "just now".into(),
        2..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

/// A spinner with a line saying what is loading.
#[component]
pub fn Spinner(text: &'static str, #[prop(optional)] id: &'static str) -> impl IntoView {
    view! { <div id=id class="loading" role="status"><div class="spinner"></div><p>{text}</p></div> }
}

// Pages other than the first (installed packages) live in their own wasm modules,
// fetched the first time they are opened (and prefetched at low priority after the first
// load): the first load carries only what the first page needs. `xtask/src/wasm.rs` does
// the split; decision 0018. A module that cannot be loaded (the network, or a Hoist
// upgraded under an open tab) is an error on the page, never a crash of the app.

use leptos::wasm_split::{SplitLoaderError, wasm_split};

#[wasm_split(page_install, wasm_split_path = ::leptos::wasm_split, fallible)]
fn install_page(live: Live, namespace: String, name: String) -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <install::InstallPage live=live namespace=namespace name=name /> }.into_any())
}

#[wasm_split(page_package, wasm_split_path = ::leptos::wasm_split, fallible)]
fn package_page(
    live: Live,
    name: String,
    version: String,
    repository: String,
) -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <details::PackagePage live=live name=name version=version repository=repository /> }.into_any())
}

#[wasm_split(page_catalogue, wasm_split_path = ::leptos::wasm_split, fallible)]
fn catalogue_page(live: Live) -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <catalogue::CataloguePage live=live /> }.into_any())
}

#[wasm_split(page_repositories, wasm_split_path = ::leptos::wasm_split, fallible)]
fn repositories_page(
    live: Live,
    now: RwSignal<f64>,
    clear_cache: Callback<()>,
) -> Result<AnyView, SplitLoaderError> {
    Ok(
        view! { <repositories::Repositories live=live now=now clear_cache=clear_cache /> }
            .into_any(),
    )
}

#[wasm_split(page_clusters, wasm_split_path = ::leptos::wasm_split, fallible)]
fn clusters_page(live: Live, now: RwSignal<f64>) -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <clusters::ClustersPage live=live now=now /> }.into_any())
}

/// A page whose code is still loading: a spinner, then the page, or why it could not
/// load with a way out (the load is retried from scratch by a reload).
fn lazy_page(
    page: impl std::future::Future<Output = Result<AnyView, SplitLoaderError>> + Send + 'static,
) -> AnyView {
    let page = async move {
        match page.await {
            Ok(view) => view,
            Err(_) => view! {
                <div id="page-load-error" class="banner error" role="alert">
                    <p>"This page's code could not be loaded: the connection failed, or Hoist was upgraded since this tab opened."</p>
                    <button class="button" on:click=|_| { let _ = window().location().reload(); }>"Reload the dashboard"</button>
                </div>
            }
            .into_any(),
        }
    };
    view! { <Suspense fallback=|| view! { <Spinner text="Loading the page…" id="page-loading" /> }>{Suspend::new(page)}</Suspense> }.into_any()
}

#[component]
pub fn App() -> impl IntoView {
    let live = Live {
        model: RwSignal::new(Model::default()),
        connection: RwSignal::new(Connection::Connecting),
        last_message_ms: RwSignal::new(0.0),
    };
    // One clock for every countdown and age on the page.
    let now = RwSignal::new(js_sys::Date::now());
    Interval::new(250, move || now.set(js_sys::Date::now())).forget();
    let retry = connection::start(live);
    let retry_for_refresh = retry.clone();
    let retry_for_clear = retry.clone();
    let on_refresh = move |_| connection::refresh(retry_for_refresh.clone(), false);
    let clear_cache = Callback::new(move |()| connection::refresh(retry_for_clear.clone(), true));
    let known = move || live.model.with(|m| m.packages.is_some());
    let newest = packages::Newest::track(live);
    let route = route::signal();
    let tab = move |r: Route, label: &'static str, id: &'static str| {
        let target = r.clone();
        let active = move || {
            let here = route.get();
            here == target
                || (target == Route::Catalogue && matches!(here, Route::Package { .. }))
                || (target == Route::Installed && matches!(here, Route::Install { .. }))
        };
        view! { <a id=id href=r.href() class="tab" class:active=active>{label}</a> }
    };
    let page = move || {
        match route.get() {
        Route::Installed => view! {
            <Show when=known fallback=move || view! { <packages::Loading live=live /> }>
                <packages::NeedsAttention live=live />
                <packages::PackageTable live=live newest=newest scope=pb::Scope::Cluster title="Cluster packages" id="cluster-packages" />
                <packages::PackageTable live=live newest=newest scope=pb::Scope::Namespaced title="Namespaced packages" id="namespaced-packages" />
            </Show>
        }
        .into_any(),
        Route::Catalogue => lazy_page(catalogue_page(live)),
        Route::Repositories => lazy_page(repositories_page(live, now, clear_cache)),
        Route::Clusters => lazy_page(clusters_page(live, now)),
        Route::Package {
            name,
            version,
            repository,
        } => lazy_page(package_page(live, name, version, repository)),
        Route::Install { namespace, name } => {
            lazy_page(install_page(live, namespace, name))
        }
    }
    };

    view! {
        <header class="top">
            <h1>"Hoist"</h1>
            <nav class="tabs">
                {tab(Route::Installed, "Installed", "tab-installed")}
                {tab(Route::Catalogue, "Catalogue", "tab-catalogue")}
                {tab(Route::Repositories, "Repositories", "tab-repositories")}
                {tab(Route::Clusters, "Clusters", "tab-clusters")}
            </nav>
            <banner::ConnectionPill live=live now=now />
            <button id="refresh" class="button" on:click=on_refresh title="Ask the backend for a fresh snapshot">
                "Refresh"
            </button>
        </header>
        <banner::RetryBanner live=live now=now retry=retry />
        <status::StatusPanel live=live now=now />
        <main>{page}</main>
    }
}
