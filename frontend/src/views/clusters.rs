//! Member clusters and what is billed, live from the stream (issue 11): "billed now"
//! and "this period" from the server's ledger, each cluster's state since when, its
//! identity, version and last probe, billed since/until, warnings where billing and
//! reality may disagree; a delete that says billing stops at that moment and asks for
//! the name, then the row's progress and the recorded stop; usage for a period as a
//! download.
//!
//! Nothing here is computed from guesses: the figures are the server's, as of its
//! `as_of` time; between messages "this period" grows by exactly one second per second
//! for each billed cluster (the ledger's rule), which is what the page adds.

use crate::connection::Live;
use hoist_proto::v1 as pb;
use leptos::prelude::*;

/// Cluster-seconds in the period at `now_ms`, from the server's figure as of its time.
pub fn period_seconds_at(f: &pb::Fleet, now_ms: f64) -> f64 {
    let since = ((now_ms - f.as_of_unix_ms as f64) / 1000.0).max(0.0);
    f.period_seconds as f64 + f64::from(f.billed_now) * since.floor()
}

/// One cluster's seconds in the period at `now_ms`.
pub fn cluster_seconds_at(f: &pb::Fleet, c: &pb::FleetCluster, now_ms: f64) -> f64 {
    let since = ((now_ms - f.as_of_unix_ms as f64) / 1000.0).max(0.0);
    c.period_seconds as f64 + if c.billed { since.floor() } else { 0.0 }
}

fn hours(seconds: f64) -> String {
    format!("{:.2} h", seconds / 3600.0)
}

/// `2026-11-30 10:04 UTC`, from Unix ms (the browser's own formatting).
fn utc(ms: i64) -> String {
    if ms == 0 {
        return "—".into();
    }
    let iso: String = js_sys::Date::new(&(ms as f64).into())
        .to_iso_string()
        .into();
    format!(
        "{} {} UTC",
        iso.get(..10).unwrap_or(""),
        iso.get(11..16).unwrap_or("")
    )
}

fn since(now: f64, ms: i64) -> String {
    if ms == 0 {
        "—".into()
    } else {
        super::age(now - ms as f64)
    }
}

