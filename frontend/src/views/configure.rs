//! The install page's Configure: one value at a time, chosen among the installed
//! version's definitions (GetPackageDetails for the install's package, repository and
//! version: from the repository cache), shown with its description, type, default and
//! current setting; set with the install form's own input (`value_input.rs`: typed as
//! defined, or read from a ConfigMap, a Secret or a package, with the pickers), or reset
//! to the package's default; a Preview of what it changes in the cluster before Save.
//! The server checks the value against the definitions (and the whole set again) and
//! answers with the reason when it refuses; nothing is written then. When the
//! definitions cannot be read (the repository is down), the key is typed as before.

use super::plan::{self, Previewed};
use super::value_input::{Sources, ValueChoice, ValueInput};
use hoist_proto::v1 as pb;
use leptos::prelude::*;
use std::sync::Arc;

/// The definitions of one version: asked once per (package, repository, version).
#[derive(Debug, Clone, PartialEq)]
enum Definitions {
    Asking,
    Ready(Arc<Vec<pb::ValueDefinition>>),
    Failed(String),
}

/// A version of a package: (package, repository, version).
type Version = (String, String, String);

/// The install's package and its values now, as GetInstall says.
#[derive(Debug, Clone, Default, PartialEq)]
struct Facts {
    package: pb::Package,
    values: Vec<pb::Setting>,
}

/// What the user did, kept across the page's reloads (each change of the install
/// reloads it, a Save included), with what was asked for it.
#[derive(Clone, Copy)]
pub struct ConfigureUi {
    key: RwSignal<String>,
    choice: ValueChoice,
    unset: RwSignal<bool>,
    previewed: RwSignal<Previewed>,
    answer: RwSignal<String>,
    refused: RwSignal<bool>,
    pending: RwSignal<bool>,
    sources: Sources,
    /// The definitions and the (package, repository, version) they are of.
    definitions: RwSignal<Option<(Version, Definitions)>>,
}

impl ConfigureUi {
    pub fn new() -> Self {
        Self {
            key: RwSignal::new(String::new()),
            choice: ValueChoice::new(),
            unset: RwSignal::new(false),
            previewed: RwSignal::new(Previewed::None),
            answer: RwSignal::new(String::new()),
            refused: RwSignal::new(false),
            pending: RwSignal::new(false),
            sources: Sources::new(),
            definitions: RwSignal::new(None),
        }
    }

    /// The request the form says, as it is now.
    fn request(&self, key: &pb::PackageKey) -> pb::ConfigureRequest {
        let name = self.key.get_untracked().trim().to_string();
        let mut req = pb::ConfigureRequest {
            key: Some(key.clone()),
            ..Default::default()
        };
        if self.unset.get_untracked() {
            req.unset.push(name);
        } else if let Some(r) = self.choice.reference(&name) {
            req.references.push(r);
        } else {
            req.values.extend(self.choice.literal(&name));
        }
        req
    }

    /// Asks for the definitions of `package`'s version unless they are held (or asked).
    fn definitions_of(&self, package: &pb::Package) {
        let version = if package.installed_version.is_empty() {
            package.version.clone()
        } else {
            package.installed_version.clone()
        };
        let of: Version = (
            package.package_name.clone(),
            package.repository.clone(),
            version,
        );
        let held = self.definitions.with_untracked(|d| {
            d.as_ref()
                .is_some_and(|(at, d)| *at == of && !matches!(d, Definitions::Failed(_)))
        });
        if held {
            return;
        }
        let definitions = self.definitions;
        definitions.set(Some((of.clone(), Definitions::Asking)));
        let request = pb::PackageDetailsRequest {
            name: of.0.clone(),
            repository: of.1.clone(),
            version: of.2.clone(),
        };
        leptos::task::spawn_local(async move {
            let got = match crate::rpc::get_package_details(request).await {
                Ok(d) => Definitions::Ready(Arc::new(d.values)),
                Err(s) => Definitions::Failed(s.message().to_string()),
            };
            let _ = definitions.try_set(Some((of, got)));
        });
    }
}

