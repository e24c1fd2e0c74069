//! The `hoist.v1.Dashboard` service.
//!
//! `Watch` streams are in [`super::watch`]; the unary reads answer from the caches and
//! the live catalogue, never from the API server, but for the install page's
//! GetInstall and the value pickers' ListValueSources ([`super::sources`]), which ask
//! it when called. `Install` is the one write: it goes
//! through [`hoist_kube::install`] to the API server, and its result comes back to every
//! page on the package stream.

use super::status::install_status;
use crate::cache::hub::{Hub, Key};
use crate::metrics::Metrics;
use hoist_kube::reflector::readiness::Gate;
use hoist_proto::v1 as pb;
use hoist_proto::v1::dashboard_server::Dashboard;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

#[derive(Clone)]
pub struct DashboardService {
    pub gate: Arc<Gate>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub repositories: Arc<hoist_kube::repo::clientset::Clientset>,
    pub catalogue: Arc<hoist_kube::repo::live::LiveCatalogue>,
    /// For writes only (installs): reads come from the caches.
    pub client: kube::Client,
    pub shutdown: watch::Receiver<bool>,
    /// The RetryInfo delay unary reads suggest while the caches sync.
    pub retry_after: Duration,
    /// The fleet's message, rebuilt on every change ([`crate::cache::fleet::publish`]).
    pub fleet: watch::Receiver<Option<Arc<pb::Fleet>>>,
    pub fleet_view: Arc<crate::cache::fleet::FleetView>,
    /// Hoist's namespace, where member Clusters live.
    pub namespace: String,
    /// The entrypoints forwarded from the dashboard ([`super::open`]).
    pub forwards: Arc<super::open::Forwards>,
}

impl DashboardService {
    fn require_serving(&self) -> Result<(), Status> {
        if self.gate.is_serving() {
            return Ok(());
        }
        let s = self.gate.status();
        let details = ErrorDetails::with_retry_info(Some(self.retry_after));
        Err(Status::with_error_details(
            Code::Unavailable,
            format!("caches are not ready yet ({:?}: {})", s.phase, s.message),
            details,
        ))
    }
}

impl DashboardService {
    /// The live catalogue, loaded from every repository known now.
    async fn loaded_catalogue(&self) -> Arc<hoist_kube::repo::catalogue::Catalogue> {
        self.catalogue.up_to_date(&self.repositories).await
    }
}

