//! The backend's cache status: phase, per-kind progress, last error, data age.

use super::age;
use crate::connection::{Connection, Live};
use hoist_proto::v1 as pb;
use leptos::prelude::*;

fn phase_name(p: i32) -> &'static str {
    match pb::Phase::try_from(p) {
        Ok(pb::Phase::Connecting) => "CONNECTING",
        Ok(pb::Phase::Syncing) => "SYNCING",
        Ok(pb::Phase::Ready) => "READY",
        Ok(pb::Phase::Degraded) => "DEGRADED",
        _ => "UNKNOWN",
    }
}

#[component]
pub fn StatusPanel(live: Live, now: RwSignal<f64>) -> impl IntoView {
    let status = move || live.model.with(|m| m.status.clone());
    let phase = move || status().map_or("—", |s| phase_name(s.phase));
    let message = move || {
        status()
            .map(|s| s.message)
            .unwrap_or_else(|| "waiting for the backend".into())
    };
    let kinds = move || status().map(|s| s.kinds).unwrap_or_default();
    // While disconnected the phase is only the last one heard: say so, with its age.
    let stale = move || {
        (live.connection.get() != Connection::Live && status().is_some()).then(|| {
            format!(
                "last known, {}",
                age(now.get() - live.last_message_ms.get())
            )
        })
    };
    view! {
        <section id="status" class="status" data-phase=phase>
            <div class="phase-line">
                <span id="phase" class=move || format!("phase {}", phase().to_ascii_lowercase())>{phase}</span>
                <span id="phase-message">{message}</span>
                <span id="phase-stale" class="stale">{stale}</span>
            </div>
            <Show when=move || status().is_some_and(|s| s.phase != pb::Phase::Ready as i32)>
                <ul class="kinds">
                    <For each=kinds key=|k| (k.kind.clone(), k.objects_loaded, k.synced, k.last_error.clone()) let:k>
                        <KindRow k=k now=now />
                    </For>
                </ul>
            </Show>
        </section>
    }
}

/// `1234` ms as "1.2 s", with integer arithmetic: formatting an f64 would link
/// Rust's float printing into the web app (~10 KB).
fn seconds(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, ms % 1000 / 100)
}

/// "1 object", "2 objects".
fn objects(n: u64) -> String {
    if n == 1 {
        "1 object".into()
    } else {
        format!("{n} objects")
    }
}

#[component]
fn KindRow(k: pb::KindProgress, now: RwSignal<f64>) -> impl IntoView {
    let total = k.objects_total.max(k.objects_loaded).max(1);
    let detail = if k.synced {
        format!(
            "{}, synced in {}",
            objects(k.objects_loaded),
            seconds(k.elapsed_ms)
        )
    } else if k.objects_total > 0 {
        format!(
            "{} of {} objects, {} pages, {}",
            k.objects_loaded,
            k.objects_total,
            k.pages_loaded,
            seconds(k.elapsed_ms)
        )
    } else {
        format!("{}, {}", objects(k.objects_loaded), seconds(k.elapsed_ms))
    };
    let last_event = k.last_event_unix_ms as f64;
    let event_age = move || {
        if last_event > 0.0 {
            format!("last event {}", age(now.get() - last_event))
        } else {
            String::new()
        }
    };
    let value = if k.synced { total } else { k.objects_loaded };
    view! {
        <li class="kind" data-kind=k.kind.clone() data-synced=k.synced.to_string()>
            <span class="kind-name">{k.kind.clone()}</span>
            <progress max=total.to_string() value=value.to_string()></progress>
            <span class="kind-detail">{detail}</span>
            <span class="kind-age">{event_age}</span>
            {(!k.last_error.is_empty()).then(|| view! { <span class="kind-error">{k.last_error.clone()}</span> })}
        </li>
    }
}
