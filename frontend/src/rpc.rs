//! The dashboard's calls through one code path: each request is encoded with prost,
//! sent as bytes over [`crate::grpc_web`], and each answer decoded here.
//!
//! Guarantees: the wire format is exactly a generated client's (gRPC-web, one
//! length-prefixed protobuf message each way), so the server cannot tell them apart.
//! Caveat: the method path is a string here; every call is exercised by the browser
//! tests, which fail on a wrong one (UNIMPLEMENTED).

use crate::grpc_web::{self, Code, Status};
use hoist_proto::v1 as pb;
use prost::Message;

pub async fn get_package_details(
    req: pb::PackageDetailsRequest,
) -> Result<pb::PackageDetails, Status> {
    unary("/hoist.v1.Dashboard/GetPackageDetails", req).await
}

pub async fn install(req: pb::InstallRequest) -> Result<pb::InstallResponse, Status> {
    unary("/hoist.v1.Dashboard/Install", req).await
}

pub async fn get_install(req: pb::PackageKey) -> Result<pb::InstallDetails, Status> {
    unary("/hoist.v1.Dashboard/GetInstall", req).await
}

pub async fn act(req: pb::ActRequest) -> Result<pb::ActResponse, Status> {
    unary("/hoist.v1.Dashboard/Act", req).await
}

pub async fn remove_cluster(req: pb::RemoveClusterRequest) -> Result<pb::ActResponse, Status> {
    unary("/hoist.v1.Dashboard/RemoveCluster", req).await
}

pub async fn configure(req: pb::ConfigureRequest) -> Result<pb::ActResponse, Status> {
    unary("/hoist.v1.Dashboard/Configure", req).await
}

pub async fn open(req: pb::OpenRequest) -> Result<pb::OpenResponse, Status> {
    unary("/hoist.v1.Dashboard/Open", req).await
}

pub async fn list_value_sources(req: pb::ValueSourcesRequest) -> Result<pb::ValueSources, Status> {
    unary("/hoist.v1.Dashboard/ListValueSources", req).await
}

pub async fn preview(req: pb::PreviewRequest) -> Result<pb::Plan, Status> {
    unary("/hoist.v1.Dashboard/Preview", req).await
}

pub async fn refresh(req: pb::RefreshRequest) -> Result<pb::RefreshResponse, Status> {
    unary("/hoist.v1.Dashboard/Refresh", req).await
}

/// The Watch stream (see `hoist.v1.Dashboard/Watch`).
pub async fn watch(req: pb::WatchRequest) -> Result<Watch, Status> {
    let s = grpc_web::streaming("/hoist.v1.Dashboard/Watch", &req.encode_to_vec()).await?;
    Ok(Watch(s))
}

/// An open Watch stream.
pub struct Watch(grpc_web::Streaming);

impl Watch {
    /// The next event; `None` when the server ended the stream.
    pub async fn message(&mut self) -> Result<Option<pb::WatchEvent>, Status> {
        match self.0.message().await? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }
}

fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, Status> {
    M::decode(bytes)
        .map_err(|e| Status::new(Code::Internal, format!("cannot decode the answer: {e}")))
}

async fn unary<Resp: Message + Default>(
    path: &'static str,
    req: impl Message,
) -> Result<Resp, Status> {
    decode(&grpc_web::unary(path, &req.encode_to_vec()).await?)
}
