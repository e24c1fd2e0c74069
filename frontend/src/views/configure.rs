//! The install page's Configure: one value at a time, set or reset to the package's
//! default, with a Preview of what it changes in the cluster before Save. The server
//! checks the value against the installed version's definitions (and the whole set
//! again) and answers with the reason when it refuses; nothing is written then.

use super::plan::{self, Previewed};
use hoist_proto::v1 as pb;
use leptos::prelude::*;

/// What the user typed, kept across the page's reloads (each change of the install
/// reloads it, a Save included).
#[derive(Clone, Copy)]
pub struct ConfigureUi {
    key: RwSignal<String>,
    value: RwSignal<String>,
    unset: RwSignal<bool>,
    previewed: RwSignal<Previewed>,
    answer: RwSignal<String>,
    refused: RwSignal<bool>,
    pending: RwSignal<bool>,
}

impl ConfigureUi {
    pub fn new() -> Self {
        Self {
            key: RwSignal::new(String::new()),
            value: RwSignal::new(String::new()),
            unset: RwSignal::new(false),
            previewed: RwSignal::new(Previewed::None),
            answer: RwSignal::new(String::new()),
            refused: RwSignal::new(false),
            pending: RwSignal::new(false),
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
        } else {
            req.values.push(pb::Setting {
                key: name,
                value: self.value.get_untracked(),
            });
        }
        req
    }
}

/// `keys`: the values set on the install now (offered as the key's suggestions).
#[component]
pub fn Configure(
    key: StoredValue<pb::PackageKey>,
    keys: Vec<String>,
    ui: ConfigureUi,
) -> impl IntoView {
    let ConfigureUi {
        key: name,
        value,
        unset,
        previewed,
        answer,
        refused,
        pending,
    } = ui;
    let changed = move || previewed.set(Previewed::None);
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
    view! {
        <h3>"Configure"</h3>
        <div class="install" id="configure">
            <label>"Value "<input id="configure-key" list="configure-keys" value=name.get_untracked() on:input=move |ev| { name.set(event_target_value(&ev)); changed(); } /></label>
            <datalist id="configure-keys">{keys.into_iter().map(|k| view! { <option value=k></option> }).collect_view()}</datalist>
            <label>" to "<input id="configure-value" value=value.get_untracked() disabled=move || unset.get() on:input=move |ev| { value.set(event_target_value(&ev)); changed(); } /></label>
            <label><input type="checkbox" id="configure-unset" checked=unset.get_untracked() on:change=move |ev| { unset.set(event_target_checked(&ev)); changed(); } />" back to the package's default"</label>
            <button class="button" id="preview-configure" on:click=preview>"Preview"</button>
            <button class="button primary" id="configure-button" on:click=save disabled=move || pending.get() || name.with(|n| n.trim().is_empty())>"Save"</button>
        </div>
        <p id="configure-result" class="install-result" class:refused=move || refused.get() class:ok=move || !refused.get() hidden=move || answer.with(String::is_empty)>{move || answer.get()}</p>
        {move || plan::show(previewed.get())}
    }
}