#[component]
pub fn ClustersPage(live: Live, now: RwSignal<f64>) -> impl IntoView {
    // A memo: the table is rebuilt when the fleet changes, not on every heartbeat or
    // package event; the clock only moves the cells that show ages and hours.
    let fleet_memo = Memo::new(move |_| live.model.with(|m| m.fleet.clone()));
    let fleet = move || fleet_memo.get();
    // Above the rows, so a change on the stream never loses what the user typed.
    let removing = RwSignal::new(None::<String>);
    let confirm = RwSignal::new(String::new());
    let answer = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let format = RwSignal::new("csv".to_string());

    let remove = Callback::new(move |name: String| {
        pending.set(true);
        let request = pb::RemoveClusterRequest {
            name: name.clone(),
            confirm: confirm.get_untracked(),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            let result = crate::rpc::remove_cluster(request).await;
            pending.set(false);
            match result {
                Ok(r) => {
                    answer.set(r.message);
                    removing.set(None);
                    confirm.set(String::new());
                }
                Err(s) => answer.set(format!("Not removed: {}", s.message())),
            }
        });
    });

    let download = move || {
        let day = |d: String| (!d.is_empty()).then(|| format!("{d}T00:00:00Z"));
        let mut q = vec![format!("format={}", format.get())];
        if let Some(f) = day(from.get()) {
            q.push(format!("from={f}"));
        }
        if let Some(t) = day(to.get()) {
            q.push(format!("to={t}"));
        }
        format!("/api/usage?{}", q.join("&"))
    };

    let summary = move || {
        fleet().map(|f| {
            let (start, billed_now) = (f.period_start_unix_ms, f.billed_now);
            let period = move || hours(period_seconds_at(&f, now.get()));
            view! {
                <div class="fleet-summary">
                    <div><span class="figure" id="billed-now">{billed_now}</span><span class="muted">" billed now"</span></div>
                    <div><span class="figure" id="period-hours">{period}</span>
                        <span class="muted">" this period (since "{utc(start)}")"</span></div>
                </div>
            }
        })
    };

    let rows = move || {
        let Some(f) = fleet() else {
            return view! { <super::Spinner text="Loading the fleet…" id="fleet-loading" /> }
                .into_any();
        };
        if !f.available {
            return view! { <p class="banner" id="fleet-unavailable">{f.unavailable.clone()}</p> }
                .into_any();
        }
        if f.clusters.is_empty() {
            return view! { <p class="empty" id="clusters-empty">"No member clusters. Add one with hoist cluster add NAME --kubeconfig FILE."</p> }.into_any();
        }
        let rows = f
            .clusters
            .iter()
            .map(|c| cluster_row(&f, c, now, removing, confirm))
            .collect_view();
        view! {
            <table id="clusters">
                <thead><tr>
                    <th>"Name"</th><th>"State"</th><th>"Identity"</th><th>"Version"</th>
                    <th>"Last probe"</th><th>"Billing"</th><th>"This period"</th><th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };

    // The removal's confirmation, apart from the rows: a fleet update redraws the table,
    // never this (what is typed keeps its focus).
    let confirmation = move || {
        removing.get().map(|name| {
            let typed_ok = {
                let name = name.clone();
                move || confirm.get() == name
            };
            view! {
                <div class="banner confirm" id="remove-confirmation" data-name=name.clone()>
                    <p>"Billing for "<strong>{name.clone()}</strong>" stops at the moment you confirm; the operator then removes it. Type "<code>{name.clone()}</code>" to confirm."</p>
                    <div class="actions">
                        <input id="remove-confirm" prop:value=move || confirm.get() on:input=move |ev| confirm.set(event_target_value(&ev)) />
                        <button class="button danger" id="remove-button" disabled=move || !typed_ok() || pending.get() on:click={
                            let name = name.clone();
                            move |_| remove.run(name.clone())
                        }>"Remove and stop billing"</button>
                        <button class="button" on:click=move |_| removing.set(None)>"Cancel"</button>
                    </div>
                </div>
            }
        })
    };

    // Clusters deleted whose billing touches the period, with the recorded stop.
    let removed = move || {
        let f = fleet()?;
        if f.removed.is_empty() {
            return None;
        }
        let rows = f
            .removed
            .iter()
            .map(|c| {
                let (f, c2) = (f.clone(), c.clone());
                let period = move || hours(cluster_seconds_at(&f, &c2, now.get()));
                let stop = if c.billed {
                    "still billed".to_string()
                } else {
                    format!("{} ({})", utc(c.billed_until_unix_ms), c.stop_source)
                };
                view! {
                    <tr data-name=c.name.clone()>
                        <td class="name">{c.name.clone()}</td>
                        <td>{utc(c.billed_since_unix_ms)}</td>
                        <td class="stop">{stop}{c.warnings.iter().map(|w| view! { <div class="warning">"⚠ "{w.clone()}</div> }).collect_view()}</td>
                        <td class="period">{period}</td>
                    </tr>
                }
            })
            .collect_view();
        Some(view! {
            <h3>"Removed this period"</h3>
            <table id="removed">
                <thead><tr><th>"Name"</th><th>"Billed since"</th><th>"Billing stopped"</th><th>"This period"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };

    view! {
        <section class="packages" id="clusters-page">
            <h2>"Clusters "<span class="count">{move || fleet().map_or(0, |f| f.clusters.len())}</span></h2>
            {summary}
            <p class="muted" id="cluster-answer">{move || answer.get()}</p>
            {confirmation}
            {rows}
            {removed}
            <h3>"Usage"</h3>
            <div class="toolbar" id="usage-download">
                <label>"From (UTC) "<input type="date" id="usage-from" on:input=move |ev| from.set(event_target_value(&ev)) /></label>
                <label>"To, exclusive (UTC) "<input type="date" id="usage-to" on:input=move |ev| to.set(event_target_value(&ev)) /></label>
                <select id="usage-format" on:change=move |ev| format.set(event_target_value(&ev))>
                    <option value="csv">"CSV"</option>
                    <option value="jsonl">"JSON lines"</option>
                    <option value="cloudevents">"CloudEvents"</option>
                </select>
                <a class="button" id="usage-link" href=download download="">"Download"</a>
                <span class="muted">"Empty dates: this month so far."</span>
            </div>
        </section>
    }
}

fn cluster_row(
    f: &pb::Fleet,
    c: &pb::FleetCluster,
    now: RwSignal<f64>,
    removing: RwSignal<Option<String>>,
    confirm: RwSignal<String>,
) -> impl IntoView {
    let name = c.name.clone();
    let state_class = match c.state.as_str() {
        "Ready" => "state ready",
        "Unreachable" | "CredentialsRefused" => "state failed",
        "Deleting" => "state deleting",
        _ => "state pending",
    };
    let billing = if c.billed {
        format!("billed since {}", utc(c.billed_since_unix_ms))
    } else if c.billed_until_unix_ms != 0 {
        format!(
            "stopped {} ({})",
            utc(c.billed_until_unix_ms),
            c.stop_source
        )
    } else if !c.billing_enabled {
        "billing off".into()
    } else {
        "not billed yet (not identified)".into()
    };
    let deleting = c.deleted_unix_ms != 0;
    let progress = deleting.then(|| {
        let step = if c.billed {
            let (deleted, waiting) = (
                c.deleted_unix_ms,
                if c.deleting_step.is_empty() {
                    "waiting for the operator to record billing's stop".to_string()
                } else {
                    c.deleting_step.clone()
                },
            );
            (move || format!("deleted {}; {waiting}", since(now.get(), deleted))).into_any()
        } else {
            format!(
                "billing stopped at {} (recorded); removing",
                utc(c.billed_until_unix_ms)
            )
            .into_any()
        };
        view! { <div class="muted delete-progress">{step}</div> }
    });
    let (state_since, last_probe) = (c.state_since_unix_ms, c.last_probe_unix_ms);
    let period = {
        let (f, c) = (f.clone(), c.clone());
        move || hours(cluster_seconds_at(&f, &c, now.get()))
    };
    let warnings = c
        .warnings
        .iter()
        .map(|w| view! { <div class="warning">"⚠ "{w.clone()}</div> })
        .collect_view();
    let identity = if c.identity.is_empty() {
        "—".to_string()
    } else {
        c.identity.chars().take(8).collect::<String>()
    };
    let n3 = name.clone();
    view! {
        <tr data-name=name.clone() data-state=c.state.clone()>
            <td class="name">{name.clone()}<div class="muted">{c.kubeconfig_secret.clone()}</div></td>
            <td>
                <span class=state_class>{c.state.clone()}</span>
                <div class="muted">"since "{move || since(now.get(), state_since)}</div>
                {(!c.message.is_empty()).then(|| view! { <div class="muted" title=c.message.clone()>{c.message.clone()}</div> })}
                {progress}
            </td>
            <td title=c.identity.clone()><code>{identity}</code></td>
            <td>{if c.server_version.is_empty() { "—".into() } else { c.server_version.clone() }}</td>
            <td>{move || since(now.get(), last_probe)}
                {(c.consecutive_failures > 0).then(|| view! { <div class="muted">{c.consecutive_failures}" failed"</div> })}</td>
            <td class="billing">{billing}{warnings}</td>
            <td class="period">{period}</td>
            <td>
                {(!deleting).then(|| view! {
                    <button class="button small danger remove" on:click=move |_| { confirm.set(String::new()); removing.set(Some(n3.clone())); }>"Remove…"</button>
                })}
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_grows_one_second_per_second_per_billed_cluster_after_the_servers_figure() {
        let f = pb::Fleet {
            billed_now: 3,
            period_seconds: 1000,
            as_of_unix_ms: 10_000,
            ..Default::default()
        };
        assert_eq!(period_seconds_at(&f, 10_000.0), 1000.0);
        assert_eq!(period_seconds_at(&f, 12_500.0), 1006.0);
        // A clock behind the server's never subtracts.
        assert_eq!(period_seconds_at(&f, 9_000.0), 1000.0);
        let stopped = pb::FleetCluster {
            period_seconds: 40,
            billed: false,
            ..Default::default()
        };
        assert_eq!(cluster_seconds_at(&f, &stopped, 20_000.0), 40.0);
    }
}
