//! Authentication and authorization in the request path, when devcluster is started
//! with [`crate::AuthOptions`]: who is asking ([`super::authn`]), and whether RBAC lets
//! them ([`super::rbac`], over the Roles and bindings in the store).
//!
//! # Guarantees
//! - Every request but those answered before routing is authenticated: a bad or
//!   expired token is a 401 with the API server's body, no token is `system:anonymous`
//!   when allowed, else a 401.
//! - A request is authorized as kube-apiserver authorizes it, before the registry is
//!   asked whether the resource exists (so a refused user learns nothing of what is
//!   served); a refusal is a 403 with the API server's text.
//! - The authorizer is a snapshot of the RBAC objects, rebuilt only when one of them
//!   changed: a request costs one atomic load, whatever else was written, and takes
//!   the store's lock only to look its ServiceAccount up.
//!
//! # Caveats
//! - Escalation checks ([`crate::verbs::Ctx`]'s admission), impersonation
//!   ([`super::impersonate`]) and the review APIs ([`super::review`]) use this gate;
//!   they are wired in the request path by [`crate::server`].
//! - client-go (kubectl, controller-runtime) sends no credentials over plain HTTP
//!   (kubernetes/kubectl#744), so with this gate on devcluster serves HTTPS with a CA
//!   of its own, which the kubeconfig carries ([`super::tls`]).

use super::authn::{self, Authenticator, AuthnError, ServiceAccountState};
use super::rbac::{Attributes, Authorizer, UserInfo, forbidden_status};
use crate::resources::StoreKey;
use crate::store::Store;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The RBAC kinds the authorizer reads.
const RBAC_KINDS: [&str; 4] = [
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
];
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The authenticator and the authorizer's snapshot.
pub struct Gate {
    authn: Authenticator,
    snapshot: Mutex<Snapshot>,
}

#[derive(Default)]
struct Snapshot {
    /// [`Store::rbac_changes`] when the authorizer was built.
    built_at: u64,
    authorizer: Option<Arc<Authorizer>>,
    /// The authorizer's decisions so far, by [`decision_key`]: a pure function of the
    /// snapshot and the request, so exact until the snapshot is rebuilt, when it is
    /// emptied. At most [`DECISIONS_KEPT`].
    decisions: HashMap<String, Result<(), String>>,
}

/// Decisions remembered per snapshot; when full, it starts again empty.
const DECISIONS_KEPT: usize = 4096;

