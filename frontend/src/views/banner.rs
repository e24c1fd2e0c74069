//! Connection state: a pill in the header, and a banner with a countdown and
//! "Retry now" while the stream is down.

use super::age;
use crate::connection::{Connection, Live};
use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;

#[component]
pub fn ConnectionPill(live: Live, now: RwSignal<f64>) -> impl IntoView {
    let text = move || match live.connection.get() {
        Connection::Connecting => "connecting…".to_string(),
        Connection::Live => format!(
            "live · updated {}",
            age(now.get() - live.last_message_ms.get())
        ),
        Connection::Retrying { .. } => "disconnected".to_string(),
    };
    let class = move || match live.connection.get() {
        Connection::Live => "pill ok",
        Connection::Connecting => "pill wait",
        Connection::Retrying { .. } => "pill bad",
    };
    view! { <span id="connection" class=class>{text}</span> }
}

#[component]
pub fn RetryBanner(live: Live, now: RwSignal<f64>, retry: UnboundedSender<()>) -> impl IntoView {
    let retrying = move || matches!(live.connection.get(), Connection::Retrying { .. });
    let seconds_left = move || match live.connection.get() {
        Connection::Retrying { until_ms, .. } => {
            ((until_ms - now.get()) / 1000.0).ceil().max(0.0) as u64
        }
        _ => 0,
    };
    let detail = move || match live.connection.get() {
        Connection::Retrying {
            attempt, reason, ..
        } => format!("{reason} (attempt {attempt})"),
        _ => String::new(),
    };
    let on_retry = move |_| {
        let _ = retry.unbounded_send(());
    };
    view! {
        <Show when=retrying>
            <div id="retry-banner" class="banner" role="status">
                <span>"Connection to the backend lost: "<span id="retry-reason">{detail}</span>". "
                    {move || if seconds_left() == 0 { "Retrying now…".to_string() } else { "Retrying in ".to_string() }}
                    <span id="retry-countdown">{move || if seconds_left() == 0 { String::new() } else { format!("{} s.", seconds_left()) }}</span></span>
                <button id="retry-now" class="button" on:click=on_retry.clone()>"Retry now"</button>
            </div>
        </Show>
    }
}
