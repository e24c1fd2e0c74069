//! One value's input, shared by the package page's install form (`details.rs`) and an
//! install's Configure (`configure.rs`): typed, or read by the operator from a ConfigMap
//! key, a Secret key or a cluster package's value, which it follows when it changes.
//!
//! Guarantees:
//! - A typed value's input follows its definition: options a select, a boolean a
//!   select of true and false, a number a number input, text a text input. Empty
//!   means the package's default (nothing is sent for it).
//! - ConfigMap and Secret names are offered from ListValueSources (decision 0036),
//!   asked once per namespace and kind on a page, when the source is chosen and the
//!   namespace is known, or when the name field is entered; a ConfigMap's keys are
//!   offered once its name is chosen. Secrets come by name only: the dashboard never
//!   reads a Secret's data, so their keys are typed.
//! - Typing stays possible everywhere (datalists suggest, never restrict): a refusal
//!   to list (RBAC) shows as a short note and the user types the name, as before; a
//!   name that does not exist yet is the operator's to wait for (decision 0019).

use hoist_proto::v1 as pb;
use leptos::prelude::*;
use std::collections::BTreeMap;

/// What one value's row says: a typed value, or where the operator reads it. Signals
/// only, so the parent reads it when it sends and a page keeps it across reloads.
#[derive(Clone, Copy)]
pub struct ValueChoice {
    /// "" (a typed value), "configMap", "secret" or "package".
    pub source: RwSignal<String>,
    pub value: RwSignal<String>,
    /// A reference's namespace (cluster packages only; a Package's own is implicit).
    pub namespace: RwSignal<String>,
    pub name: RwSignal<String>,
    pub item: RwSignal<String>,
}

impl ValueChoice {
    pub fn new() -> Self {
        Self {
            source: RwSignal::new(String::new()),
            value: RwSignal::new(String::new()),
            namespace: RwSignal::new(String::new()),
            name: RwSignal::new(String::new()),
            item: RwSignal::new(String::new()),
        }
    }

    /// Back to an empty typed value.
    pub fn clear(&self) {
        for field in [
            self.source,
            self.value,
            self.namespace,
            self.name,
            self.item,
        ] {
            field.set(String::new());
        }
    }

    /// The typed value for `key`, as the form has it now (`None` when it reads from
    /// elsewhere). Empty values included: the caller decides what empty means.
    pub fn literal(&self, key: &str) -> Option<pb::Setting> {
        self.source
            .with_untracked(String::is_empty)
            .then(|| pb::Setting {
                key: key.to_string(),
                value: self.value.get_untracked(),
            })
    }

    /// The reference for `key`, when it reads from elsewhere.
    pub fn reference(&self, key: &str) -> Option<pb::ValueRef> {
        let kind = self.source.get_untracked();
        if kind.is_empty() {
            return None;
        }
        let trimmed = |s: RwSignal<String>| s.get_untracked().trim().to_string();
        Some(pb::ValueRef {
            key: key.to_string(),
            namespace: if kind == "package" {
                String::new()
            } else {
                trimmed(self.namespace)
            },
            kind,
            name: trimmed(self.name),
            item: trimmed(self.item),
        })
    }
}

/// ListValueSources' answer for one namespace and kind.
#[derive(Clone, Debug, PartialEq)]
enum Listing {
    Asking,
    Listed(pb::ValueSources),
    /// Refused or failed; `again`: worth asking again (not a refusal that stands).
    Failed {
        message: String,
        again: bool,
    },
}

/// The listings a page asked for, by (namespace, kind): each asked once.
#[derive(Clone, Copy)]
pub struct Sources(RwSignal<BTreeMap<(String, String), Listing>>);

impl Sources {
    pub fn new() -> Self {
        Self(RwSignal::new(BTreeMap::new()))
    }