/// `keys`: the values set on the install now. `package` and `values`: the install's
/// package and its values as GetInstall gave them; when the page does not pass them,
/// Configure asks GetInstall itself.
#[component]
pub fn Configure(
    key: StoredValue<pb::PackageKey>,
    keys: Vec<String>,
    ui: ConfigureUi,
    #[prop(optional_no_strip)] package: Option<pb::Package>,
    #[prop(optional)] values: Option<Vec<pb::Setting>>,
) -> impl IntoView {
    let ConfigureUi {
        key: name,
        choice,
        unset,
        previewed,
        answer,
        refused,
        pending,
        sources,
        definitions,
    } = ui;
    let facts = RwSignal::new(None::<Facts>);
    match package {
        Some(package) => {
            ui.definitions_of(&package);
            facts.set(Some(Facts {
                package,
                values: values.unwrap_or_default(),
            }));
        }
        None => {
            let k = key.get_value();
            leptos::task::spawn_local(async move {
                if let Ok(d) = crate::rpc::get_install(k).await {
                    let package = d.package.unwrap_or_default();
                    ui.definitions_of(&package);
                    let _ = facts.try_set(Some(Facts {
                        package,
                        values: d.values,
                    }));
                }
            });
        }
    }
    let changed = move || previewed.set(Previewed::None);
    let on_change = Callback::new(move |()| changed());
    let preview = move |_| {
        previewed.set(Previewed::Asking);
        let request = pb::PreviewRequest {
            configure: Some(ui.request(&key.get_value())),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            previewed.set(match crate::rpc::preview(request).await {
                Ok(plan) => Previewed::Plan(plan),
                Err(s) => Previewed::Refused(format!("Would not configure: {}", s.message())),
            });
        });
    };
    let save = move |_| {
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        let request = ui.request(&key.get_value());
        leptos::task::spawn_local(async move {
            let r = crate::rpc::configure(request).await;
            refused.set(r.is_err());
            answer.set(match r {
                Ok(a) => a.message,
                Err(s) => format!("Not configured: {}", s.message()),
            });
            previewed.set(Previewed::None);
            pending.set(false);
        });
    };
    let defined = move || match definitions.get() {
        Some((_, Definitions::Ready(defs))) => Some(defs),
        _ => None,
    };
    // The chosen value's definition (a text value when it is not defined or unknown).
    let definition = move || {
        let k = name.get().trim().to_string();
        defined()
            .and_then(|defs| defs.iter().find(|d| d.key == k).cloned())
            .unwrap_or_else(|| pb::ValueDefinition {
                key: k,
                r#type: "text".into(),
                ..Default::default()
            })
    };
    let pick = move |k: String| {
        name.set(k);
        choice.clear();
        changed();
    };
    let keys = StoredValue::new(keys);
    let key_field = move || {
        match defined() {
        Some(defs) => {
            let now = name.get_untracked();
            view! {
                <select id="configure-key" on:change=move |ev| pick(event_target_value(&ev))>
                    <option value="" selected=now.is_empty()>"choose a value"</option>
                    {defs.iter().map(|d| {
                        let label = if d.label.is_empty() { d.key.clone() } else { format!("{} ({})", d.label, d.key) };
                        view! { <option value=d.key.clone() selected=d.key == now>{label}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        None => view! {
            <input id="configure-key" list="configure-keys" value=name.get_untracked() on:input=move |ev| pick(event_target_value(&ev)) />
            <datalist id="configure-keys">{keys.get_value().into_iter().map(|k| view! { <option value=k></option> }).collect_view()}</datalist>
        }
        .into_any(),
    }
    };
    let namespace = {
        let ns = key.with_value(|k| k.namespace.clone());
        (!ns.is_empty()).then(|| Signal::stored(ns))
    };
    let input = move || {
        view! {
            <ValueInput choice=choice definition=definition() namespace=namespace sources=sources ids="configure-sources".to_string()
                source_id="configure-source" value_id="configure-value" disabled=unset on_change=on_change />
        }
    };
    let unknown = move || match definitions.get() {
        Some((_, Definitions::Failed(why))) => Some(format!(
            "The version's value definitions cannot be read ({why}): type the value's name."
        )),
        _ => None,
    };
    view! {
        <h3>"Configure"</h3>
        <div class="install" id="configure">
            <label>"Value "{key_field}</label>
            <span>" to "</span>
            {input}
            <label><input type="checkbox" id="configure-unset" checked=unset.get_untracked() on:change=move |ev| { unset.set(event_target_checked(&ev)); changed(); } />" back to the package's default"</label>
            <button class="button" id="preview-configure" on:click=preview>"Preview"</button>
            <button class="button primary" id="configure-button" on:click=save disabled=move || pending.get() || name.with(|n| n.trim().is_empty())>"Save"</button>
        </div>
        {move || unknown().map(|why| view! { <p class="muted" id="configure-unknown">{why}</p> })}
        {move || about(&definition(), facts.get().as_ref())}
        <p id="configure-result" class="install-result" class:refused=move || refused.get() class:ok=move || !refused.get() hidden=move || answer.with(String::is_empty)>{move || answer.get()}</p>
        {move || plan::show(previewed.get())}
    }
}

/// What the chosen value is: its description, type, default and setting now.
fn about(d: &pb::ValueDefinition, facts: Option<&Facts>) -> impl IntoView + use<> {
    if d.key.is_empty() {
        return ().into_any();
    }
    let kind = match (d.r#type.as_str(), d.options.is_empty()) {
        ("options", false) => format!("options: {}", d.options.join(", ")),
        (t, _) => t.to_string(),
    };
    let current = facts.map(|f| {
        f.values.iter().find(|v| v.key == d.key).map_or_else(
            || "not set (the default applies)".to_string(),
            |v| v.value.clone(),
        )
    });
    let about = match (d.label.is_empty(), d.description.is_empty()) {
        (_, true) => d.label.clone(),
        (true, false) => d.description.clone(),
        (false, false) => format!("{}: {}", d.label, d.description),
    };
    view! {
        <dl class="facts" id="configure-definition">
            {(!about.is_empty()).then(|| view! { <dt>"About"</dt><dd id="configure-description">{about}</dd> })}
            <dt>"Type"</dt><dd id="configure-type">{kind}{d.required.then_some(", required")}</dd>
            <dt>"Default"</dt><dd id="configure-default">{if d.default_value.is_empty() { "none".to_string() } else { d.default_value.clone() }}</dd>
            {current.map(|c| view! { <dt>"Now"</dt><dd id="configure-current">{c}</dd> })}
        </dl>
    }
    .into_any()
}