#[tonic::async_trait]
impl Dashboard for DashboardService {
    type WatchStream = super::watch::EventStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Ok(Response::new(super::watch::stream(
            self.clone(),
            request.into_inner(),
        )))
    }

    async fn list_packages(
        &self,
        _: Request<pb::ListPackagesRequest>,
    ) -> Result<Response<pb::ListPackagesResponse>, Status> {
        self.require_serving()?;
        let snap = self.hub.snapshot();
        Ok(Response::new(pb::ListPackagesResponse {
            revision: snap.revision,
            packages: snap.packages,
        }))
    }

    async fn get_package(
        &self,
        request: Request<pb::PackageKey>,
    ) -> Result<Response<pb::Package>, Status> {
        self.require_serving()?;
        let k = request.into_inner();
        let key: Key = crate::cache::hub::key_of(&k);
        self.hub.get(&key).map(Response::new).ok_or_else(|| {
            Status::not_found(format!(
                "package {:?} not found",
                if k.namespace.is_empty() {
                    k.name
                } else {
                    format!("{}/{}", k.namespace, k.name)
                }
            ))
        })
    }

    async fn list_repositories(
        &self,
        _: Request<pb::ListRepositoriesRequest>,
    ) -> Result<Response<pb::ListRepositoriesResponse>, Status> {
        self.require_serving()?;
        let catalogue = self.loaded_catalogue().await;
        let repositories = catalogue
            .repositories
            .iter()
            .map(super::catalogue::repository)
            .collect();
        Ok(Response::new(pb::ListRepositoriesResponse { repositories }))
    }

    async fn get_package_details(
        &self,
        request: Request<pb::PackageDetailsRequest>,
    ) -> Result<Response<pb::PackageDetails>, Status> {
        self.require_serving()?;
        let req = request.into_inner();
        let catalogue = self.loaded_catalogue().await;
        let resolved = hoist_kube::repo::resolve::resolve(
            &self.repositories,
            &catalogue,
            &req.name,
            Some(req.repository.as_str()),
            Some(req.version.as_str()),
            hoist_kube::repo::fetch::Freshness::Cached,
        )
        .await
        .map_err(|e| {
            self.metrics.resolve_error(e.metric_label());
            if e.is_not_found() {
                Status::not_found(e.to_string())
            } else {
                Status::unavailable(e.to_string())
            }
        })?;
        let installed = self.hub.installed(&resolved.name);
        let conformance = hoist_kube::repo::resolve::conformance(
            &self.repositories,
            &resolved,
            hoist_kube::repo::fetch::Freshness::Cached,
        )
        .await;
        Ok(Response::new(super::catalogue::details(
            &resolved,
            installed,
            conformance,
        )))
    }

    async fn get_install(
        &self,
        request: Request<pb::PackageKey>,
    ) -> Result<Response<pb::InstallDetails>, Status> {
        self.require_serving()?;
        let key = request.into_inner();
        let cached = self.hub.get(&crate::cache::hub::key_of(&key));
        super::installs::details(
            &self.client,
            &self.repositories,
            &self.forwards,
            cached,
            &key,
        )
        .await
        .map(Response::new)
    }

    async fn act(
        &self,
        request: Request<pb::ActRequest>,
    ) -> Result<Response<pb::ActResponse>, Status> {
        self.require_serving()?;
        let req = request.into_inner();
        let catalogue = self.loaded_catalogue().await;
        let result = super::installs::act(&self.client, &self.repositories, &catalogue, req).await;
        self.metrics.install(match &result {
            Ok(_) => "acted",
            Err(_) => "act_refused",
        });
        let message = result?;
        tracing::info!(%message, "action from the dashboard");
        Ok(Response::new(pb::ActResponse { message }))
    }

    async fn configure(
        &self,
        request: Request<pb::ConfigureRequest>,
    ) -> Result<Response<pb::ActResponse>, Status> {
        self.require_serving()?;
        let catalogue = self.loaded_catalogue().await;
        let result = super::installs::configure(
            &self.client,
            &self.repositories,
            &catalogue,
            request.into_inner(),
        )
        .await;
        self.metrics.install(match &result {
            Ok(_) => "configured",
            Err(_) => "configure_refused",
        });
        let message = result?;
        tracing::info!(%message, "configure from the dashboard");
        Ok(Response::new(pb::ActResponse { message }))
    }

    async fn remove_cluster(
        &self,
        request: Request<pb::RemoveClusterRequest>,
    ) -> Result<Response<pb::ActResponse>, Status> {
        self.require_serving()?;
        let req = request.into_inner();
        let message =
            super::fleet::remove(&self.client, &self.fleet_view, &self.namespace, req).await?;
        Ok(Response::new(pb::ActResponse { message }))
    }

    async fn preview(
        &self,
        request: Request<pb::PreviewRequest>,
    ) -> Result<Response<pb::Plan>, Status> {
        self.require_serving()?;
        let catalogue = self.loaded_catalogue().await;
        let reads = super::cached_reads::Cached {
            hub: self.hub.clone(),
            client: self.client.clone(),
        };
        super::installs::preview(
            &self.client,
            self.repositories.clone(),
            &catalogue,
            &reads,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn install(
        &self,
        request: Request<pb::InstallRequest>,
    ) -> Result<Response<pb::InstallResponse>, Status> {
        self.require_serving()?;
        let req = request.into_inner();
        let opt = |s: String| (!s.is_empty()).then_some(s);
        let install = hoist_kube::install::InstallRequest {
            package: req.package,
            version: opt(req.version),
            repository: opt(req.repository),
            name: opt(req.name),
            namespace: opt(req.namespace),
            values: req.values.into_iter().map(|s| (s.key, s.value)).collect(),
            references: super::installs::references(req.references)?,
            auto_update: req.auto_update,
        };
        let catalogue = self.loaded_catalogue().await;
        let result =
            hoist_kube::install::install(&self.client, &self.repositories, &catalogue, &install)
                .await;
        self.metrics.install(match &result {
            Ok(_) => "created",
            Err(e) => e.metric_label(),
        });
        let installed = result.map_err(install_status)?;
        tracing::info!(package = %installed.package, version = %installed.version, resource = %installed.target, "install requested from the dashboard");
        let scope = match installed.target.namespace {
            None => pb::Scope::Cluster,
            Some(_) => pb::Scope::Namespaced,
        };
        Ok(Response::new(pb::InstallResponse {
            message: installed.to_string(),
            installed: Some(pb::PackageKey {
                scope: scope as i32,
                namespace: installed.target.namespace_or_empty().to_string(),
                name: installed.target.name.clone(),
            }),
            version: installed.version,
            repository: installed.repository,
        }))
    }

    async fn open(
        &self,
        request: Request<pb::OpenRequest>,
    ) -> Result<Response<pb::OpenResponse>, Status> {
        self.require_serving()?;
        let catalogue = self.loaded_catalogue().await;
        self.forwards
            .open(
                &self.client,
                &self.repositories,
                &catalogue,
                request.into_inner(),
            )
            .await
            .map(Response::new)
    }

    /// Asked of the API server, not the caches: see [`super::sources`].
    async fn list_value_sources(
        &self,
        request: Request<pb::ValueSourcesRequest>,
    ) -> Result<Response<pb::ValueSources>, Status> {
        self.require_serving()?;
        super::sources::list(&self.client, &request.into_inner())
            .await
            .map(Response::new)
    }

    /// Revalidates the repositories (coalesced, see [`LiveCatalogue::refresh`]) and, on
    /// request, clears their caches. Open streams are not touched: the caller reopens
    /// its own stream for a fresh snapshot, so one page's Refresh never costs another
    /// page anything.
    ///
    /// [`LiveCatalogue::refresh`]: hoist_kube::repo::live::LiveCatalogue::refresh
    async fn refresh(
        &self,
        request: Request<pb::RefreshRequest>,
    ) -> Result<Response<pb::RefreshResponse>, Status> {
        let clear = request.into_inner().clear_repository_cache;
        if clear {
            let removed = self.repositories.clear_all().await.map_err(|e| {
                Status::internal(format!("cannot clear the repository cache on disk: {e}"))
            })?;
            tracing::info!(files = removed, "repository cache cleared");
        }
        self.catalogue.refresh(&self.repositories, clear);
        Ok(Response::new(pb::RefreshResponse {
            revision: self.hub.revision(),
        }))
    }
}
