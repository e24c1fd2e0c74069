//! One install's page: its state and why, each object the operator applied with its
//! health, recent Events, values, and the actions: Configure (`configure.rs`, with a
//! Preview first), Upgrade (a version picker, with a Preview first), Suspend/Resume, Retry, auto-update, Uninstall (it says who still
//! needs the install, and asks for the name before it deletes).
//!
//! Read with GetInstall when the page opens and again whenever the install changes on
//! the stream (its resourceVersion moves), so it stays live; actions go through Act and
//! their answer (or the server's reason for refusing) shows beside the buttons.

use super::plan::{self, Previewed};
use crate::connection::Live;
use crate::route::Route;
use hoist_proto::v1 as pb;
use leptos::prelude::*;
use pb::act_request::Action;

#[component]
pub fn InstallPage(live: Live, namespace: String, name: String) -> impl IntoView {
    let key = pb::PackageKey {
        scope: if namespace.is_empty() {
            pb::Scope::Cluster as i32
        } else {
            pb::Scope::Namespaced as i32
        },
        namespace: namespace.clone(),
        name: name.clone(),
    };
    let details = RwSignal::new(None::<Result<pb::InstallDetails, String>>);
    let key_value = StoredValue::new(key.clone());
    // The install's resourceVersion on the stream: each change reloads the page.
    let k2 = key.clone();
    let version = Memo::new(move |_| {
        live.model.with(|m| {
            m.packages.as_ref().map(|all| {
                all.get(&(k2.scope, k2.namespace.clone(), k2.name.clone()))
                    .map(|p| p.resource_version.clone())
            })
        })
    });
    let k3 = key.clone();
    // Latest wins: two changes close together send two reads, and the first may answer
    // last; only the newest read's answer is shown, so the page never goes back to a
    // state the install has left (it once stayed "Pending" after the stream said Ready).
    let serial = StoredValue::new(0u64);
    Effect::new(move |_| {
        if version.get().is_none() {
            return;
        }
        let key = k3.clone();
        serial.update_value(|n| *n += 1);
        let mine = serial.get_value();
        leptos::task::spawn_local(async move {
            let r = crate::rpc::get_install(key).await;
            if serial.get_value() != mine {
                return; // a newer read is in flight
            }
            details.set(Some(r.map_err(|s| s.message().to_string())));
        });
    });
    let ui = Ui {
        answer: RwSignal::new(String::new()),
        refused: RwSignal::new(false),
        pending: RwSignal::new(false),
        pick: RwSignal::new(String::new()),
        previewed: RwSignal::new(Previewed::None),
        confirm: RwSignal::new(String::new()),
        force: RwSignal::new(false),
        configure: super::configure::ConfigureUi::new(),
        yaml: RwSignal::new(false),
    };
    let title = if namespace.is_empty() {
        format!("ClusterPackage {name}")
    } else {
        format!("Package {namespace}/{name}")
    };
    view! {
        <section class="details" id="install-page" data-name=name.clone() data-namespace=namespace.clone()>
            <p class="crumbs"><a href=Route::Installed.href()>"Installed"</a>" / "{title.clone()}</p>
            {move || match details.get() {
                None => view! { <super::Spinner text="Loading the install…" /> }.into_any(),
                Some(Err(why)) => view! { <div class="banner" id="install-error"><span>{why}</span></div> }.into_any(),
                Some(Ok(d)) => view! { <Install d=d key=key_value title=title.clone() ui=ui /> }.into_any(),
            }}
        </section>
    }
}

/// What the user did on the page: kept across the reloads each change of the install
/// causes (an action's answer, a picked version, a preview, a half-typed confirmation).
#[derive(Clone, Copy)]
struct Ui {
    answer: RwSignal<String>,
    refused: RwSignal<bool>,
    pending: RwSignal<bool>,
    pick: RwSignal<String>,
    previewed: RwSignal<Previewed>,
    confirm: RwSignal<String>,
    force: RwSignal<bool>,
    configure: super::configure::ConfigureUi,
    /// "Show YAML" is open.
    yaml: RwSignal<bool>,
}