/// What RBAC reads of a request, as one string: the user's name and groups (not its
/// uid or extras, which no rule can name), the verb, and the resource or path.
fn decision_key(a: &Attributes) -> String {
    let mut key = String::with_capacity(160);
    for part in [
        a.user.name.as_str(),
        &a.verb,
        &a.namespace,
        &a.api_group,
        &a.resource,
        &a.subresource,
        &a.name,
        &a.path,
        if a.resource_request { "r" } else { "n" },
    ] {
        key.push_str(part);
        key.push('\0');
    }
    for g in &a.user.groups {
        key.push_str(g);
        key.push('\0');
    }
    key
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

impl Gate {
    pub fn new(authn: Authenticator) -> Self {
        Self {
            authn,
            snapshot: Mutex::new(Snapshot::default()),
        }
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.authn
    }

    /// Who sent a request with this `Authorization` header.
    pub fn authenticate(
        &self,
        store: &Store,
        authorization: Option<&str>,
    ) -> Result<UserInfo, AuthnError> {
        let lookup = |ns: &str, name: &str| service_account(store, ns, name);
        self.authn.authenticate(authorization, &lookup)
    }

    /// Whether RBAC allows `attrs`; the 403 body when it does not.
    ///
    /// Guarantees: the decision of [`Authorizer::authorize`] over the RBAC objects as
    /// they are now; a request the current snapshot already decided costs a hash lookup.
    pub fn authorize(&self, store: &Store, attrs: &Attributes) -> Result<(), Value> {
        if attrs.user.is_master() {
            return Ok(());
        }
        let key = decision_key(attrs);
        let (authorizer, built_at) = {
            let snap = self.current(store);
            if let Some(decided) = snap.decisions.get(&key) {
                return decided
                    .clone()
                    .map_err(|reason| forbidden_status(attrs, &reason));
            }
            (snap.authorizer.clone(), snap.built_at)
        };
        let decided = match &authorizer {
            Some(a) => a.allows(attrs),
            None => Err(String::new()),
        };
        {
            let mut snap = self.lock_snapshot();
            if snap.built_at == built_at {
                if snap.decisions.len() >= DECISIONS_KEPT {
                    snap.decisions.clear();
                }
                snap.decisions.insert(key, decided.clone());
            }
        }
        decided.map_err(|reason| forbidden_status(attrs, &reason))
    }

    /// The authorizer over the store's RBAC objects as they are now.
    ///
    /// Guarantees: rebuilt only when a Role, ClusterRole or binding changed since the
    /// last build; otherwise one atomic load, without the store's lock.
    pub fn authorizer(&self, store: &Store) -> Arc<Authorizer> {
        let snap = self.current(store);
        snap.authorizer
            .clone()
            .unwrap_or_else(|| Arc::new(Authorizer::default()))
    }

    fn lock_snapshot(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        self.snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The snapshot, rebuilt first when an RBAC object changed since it was built.
    fn current(&self, store: &Store) -> std::sync::MutexGuard<'_, Snapshot> {
        let mut snap = self.lock_snapshot();
        let now = store.rbac_changes();
        if snap.authorizer.is_some() && snap.built_at == now {
            return snap;
        }
        let objects: Vec<_> = {
            let state = store.lock();
            RBAC_KINDS
                .iter()
                .flat_map(|plural| {
                    state.objects_of(&StoreKey {
                        group: RBAC_GROUP.into(),
                        plural: (*plural).into(),
                    })
                })
                .collect()
        };
        snap.authorizer = Some(Arc::new(Authorizer::from_objects(
            objects.iter().map(|o| &**o),
        )));
        snap.built_at = now;
        snap.decisions.clear();
        snap
    }
}

/// The ServiceAccounts' kind in the store.
static SERVICE_ACCOUNTS: std::sync::LazyLock<StoreKey> = std::sync::LazyLock::new(|| StoreKey {
    group: String::new(),
    plural: "serviceaccounts".into(),
});

/// The ServiceAccount `ns/name` as the authenticator checks it (its uid), if it exists.
/// One short look under the store's lock, no copy of the object.
pub fn service_account(store: &Store, ns: &str, name: &str) -> Option<ServiceAccountState> {
    let state = store.lock();
    let uid = state.with_object(&SERVICE_ACCOUNTS, ns, name, |sa| {
        sa.pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(str::to_string)
    })??;
    Some(ServiceAccountState { uid })
}

/// The 401 answer.
pub fn unauthorized(e: &AuthnError) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::UNAUTHORIZED,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        e.status_body(),
    )
        .into_response()
}

/// The bootstrap roles and bindings, created where absent (a cluster's start).
pub fn seed(store: &Store) -> Result<(), crate::error::ApiError> {
    let mut state = store.lock();
    for obj in super::bootstrap::objects() {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let plural = match kind {
            "ClusterRole" => "clusterroles",
            "ClusterRoleBinding" => "clusterrolebindings",
            "Role" => "roles",
            "RoleBinding" => "rolebindings",
            _ => continue,
        };
        let Some(rt) = state.registry.get(RBAC_GROUP, "v1", plural).cloned() else {
            continue;
        };
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if state.get(&rt, &ns, &name).is_ok() {
            continue;
        }
        state.create(&rt, &ns, obj)?;
    }
    Ok(())
}

/// The admin identity's name, for the dev endpoints' check.
pub const ADMIN: &str = authn::ADMIN_USER;
