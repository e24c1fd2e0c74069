//! What a failed pass shows: each kind of failure's condition reason, whether retrying
//! could help ([`ErrorClass`]) and its metric label, and the phase a failure leaves the
//! package in once the retry policy has spoken ([`phase_after`]). The operator only says
//! which [`Failure`] each of its errors is.
//!
//! Guarantees: a transient failure is shown as `Retrying` (never `Failed=True`, see
//! [`super::conditions`]) with the attempt and the delay; a spent budget says how many
//! attempts were made and how to retry by hand; a terminal failure keeps its reason.

use super::conditions::Phase;
use super::confinement::ConfinementError;
use super::retry::{ErrorClass, Next};

/// The kinds of failure a pass can end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The Kubernetes API failed; `transient`: by its answer's code ([`status_class`])
    /// or because there was no answer.
    Api { transient: bool },
    /// The PackageRepository named (or a default one) does not exist (it may be created).
    RepositoryMissing,
    /// The repository could not be read; `transient`: it may answer again.
    Fetch { transient: bool },
    /// The package's manifest or its objects cannot be read or placed.
    InvalidManifest,
    /// A Helm package, and no Flux to delegate it to.
    HelmControllerMissing,
    /// A part of the package format Hoist does not support.
    Unsupported,
    /// The dependencies cannot be met as things are.
    DependencyConflict,
    /// Something a value needs (a ConfigMap, Secret, key or package) is not there yet.
    ValueSourceMissing,
    /// A value or a transformation is wrong.
    InvalidValue,
    /// An object of the package exists and is not Hoist's.
    Foreign,
    /// An object's apply was refused; `transient`: by its answer's code.
    Apply { transient: bool },
    /// The pass did not finish in time.
    Timeout,
    /// A panic inside the pass (caught).
    Panicked,
    /// The prune brake: an empty render of a package that has objects.
    EmptyRender,
    /// A tenant's Package broke a rule of confinement.
    Confined,
    /// The ServiceAccount a Package's writes are made as does not exist.
    ServiceAccountMissing,
}

impl Failure {
    /// Whether retrying could help.
    pub fn class(self) -> ErrorClass {
        use ErrorClass::{Terminal, Transient};
        let transient = |t: bool| if t { Transient } else { Terminal };
        match self {
            Self::Api { transient: t }
            | Self::Fetch { transient: t }
            | Self::Apply { transient: t } => transient(t),
            // The repository may be created, the source appear, the pass be quicker,
            // the repository answer properly again.
            Self::RepositoryMissing
            | Self::ValueSourceMissing
            | Self::Timeout
            | Self::EmptyRender => Transient,
            // A bug is not retried in a loop: the package waits for a change.
            Self::InvalidManifest
            | Self::HelmControllerMissing
            | Self::Unsupported
            | Self::DependencyConflict
            | Self::InvalidValue
            | Self::Foreign
            | Self::Panicked
            | Self::Confined
            | Self::ServiceAccountMissing => Terminal,
        }
    }

    /// The condition reason the failure is shown with.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Api { .. } => "ApiError",
            Self::RepositoryMissing => "RepositoryMissing",
            Self::Fetch { .. } => "FetchFailed",
            Self::InvalidManifest => "InvalidManifest",
            Self::HelmControllerMissing => "HelmControllerMissing",
            Self::Unsupported => "UnsupportedFormat",
            Self::DependencyConflict => "DependencyConflict",
            Self::ValueSourceMissing => "ValueSourceMissing",
            Self::InvalidValue => "ValueConfigurationInvalid",
            Self::Foreign => "ForeignObject",
            Self::Apply { .. } => "InstallationFailed",
            Self::Timeout => "ReconcileTimeout",
            Self::Panicked => "InternalError",
            Self::EmptyRender => "EmptyRender",
            Self::Confined => ConfinementError::REASON,
            Self::ServiceAccountMissing => "ServiceAccountMissing",
        }
    }

    /// A short, stable label for metrics (`controller_runtime_reconcile_errors_total`).
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::Api { .. } => "kube",
            Self::RepositoryMissing => "repository",
            Self::Fetch { .. } => "fetch",
            Self::InvalidManifest => "manifest",
            Self::HelmControllerMissing => "helm",
            Self::Unsupported => "unsupported",
            Self::DependencyConflict => "dependencies",
            Self::ValueSourceMissing => "waiting",
            Self::InvalidValue => "value",
            Self::Foreign => "foreign",
            Self::Apply { .. } => "apply",
            Self::Timeout => "timeout",
            Self::Panicked => "panic",
            Self::EmptyRender => "prune",
            Self::Confined => "confinement",
            Self::ServiceAccountMissing => "service_account",
        }
    }
}

/// The class of an API answer's code: the server or the network may recover (404: a
/// kind not yet served, 409 conflicts, 429, 5xx); a refusal of what was sent will not.
pub fn status_class(code: u16) -> ErrorClass {
    match code {
        404 | 409 | 429 | 500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Terminal,
    }
}

