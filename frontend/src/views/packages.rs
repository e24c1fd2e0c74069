//! The package lists, and the loading state shown before the first snapshot (never
//! "no packages" from a cache that has not synced). At 10,000 packages: the tables hold
//! only the rows in view, and whatever follows every change (the pairs [`Newest`] asks
//! about, Needs attention) reads what changed, or scans without copying.

use super::virtual_rows::{ROW_PX, Rows, Viewport};
use crate::connection::Live;
use crate::marks;
use crate::model::Key;
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
        // The pairs grow with the changes the journal names (a package's pair is added
        // when it changes) and are read afresh from a snapshot: a status change costs a
        // lookup, not a pass over every package. A pair whose last package went stays
        // until the next snapshot; asking about it once more is harmless.
        let cursor = StoredValue::new(None);
        let pairs = Memo::new(move |before: Option<&BTreeSet<(String, String)>>| {
            live.model.with(|m| {
                let pair = |p: &pb::Package| (p.package_name.clone(), p.repository.clone());
                let changed = cursor.get_value().and_then(|c| m.journal.since(c));
                cursor.set_value(Some(m.journal.cursor()));
                match (before, changed) {
                    (Some(before), Some(changed)) => {
                        let mut pairs = before.clone();
                        pairs.extend(changed.filter_map(|k| m.package(k)).map(pair));
                        pairs
                    }
                    _ => {
                        let all = m.packages.iter().flat_map(|all| all.values());
                        let unique: BTreeSet<(&str, &str)> = all
                            .map(|p| (p.package_name.as_str(), p.repository.as_str()))
                            .collect();
                        unique
                            .into_iter()
                            .map(|(n, r)| (n.to_string(), r.to_string()))
                            .collect()
                    }
                }
            })
        });
        let catalogue = Memo::new(move |_| {
            live.model
                .with(|m| m.catalogue.as_ref().map(|c| c.encode_to_vec()))
        });
        // Latest wins, as on the install page: an answer to an older catalogue's read
        // never overwrites a newer one's.
        let serial = StoredValue::new(0u64);
        Effect::new(move |_| {
            catalogue.track();
            serial.update_value(|n| *n += 1);
            let mine = serial.get_value();
            for (name, repository) in pairs.get() {
                leptos::task::spawn_local(async move {
                    let asked = pb::PackageDetailsRequest {
                        name: name.clone(),
                        repository: repository.clone(),
                        version: String::new(),
                    };
                    if let Ok(d) = crate::rpc::get_package_details(asked).await
                        && serial.get_value() == mine
                    {
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

/// One scope's installed packages, at any count: only the rows in view are in the DOM
/// and a change rewrites only its own row (`virtual_rows.rs`). The table keeps its id,
/// and each row `data-name` and `data-namespace`, whatever is rendered.
#[component]
pub fn PackageTable(
    live: Live,
    newest: Newest,
    scope: pb::Scope,
    title: &'static str,
    id: &'static str,
) -> impl IntoView {
    // Marked once this table's rows from a new snapshot are painted (`marks.rs`).
    let painted = format!("hoist:table:{id}");
    let rows = Rows::follow(live, scope, {
        let painted = painted.clone();
        move || marks::mark_after_paint(painted.clone())
    });
    marks::mark_after_paint(painted);
    let viewport = Viewport::measured();
    let range = viewport.window(rows);
    let in_view = move || {
        let (start, end) = range.get();
        rows.keys
            .with(|k| k.get(start..end).map(<[Key]>::to_vec).unwrap_or_default())
    };
    let count = move || rows.keys.with(Vec::len);
    let any = move || count() > 0;
    let namespaced = scope == pb::Scope::Namespaced;
    let columns = if namespaced { 7 } else { 6 };
    let spacer = move |rows: usize| format!("height: {}px", rows as f64 * ROW_PX);
    let above = move || spacer(range.get().0);
    let below = move || spacer(count().saturating_sub(range.get().1));
    let empty_id = format!("{id}-empty");
    view! {
        <section class="packages">
            <h2>{title}" "<span class="count">{count}</span></h2>
            <Show when=any fallback=move || view! { <p class="empty" id=empty_id.clone()>"No packages installed."</p> }>
                <div class="rows" id=format!("{id}-scroll") tabindex="0" aria-label=title node_ref=viewport.node
                    on:scroll=move |ev| viewport.measure(&event_target::<web_sys::Element>(&ev))>
                    <table id=id aria-rowcount=move || count() + 1>
                        <colgroup>
                            {namespaced.then(|| view! { <col class="col-namespace" /> })}
                            <col class="col-name" /><col class="col-package" /><col class="col-version" /><col class="col-installed" /><col class="col-repository" /><col />
                        </colgroup>
                        <thead>
                            <tr aria-rowindex="1">
                                {namespaced.then(|| view! { <th>"Namespace"</th> })}
                                <th>"Name"</th><th>"Package"</th><th>"Version"</th><th>"Installed"</th><th>"Repository"</th><th>"Status"</th>
                            </tr>
                            <tr class="spacer" aria-hidden="true"><td colspan=columns style=above></td></tr>
                        </thead>
                        <tbody>
                            <For each=in_view key=Key::clone let:key>
                                <PackageRow live=live rows=rows key=key namespaced=namespaced newest=newest />
                            </For>
                        </tbody>
                        <tfoot>
                            <tr class="spacer" aria-hidden="true"><td colspan=columns style=below></td></tr>
                        </tfoot>
                    </table>
                </div>
            </Show>
        </section>
    }
}

/// One package's row: its key never changes; its cells read the package from the
/// model each time the row's trigger fires, that is when this package changed.
#[component]
fn PackageRow(live: Live, rows: Rows, key: Key, namespaced: bool, newest: Newest) -> impl IntoView {
    let changed = rows.show(&key);
    on_cleanup({
        let key = key.clone();
        move || rows.hide(&key)
    });
    let p = Memo::new({
        let key = key.clone();
        move |_| {
            changed.track();
            live.model
                .with_untracked(|m| m.package(&key).cloned())
                .unwrap_or_default()
        }
    });
    let (_, namespace, name) = key.clone();
    let (data_name, data_namespace) = (name.clone(), namespace.clone());
    let link = pb::PackageKey {
        scope: key.0,
        namespace: namespace.clone(),
        name: name.clone(),
    };
    // Where the row is in the whole table, for assistive technology (the header is 1).
    let index = move || {
        rows.keys
            .with(|k| k.binary_search(&key).map_or(0, |i| i + 2))
    };
    let tooltip = move || {
        p.with(|p| {
            if p.message.is_empty() {
                p.reason.clone()
            } else {
                format!("{}: {}", p.reason, p.message)
            }
        })
    };
    let update = move || {
        p.with(|p| newest.update_for(p)).map(|v| {
            let title = format!("{v} is available: Upgrade on its page");
            view! { <span class="update-available" title=title>" → "{v}</span> }
        })
    };
    let or = |text: &str, none: &str| {
        if text.is_empty() {
            none.to_string()
        } else {
            text.to_string()
        }
    };
    view! {
        <tr data-name=data_name data-namespace=data_namespace aria-rowindex=index>
            {namespaced.then(|| view! { <td>{namespace}</td> })}
            <td class="name"><a href=crate::route::Route::install(&link)>{name}</a></td>
            <td><a href=move || p.with(|p| crate::route::Route::package(&p.package_name, &p.version))>{move || p.with(|p| p.package_name.clone())}</a></td>
            <td>{move || p.with(|p| p.version.clone())}{update}</td>
            <td>{move || p.with(|p| or(&p.installed_version, "—"))}</td>
            <td>{move || p.with(|p| or(&p.repository, "default"))}</td>
            <td>
                <span class=move || p.with(|p| format!("state {}", p.state.to_ascii_lowercase())) title=tooltip>{move || p.with(|p| p.state.clone())}</span>
                {move || p.with(|p| p.suspended).then(|| view! { <span class="suspended">" suspended"</span> })}
            </td>
        </tr>
    }
}

/// Installs that need a person: failed, stalled or given up on (dead-lettered), each
/// with a link to its page and Retry. Live from the stream; hidden when there are none.
/// Also Upgrade all: every install to the newest version its dependents accept.
#[component]
pub fn NeedsAttention(live: Live) -> impl IntoView {
    // One pass over the packages per change (comparing a word each: no copies but of the
    // troubled ones), shared by everything below.
    let troubled = Memo::new(move |_| {
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
    });
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
        <Show when=move || troubled.with(|t| !t.is_empty())>
            <section class="attention" id="needs-attention">
                <h2>"Needs attention "<span class="count">{move || troubled.with(Vec::len)}</span></h2>
                <ul>
                    <For each=move || troubled.get() key=|p| (p.key.clone().unwrap_or_default().namespace, p.key.clone().unwrap_or_default().name, p.resource_version.clone()) let:p>
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
