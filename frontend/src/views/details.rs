//! A package's page: description, versions (with a version picker), dependencies,
//! values, manifests, references, its repository, and who has it installed. Asked of
//! the backend (GetPackageDetails, served from its repository cache) when the page
//! opens, and again whenever the catalogue changes, so it stays live too.
//!
//! The page installs, too: a value per row of the values table (`value_input.rs`: typed
//! as defined, or from a ConfigMap, a Secret or a package, with pickers), a namespace
//! and a name, and Install (the `Install` call). Preview shows what the install would
//! do, Show YAML the object it would create (both from the `Preview` call). The server
//! checks everything and says why it refuses; what the user typed stays in the form. A
//! created package then shows up under "Installed" from the stream, like any change
//! made elsewhere.

use super::value_input::{Sources, ValueChoice, ValueInput};
use crate::connection::Live;
use crate::route::{self, Route};
use hoist_proto::v1 as pb;
use leptos::prelude::*;

#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    Loading,
    /// Shared, not boxed: the view reads it in place instead of cloning every field.
    Ready(std::sync::Arc<pb::PackageDetails>),
    Failed {
        not_found: bool,
        message: String,
    },
}

#[component]
pub fn PackagePage(live: Live, name: String, version: String, repository: String) -> impl IntoView {
    let state = RwSignal::new(Loaded::Loading);
    // Reload when the catalogue changes (a repository edited, revalidated, recovered).
    let catalogue = Memo::new(move |_| live.model.with(|m| m.catalogue.clone()));
    let serial = StoredValue::new(0u64);
    let request = pb::PackageDetailsRequest {
        name: name.clone(),
        repository: repository.clone(),
        version: version.clone(),
    };
    Effect::new(move |_| {
        if catalogue.with(Option::is_none) {
            return;
        }
        let request = request.clone();
        serial.update_value(|n| *n += 1);
        let mine = serial.get_value();
        leptos::task::spawn_local(async move {
            let result = crate::rpc::get_package_details(request).await;
            if serial.get_value() != mine {
                return; // a newer request is in flight
            }
            state.set(match result {
                Ok(r) => Loaded::Ready(std::sync::Arc::new(r)),
                Err(s) => Loaded::Failed {
                    not_found: s.code() == crate::grpc_web::Code::NotFound,
                    message: s.message().to_string(),
                },
            });
        });
    });
    view! {
        <section class="details" id="package-page" data-name=name.clone()>
            <p class="crumbs"><a href=Route::Catalogue.href()>"Catalogue"</a>" / "{name.clone()}</p>
            {move || match state.get() {
                Loaded::Loading => view! { <super::Spinner text="Loading the package…" /> }.into_any(),
                Loaded::Failed { not_found, message } => view! {
                    <div class="banner" id="package-error">
                        <span>{if not_found { "Not found: " } else { "Cannot read the repository: " }}{message}</span>
                    </div>
                }.into_any(),
                Loaded::Ready(d) => view! { <Details d=d live=live /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Details(d: std::sync::Arc<pb::PackageDetails>, live: Live) -> impl IntoView {
    // Who has it installed comes from the package stream, so it is live.
    let package = d.name.clone();
    let installed = move || {
        live.model.with(|m| {
            m.packages
                .as_ref()
                .map(|all| {
                    all.values()
                        .filter(|p| p.package_name == package)
                        .filter_map(|p| p.key.as_ref())
                        .map(|k| match k.namespace.as_str() {
                            "" => format!("{} ({})", k.name, "cluster"),
                            ns => format!("{ns}/{}", k.name),
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let name = d.name.clone();
    let repository_for_pick = d.repository.clone();
    let pick = move |ev| {
        route::go(&Route::Package {
            name: name.clone(),
            version: event_target_value(&ev),
            repository: repository_for_pick.clone(),
        })
    };
    let current = d.version.clone();
    let latest_note = (d.version == d.latest_version).then(|| {
        if d.differs_from_declared {
            format!(
                "newest (computed from the versions; the repository declares {})",
                d.declared_latest_version
            )
        } else {
            "newest".to_string()
        }
    });
    let older = (d.version != d.latest_version).then(|| format!("newer: {}", d.latest_version));
    let form = InstallValues::new();
    let sources = Sources::new();
    let namespaced = d.scope == "Namespaced";
    // The install form's namespace (a namespaced package's), which its references read
    // from: the pickers look there.
    let namespace = RwSignal::new(if namespaced {
        d.default_namespace.clone()
    } else {
        String::new()
    });
    let home = d.default_namespace.clone();
    let refs_namespace = namespaced.then(|| {
        Signal::derive(move || {
            let typed = namespace.get();
            if typed.trim().is_empty() {
                home.clone()
            } else {
                typed
            }
        })
    });
    view! {
        <div class="detail-head">
            <h2 id="package-name">{d.name.clone()}</h2>
            <select id="version" on:change=pick>
                {d.versions.iter().map(|v| {
                    let selected = *v == current;
                    view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
                }).collect_view()}
            </select>
            <span class="muted" id="version-note">{latest_note}{older}</span>
        </div>
        <p class="lead">{d.short_description.clone()}</p>
        {(!d.stale.is_empty()).then(|| view! { <p class="stale">"Shown from the cache: "{d.stale.clone()}</p> })}
        {(!d.conformance.is_empty()).then(|| view! {
            <div id="conformance" class="stale">
                <p>"This version is not installed exactly as written:"</p>
                <ul>{d.conformance.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}</ul>
            </div>
        })}
        <dl class="facts">
            <dt>"Repository"</dt><dd id="package-repository">{d.repository.clone()}" "<span class="muted">{d.repository_url.clone()}</span></dd>
            {(!d.also_in.is_empty()).then(|| view! { <dt>"Also in"</dt><dd>{d.also_in.join(", ")}</dd> })}
            <dt>"Scope"</dt><dd>{d.scope.clone()}</dd>
            {(!d.default_namespace.is_empty()).then(|| view! { <dt>"Namespace"</dt><dd>{d.default_namespace.clone()}" (default)"</dd> })}
            <dt>"Installed"</dt><dd id="package-installed">{move || {
                let all = installed();
                if all.is_empty() { "not installed".to_string() } else { all.join(", ") }
            }}</dd>
        </dl>
        {(!d.long_description.is_empty()).then(|| view! { <p class="long">{d.long_description.clone()}</p> })}
        <h3>"Dependencies"</h3>
        {if d.dependencies.is_empty() {
            view! { <p class="empty">"None."</p> }.into_any()
        } else {
            view! { <ul id="dependencies">{d.dependencies.iter().map(|x| view! {
                <li><a href=Route::package(&x.name, "")>{x.name.clone()}</a>" "<span class="muted">{if x.range.is_empty() { "any version".to_string() } else { x.range.clone() }}</span></li>
            }).collect_view()}</ul> }.into_any()
        }}
        <h3>"Values"</h3>
        {if d.values.is_empty() {
            view! { <p class="empty">"No configurable values."</p> }.into_any()
        } else {
            view! { <table id="values">
                <thead><tr><th>"Key"</th><th>"Type"</th><th>"Default"</th><th>"Description"</th><th>"Install with"</th></tr></thead>
                <tbody>{d.values.iter().enumerate().map(|(row, v)| {
                    let choice = ValueChoice::new();
                    form.add(&v.key, choice);
                    view! {
                    <tr data-key=v.key.clone()>
                        <td class="name">{v.key.clone()}{v.required.then(|| view! { <span class="muted">" required"</span> })}</td>
                        <td>{v.r#type.clone()}{(!v.options.is_empty()).then(|| format!(" ({})", v.options.join(", ")))}</td>
                        <td>{v.default_value.clone()}</td>
                        <td>{if v.label.is_empty() { v.description.clone() } else if v.description.is_empty() { v.label.clone() } else { format!("{}: {}", v.label, v.description) }}</td>
                        <td><ValueInput choice=choice definition=v.clone() namespace=refs_namespace sources=sources ids=format!("sources-{row}") packages_list="cluster-package-names" /></td>
                    </tr>
                }}).collect_view()}</tbody>
            </table>
            <datalist id="cluster-package-names">{move || live.model.with(|m| m.of_scope(pb::Scope::Cluster)).into_iter().filter_map(|p| p.key).map(|k| view! { <option value=k.name></option> }).collect_view()}</datalist>
            }.into_any()
        }}
        <InstallForm package=d.name.clone() version=d.version.clone() repository=d.repository.clone() namespace=namespaced.then_some(namespace) form=form />
        <h3>"Manifests"</h3>
        <ul id="manifests">
            {d.manifests.iter().map(|m| view! { <li><a href=m.clone() rel="noopener" target="_blank">{m.clone()}</a></li> }).collect_view()}
            {(!d.helm_chart.is_empty()).then(|| view! { <li>"Helm: "{d.helm_chart.clone()}</li> })}
        </ul>
        {(!d.references.is_empty()).then(|| view! {
            <h3>"References"</h3>
            <ul>{d.references.iter().map(|r| view! { <li><a href=r.url.clone() rel="noopener" target="_blank">{r.label.clone()}</a></li> }).collect_view()}</ul>
        })}
        {(d.hidden_links > 0).then(|| view! {
            <p id="hidden-links" class="muted">{d.hidden_links}" link(s) from the repository hidden: not http or https."</p>
        })}
    }
}

/// Each row's value as the user left it, in the table's order. Empty typed values are
/// not sent (the package's default applies); a row reading from elsewhere sends its
/// reference instead.
#[derive(Clone, Copy)]
struct InstallValues(StoredValue<Vec<(String, ValueChoice)>>);

impl InstallValues {
    fn new() -> Self {
        Self(StoredValue::new(Vec::new()))
    }

    fn add(&self, key: &str, choice: ValueChoice) {
        self.0
            .update_value(|all| all.push((key.to_string(), choice)));
    }

    fn references(&self) -> Vec<pb::ValueRef> {
        self.0
            .with_value(|all| all.iter().filter_map(|(k, c)| c.reference(k)).collect())
    }

    fn settings(&self) -> Vec<pb::Setting> {
        self.0.with_value(|all| {
            all.iter()
                .filter_map(|(k, c)| c.literal(k))
                .filter(|s| !s.value.is_empty())
                .collect()
        })
    }
}

/// Namespace (namespaced packages), name, and Install; Preview and Show YAML ask the
/// server what the install would do and create, without writing. The answer, success
/// or the server's reason for refusing, shows under the button; the form keeps what was
/// typed.
#[component]
fn InstallForm(
    package: String,
    version: String,
    repository: String,
    /// A namespaced package's namespace field (prefilled with its default); `None` for
    /// a cluster-scoped one.
    namespace: Option<RwSignal<String>>,
    form: InstallValues,
) -> impl IntoView {
    let label = format!("{package} {version}");
    let placeholder = package.clone();
    let name = RwSignal::new(String::new());
    let auto_update = RwSignal::new(false);
    // Signal types the app already has, which keeps this form small in the wasm.
    let pending = RwSignal::new(false);
    let answer = RwSignal::new(String::new());
    let refused = RwSignal::new(false);
    let previewed = RwSignal::new(super::plan::Previewed::None);
    let yaml = RwSignal::new(Yaml::Closed);
    let request = StoredValue::new(pb::InstallRequest {
        package,
        repository,
        version,
        ..Default::default()
    });
    // The request the form says, as it is now.
    let request_now = move || pb::InstallRequest {
        namespace: namespace
            .map(|ns| ns.get_untracked().trim().to_string())
            .unwrap_or_default(),
        name: name.get_untracked().trim().to_string(),
        values: form.settings(),
        references: form.references(),
        auto_update: auto_update.get_untracked(),
        ..request.get_value()
    };
    let ask_preview = move || pb::PreviewRequest {
        install: Some(request_now()),
        ..Default::default()
    };
    let preview = move |_| {
        let request = ask_preview();
        previewed.set(super::plan::Previewed::Asking);
        leptos::task::spawn_local(async move {
            previewed.set(match crate::rpc::preview(request).await {
                Ok(plan) => {
                    // An open YAML follows the form too.
                    if yaml.with_untracked(|y| *y != Yaml::Closed) {
                        yaml.set(Yaml::Shown(plan.object_yaml.clone()));
                    }
                    super::plan::Previewed::Plan(plan)
                }
                Err(s) => {
                    super::plan::Previewed::Refused(format!("Would not install: {}", s.message()))
                }
            });
        });
    };
    let show_yaml = move |_| {
        if yaml.with_untracked(|y| *y != Yaml::Closed) {
            yaml.set(Yaml::Closed);
            return;
        }
        let request = ask_preview();
        yaml.set(Yaml::Asking);
        leptos::task::spawn_local(async move {
            let shown = match crate::rpc::preview(request).await {
                Ok(plan) => Yaml::Shown(plan.object_yaml),
                Err(s) => Yaml::Refused(format!("Would not install: {}", s.message())),
            };
            // Closed meanwhile: stays closed.
            if yaml.with_untracked(|y| *y == Yaml::Asking) {
                yaml.set(shown);
            }
        });
    };
    let submit = move |_| {
        if pending.get_untracked() {
            return;
        }
        let request = request_now();
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result = crate::rpc::install(request).await;
            refused.set(result.is_err());
            answer.set(match result {
                Ok(r) => r.message,
                Err(s) => format!("Not installed: {}", s.message()),
            });
            pending.set(false);
        });
    };
    view! {
        <h3>"Install"</h3>
        <div id="install" class="install">
            {namespace.map(|namespace| view! {
                <label>"Namespace "<input id="install-namespace" value=namespace.get_untracked() on:input=move |ev| namespace.set(event_target_value(&ev)) /></label>
            })}
            <label>"Name "<input id="install-name" placeholder=placeholder on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            <label title="The operator moves it to each newer version its dependents accept"><input type="checkbox" id="install-auto-update" on:change=move |ev| auto_update.set(event_target_checked(&ev)) />" Update automatically"</label>
            <button class="button" id="preview-button" on:click=preview>"Preview"</button>
            <button class="button" id="show-install-form-yaml" on:click=show_yaml>{move || if yaml.with(|y| *y == Yaml::Closed) { "Show YAML" } else { "Hide YAML" }}</button>
            <button class="button primary" id="install-button" on:click=submit disabled=move || pending.get()>"Install"</button>
            <span class="muted">{label}</span>
        </div>
        <p id="install-result" class="install-result" class:refused=move || refused.get() class:ok=move || !refused.get() hidden=move || answer.with(String::is_empty)>{move || answer.get()}</p>
        {move || match yaml.get() {
            Yaml::Closed => ().into_any(),
            Yaml::Asking => view! { <p class="muted">"Asking…"</p> }.into_any(),
            Yaml::Refused(why) => view! { <p id="install-form-yaml-refused" class="install-result refused">{why}</p> }.into_any(),
            Yaml::Shown(text) => {
                let copied = text.clone();
                view! {
                    <div class="actions"><button class="button" id="copy-install-form-yaml" on:click=move |_| super::install::copy(&copied)>"Copy"</button></div>
                    <pre id="install-form-yaml" class="yaml">{text}</pre>
                }.into_any()
            }
        }}
        {move || super::plan::show(previewed.get())}
    }
    .into_any()
}

/// "Show YAML" on the install form: the object the install would create, as Git holds it.
#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Closed,
    Asking,
    Shown(String),
    Refused(String),
}
