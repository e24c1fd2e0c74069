//! The dashboard's calls through one code path: each request is encoded with prost,
//! sent as bytes, and each answer decoded here, so tonic's client machinery is compiled
//! once for all of them instead of once per request/response type pair.
//!
//! Why: the generated client instantiates `Grpc::unary::<Req, Resp, ProstCodec<…>>`
//! (with its encode body, decode stream and status handling) per method, ~2 KB gzip
//! each in the web app, whose budget is 200 KB. See
//! docs/decisions/0009-installs-from-the-dashboard.md.
//!
//! Guarantees: the wire format is exactly the generated client's (gRPC-web, one
//! length-prefixed protobuf message each way), so the server cannot tell them apart.
//! Caveat: the method path is a string here; every call is exercised by the browser
//! tests, which fail on a wrong one (UNIMPLEMENTED).

use hoist_proto::v1 as pb;
use prost::Message;
use prost::bytes::{Buf, BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;

pub async fn get_package_details(
    req: pb::PackageDetailsRequest,
) -> Result<pb::PackageDetails, Status> {
    unary("/hoist.v1.Dashboard/GetPackageDetails", req).await
}

pub async fn install(req: pb::InstallRequest) -> Result<pb::InstallResponse, Status> {
    unary("/hoist.v1.Dashboard/Install", req).await
}

pub async fn refresh(req: pb::RefreshRequest) -> Result<pb::RefreshResponse, Status> {
    unary("/hoist.v1.Dashboard/Refresh", req).await
}

/// The Watch stream (see `hoist.v1.Dashboard/Watch`).
pub async fn watch(req: pb::WatchRequest) -> Result<Watch, Status> {
    let mut grpc = ready().await?;
    let request = tonic::Request::new(Bytes::from(req.encode_to_vec()));
    let path = PathAndQuery::from_static("/hoist.v1.Dashboard/Watch");
    Ok(Watch(
        grpc.server_streaming(request, path, Raw)
            .await?
            .into_inner(),
    ))
}

/// An open Watch stream.
pub struct Watch(tonic::codec::Streaming<Bytes>);

impl Watch {
    /// The next event; `None` when the server ended the stream.
    pub async fn message(&mut self) -> Result<Option<pb::WatchEvent>, Status> {
        match self.0.message().await? {
            Some(bytes) => decode(bytes).map(Some),
            None => Ok(None),
        }
    }
}

fn decode<M: Message + Default>(bytes: Bytes) -> Result<M, Status> {
    M::decode(bytes).map_err(|e| Status::internal(format!("cannot decode the answer: {e}")))
}

async fn ready() -> Result<tonic::client::Grpc<tonic_web_wasm_client::Client>, Status> {
    let mut grpc = tonic::client::Grpc::new(crate::connection::transport());
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("cannot reach the backend: {e}")))?;
    Ok(grpc)
}

async fn unary<Resp: Message + Default>(
    path: &'static str,
    req: impl Message,
) -> Result<Resp, Status> {
    decode(call(path, Bytes::from(req.encode_to_vec())).await?)
}

/// The one monomorphic unary call: bytes in, bytes out.
async fn call(path: &'static str, body: Bytes) -> Result<Bytes, Status> {
    let response = ready()
        .await?
        .unary(
            tonic::Request::new(body),
            PathAndQuery::from_static(path),
            Raw,
        )
        .await?;
    Ok(response.into_inner())
}

/// A codec that passes message bytes through.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