    /// Asks for `kind` in `ns` unless asked already (or failed for a passing reason).
    fn ask(self, ns: &str, kind: &str) {
        if !dns_label(ns) || !matches!(kind, "configMap" | "secret") {
            return;
        }
        let at = (ns.to_string(), kind.to_string());
        let asked = self.0.with_untracked(|all| match all.get(&at) {
            None => false,
            Some(Listing::Failed { again, .. }) => !again,
            Some(_) => true,
        });
        if asked {
            return;
        }
        self.0.update(|all| {
            all.insert(at.clone(), Listing::Asking);
        });
        let request = pb::ValueSourcesRequest {
            namespace: at.0.clone(),
            kind: at.1.clone(),
        };
        leptos::task::spawn_local(async move {
            // A refusal stands (3: INVALID_ARGUMENT); anything else may pass.
            use crate::grpc_web::Code;
            let listing = match crate::rpc::list_value_sources(request).await {
                Ok(v) => Listing::Listed(v),
                Err(s) => Listing::Failed {
                    again: !matches!(s.code(), Code::PermissionDenied | Code::Other(3)),
                    message: s.message().to_string(),
                },
            };
            // The page may be gone meanwhile.
            let _ = self.0.try_update(|all| {
                all.insert(at, listing);
            });
        });
    }

    fn get(self, ns: &str, kind: &str) -> Option<Listing> {
        self.0
            .with(|all| all.get(&(ns.to_string(), kind.to_string())).cloned())
    }
}

/// Whether `s` is a DNS-1123 label (what a namespace is): the server checks the same.
fn dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// The input for one value (see the module doc).
#[component]
pub fn ValueInput(
    choice: ValueChoice,
    /// The value's definition: its type, options and default.
    definition: pb::ValueDefinition,
    /// The namespace references read from when it is implicit (a Package's own);
    /// `None` for a cluster package, whose references name it in a field of their own.
    namespace: Option<Signal<String>>,
    sources: Sources,
    /// Prefix of this input's datalist ids, unique on the page.
    ids: String,
    /// The id of the source select and of the typed value's input.
    #[prop(optional)]
    source_id: Option<&'static str>,
    #[prop(optional)] value_id: Option<&'static str>,
    /// The id of a datalist of cluster packages, for "from package".
    #[prop(optional)]
    packages_list: Option<&'static str>,
    #[prop(optional, into)] disabled: Signal<bool>,
    /// Called on every change the user makes.
    #[prop(optional)]
    on_change: Option<Callback<()>>,
) -> impl IntoView {
    let changed = move || {
        if let Some(c) = on_change {
            c.run(());
        }
    };
    // Where the pickers look: the implicit namespace, or the reference's own field.
    let picker_ns = move || match namespace {
        Some(ns) => ns.get().trim().to_string(),
        None => choice.namespace.get().trim().to_string(),
    };
    let ask = move || {
        let kind = choice.source.get_untracked();
        sources.ask(&untrack(picker_ns), &kind);
    };
    let names_id = format!("{ids}-names");
    let keys_id = format!("{ids}-keys");
    let definition = StoredValue::new(definition);
    let set_source = move |ev| {
        let kind = event_target_value(&ev);
        choice.clear();
        choice.source.set(kind);
        ask();
        changed();
    };
    let source = choice.source.get_untracked();
    let text_field = move |signal: RwSignal<String>, class: &'static str, hint: &'static str| {
        view! { <input class=class placeholder=hint value=signal.get_untracked() disabled=move || disabled.get() on:input=move |ev| { signal.set(event_target_value(&ev)); changed(); } /> }
    };
    view! {
        <select class="value-source" id=source_id disabled=move || disabled.get() on:change=set_source>
            <option value="" selected=source.is_empty()>"value"</option>
            <option value="configMap" selected=source == "configMap">"from ConfigMap"</option>
            <option value="secret" selected=source == "secret">"from Secret"</option>
            <option value="package" selected=source == "package">"from package"</option>
        </select>
        {move || match choice.source.get().as_str() {
            "" => literal(choice, &definition.get_value(), value_id, disabled, changed),
            "package" => view! {
                <input class="ref-name" list=packages_list placeholder="cluster package" value=choice.name.get_untracked() disabled=move || disabled.get() on:input=move |ev| { choice.name.set(event_target_value(&ev)); changed(); } />
                {text_field(choice.item, "ref-item", "its value")}
            }.into_any(),
            kind => {
                let plural = if kind == "secret" { "Secrets" } else { "ConfigMaps" };
                let config_map = kind == "configMap";
                let kind = StoredValue::new(kind.to_string());
                let listing = move || sources.get(&picker_ns(), &kind.get_value());
                let names = move || match listing() {
                    Some(Listing::Listed(v)) => v.sources.into_iter().map(|s| view! { <option value=s.name></option> }).collect_view().into_any(),
                    _ => ().into_any(),
                };
                let keys = move || {
                    let chosen = choice.name.get();
                    match listing() {
                        Some(Listing::Listed(v)) => v.sources.into_iter()
                            .find(|s| s.name == chosen.trim())
                            .map(|s| s.keys.into_iter().map(|k| view! { <option value=k></option> }).collect_view()),
                        _ => None,
                    }
                };
                let note = move || {
                    let ns = picker_ns();
                    match listing() {
                        Some(Listing::Failed { message, .. }) => Some(format!("cannot list {plural} in {ns}: {message}; type the name")),
                        Some(Listing::Listed(v)) if v.truncated => Some(format!("the first {} {plural} of {ns} are offered; type any other", v.sources.len())),
                        Some(Listing::Listed(v)) if v.sources.is_empty() => Some(format!("no {plural} in {ns} yet; type the name")),
                        _ => None,
                    }
                };
                view! {
                    {namespace.is_none().then(|| text_field(choice.namespace, "ref-namespace", "namespace"))}
                    <input class="ref-name" list=names_id.clone() placeholder="name" value=choice.name.get_untracked() disabled=move || disabled.get() on:focus=move |_| ask() on:input=move |ev| { choice.name.set(event_target_value(&ev)); changed(); } />
                    <datalist id=names_id.clone()>{names}</datalist>
                    {if config_map {
                        view! {
                            <input class="ref-item" list=keys_id.clone() placeholder="key" value=choice.item.get_untracked() disabled=move || disabled.get() on:input=move |ev| { choice.item.set(event_target_value(&ev)); changed(); } />
                            <datalist id=keys_id.clone()>{keys}</datalist>
                        }.into_any()
                    } else {
                        text_field(choice.item, "ref-item", "key (typed)").into_any()
                    }}
                    <span class="muted source-note" hidden=move || note().is_none()>{note}</span>
                }.into_any()
            }
        }}
    }
}

