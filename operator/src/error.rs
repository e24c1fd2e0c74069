//! What can go wrong in a reconcile, and which of it is worth retrying.

use hoist_core::operator::failure::Failure;
use hoist_core::operator::placement::PlacementError;
use hoist_core::operator::retry::ErrorClass;
use hoist_core::repo::format::FormatError;
use hoist_kube::repo::fetch::FetchError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("PackageRepository {0:?} does not exist")]
    NoRepository(String),
    #[error("no PackageRepository is marked as the default and the package names none")]
    NoDefaultRepository,
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("{0}")]
    Placement(#[from] PlacementError),
    #[error(
        "the package installs a Helm chart, which Hoist delegates to Flux, and this cluster does not serve Flux's HelmRepository and HelmRelease: install Flux's source-controller and helm-controller (flux install --components=source-controller,helm-controller); the package is retried as soon as their CRDs appear"
    )]
    HelmControllerMissing,
    #[error("invalid value {name:?}: {why}")]
    InvalidValue { name: String, why: String },
    #[error("{0}")]
    Values(#[from] hoist_core::repo::values::ValueError),
    #[error("{0}")]
    /// Boxed: its messages name the value, the patch and the target, which would make
    /// every `Result` of a pass that large.
    ValueTargets(Box<hoist_core::operator::values::ValuesError>),
    #[error(
        "{object} already exists and was not created by Hoist; it is never taken over silently"
    )]
    Foreign { object: String },
    #[error("{object}: {message}")]
    Apply {
        object: String,
        message: String,
        transient: bool,
    },
    #[error("{0}")]
    Unsupported(String),
    /// The dependencies cannot be met as things are (versions, scopes).
    #[error("conflicting dependencies: {0}")]
    Dependencies(String),
    /// Something the package needs is not there yet (a referenced ConfigMap, Secret,
    /// key or package): transient, and its appearance moves the package on.
    #[error("waiting: {0}")]
    Waiting(String),
    #[error("the reconcile did not finish within {0:?}")]
    Timeout(std::time::Duration),
    /// A panic inside a pass (a bug in Hoist or a library), caught: the package gets
    /// this as its error and every other package carries on. The panic's own message
    /// is in the operator's log only (it might quote a value).
    #[error(
        "Hoist failed unexpectedly during {during} (a panic, caught: an internal error, please report it with the operator's log); the package waits until it changes or `hoist retry`"
    )]
    Panicked { during: &'static str },
    #[error("{0}")]
    Serialize(#[from] serde_json::Error),
    /// The prune brake: the render is empty though the package has objects.
    #[error("{0}")]
    Prune(#[from] hoist_core::operator::inventory::PruneError),
    /// A rule of confinement a tenant's Package broke (Hoist's own check, made before
    /// the API server would refuse the write).
    #[error("{0}")]
    Confined(#[from] hoist_core::operator::confinement::ConfinementError),
    /// The account a Package's writes impersonate is not there.
    #[error(
        "the ServiceAccount {namespace}/{name} that this package's writes are made as does not exist: create it (and bind it the rights the package needs), or name another in spec.serviceAccountName"
    )]
    ServiceAccountMissing { namespace: String, name: String },
}

impl From<hoist_core::operator::values::ValuesError> for Error {
    fn from(e: hoist_core::operator::values::ValuesError) -> Self {
        Self::ValueTargets(Box::new(e))
    }
}

impl Error {
    /// Which kind of failure this is: its reason, class and metric label are the
    /// core's ([`Failure`]).
    pub fn failure(&self) -> Failure {
        let transient = |c: ErrorClass| c == ErrorClass::Transient;
        match self {
            Self::Kube(e) => Failure::Api {
                transient: transient(kube_class(e)),
            },
            Self::NoRepository(_) | Self::NoDefaultRepository => Failure::RepositoryMissing,
            Self::Fetch(e) => Failure::Fetch {
                transient: transient(fetch_class(e)),
            },
            Self::Format(_) | Self::Placement(_) | Self::Serialize(_) => Failure::InvalidManifest,
            Self::HelmControllerMissing => Failure::HelmControllerMissing,
            Self::Unsupported(_) => Failure::Unsupported,
            Self::Dependencies(_) => Failure::DependencyConflict,
            Self::Waiting(_) => Failure::ValueSourceMissing,
            Self::InvalidValue { .. } | Self::Values(_) | Self::ValueTargets(_) => {
                Failure::InvalidValue
            }
            Self::Foreign { .. } => Failure::Foreign,
            Self::Apply { transient, .. } => Failure::Apply {
                transient: *transient,
            },
            Self::Timeout(_) => Failure::Timeout,
            Self::Panicked { .. } => Failure::Panicked,
            Self::Prune(_) => Failure::EmptyRender,
            Self::Confined(_) => Failure::Confined,
            Self::ServiceAccountMissing { .. } => Failure::ServiceAccountMissing,
        }
    }

    /// Whether retrying could help (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        self.failure().class()
    }

    /// The condition reason this failure is shown with.
    pub fn reason(&self) -> &'static str {
        self.failure().reason()
    }

    /// A short, stable label for metrics (`controller_runtime_reconcile_errors_total`).
    pub fn metric_label(&self) -> &'static str {
        self.failure().metric_label()
    }
}

/// API errors: the server or the network may recover (5xx, 429, 409 conflicts, a kind
/// not yet served, timeouts); a refusal of what we sent will not.
pub fn kube_class(e: &kube::Error) -> ErrorClass {
    match e {
        kube::Error::Api(s) => status_class(s.code),
        _ => ErrorClass::Transient,
    }
}

/// Repository trouble: an unreachable or failing server may recover; a file that is
/// not there, too large, malformed or behind a bad redirect will not until it changes.
pub fn fetch_class(e: &FetchError) -> ErrorClass {
    match e {
        FetchError::Status { code, .. } if *code == 408 || *code == 429 || *code >= 500 => {
            ErrorClass::Transient
        }
        FetchError::Timeout { .. } | FetchError::Unreachable { .. } | FetchError::Client(_) => {
            ErrorClass::Transient
        }
        _ => ErrorClass::Terminal,
    }
}

/// The class of an API answer's code (the core's rule).
pub use hoist_core::operator::failure::status_class;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classed_by_what_failed() {
        assert_eq!(
            Error::Foreign {
                object: "ConfigMap a/b".into()
            }
            .class(),
            ErrorClass::Terminal
        );
        assert_eq!(
            Error::Timeout(std::time::Duration::from_secs(1)).class(),
            ErrorClass::Transient
        );
        // A bug is not retried in a loop: the package waits for a change.
        let panicked = Error::Panicked { during: "the pass" };
        assert_eq!(panicked.class(), ErrorClass::Terminal);
        assert_eq!(panicked.reason(), "InternalError");
    }
}
