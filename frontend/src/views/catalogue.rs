//! The catalogue page: every package the repositories offer, live from the stream,
//! with search (name and description) and filters (repository, scope, installed).

use crate::connection::Live;
use crate::route::Route;
use hoist_proto::v1 as pb;
use leptos::prelude::*;

#[component]
pub fn CataloguePage(live: Live) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let repository = RwSignal::new(String::new());
    let scope = RwSignal::new(String::new());
    let installed_only = RwSignal::new(false);
    let known = move || live.model.with(|m| m.catalogue.is_some());
    let repositories = move || {
        live.model.with(|m| {
            m.catalogue
                .as_ref()
                .map(|c| {
                    c.repositories
                        .iter()
                        .map(|r| r.name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let rows = move || {
        // ASCII case folding: package names are ASCII, and Unicode case tables would
        // cost the web app more than they give here.
        let q = query.get().trim().to_ascii_lowercase();
        let (repo, scope, installed_only) = (repository.get(), scope.get(), installed_only.get());
        live.model.with(|m| {
            let entries = m
                .catalogue
                .as_ref()
                .map(|c| c.entries.as_slice())
                .unwrap_or_default();
            entries
                .iter()
                .filter(|e| {
                    (q.is_empty()
                        || e.name.to_ascii_lowercase().contains(&q)
                        || e.short_description.to_ascii_lowercase().contains(&q))
                        && (repo.is_empty() || e.repository == repo || e.also_in.contains(&repo))
                        && (scope.is_empty() || e.scope == scope)
                        && (!installed_only || m.installed_count(&e.name) > 0)
                })
                .map(|e| (e.clone(), m.installed_count(&e.name)))
                .collect::<Vec<_>>()
        })
    };
    let total = move || {
        live.model
            .with(|m| m.catalogue.as_ref().map_or(0, |c| c.entries.len()))
    };
    view! {
        <section class="packages" id="catalogue-page">
            <h2>"Catalogue "<span class="count" id="catalogue-count">{move || format!("{} of {}", rows().len(), total())}</span></h2>
            <div class="filters">
                <input id="search" type="search" placeholder="Search packages" autocomplete="off"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev)) />
                <select id="filter-repository" on:change=move |ev| repository.set(event_target_value(&ev))>
                    <option value="">"All repositories"</option>
                    <For each=repositories key=|r| r.clone() let:r>
                        <option value=r.clone()>{r.clone()}</option>
                    </For>
                </select>
                <select id="filter-scope" on:change=move |ev| scope.set(event_target_value(&ev))>
                    <option value="">"Any scope"</option>
                    <option value="Cluster">"Cluster"</option>
                    <option value="Namespaced">"Namespaced"</option>
                </select>
                <label><input id="filter-installed" type="checkbox" on:change=move |ev| installed_only.set(event_target_checked(&ev)) />" Installed only"</label>
            </div>
            <Show when=known fallback=|| view! { <super::Spinner id="catalogue-loading" text="Loading the catalogue…" /> }>
                <Show when=move || !rows().is_empty() fallback=move || view! {
                    <p class="empty" id="catalogue-empty">{move || if total() == 0 {
                        "No repository offers any package yet. Add one with hoist repo add NAME URL."
                    } else {
                        "No package matches."
                    }}</p>
                }>
                    <table id="catalogue">
                        <thead><tr><th>"Package"</th><th title="As the repository's index declares it; a package's page computes it from its versions and says when they differ">"Latest (index)"</th><th>"Repository"</th><th>"Scope"</th><th>"Description"</th></tr></thead>
                        <tbody>
                            <For each=rows key=|(e, n)| (e.clone(), *n) let:row>
                                <CatalogueRow entry=row.0 installed=row.1 />
                            </For>
                        </tbody>
                    </table>
                </Show>
            </Show>
        </section>
    }
}

#[component]
fn CatalogueRow(entry: pb::CatalogueEntry, installed: usize) -> impl IntoView {
    let href = Route::package(&entry.name, "");
    let repository = if entry.also_in.is_empty() {
        entry.repository.clone()
    } else {
        format!(
            "{} (also in {})",
            entry.repository,
            entry.also_in.join(", ")
        )
    };
    view! {
        <tr data-name=entry.name.clone()>
            <td class="name">
                <a href=href>{entry.name.clone()}</a>
                {(installed > 0).then(|| view! { <span class="state ready installed">{format!("{installed} installed")}</span> })}
            </td>
            <td>{if entry.declared_latest_version.is_empty() { "—".to_string() } else { entry.declared_latest_version.clone() }}</td>
            <td>{repository}</td>
            <td>{entry.scope.clone()}</td>
            <td class="description">{entry.short_description.clone()}</td>
        </tr>
    }
}
