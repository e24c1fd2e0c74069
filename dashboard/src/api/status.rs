//! How the handlers say what happened, in one place: the errors of the install paths
//! and of the API server as gRPC statuses (the same code for the same refusal, whichever
//! call met it), and the readiness gate as the protocol's `Status` message.

use crate::cache::hub::Hub;
use hoist_kube::reflector::readiness::{self, Phase};
use hoist_proto::v1 as pb;
use tonic::{Code, Status};

/// The API server's refusal as a gRPC status: 404 NOT_FOUND, 403 PERMISSION_DENIED,
/// 409 ABORTED, 400/422 INVALID_ARGUMENT, anything else UNAVAILABLE.
pub fn api_error(e: kube::Error) -> Status {
    match &e {
        kube::Error::Api(s) if s.code == 404 => Status::not_found(e.to_string()),
        kube::Error::Api(s) if s.code == 403 => Status::permission_denied(e.to_string()),
        kube::Error::Api(s) if s.code == 409 => Status::aborted(e.to_string()),
        kube::Error::Api(s) if s.code == 400 || s.code == 422 => {
            Status::invalid_argument(e.to_string())
        }
        _ => Status::unavailable(e.to_string()),
    }
}

/// The gRPC status for a refused install (see the proto for the contract).
pub fn install_status(e: hoist_kube::install::InstallError) -> Status {
    use hoist_kube::install::InstallError as E;
    let code = match &e {
        E::Resolve(r) if r.is_not_found() => Code::NotFound,
        E::Resolve(_) => Code::Unavailable,
        E::Plan(_) => Code::InvalidArgument,
        E::MissingNamespace(_) => Code::FailedPrecondition,
        E::AlreadyExists(_) => Code::AlreadyExists,
        E::Api(kube::Error::Api(s)) if s.code == 403 => Code::PermissionDenied,
        E::Api(kube::Error::Api(s)) if s.code == 400 || s.code == 422 => Code::InvalidArgument,
        E::Api(_) => Code::Unavailable,
    };
    Status::new(code, e.to_string())
}

/// The gRPC status for a refused upgrade.
pub fn upgrade_status(e: hoist_kube::upgrade::UpgradeError) -> Status {
    use hoist_kube::upgrade::UpgradeError as E;
    match &e {
        E::NotInstalled(_) => Status::not_found(e.to_string()),
        E::Resolve(r) if r.is_not_found() => Status::not_found(e.to_string()),
        E::Resolve(_) => Status::unavailable(e.to_string()),
        E::Rule(_) => Status::invalid_argument(e.to_string()),
        E::Conflict(_) => Status::aborted(e.to_string()),
        E::Api(_) => Status::unavailable(e.to_string()),
    }
}

/// The gRPC status for a refused configure.
pub fn configure_status(e: hoist_kube::configure::ConfigureError) -> Status {
    use hoist_kube::configure::ConfigureError as E;
    match &e {
        E::NotInstalled(_) => Status::not_found(e.to_string()),
        E::Resolve(r) if r.is_not_found() => Status::not_found(e.to_string()),
        E::Resolve(_) => Status::unavailable(e.to_string()),
        E::SetAndUnset { .. } | E::NotSet { .. } | E::Unreadable(_) | E::Plan(_) => {
            Status::invalid_argument(e.to_string())
        }
        E::Conflict(_) => Status::aborted(e.to_string()),
        E::Api(kube::Error::Api(s)) if s.code == 403 => Status::permission_denied(e.to_string()),
        E::Api(_) => Status::unavailable(e.to_string()),
    }
}

fn phase(p: Phase) -> pb::Phase {
    match p {
        Phase::Connecting => pb::Phase::Connecting,
        Phase::Syncing => pb::Phase::Syncing,
        Phase::Ready => pb::Phase::Ready,
        Phase::Degraded => pb::Phase::Degraded,
    }
}

/// The protocol's view of the gate.
pub fn status_message(s: &readiness::Status, hub: &Hub) -> pb::Status {
    pb::Status {
        phase: phase(s.phase) as i32,
        kinds: s
            .kinds
            .iter()
            .map(|(name, k)| pb::KindProgress {
                kind: name.to_string(),
                objects_loaded: k.loaded,
                objects_total: k.total,
                pages_loaded: k.pages,
                synced: k.synced,
                elapsed_ms: k
                    .sync_time
                    .unwrap_or_else(|| k.started.elapsed())
                    .as_millis() as u64,
                last_error: k.last_error.clone().unwrap_or_default(),
                last_event_unix_ms: k.last_event_unix_ms,
            })
            .collect(),
        instance_id: hub.instance_id().to_string(),
        revision: hub.revision(),
        phase_since_unix_ms: s.phase_since_unix_ms,
        message: s.message.clone(),
    }
}