#[component]
fn Install(
    d: pb::InstallDetails,
    key: StoredValue<pb::PackageKey>,
    title: String,
    ui: Ui,
) -> impl IntoView {
    let p = d.package.clone().unwrap_or_default();
    let state_class = format!("state {}", p.state.to_ascii_lowercase());
    let Ui {
        answer,
        refused,
        pending,
        pick,
        previewed,
        confirm,
        force,
        configure,
        yaml,
    } = ui;
    let act = move |action: Action, version: String, force: bool| {
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        let request = pb::ActRequest {
            key: Some(key.get_value()),
            action: action as i32,
            version,
            force,
        };
        leptos::task::spawn_local(async move {
            let r = crate::rpc::act(request).await;
            refused.set(r.is_err());
            answer.set(match r {
                Ok(a) => a.message,
                Err(s) => s.message().to_string(),
            });
            pending.set(false);
        });
    };
    let versions = d.versions.clone();
    if pick.with_untracked(String::is_empty) {
        pick.set(versions.first().cloned().unwrap_or_default());
    }
    let preview = move |_| {
        previewed.set(Previewed::Asking);
        let request = pb::PreviewRequest {
            upgrade: Some(key.get_value()),
            version: pick.get_untracked(),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            previewed.set(match crate::rpc::preview(request).await {
                Ok(plan) => Previewed::Plan(plan),
                Err(s) => Previewed::Refused(s.message().to_string()),
            });
        });
    };
    let name_to_type = p.key.as_ref().map(|k| k.name.clone()).unwrap_or_default();
    let typed_ok = {
        let n = name_to_type.clone();
        move || confirm.get() == n
    };
    let needed = d.needed_by.clone();
    let needed_note =
        (!needed.is_empty()).then(|| format!("Still needed by {}.", needed.join(", ")));
    let suspended = p.suspended;
    let auto = d.auto_update;
    // Versions are newest first: a newer one is listed before the install's own.
    let update = d
        .versions
        .iter()
        .position(|v| *v == p.version)
        .filter(|at| *at > 0)
        .and_then(|_| d.versions.first().cloned());
    view! {
        <div class="detail-head">
            <h2 id="install-name">{title}</h2>
            <span class=state_class id="install-state">{p.state.clone()}</span>
            {suspended.then(|| view! { <span class="suspended">" suspended"</span> })}
            {d.dead_lettered.then(|| view! { <span class="state failed" id="dead-lettered">" gave up: retry when fixed"</span> })}
            {d.deleting.then(|| view! { <span class="muted">" uninstalling…"</span> })}
        </div>
        <dl class="facts">
            <dt>"Package"</dt><dd><a href=Route::package(&p.package_name, &p.version)>{p.package_name.clone()}</a>" "{p.version.clone()}{update.map(|v| view! { <span class="update-available" id="update-available">" → "{v}" is available"</span> })}</dd>
            <dt>"Installed"</dt><dd id="install-version">{if p.installed_version.is_empty() { "—".to_string() } else { p.installed_version.clone() }}</dd>
            <dt>"Repository"</dt><dd>{if p.repository.is_empty() { "default".to_string() } else { p.repository.clone() }}</dd>
            {(!d.owned_packages.is_empty()).then(|| view! { <dt>"Installed for it"</dt><dd id="owned-packages">{d.owned_packages.join(", ")}</dd> })}
            {(!needed.is_empty()).then(|| view! { <dt>"Needed by"</dt><dd id="needed-by">{needed.join(", ")}</dd> })}
        </dl>
        {(!d.warnings.is_empty()).then(|| view! {
            <div id="install-warnings" class="stale">
                <p>"Not installed exactly as written:"</p>
                <ul>{d.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}</ul>
            </div>
        })}
        <div class="actions" id="actions">
            <button class="button" id="retry" on:click=move |_| act(Action::Retry, String::new(), false) disabled=move || pending.get()>"Retry"</button>
            {if suspended {
                view! { <button class="button" id="resume" on:click=move |_| act(Action::Resume, String::new(), false)>"Resume"</button> }.into_any()
            } else {
                view! { <button class="button" id="suspend" on:click=move |_| act(Action::Suspend, String::new(), false)>"Suspend"</button> }.into_any()
            }}
            {if auto {
                view! { <button class="button" id="auto-update" on:click=move |_| act(Action::AutoUpdateOff, String::new(), false)>"Auto-update: on"</button> }.into_any()
            } else {
                view! { <button class="button" id="auto-update" on:click=move |_| act(Action::AutoUpdateOn, String::new(), false)>"Auto-update: off"</button> }.into_any()
            }}
        </div>
        <div class="actions">
            <button class="button" id="show-yaml" on:click=move |_| yaml.update(|open| *open = !*open)>{move || if yaml.get() { "Hide YAML" } else { "Show YAML" }}</button>
            {
                let text = d.manifest_yaml.clone();
                move || yaml.get().then(|| {
                    let copied = text.clone();
                    view! { <button class="button" id="copy-yaml" on:click=move |_| copy(&copied)>"Copy"</button> }
                })
            }
        </div>
        {
            let text = d.manifest_yaml.clone();
            move || yaml.get().then(|| view! { <pre id="install-yaml" class="yaml">{text.clone()}</pre> })
        }
        <p id="act-result" class="install-result" class:refused=move || refused.get() class:ok=move || !refused.get() hidden=move || answer.with(String::is_empty)>{move || answer.get()}</p>
        <super::entrypoints::Entrypoints key=key entrypoints=d.entrypoints.clone() can_open=d.can_open />
        <h3>"Conditions"</h3>
        <table id="conditions">
            <thead><tr><th>"Type"</th><th>"Status"</th><th>"Reason"</th><th>"Message"</th></tr></thead>
            <tbody>{d.conditions.iter().map(|c| view! {
                <tr data-type=c.r#type.clone()><td>{c.r#type.clone()}</td><td>{c.status.clone()}</td><td>{c.reason.clone()}</td><td>{c.message.clone()}</td></tr>
            }).collect_view()}</tbody>
        </table>
        <h3>"Objects"</h3>
        {if d.objects.is_empty() {
            view! { <p class="empty">"Nothing applied yet."</p> }.into_any()
        } else {
            view! { <table id="objects">
                <thead><tr><th>"Kind"</th><th>"Name"</th><th>"Action"</th><th>"Health"</th><th>"Message"</th></tr></thead>
                <tbody>{d.objects.iter().map(|o| {
                    let health = format!("health {}", o.health.to_ascii_lowercase());
                    let name = if o.namespace.is_empty() { o.name.clone() } else { format!("{}/{}", o.namespace, o.name) };
                    view! { <tr data-kind=o.kind.clone()><td>{o.kind.clone()}</td><td class="name">{name}</td><td>{o.action.clone()}</td><td><span class=health>{o.health.clone()}</span></td><td>{o.message.clone()}</td></tr> }
                }).collect_view()}</tbody>
            </table> }.into_any()
        }}
        <h3>"Values"</h3>
        {if d.values.is_empty() {
            view! { <p class="empty">"Defaults only."</p> }.into_any()
        } else {
            view! { <dl class="facts" id="install-values">{d.values.iter().map(|v| view! { <dt>{v.key.clone()}</dt><dd>{v.value.clone()}</dd> }).collect_view()}</dl> }.into_any()
        }}
        <super::configure::Configure key=key keys=d.values.iter().map(|v| v.key.clone()).collect() ui=configure package=d.package.clone() values=d.values.clone() />
        <h3>"Recent events"</h3>
        {if d.events.is_empty() {
            view! { <p class="empty">"None."</p> }.into_any()
        } else {
            view! { <ul id="events">{d.events.iter().map(|e| {
                let class = format!("event {}", e.r#type.to_ascii_lowercase());
                view! { <li class=class>{e.reason.clone()}": "{e.note.clone()}{(e.count > 1).then(|| format!(" (×{})", e.count))}</li> }
            }).collect_view()}</ul> }.into_any()
        }}
        <h3>"Upgrade"</h3>
        <div class="install" id="upgrade">
            <select id="upgrade-version" on:change=move |ev| { pick.set(event_target_value(&ev)); previewed.set(Previewed::None); }>
                {versions.iter().map(|v| {
                    let current = *v == p.version;
                    let chosen = pick.with_untracked(|x| x == v);
                    view! { <option value=v.clone() selected=chosen>{v.clone()}{current.then_some(" (current)")}</option> }
                }).collect_view()}
            </select>
            <button class="button" id="preview-upgrade" on:click=preview>"Preview"</button>
            <button class="button primary" id="upgrade-button" on:click=move |_| act(Action::Upgrade, pick.get_untracked(), false) disabled=move || pending.get()>"Upgrade"</button>
        </div>
        {move || plan::show(previewed.get())}
        <h3>"Uninstall"</h3>
        <div class="install" id="uninstall">
            {needed_note.map(|n| view! { <p class="stale">{n}" Uninstalling it anyway breaks them."</p> })}
            <label>"Type "<code>{name_to_type.clone()}</code>" to confirm "<input id="uninstall-confirm" value=confirm.get_untracked() on:input=move |ev| confirm.set(event_target_value(&ev)) /></label>
            {(!needed.is_empty()).then(|| view! { <label><input type="checkbox" id="uninstall-force" on:change=move |ev| force.set(event_target_checked(&ev)) />" anyway"</label> })}
            <button class="button danger" id="uninstall-button" disabled=move || !typed_ok() || pending.get() on:click=move |_| act(Action::Uninstall, String::new(), force.get_untracked())>"Uninstall"</button>
        </div>
    }
}

/// Puts `text` on the clipboard (the browser may refuse without a user gesture or over
/// plain http beyond localhost: the YAML stays on the page to select by hand).
pub(super) fn copy(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}
