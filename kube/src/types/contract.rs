//! The names, labels, annotations and field managers that Hoist's objects carry: the
//! contract between Hoist's parts (the operator, the fleet, the CLI, the dashboard) and
//! with users' tooling. Every part reads them from here, so no part reaches into
//! another for a string. The labels the operator puts on what it applies are core rules
//! ([`hoist_core::operator::placement`]).

use kube::api::PatchParams;

/// The field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "hoist-operator";

/// Parameters of the operator's merge and JSON patches: written as [`FIELD_MANAGER`],
/// so `managedFields` names the operator, not "unknown".
pub fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    }
}

/// The annotation that marks the default PackageRepository.
pub const DEFAULT_REPOSITORY_ANNOTATION: &str = "packages.hoist.dev/default-repository";

/// Marks an install the operator made for a dependent.
pub const AS_DEPENDENCY: &str = "packages.hoist.dev/installed-as-dependency";

/// Marks a component with its parent (`ClusterPackage platform`, `Package team-a/web`):
/// its version follows the parent's package, never unattended upgrades.
pub const COMPONENT_OF: &str = "packages.hoist.dev/component-of";

/// The annotation that asks for auto-update.
pub const AUTO_UPDATE: &str = "packages.hoist.dev/auto-update";

/// Set (to anything new) to retry a stalled or dead-lettered package (`hoist retry`).
pub const RETRY_ANNOTATION: &str = "packages.hoist.dev/retry";

/// Marks a kubeconfig Secret `hoist cluster add` made (and `remove` may delete).
pub const MADE_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "hoist-cluster-add");
