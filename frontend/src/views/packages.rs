//! The package lists, and the loading state shown before the first snapshot (never
//! "no packages" from a cache that has not synced).

use crate::connection::Live;
use hoist_proto::v1 as pb;
use leptos::prelude::*;
use prost::Message;
use std::collections::{BTreeMap, BTreeSet};

/// Every version each installed package's repository offers, newest first, by
/// `(package, repository)`: asked once per pair with GetPackageDetails (computed from
/// versions.yaml by the server, through its repository cache, never the index's
/// hand-written `latestVersion`), and asked again when the installed pairs or the
/// catalogue change. A pair whose repository does not answer stays unknown: no
/// "update" is shown for it rather than a guess.
#[derive(Clone, Copy)]
pub struct Newest(RwSignal<BTreeMap<(String, String), Vec<String>>>);

impl Newest {
    pub fn track(live: Live) -> Self {
        let versions = RwSignal::new(BTreeMap::new());
        let pairs = Memo::new(move |_| {
            live.model.with(|m| {
                m.packages
                    .iter()
                    .flat_map(|all| all.values())
                    .map(|p| (p.package_name.clone(), p.repository.clone()))
                    .collect::<BTreeSet<_>>()
            })
        });
        let catalogue = Memo::new(move |_| {
            live.model
                .with(|m| m.catalogue.as_ref().map(|c| c.encode_to_vec()))
        });
        Effect::new(move |_| {
            catalogue.track();
            for (name, repository) in pairs.get() {
                leptos::task::spawn_local(async move {
                    let asked = pb::PackageDetailsRequest {
                        name: name.clone(),
                        repository: repository.clone(),
                        version: String::new(),
                    };
                    if let Ok(d) = crate::rpc::get_package_details(asked).await {
                        versions.update(|all| {
                            all.insert((name, repository), d.versions);
                        });
                    }
                });
            }
        });
        Self(versions)
    }

    /// The newest version when it is newer than `p`'s (its version is listed after it).
    fn update_for(&self, p: &pb::Package) -> Option<String> {
        self.0.with(|all| {
            let listed = all.get(&(p.package_name.clone(), p.repository.clone()))?;
            let at = listed.iter().position(|v| *v == p.version)?;
            (at > 0).then(|| listed[0].clone())
        })
    }
}

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
    newest: Newest,
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
                            <PackageRow p=p namespaced=namespaced newest=newest />
                        </For>
                    </tbody>
                </table>
            </Show>
        </section>
    }
}

#[component]
fn PackageRow(p: pb::Package, namespaced: bool, newest: Newest) -> impl IntoView {
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
            <td class="name"><a href=crate::route::Route::install(&key)>{key.name.clone()}</a></td>
            <td><a href=crate::route::Route::package(&p.package_name, &p.version)>{p.package_name.clone()}</a></td>
            <td>{p.version.clone()}{
                let p = p.clone();
                move || newest.update_for(&p).map(|v| {
                    let title = format!("{v} is available: Upgrade on its page");
                    view! { <span class="update-available" title=title>" → "{v}</span> }
                })
            }</td>
            <td>{if p.installed_version.is_empty() { "—".to_string() } else { p.installed_version.clone() }}</td>
            <td>{if p.repository.is_empty() { "default".to_string() } else { p.repository.clone() }}</td>
            <td><span class=state_class title=tooltip>{p.state.clone()}</span>{p.suspended.then(|| view! { <span class="suspended">" suspended"</span> })}</td>
        </tr>
    }
}

/// Installs that need a person: failed, stalled or given up on (dead-lettered), each
/// with a link to its page and Retry. Live from the stream; hidden when there are none.
/// Also Upgrade all: every install to the newest version its dependents accept.
#[component]
pub fn NeedsAttention(live: Live) -> impl IntoView {
    let troubled = move || {
        live.model.with(|m| {
            m.packages
                .as_ref()
                .map(|all| {
                    all.values()
                        .filter(|p| matches!(p.state.as_str(), "Failed" | "Stalled"))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let answer = RwSignal::new(String::new());
    let act = move |key: Option<pb::PackageKey>, action: pb::act_request::Action| {
        let request = pb::ActRequest {
            key,
            action: action as i32,
            version: String::new(),
            force: false,
        };
        answer.set("…".into());
        leptos::task::spawn_local(async move {
            answer.set(match crate::rpc::act(request).await {
                Ok(a) => a.message,
                Err(s) => s.message().to_string(),
            });
        });
    };
    view! {
        <div class="toolbar">
            <button class="button" id="upgrade-all" on:click=move |_| act(None, pb::act_request::Action::UpgradeAll)>"Upgrade all"</button>
            <span id="attention-result" class="muted">{move || answer.get()}</span>
        </div>
        <Show when=move || !troubled().is_empty()>
            <section class="attention" id="needs-attention">
                <h2>"Needs attention "<span class="count">{move || troubled().len()}</span></h2>
                <ul>
                    <For each=troubled key=|p| (p.key.clone().unwrap_or_default().namespace, p.key.clone().unwrap_or_default().name, p.resource_version.clone()) let:p>
                        {
                            let key = p.key.clone().unwrap_or_default();
                            let shown = if key.namespace.is_empty() { key.name.clone() } else { format!("{}/{}", key.namespace, key.name) };
                            let for_retry = key.clone();
                            view! {
                                <li data-name=key.name.clone()>
                                    <a href=crate::route::Route::install(&key)>{shown}</a>" "
                                    <span class="state failed">{p.reason.clone()}</span>" "{p.message.clone()}" "
                                    <button class="button retry" on:click=move |_| act(Some(for_retry.clone()), pb::act_request::Action::Retry)>"Retry"</button>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </section>
        </Show>
    }
}
