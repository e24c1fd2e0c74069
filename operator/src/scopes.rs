//! Which kinds the cluster serves, and how: the API resource to talk to and whether it
//! is namespaced. Read from discovery at start, and again when a kind is missing (a CRD
//! the package just applied), at most once per [`MIN_REFRESH`], so a package naming a
//! kind that never comes does not turn into a discovery storm.

use kube::Client;
use kube::discovery::{ApiResource, Discovery, Scope};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// The shortest time between two discovery runs.
pub const MIN_REFRESH: Duration = Duration::from_secs(2);

/// How to reach one kind.
#[derive(Debug, Clone)]
pub struct Kind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

#[derive(Default)]
struct Known {
    /// By (group, version, kind).
    exact: HashMap<(String, String, String), Kind>,
    /// By (group, kind): namespaced or not, whatever the version.
    scope: HashMap<(String, String), bool>,
    /// Every namespaced kind that can be listed, at its preferred version.
    namespaced_lists: Vec<ApiResource>,
    refreshed: Option<Instant>,
}

pub struct Scopes {
    client: Client,
    known: RwLock<Known>,
    refreshing: tokio::sync::Mutex<()>,
}

impl Scopes {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            known: RwLock::new(Known::default()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.known.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `(group, kind)` is namespaced; `None` when not served (as last seen).
    pub fn namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        self.read()
            .scope
            .get(&(group.to_string(), kind.to_string()))
            .copied()
    }

    /// How to reach `group/version` `kind`, refreshing discovery once if it is not known
    /// (and the last refresh is older than [`MIN_REFRESH`]).
    pub async fn resolve(
        &self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<Option<Kind>, kube::Error> {
        let key = (group.to_string(), version.to_string(), kind.to_string());
        if let Some(k) = self.read().exact.get(&key) {
            return Ok(Some(k.clone()));
        }
        self.refresh(false).await?;
        Ok(self.read().exact.get(&key).cloned())
    }

    /// Every namespaced kind the cluster serves that can be listed (as last seen).
    pub fn namespaced_lists(&self) -> Vec<ApiResource> {
        self.read().namespaced_lists.clone()
    }

    /// Runs discovery again (unless `force` is false and it ran within
    /// [`MIN_REFRESH`]); concurrent callers share one run.
    pub async fn refresh(&self, force: bool) -> Result<(), kube::Error> {
        let started = Instant::now();
        let _one = self.refreshing.lock().await;
        if let Some(at) = self.read().refreshed
            && (at >= started || (!force && at.elapsed() < MIN_REFRESH))
        {
            return Ok(());
        }
        let discovery = Discovery::new(self.client.clone()).run().await?;
        let mut known = Known {
            refreshed: Some(Instant::now()),
            ..Known::default()
        };
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                if caps.scope == Scope::Namespaced
                    && caps.supports_operation(kube::discovery::verbs::LIST)
                {
                    known.namespaced_lists.push(ar);
                }
            }
            for version in group.versions() {
                for (ar, caps) in group.versioned_resources(version) {
                    let namespaced = caps.scope == Scope::Namespaced;
                    known
                        .scope
                        .insert((ar.group.clone(), ar.kind.clone()), namespaced);
                    known.exact.insert(
                        (ar.group.clone(), ar.version.clone(), ar.kind.clone()),
                        Kind {
                            resource: ar,
                            namespaced,
                        },
                    );
                }
            }
        }
        *self.known.write().unwrap_or_else(|p| p.into_inner()) = known;
        Ok(())
    }
}
