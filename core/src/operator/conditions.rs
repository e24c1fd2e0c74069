//! The conditions a package's status carries after a pass: Glasskube's `Ready`/`Failed`
//! pair with its reasons (what existing tools and the dashboard read), plus kstatus'
//! `Reconciling` and `Stalled` (what Flux, Argo CD and `kstatus`-based tools read).
//!
//! Guarantees: a transient failure never sets `Failed=True` (it is progress with a
//! retry, not a verdict; Glasskube's users saw "object has been modified" as a failure);
//! only terminal errors and a spent retry budget do, with `Stalled=True`.

/// Where a pass left the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Everything applied and healthy.
    Ready { message: String },
    /// Applied or applying, waiting for something (objects becoming healthy, a
    /// dependency, a PackageInfo): `reason` says which kind of wait.
    Progressing { reason: String, message: String },
    /// A transient failure; it will be retried.
    Retrying { reason: String, message: String },
    /// A terminal failure: nothing more happens until the package or an input changes.
    Failed { reason: String, message: String },
    /// Transient failures until the retry budget ran out.
    DeadLettered { message: String },
    /// `spec.suspend`: nothing is changed.
    Suspended,
    /// Being uninstalled.
    Deleting { message: String },
}

/// One condition to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub type_: &'static str,
    pub status: &'static str,
    pub reason: String,
    pub message: String,
}

fn c(type_: &'static str, status: &'static str, reason: &str, message: &str) -> Condition {
    Condition {
        type_,
        status,
        reason: reason.into(),
        message: message.into(),
    }
}

/// Reasons (Glasskube's where it has one).
pub mod reason {
    pub const INSTALLATION_SUCCEEDED: &str = "InstallationSucceeded";
    pub const INSTALLATION_FAILED: &str = "InstallationFailed";
    pub const PENDING: &str = "Pending";
    pub const RETRIES_EXHAUSTED: &str = "RetriesExhausted";
    pub const SUSPENDED: &str = "Suspended";
    pub const DELETING: &str = "Deleting";
    pub const RETRYING: &str = "Retrying";
}

/// The conditions for `phase`, in a stable order: Ready, Failed, Reconciling, Stalled.
pub fn for_phase(phase: &Phase) -> Vec<Condition> {
    use reason::*;
    match phase {
        Phase::Ready { message } => vec![
            c("Ready", "True", INSTALLATION_SUCCEEDED, message),
            c("Failed", "False", INSTALLATION_SUCCEEDED, ""),
            c("Reconciling", "False", INSTALLATION_SUCCEEDED, ""),
            c("Stalled", "False", INSTALLATION_SUCCEEDED, ""),
        ],
        Phase::Progressing { reason, message } => vec![
            c("Ready", "Unknown", reason, message),
            c("Failed", "False", reason, ""),
            c("Reconciling", "True", reason, message),
            c("Stalled", "False", reason, ""),
        ],
        Phase::Retrying { reason, message } => vec![
            c("Ready", "Unknown", RETRYING, message),
            c("Failed", "False", RETRYING, ""),
            c("Reconciling", "True", reason, message),
            c("Stalled", "False", RETRYING, ""),
        ],
        Phase::Failed { reason, message } => vec![
            c("Ready", "False", reason, message),
            c("Failed", "True", reason, message),
            c("Reconciling", "False", reason, ""),
            c("Stalled", "True", reason, message),
        ],
        Phase::DeadLettered { message } => vec![
            c("Ready", "False", RETRIES_EXHAUSTED, message),
            c("Failed", "True", RETRIES_EXHAUSTED, message),
            c("Reconciling", "False", RETRIES_EXHAUSTED, ""),
            c("Stalled", "True", RETRIES_EXHAUSTED, message),
        ],
        Phase::Suspended => vec![
            c(
                "Reconciling",
                "False",
                SUSPENDED,
                "suspended: nothing is changed until spec.suspend is false",
            ),
            c("Stalled", "False", SUSPENDED, ""),
        ],
        Phase::Deleting { message } => vec![
            c("Ready", "Unknown", DELETING, message),
            c("Failed", "False", DELETING, ""),
            c("Reconciling", "True", DELETING, message),
            c("Stalled", "False", DELETING, ""),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(phase: &Phase, type_: &str) -> &'static str {
        for_phase(phase)
            .into_iter()
            .find(|c| c.type_ == type_)
            .map_or("absent", |c| c.status)
    }

    #[test]
    fn transient_failures_never_set_failed_and_terminal_ones_stall() {
        let retrying = Phase::Retrying {
            reason: "ApplyFailed".into(),
            message: "503 from the API server; retrying in 4s".into(),
        };
        assert_eq!(status(&retrying, "Failed"), "False");
        assert_eq!(status(&retrying, "Reconciling"), "True");
        let failed = Phase::Failed {
            reason: "InvalidValue".into(),
            message: "replicas: 0 is below the minimum 1".into(),
        };
        assert_eq!(status(&failed, "Failed"), "True");
        assert_eq!(status(&failed, "Stalled"), "True");
        assert_eq!(status(&failed, "Ready"), "False");
        let dead = Phase::DeadLettered {
            message: "12 failures".into(),
        };
        assert_eq!(status(&dead, "Stalled"), "True");
        let ready = Phase::Ready {
            message: "installed".into(),
        };
        assert_eq!(
            [
                status(&ready, "Ready"),
                status(&ready, "Failed"),
                status(&ready, "Stalled")
            ],
            ["True", "False", "False"]
        );
    }
}
