//! Who the operator is when it writes for a package: for a tenant's `Package`, a
//! ServiceAccount of the Package's namespace (impersonated); for an admin's
//! `ClusterPackage`, the operator itself. Flux's multi-tenancy lockdown is the anchor
//! (`--default-service-account`); decision 0028.
//!
//! Guarantees:
//! - Every request made through [`Identities::client`] for [`Acting::ServiceAccount`]
//!   carries `Impersonate-User: system:serviceaccount:NS:NAME` and nothing the caller
//!   chose besides (any `Impersonate-*` header already on the request is replaced), so
//!   the API server authorizes it as that account: RBAC, not Hoist, decides what a
//!   tenant's package may write. The operator's own account needs only `impersonate`
//!   on `serviceaccounts` (deploy/operator.yaml).
//! - Impersonating clients share the operator's connection pool (the header is added in
//!   front of the operator's own [`Client`]); at most [`MAX_CLIENTS`] are kept, so
//!   tenants cannot grow the operator's memory by naming accounts.
//! - A ServiceAccount that does not exist is [`Error::ServiceAccountMissing`] before
//!   the first write of a pass (the API server itself would accept the impersonation
//!   and authorize the name by its bindings alone). That an account exists is
//!   remembered for [`VERIFIED_FOR`], so a steady stream of installs costs one read a
//!   minute per account, and a pass with nothing to write costs none.
//!
//! Caveat: without `--default-service-account` and without `spec.serviceAccountName` a
//! Package is written with the operator's identity, as before this module; the
//! operator warns at start that tenants are then confined only by Hoist's own rules
//! (`hoist_core::operator::confinement`).

use crate::error::Error;
use http::HeaderValue;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Client;
use kube::api::Api;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most impersonating clients kept at once (one per account in use).
pub const MAX_CLIENTS: usize = 1024;

/// How long an account once seen is trusted to exist without reading it again.
pub const VERIFIED_FOR: Duration = Duration::from_secs(60);

/// Whose rights a write is made with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Acting {
    /// The operator's own account (ClusterPackages; Packages when nothing is set).
    Operator,
    /// A ServiceAccount of the package's namespace.
    ServiceAccount { namespace: String, name: String },
}

impl Acting {
    /// Who writes for a package in `namespace` (`None`: a ClusterPackage) that names
    /// `spec_account`, given the operator's `default_account`.
    pub fn for_package(
        namespace: Option<&str>,
        spec_account: Option<&str>,
        default_account: Option<&str>,
    ) -> Self {
        match (namespace, spec_account.or(default_account)) {
            (Some(ns), Some(name)) if !name.is_empty() => Self::ServiceAccount {
                namespace: ns.to_string(),
                name: name.to_string(),
            },
            _ => Self::Operator,
        }
    }

    /// The user name the API server sees (`system:serviceaccount:team-a:deployer`).
    pub fn username(&self) -> Option<String> {
        match self {
            Self::Operator => None,
            Self::ServiceAccount { namespace, name } => {
                Some(format!("system:serviceaccount:{namespace}:{name}"))
            }
        }
    }
}

/// The operator's identities: its own client and one impersonating client per account.
pub struct Identities {
    base: Client,
    clients: Mutex<HashMap<Acting, Client>>,
    verified: Mutex<HashMap<Acting, Instant>>,
}

impl Identities {
    pub fn new(base: Client) -> Self {
        Self {
            base,
            clients: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The client that writes as `acting`.
    ///
    /// Caveat: must be called within a Tokio runtime (a new client starts its buffer task).
    pub fn client(&self, acting: &Acting) -> Client {
        let Some(user) = acting.username() else {
            return self.base.clone();
        };
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(acting) {
            return c.clone();
        }
        if clients.len() >= MAX_CLIENTS {
            // Rebuilt on next use; each is a header in front of the shared pool.
            clients.clear();
        }
        let client = impersonating(self.base.clone(), &user);
        clients.insert(acting.clone(), client.clone());
        client
    }

    /// Checks that `acting`'s account exists (read with the operator's identity), at
    /// most once per [`VERIFIED_FOR`].
    pub async fn verify(&self, acting: &Acting) -> Result<(), Error> {
        let Acting::ServiceAccount { namespace, name } = acting else {
            return Ok(());
        };
        let fresh = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(acting)
            .is_some_and(|at| at.elapsed() < VERIFIED_FOR);
        if fresh {
            return Ok(());
        }
        let api: Api<ServiceAccount> = Api::namespaced(self.base.clone(), namespace);
        match api.get_metadata_opt(name).await? {
            Some(_) => {
                let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                if verified.len() >= MAX_CLIENTS {
                    verified.clear();
                }
                verified.insert(acting.clone(), Instant::now());
                Ok(())
            }
            None => Err(Error::ServiceAccountMissing {
                namespace: namespace.clone(),
                name: name.clone(),
            }),
        }
    }

    /// Forgets that `acting`'s account was seen (after the API server refused a write
    /// made as it, so the next pass reads it again).
    pub fn forget(&self, acting: &Acting) {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(acting);
    }
}

/// A client that sends every request of `base` as `user`.
fn impersonating(base: Client, user: &str) -> Client {
    let namespace = base.default_namespace().to_string();
    let header = HeaderValue::from_str(user).ok();
    let service = tower::service_fn(move |mut request: http::Request<kube::client::Body>| {
        let base = base.clone();
        let header = header.clone();
        async move {
            let headers = request.headers_mut();
            let stale: Vec<http::HeaderName> = headers
                .keys()
                .filter(|k| k.as_str().starts_with("impersonate-"))
                .cloned()
                .collect();
            for k in stale {
                headers.remove(&k);
            }
            match header {
                Some(h) => {
                    headers.insert("impersonate-user", h);
                }
                // A name that is no header value was refused by the CRD schema already;
                // never send such a request as the operator.
                None => return Err(kube::Error::Service("unusable ServiceAccount name".into())),
            }
            base.send(request).await
        }
    });
    Client::new(service, namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_acts_as_its_account_then_the_default_and_a_cluster_package_as_the_operator() {
        let sa = |ns: &str, n: &str| Acting::ServiceAccount {
            namespace: ns.into(),
            name: n.into(),
        };
        assert_eq!(
            Acting::for_package(Some("team-a"), Some("deployer"), Some("default")),
            sa("team-a", "deployer")
        );
        assert_eq!(
            Acting::for_package(Some("team-a"), None, Some("default")),
            sa("team-a", "default")
        );
        assert_eq!(
            Acting::for_package(Some("team-a"), None, None),
            Acting::Operator
        );
        assert_eq!(
            Acting::for_package(None, Some("deployer"), Some("default")),
            Acting::Operator,
            "ClusterPackages are an admin's: the operator's identity"
        );
        assert_eq!(
            sa("team-a", "deployer").username().as_deref(),
            Some("system:serviceaccount:team-a:deployer")
        );
    }
}