/// A typed value's input, as its definition's type says.
fn literal(
    choice: ValueChoice,
    d: &pb::ValueDefinition,
    id: Option<&'static str>,
    disabled: Signal<bool>,
    changed: impl Fn() + Copy + Send + Sync + 'static,
) -> AnyView {
    let now = choice.value.get_untracked();
    let set = move |ev| {
        choice.value.set(event_target_value(&ev));
        changed();
    };
    let default = if d.default_value.is_empty() {
        "default".to_string()
    } else {
        format!("default ({})", d.default_value)
    };
    let choices: Vec<String> = match d.r#type.as_str() {
        "options" if !d.options.is_empty() => d.options.clone(),
        "boolean" => vec!["true".into(), "false".into()],
        _ => Vec::new(),
    };
    if !choices.is_empty() {
        return view! {
            <select class="value" id=id name=d.key.clone() disabled=move || disabled.get() on:change=set>
                <option value="" selected=now.is_empty()>{default}</option>
                {choices.into_iter().map(|o| {
                    let selected = o == now;
                    view! { <option value=o.clone() selected=selected>{o.clone()}</option> }
                }).collect_view()}
            </select>
        }
        .into_any();
    }
    let kind = if d.r#type == "number" {
        "number"
    } else {
        "text"
    };
    view! { <input class="value" type=kind id=id name=d.key.clone() placeholder=d.default_value.clone() value=now disabled=move || disabled.get() on:input=set /> }
        .into_any()
}
