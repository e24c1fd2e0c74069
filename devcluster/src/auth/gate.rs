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
//! - Escalation checks on Role and binding writes, impersonation and the review APIs
//!   are not wired yet (issue 19).
//! - client-go (kubectl, controller-runtime) sends no credentials over plain HTTP
//!   (kubernetes/kubectl#744), so with this gate on devcluster serves HTTPS with a CA
//!   of its own, which the kubeconfig carries ([`super::tls`]).

use super::authn::{self, Authenticator, AuthnError, ServiceAccountState};
use super::rbac::{Attributes, Authorizer, UserInfo, forbidden_status};
use crate::resources::StoreKey;
use crate::store::Store;
use serde_json::Value;
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
    pub fn authorize(&self, store: &Store, attrs: &Attributes) -> Result<(), Value> {
        if attrs.user.is_master() {
            return Ok(());
        }
        self.authorizer(store)
            .allows(attrs)
            .map_err(|reason| forbidden_status(attrs, &reason))
    }

    /// The authorizer over the store's RBAC objects as they are now.
    ///
    /// Guarantees: rebuilt only when a Role, ClusterRole or binding changed since the
    /// last build; otherwise one atomic load, without the store's lock.
    pub fn authorizer(&self, store: &Store) -> Arc<Authorizer> {
        let mut snap = self
            .snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = store.rbac_changes();
        if let Some(a) = &snap.authorizer
            && snap.built_at == now
        {
            return a.clone();
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
        let authorizer = Arc::new(Authorizer::from_objects(objects.iter().map(|o| &**o)));
        snap.built_at = now;
        snap.authorizer = Some(authorizer.clone());
        authorizer
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
