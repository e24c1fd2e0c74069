//! The install page's entrypoints: what the package can be opened at. On the user's
//! own machine (the dashboard serves loopback) each has an Open button: the dashboard
//! forwards a port of its own to a ready pod and the page opens that address in a new
//! tab, without `window.opener` (the package's page gets no handle on the dashboard).
//! In a cluster the page shows the `hoist open` command to run instead.

use hoist_proto::v1 as pb;
use leptos::prelude::*;

#[component]
pub fn Entrypoints(
    key: StoredValue<pb::PackageKey>,
    entrypoints: Vec<pb::Entrypoint>,
    can_open: bool,
) -> impl IntoView {
    if entrypoints.is_empty() {
        return ().into_any();
    }
    view! {
        <h3>"Open"</h3>
        <ul id="entrypoints" class="entrypoints">
            {entrypoints.into_iter().map(|e| view! { <Entry key=key entry=e can_open=can_open /> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Entry(key: StoredValue<pb::PackageKey>, entry: pb::Entrypoint, can_open: bool) -> impl IntoView {
    let url = RwSignal::new(entry.url.clone());
    let answer = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let name = entry.name.clone();
    let open = move |_| {
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        answer.set(String::new());
        let request = pb::OpenRequest {
            key: Some(key.get_value()),
            entrypoint: name.clone(),
        };
        leptos::task::spawn_local(async move {
            match crate::rpc::open(request).await {
                Ok(r) => {
                    if let Some(w) = web_sys::window() {
                        // Within the click's activation; a blocked pop-up leaves the link.
                        let _ = w.open_with_url_and_target_and_features(
                            &r.url,
                            "_blank",
                            "noopener,noreferrer",
                        );
                    }
                    url.set(r.url);
                }
                Err(s) => answer.set(format!("Not opened: {}", s.message())),
            }
            pending.set(false);
        });
    };
    let command = entry.command.clone();
    view! {
        <li class="entrypoint" data-entrypoint=entry.name.clone()>
            <strong>{entry.name.clone()}</strong>
            " → Service "{entry.service.clone()}" port "{entry.port}" "
            {if can_open {
                view! {
                    <button class="button open-entrypoint" on:click=open disabled=move || pending.get()>"Open"</button>
                    {move || (!url.with(String::is_empty)).then(|| {
                        let (href, text) = (url.get(), url.get());
                        view! { " "<a class="entrypoint-url" href=href target="_blank" rel="noopener noreferrer">{text}</a> }
                    })}
                }.into_any()
            } else {
                let copied = command.clone();
                view! {
                    <code class="entrypoint-command">{command.clone()}</code>
                    " "<button class="button" on:click=move |_| super::install::copy(&copied)>"Copy"</button>
                }.into_any()
            }}
            <span class="install-result refused entrypoint-error" hidden=move || answer.with(String::is_empty)>{move || answer.get()}</span>
        </li>
    }
}
