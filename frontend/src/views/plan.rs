//! A Preview's plan (the `Preview` call): what an install or upgrade would create,
//! change, remove or be refused, each object with its field changes. Shown under the
//! Install form and the install page's Upgrade, before anything is written.

use hoist_proto::v1 as pb;
use leptos::prelude::*;

#[component]
pub fn PlanView(plan: pb::Plan) -> impl IntoView {
    view! {
        <div class="plan" id="plan">
            <p class="plan-head">"Preview of "{plan.package.clone()}" "{plan.version.clone()}": "<strong id="plan-summary">{plan.summary.clone()}</strong></p>
            {(!plan.packages.is_empty()).then(|| view! {
                <ul class="plan-packages">{plan.packages.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul>
            })}
            <ul class="plan-steps">
                {plan.steps.iter().map(|s| {
                    let class = format!("step {}", s.action);
                    view! {
                        <li class=class data-action=s.action.clone()>
                            <span class="action">{s.action.clone()}</span>" "{s.object.clone()}
                            {(!s.changes.is_empty()).then(|| view! {
                                <ul class="changes">{s.changes.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}</ul>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

/// The state of a Preview request, for the forms that ask for one.
#[derive(Clone, Debug, PartialEq)]
pub enum Previewed {
    None,
    Asking,
    Plan(pb::Plan),
    Refused(String),
}

/// Renders a [`Previewed`].
pub fn show(p: Previewed) -> impl IntoView {
    match p {
        Previewed::None => ().into_any(),
        Previewed::Asking => {
            view! { <super::Spinner text="Asking the API server (dry run)…" /> }.into_any()
        }
        Previewed::Plan(plan) => view! { <PlanView plan=plan /> }.into_any(),
        Previewed::Refused(why) => {
            view! { <p class="install-result refused" id="plan-refused">{why}</p> }.into_any()
        }
    }
}