/// The phase a failure with `reason` and `message` leaves the package in, after
/// `failures` failures in a row, once the retry policy decided `next`.
pub fn phase_after(next: Next, reason: &str, message: &str, failures: u32) -> Phase {
    match next {
        Next::RetryAfter(d) => Phase::Retrying {
            reason: reason.to_string(),
            message: format!(
                "{message} (attempt {failures}; retrying in {}s)",
                d.as_secs().max(1)
            ),
        },
        Next::DeadLetter => Phase::DeadLettered {
            message: format!(
                "gave up after {failures} attempts: {message}; retry with `hoist retry` once the cause is fixed"
            ),
        },
        Next::WaitForChange => Phase::Failed {
            reason: reason.to_string(),
            message: message.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorClass::{Terminal, Transient};
    use std::time::Duration;

    #[test]
    fn each_failure_has_its_reason_class_and_metric_label() {
        let cases: &[(Failure, &str, ErrorClass, &str)] = &[
            (
                Failure::Api { transient: true },
                "ApiError",
                Transient,
                "kube",
            ),
            (
                Failure::Api { transient: false },
                "ApiError",
                Terminal,
                "kube",
            ),
            (
                Failure::RepositoryMissing,
                "RepositoryMissing",
                Transient,
                "repository",
            ),
            (
                Failure::Fetch { transient: true },
                "FetchFailed",
                Transient,
                "fetch",
            ),
            (
                Failure::Fetch { transient: false },
                "FetchFailed",
                Terminal,
                "fetch",
            ),
            (
                Failure::InvalidManifest,
                "InvalidManifest",
                Terminal,
                "manifest",
            ),
            (
                Failure::HelmControllerMissing,
                "HelmControllerMissing",
                Terminal,
                "helm",
            ),
            (
                Failure::Unsupported,
                "UnsupportedFormat",
                Terminal,
                "unsupported",
            ),
            (
                Failure::DependencyConflict,
                "DependencyConflict",
                Terminal,
                "dependencies",
            ),
            (
                Failure::ValueSourceMissing,
                "ValueSourceMissing",
                Transient,
                "waiting",
            ),
            (
                Failure::InvalidValue,
                "ValueConfigurationInvalid",
                Terminal,
                "value",
            ),
            (Failure::Foreign, "ForeignObject", Terminal, "foreign"),
            (
                Failure::Apply { transient: true },
                "InstallationFailed",
                Transient,
                "apply",
            ),
            (
                Failure::Apply { transient: false },
                "InstallationFailed",
                Terminal,
                "apply",
            ),
            (Failure::Timeout, "ReconcileTimeout", Transient, "timeout"),
            (Failure::Panicked, "InternalError", Terminal, "panic"),
            (Failure::EmptyRender, "EmptyRender", Transient, "prune"),
            (Failure::Confined, "NotPermitted", Terminal, "confinement"),
            (
                Failure::ServiceAccountMissing,
                "ServiceAccountMissing",
                Terminal,
                "service_account",
            ),
        ];
        for (failure, reason, class, label) in cases {
            assert_eq!(failure.reason(), *reason, "{failure:?}");
            assert_eq!(failure.class(), *class, "{failure:?}");
            assert_eq!(failure.metric_label(), *label, "{failure:?}");
        }
    }

    #[test]
    fn server_trouble_is_transient_and_refusals_are_terminal() {
        for code in [404, 409, 429, 500, 503, 599] {
            assert_eq!(status_class(code), Transient, "{code}");
        }
        for code in [400, 401, 403, 410, 422] {
            assert_eq!(status_class(code), Terminal, "{code}");
        }
    }

    #[test]
    fn a_failure_is_shown_as_retrying_dead_lettered_or_failed_by_the_policys_answer() {
        let cases: &[(Next, u32, Phase)] = &[
            (
                Next::RetryAfter(Duration::from_secs(8)),
                4,
                Phase::Retrying {
                    reason: "FetchFailed".into(),
                    message: "down (attempt 4; retrying in 8s)".into(),
                },
            ),
            (
                Next::RetryAfter(Duration::from_millis(300)),
                1,
                Phase::Retrying {
                    reason: "FetchFailed".into(),
                    message: "down (attempt 1; retrying in 1s)".into(),
                },
            ),
            (
                Next::DeadLetter,
                12,
                Phase::DeadLettered {
                    message: "gave up after 12 attempts: down; retry with `hoist retry` once the cause is fixed".into(),
                },
            ),
            (
                Next::WaitForChange,
                1,
                Phase::Failed {
                    reason: "FetchFailed".into(),
                    message: "down".into(),
                },
            ),
        ];
        for (next, failures, expected) in cases {
            assert_eq!(
                phase_after(*next, "FetchFailed", "down", *failures),
                *expected,
                "{next:?}"
            );
        }
    }
}
