//! `hoist status NAME [-n NS]`, `hoist retry NAME [-n NS]` and the waiting behind
//! `hoist install --wait`: what the operator says about one install, read from its
//! status (conditions and each applied object), never guessed.

use hoist_core::install::InstallRef;
use hoist_kube::installs::{Installs, RetryError};
use hoist_kube::types::{PackageSpec, PackageStatus};
use kube::Client;
use std::fmt::Write;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{0} does not exist")]
    NotFound(InstallRef),
    #[error("the Kubernetes API refused: {0}")]
    Api(#[from] kube::Error),
    #[error("{target} failed: {reason}: {message}\n{status}")]
    Failed {
        target: InstallRef,
        reason: String,
        message: String,
        status: String,
    },
    #[error("{target} was not ready within {waited:?}\n{status}")]
    Timeout {
        target: InstallRef,
        waited: Duration,
        status: String,
    },
}

/// One install as read.
struct Read {
    spec: PackageSpec,
    status: Option<PackageStatus>,
    deleting: bool,
    generation: Option<i64>,
}

/// The spec and status of one install.
async fn read(client: &Client, target: &InstallRef) -> Result<Option<Read>, kube::Error> {
    Ok(Installs::new(client).get(target).await?.map(|p| {
        let (spec, status, meta) = p.into_parts();
        Read {
            spec,
            status,
            deleting: meta.deletion_timestamp.is_some(),
            generation: meta.generation,
        }
    }))
}

/// What `hoist status` prints.
pub fn render(
    target: &InstallRef,
    spec: &PackageSpec,
    status: Option<&PackageStatus>,
    deleting: bool,
) -> String {
    let mut out = String::new();
    let info = &spec.package_info;
    let installed = status.and_then(|s| s.version.clone()).map_or_else(
        || "nothing installed yet".to_string(),
        |v| format!("installed {v}"),
    );
    let _ = writeln!(
        out,
        "{target}: {} {} ({installed})",
        info.name, info.version
    );
    if deleting {
        let _ = writeln!(out, "being uninstalled");
    }
    if spec.suspend {
        let _ = writeln!(
            out,
            "suspended: nothing is changed until spec.suspend is false"
        );
    }
    let Some(status) = status.filter(|s| !s.conditions.is_empty()) else {
        let _ = writeln!(out, "no status yet: is the operator running?");
        return out;
    };
    for c in &status.conditions {
        let since = c.last_transition_time.as_deref().unwrap_or("-");
        let message = if c.message.is_empty() {
            String::new()
        } else {
            format!(": {}", c.message)
        };
        let _ = writeln!(
            out,
            "{:<12} {:<8} {} since {since}{message}",
            c.type_, c.status, c.reason
        );
    }
    if !status.objects.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<24} {:<44} {:<11} {:<11} MESSAGE",
            "KIND", "NAME", "ACTION", "HEALTH"
        );
        for o in &status.objects {
            let name = match &o.namespace {
                Some(ns) => format!("{ns}/{}", o.name),
                None => o.name.to_string(),
            };
            let _ = writeln!(
                out,
                "{:<24} {:<44} {:<11} {:<11} {}",
                o.kind, name, o.action, o.health, o.message
            );
        }
    }
    if !status.warnings.is_empty() {
        let _ = writeln!(out, "\nNot installed exactly as written:");
        for w in &status.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}

/// `hoist status`.
pub async fn status(client: &Client, target: &InstallRef) -> Result<String, StatusError> {
    let r = read(client, target)
        .await?
        .ok_or_else(|| StatusError::NotFound(target.clone()))?;
    Ok(render(target, &r.spec, r.status.as_ref(), r.deleting))
}

/// `hoist retry`: a new value of the retry annotation starts a new run of attempts for
/// a failed or dead-lettered install (the operator reads it as a change, and records
/// the value it acted on in `status.lastHandledRetry`). Returns what to print and the
/// value, for [`wait`]. The dashboard's Retry asks the same ([`hoist_kube::installs::retry()`]).
pub async fn retry(client: &Client, target: &InstallRef) -> Result<(String, String), StatusError> {
    let value = hoist_kube::installs::retry(client, target).await?;
    Ok((format!("{target}: retry requested\n"), value))
}

impl From<RetryError> for StatusError {
    fn from(e: RetryError) -> Self {
        match e {
            RetryError::NotFound(at) => StatusError::NotFound(at),
            RetryError::Api(e) => StatusError::Api(e),
        }
    }
}

/// Ready or Failed for the current generation (and, after a retry, for that retry);
/// `None` while the operator has not said.
fn verdict(
    status: Option<&PackageStatus>,
    generation: Option<i64>,
    retry: Option<&str>,
) -> Option<Result<(), (String, String)>> {
    let status = status?;
    if retry.is_some() && status.last_handled_retry.as_deref() != retry {
        return None;
    }
    let cond = |t: &str| status.conditions.iter().find(|c| c.type_ == t);
    let current = |c: &hoist_kube::types::Condition| {
        c.observed_generation.is_none() || c.observed_generation == generation
    };
    if let Some(f) = cond("Failed").filter(|c| c.status == "True" && current(c)) {
        return Some(Err((f.reason.to_string(), f.message.clone())));
    }
    cond("Ready")
        .filter(|c| c.status == "True" && current(c))
        .map(|_| Ok(()))
}

/// Waits (watching, no polling) until the operator says the install is Ready for its
/// current spec (and for `retry`, the value [`retry`] set, when given), or that it
/// failed; at most `timeout`.
pub async fn wait(
    client: &Client,
    target: &InstallRef,
    timeout: Duration,
    retry: Option<&str>,
) -> Result<String, StatusError> {
    let wanted = retry.map(str::to_owned);
    let installs = Installs::new(client);
    let done = installs.wait_until(target, move |p| {
        p.is_some_and(|p| verdict(p.status(), p.metadata().generation, wanted.as_deref()).is_some())
    });
    let waited = tokio::time::timeout(timeout, done).await;
    let r = read(client, target)
        .await?
        .ok_or_else(|| StatusError::NotFound(target.clone()))?;
    let text = render(target, &r.spec, r.status.as_ref(), r.deleting);
    if waited.is_err() {
        return Err(StatusError::Timeout {
            target: target.clone(),
            waited: timeout,
            status: text,
        });
    }
    match verdict(r.status.as_ref(), r.generation, retry) {
        Some(Err((reason, message))) => Err(StatusError::Failed {
            target: target.clone(),
            reason,
            message,
            status: text,
        }),
        _ => Ok(text),
    }
}
