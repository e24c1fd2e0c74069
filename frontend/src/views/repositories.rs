//! The package repositories and their state, asked of the backend when the stream goes
//! live and after each Refresh.

use crate::connection::{self, Connection, Live};
use hoist_proto::v1 as pb;
use leptos::prelude::*;

#[component]
pub fn Repositories(live: Live, refreshes: RwSignal<u32>) -> impl IntoView {
    let repos: RwSignal<Option<Vec<pb::Repository>>> = RwSignal::new(None);
    Effect::new(move |_| {
        let live_now = live.connection.get() == Connection::Live;
        refreshes.track();
        if live_now {
            leptos::task::spawn_local(async move {
                if let Ok(r) = connection::client()
                    .list_repositories(pb::ListRepositoriesRequest {})
                    .await
                {
                    repos.set(Some(r.into_inner().repositories));
                }
            });
        }
    });
    let rows = move || repos.get().unwrap_or_default();
    let known = move || repos.with(Option::is_some);
    view! {
        <Show when=known>
            <section class="packages">
                <h2>"Repositories "<span class="count">{move || rows().len()}</span></h2>
                <Show when=move || !rows().is_empty() fallback=|| view! { <p class="empty">"No repositories. Add one with hoist repo add NAME URL."</p> }>
                    <table id="repositories">
                        <thead><tr><th>"Name"</th><th>"URL"</th><th>"Packages"</th><th>"State"</th></tr></thead>
                        <tbody>
                            <For each=rows key=|r| (r.name.clone(), r.url.clone(), r.error.clone(), r.packages) let:r>
                                <tr data-name=r.name.clone()>
                                    <td class="name">{r.name.clone()}{r.is_default.then(|| view! { <span class="suspended">" default"</span> })}</td>
                                    <td>{r.url.clone()}</td>
                                    <td>{r.packages}</td>
                                    <td>{if r.error.is_empty() {
                                        view! { <span class="state ready">"ok"</span> }.into_any()
                                    } else {
                                        view! { <span class="state failed" title=r.error.clone()>{r.error.clone()}</span> }.into_any()
                                    }}</td>
                                </tr>
                            </For>
                        </tbody>
                    </table>
                </Show>
            </section>
        </Show>
    }
}
