//! The package repositories and their state, live from the stream: added, edited,
//! failing and recovering repositories show up without a reload.

use crate::connection::Live;
use hoist_proto::v1 as pb;
use leptos::prelude::*;

#[component]
pub fn Repositories(live: Live, now: RwSignal<f64>, clear_cache: Callback<()>) -> impl IntoView {
    let known = move || live.model.with(|m| m.catalogue.is_some());
    let rows = move || {
        live.model.with(|m| {
            m.catalogue
                .as_ref()
                .map(|c| c.repositories.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <section class="packages" id="repositories-page">
            <h2>"Repositories "<span class="count">{move || rows().len()}</span>
                <button id="clear-cache" class="button small" on:click=move |_| clear_cache.run(())
                    title="Drop every cached repository file, in memory and on disk, and fetch them again">"Clear cache"</button>
            </h2>
            <Show when=known fallback=|| view! { <super::Spinner text="Loading the repositories…" /> }>
                <Show when=move || !rows().is_empty() fallback=|| view! { <p class="empty">"No repositories. Add one with hoist repo add NAME URL."</p> }>
                    <table id="repositories">
                        <thead><tr><th>"Name"</th><th>"URL"</th><th>"Packages"</th><th>"Fetched"</th><th>"State"</th></tr></thead>
                        <tbody>
                            <For each=rows key=|r| r.clone() let:r>
                                <RepositoryRow r=r now=now />
                            </For>
                        </tbody>
                    </table>
                </Show>
            </Show>
        </section>
    }
}

#[component]
fn RepositoryRow(r: pb::Repository, now: RwSignal<f64>) -> impl IntoView {
    let fetched = r.fetched_unix_ms as f64;
    view! {
        <tr data-name=r.name.clone()>
            <td class="name">
                {r.name.clone()}
                {r.is_default.then(|| view! { <span class="suspended">" default"</span> })}
                {r.has_credentials.then(|| view! { <span class="suspended" title="fetched with credentials">" 🔒"</span> })}
            </td>
            <td>{r.url.clone()}</td>
            <td>{r.packages}</td>
            <td>{move || if fetched > 0.0 { super::age(now.get() - fetched) } else { "never".into() }}</td>
            <td>{if r.error.is_empty() {
                view! { <span class="state ready">"ok"</span> }.into_any()
            } else {
                view! { <span class="state failed" title=r.error.clone()>{r.error.clone()}</span> }.into_any()
            }}</td>
        </tr>
    }
}
