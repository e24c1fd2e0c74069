//! The page: header with navigation, connection state and Refresh, the retry banner,
//! the cache status, and the current page: installed packages (or the loading state
//! before the first snapshot), the catalogue, one package, or the repositories.

mod banner;
mod catalogue;
mod details;
mod install;
mod packages;
mod plan;
mod repositories;
mod status;

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
                <packages::PackageTable live=live scope=pb::Scope::Cluster title="Cluster packages" id="cluster-packages" />
                <packages::PackageTable live=live scope=pb::Scope::Namespaced title="Namespaced packages" id="namespaced-packages" />
            </Show>
        }
        .into_any(),
        Route::Catalogue => view! { <catalogue::CataloguePage live=live /> }.into_any(),
        Route::Repositories => {
            view! { <repositories::Repositories live=live now=now clear_cache=clear_cache /> }.into_any()
        }
        Route::Package {
            name,
            version,
            repository,
        } => view! { <details::PackagePage live=live name=name version=version repository=repository /> }
            .into_any(),
        Route::Install { namespace, name } => {
            view! { <install::InstallPage live=live namespace=namespace name=name /> }.into_any()
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
