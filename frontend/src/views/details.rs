//! A package's page: description, versions (with a version picker), dependencies,
//! values, manifests, references, its repository, and who has it installed. Asked of
//! the backend (GetPackageDetails, served from its repository cache) when the page
//! opens, and again whenever the catalogue changes, so it stays live too.
//!
//! The page installs, too: a value per row of the values table, a namespace and a name,
//! and Install (the `Install` call). The server checks everything and says why it
//! refuses; what the user typed stays in the form. A created package then shows up
//! under "Installed" from the stream, like any change made elsewhere.

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
                <tbody>{d.values.iter().map(|v| {
                    view! {
                    <tr data-key=v.key.clone()>
                        <td class="name">{v.key.clone()}{v.required.then(|| view! { <span class="muted">" required"</span> })}</td>
                        <td>{v.r#type.clone()}{(!v.options.is_empty()).then(|| format!(" ({})", v.options.join(", ")))}</td>
                        <td>{v.default_value.clone()}</td>
                        <td>{if v.label.is_empty() { v.description.clone() } else if v.description.is_empty() { v.label.clone() } else { format!("{}: {}", v.label, v.description) }}</td>
                        <td><ValueInput key=v.key.clone() placeholder=v.default_value.clone() form=form cluster_scoped=d.scope != "Namespaced" /></td>
                    </tr>
                }}).collect_view()}</tbody>
            </table>
            <datalist id="cluster-package-names">{move || live.model.with(|m| m.of_scope(pb::Scope::Cluster)).into_iter().filter_map(|p| p.key).map(|k| view! { <option value=k.name></option> }).collect_view()}</datalist>
            }.into_any()
        }}
        <InstallForm package=d.name.clone() version=d.version.clone() repository=d.repository.clone() namespace=(d.scope == "Namespaced").then(|| d.default_namespace.clone()) form=form />
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

/// One value's input: typed, or read by the operator from a ConfigMap key, a Secret
/// key or another (cluster) package's value, which it follows when it changes. The
/// ConfigMap and Secret are named, not listed: the dashboard reads no Secrets outside
/// Hoist's namespace (decision 0019), and the operator says which it waits for when
/// one is missing. Packages come from the installed ones (a datalist).
#[component]
fn ValueInput(
    key: String,
    placeholder: String,
    form: InstallValues,
    cluster_scoped: bool,
) -> impl IntoView {
    let key = StoredValue::new(key);
    let kind = RwSignal::new(String::new());
    let namespace = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let item = RwSignal::new(String::new());
    // Copy: every piece it reads is a signal or a stored value.
    let sync = move || {
        let k = kind.get_untracked();
        let key = key.get_value();
        form.set_ref(
            &key,
            (!k.is_empty()).then(|| pb::ValueRef {
                namespace: if k == "package" {
                    String::new()
                } else {
                    namespace.get_untracked().trim().to_string()
                },
                key: key.clone(),
                kind: k,
                name: name.get_untracked().trim().to_string(),
                item: item.get_untracked().trim().to_string(),
            }),
        );
    };
    let field = move |signal: RwSignal<String>, class: &'static str, hint: &'static str| {
        view! { <input class=class placeholder=hint on:input=move |ev| { signal.set(event_target_value(&ev)); sync(); } /> }
    };
    view! {
        <select class="value-source" on:change=move |ev| {
            // A new source starts empty, as its fields are drawn.
            for field in [namespace, name, item] {
                field.set(String::new());
            }
            kind.set(event_target_value(&ev));
            form.set_value(&key.get_value(), String::new());
            sync();
        }>
            <option value="">"value"</option>
            <option value="configMap">"from ConfigMap"</option>
            <option value="secret">"from Secret"</option>
            <option value="package">"from package"</option>
        </select>
        {move || match kind.get().as_str() {
            "" => view! { <input class="value" name=key.get_value() placeholder=placeholder.clone() on:input=move |ev| form.set_value(&key.get_value(), event_target_value(&ev)) /> }.into_any(),
            "package" => view! {
                <input class="ref-name" list="cluster-package-names" placeholder="cluster package" on:input=move |ev| { name.set(event_target_value(&ev)); sync(); } />
                {field(item, "ref-item", "its value")}
            }.into_any(),
            _ => view! {
                {cluster_scoped.then(|| field(namespace, "ref-namespace", "namespace"))}
                {field(name, "ref-name", "name")}
                {field(item, "ref-item", "key")}
            }.into_any(),
        }}
    }
}

