//! The package lists, and the loading state shown before the first snapshot (never
//! "no packages" from a cache that has not synced).

use crate::connection::Live;
use hoist_proto::v1 as pb;
use leptos::prelude::*;

#[component]
pub fn Loading(live: Live) -> impl IntoView {
    let what = move || {
        live.model.with(|m| match &m.status {
            Some(s) if s.phase == pb::Phase::Syncing as i32 => {
                "The backend is loading its caches; packages appear as soon as they are complete."
            }
            Some(s) if s.phase == pb::Phase::Connecting as i32 => {
                "The backend is connecting to the Kubernetes API server."
            }
            _ => "Connecting to the backend.",
        })
    };
    view! {
        <div id="loading" class="loading" role="status">
            <div class="spinner"></div>
            <p>"Loading packages… "{what}</p>
        </div>
    }
}

#[component]
pub fn PackageTable(
    live: Live,
    scope: pb::Scope,
    title: &'static str,
    id: &'static str,
) -> impl IntoView {
    let rows = move || live.model.with(|m| m.of_scope(scope));
    let count = move || rows().len();
    let namespaced = scope == pb::Scope::Namespaced;
    let any = move || count() > 0;
    let empty_id = format!("{id}-empty");
    view! {
        <section class="packages">
            <h2>{title}" "<span class="count">{count}</span></h2>
            <Show when=any fallback=move || view! { <p class="empty" id=empty_id.clone()>"No packages installed."</p> }>
                <table id=id>
                    <thead>
                        <tr>
                            {namespaced.then(|| view! { <th>"Namespace"</th> })}
                            <th>"Name"</th><th>"Package"</th><th>"Version"</th><th>"Installed"</th><th>"Repository"</th><th>"Status"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=rows key=|p| (p.key.clone().unwrap_or_default().namespace, p.key.clone().unwrap_or_default().name, p.resource_version.clone()) let:p>
                            <PackageRow p=p namespaced=namespaced />
                        </For>
                    </tbody>
                </table>
            </Show>
        </section>
    }
}

#[component]
fn PackageRow(p: pb::Package, namespaced: bool) -> impl IntoView {
    let key = p.key.clone().unwrap_or_default();
    let state_class = format!("state {}", p.state.to_ascii_lowercase());
    let tooltip = if p.message.is_empty() {
        p.reason.clone()
    } else {
        format!("{}: {}", p.reason, p.message)
    };
    view! {
        <tr data-name=key.name.clone() data-namespace=key.namespace.clone()>
            {namespaced.then(|| view! { <td>{key.namespace.clone()}</td> })}
            <td class="name">{key.name.clone()}</td>
            <td><a href=crate::route::Route::package(&p.package_name, &p.version)>{p.package_name.clone()}</a></td>
            <td>{p.version.clone()}</td>
            <td>{if p.installed_version.is_empty() { "—".to_string() } else { p.installed_version.clone() }}</td>
            <td>{if p.repository.is_empty() { "default".to_string() } else { p.repository.clone() }}</td>
            <td><span class=state_class title=tooltip>{p.state.clone()}</span>{p.suspended.then(|| view! { <span class="suspended">" suspended"</span> })}</td>
        </tr>
    }
}
