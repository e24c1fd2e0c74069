//! ClusterPackage and Package, as one thing to reconcile: the same spec and status,
//! told apart by where their objects go ([`Owner`]) and how their API is reached.

use hoist_core::operator::placement::Owner;
use hoist_kube::types::{ClusterPackage, Package, PackageSpec, PackageStatus};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What the reconciler needs of either kind.
pub trait Installable:
    Resource<DynamicType = ()>
    + Clone
    + Serialize
    + DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// `ClusterPackage` or `Package`, for messages and metrics.
    const KIND: &'static str;
    fn spec(&self) -> &PackageSpec;
    fn status(&self) -> Option<&PackageStatus>;
    /// Replaces the status (of a copy the reconciler reads; never written as such).
    fn set_status(&mut self, status: PackageStatus);
    /// Who owns what the package applies; `default_namespace` is package.yaml's.
    fn owner(&self, default_namespace: Option<String>) -> Owner;
    /// The API for this object (namespaced for a Package).
    fn api(&self, client: &Client) -> Api<Self>;
    /// The ServiceAccount the spec names for the package's writes (Packages only).
    fn service_account(&self) -> Option<&str> {
        None
    }
    /// `team-a/web` or `web`.
    fn describe(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{ns}/{}", self.name_any()),
            None => self.name_any(),
        }
    }
}

impl Installable for ClusterPackage {
    const KIND: &'static str = "ClusterPackage";
    fn spec(&self) -> &PackageSpec {
        &self.spec
    }
    fn status(&self) -> Option<&PackageStatus> {
        self.status.as_ref()
    }
    fn set_status(&mut self, status: PackageStatus) {
        self.status = Some(status);
    }
    fn owner(&self, default_namespace: Option<String>) -> Owner {
        Owner::Cluster {
            name: self.name_any(),
            default_namespace,
        }
    }
    fn api(&self, client: &Client) -> Api<Self> {
        Api::all(client.clone())
    }
}

impl Installable for Package {
    const KIND: &'static str = "Package";
    fn spec(&self) -> &PackageSpec {
        &self.spec.spec
    }
    fn status(&self) -> Option<&PackageStatus> {
        self.status.as_ref()
    }
    fn set_status(&mut self, status: PackageStatus) {
        self.status = Some(status);
    }
    fn service_account(&self) -> Option<&str> {
        self.spec.service_account_name.as_deref()
    }
    fn owner(&self, _default_namespace: Option<String>) -> Owner {
        Owner::Namespaced {
            name: self.name_any(),
            namespace: self.namespace().unwrap_or_default(),
        }
    }
    fn api(&self, client: &Client) -> Api<Self> {
        Api::namespaced(client.clone(), &self.namespace().unwrap_or_default())
    }
}