/// The values typed into the values table, in the order first typed; empty ones are
/// not sent (the package's default applies). References replace a typed value.
#[derive(Clone, Copy)]
struct InstallValues(
    StoredValue<Vec<pb::Setting>>,
    StoredValue<Vec<pb::ValueRef>>,
);

impl InstallValues {
    fn new() -> Self {
        Self(StoredValue::new(Vec::new()), StoredValue::new(Vec::new()))
    }

    fn set_value(&self, key: &str, value: String) {
        self.0
            .update_value(|all| match all.iter_mut().find(|s| s.key == key) {
                Some(s) => s.value = value,
                None => all.push(pb::Setting {
                    key: key.to_string(),
                    value,
                }),
            });
    }

    /// Sets (or with `None` removes) the reference for `key`.
    fn set_ref(&self, key: &str, r: Option<pb::ValueRef>) {
        self.1.update_value(|all| {
            all.retain(|x| x.key != key);
            all.extend(r);
        });
    }

    fn references(&self) -> Vec<pb::ValueRef> {
        self.1.get_value()
    }

    fn settings(&self) -> Vec<pb::Setting> {
        self.0.with_value(|all| {
            all.iter()
                .filter(|s| !s.value.is_empty())
                .cloned()
                .collect()
        })
    }
}

/// Namespace (namespaced packages), name, and Install. The answer, success or the
/// server's reason for refusing, shows under the button; the form keeps what was typed.
#[component]
fn InstallForm(
    package: String,
    version: String,
    repository: String,
    /// The default namespace of a namespaced package; `None` for a cluster-scoped one.
    namespace: Option<String>,
    form: InstallValues,
) -> impl IntoView {
    let namespaced = namespace.is_some();
    let label = format!("{package} {version}");
    let placeholder = package.clone();
    let namespace = RwSignal::new(namespace.unwrap_or_default());
    let name = RwSignal::new(String::new());
    let auto_update = RwSignal::new(false);
    // Signal types the app already has, which keeps this form small in the wasm.
    let pending = RwSignal::new(false);
    let answer = RwSignal::new(String::new());
    let refused = RwSignal::new(false);
    let previewed = RwSignal::new(super::plan::Previewed::None);
    let request_now = {
        let package = package.clone();
        let repository = repository.clone();
        let version = version.clone();
        move || pb::InstallRequest {
            package: package.clone(),
            repository: repository.clone(),
            version: version.clone(),
            namespace: if namespaced {
                namespace.get_untracked().trim().to_string()
            } else {
                String::new()
            },
            name: name.get_untracked().trim().to_string(),
            values: form.settings(),
            references: form.references(),
            auto_update: auto_update.get_untracked(),
        }
    };
    let preview = move |_| {
        let request = pb::PreviewRequest {
            install: Some(request_now()),
            ..Default::default()
        };
        previewed.set(super::plan::Previewed::Asking);
        leptos::task::spawn_local(async move {
            previewed.set(match crate::rpc::preview(request).await {
                Ok(plan) => super::plan::Previewed::Plan(plan),
                Err(s) => {
                    super::plan::Previewed::Refused(format!("Would not install: {}", s.message()))
                }
            });
        });
    };
    let submit = move |_| {
        if pending.get_untracked() {
            return;
        }
        let request = pb::InstallRequest {
            package: package.clone(),
            repository: repository.clone(),
            version: version.clone(),
            namespace: if namespaced {
                namespace.get_untracked().trim().to_string()
            } else {
                String::new()
            },
            name: name.get_untracked().trim().to_string(),
            values: form.settings(),
            references: form.references(),
            auto_update: auto_update.get_untracked(),
        };
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
            {namespaced.then(|| view! {
                <label>"Namespace "<input id="install-namespace" value=namespace.get_untracked() on:input=move |ev| namespace.set(event_target_value(&ev)) /></label>
            })}
            <label>"Name "<input id="install-name" placeholder=placeholder on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            <label title="The operator moves it to each newer version its dependents accept"><input type="checkbox" id="install-auto-update" on:change=move |ev| auto_update.set(event_target_checked(&ev)) />" Update automatically"</label>
            <button class="button" id="preview-button" on:click=preview>"Preview"</button>
            <button class="button primary" id="install-button" on:click=submit disabled=move || pending.get()>"Install"</button>
            <span class="muted">{label}</span>
        </div>
        <p id="install-result" class="install-result" class:refused=move || refused.get() class:ok=move || !refused.get() hidden=move || answer.with(String::is_empty)>{move || answer.get()}</p>
        {move || super::plan::show(previewed.get())}
    }
    .into_any()
}
