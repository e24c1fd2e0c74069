//! PackageRepository status: `Ready` with how many packages its index lists, or why
//! not (an unusable URL, missing credentials, a fetch that failed, a malformed index).
//!
//! Guarantees: written by the leading operator only, through `/status`, and only when
//! the condition changed (a repository at rest writes nothing); looked at again when the
//! repositories change and every `interval`, through the repository cache (within its
//! lifetime a look costs no request; after it, one conditional request).

use hoist_kube::repo::clientset::{Clientset, RepoClient};
use hoist_kube::repo::fetch::Freshness;
use hoist_kube::types::{Condition, PackageRepository};
use kube::Client;
use kube::api::{Api, Patch};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The condition a repository is in now.
async fn condition(repo: &RepoClient) -> (String, String, String) {
    let (status, reason, message) = match repo.problem() {
        Some(problem) => ("False", "Unusable", problem.to_string()),
        None => match repo.index(Freshness::Cached).await {
            Ok(index) => {
                let n = index.value.packages.len();
                let mut message = format!("{n} package{}", if n == 1 { "" } else { "s" });
                if let Some(e) = &index.stale {
                    message.push_str(&format!("; serving the last good index: {e}"));
                }
                ("True", "IndexLoaded", message)
            }
            Err(e) => ("False", "FetchFailed", e.to_string()),
        },
    };
    (
        status.to_string(),
        reason.to_string(),
        hoist_core::repo::format::cut(&message),
    )
}

/// Keeps every repository's status current until `stopped`.
pub async fn run(
    client: Client,
    clientset: Arc<Clientset>,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let api: Api<PackageRepository> = Api::all(client);
    let mut changes = clientset.subscribe();
    // What was last written, by repository: (status, reason, message, since).
    let mut written: HashMap<String, (String, String, String, String)> = HashMap::new();
    loop {
        for repo in clientset.list() {
            let (status, reason, message) = condition(&repo).await;
            let last = written.get(&repo.name);
            if last.is_some_and(|l| (&l.0, &l.1, &l.2) == (&status, &reason, &message)) {
                continue;
            }
            let since = match last {
                Some(l) if l.0 == status => l.3.clone(),
                _ => chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            let ready = Condition {
                type_: "Ready".into(),
                status: status.clone().into(),
                reason: reason.clone().into(),
                message: message.clone(),
                last_transition_time: Some(since.clone().into()),
                observed_generation: None,
            };
            let patch = Patch::Merge(json!({"status": {"conditions": [ready]}}));
            match api
                .patch_status(&repo.name, &hoist_kube::types::patch_params(), &patch)
                .await
            {
                Ok(_) => {
                    written.insert(repo.name.clone(), (status, reason, message, since));
                }
                Err(e) => {
                    tracing::debug!(repository = %repo.name, error = %e, "cannot write the repository's status")
                }
            }
        }
        written.retain(|name, _| clientset.get(name).is_some());
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(interval) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}
