//! The served `Watch` route: the generated service's codec encodes every message per
//! stream, so `/hoist.v1.Dashboard/Watch` is served here instead, with a codec that
//! copies a package change's shared bytes ([`crate::cache::shared`]) into the frame
//! and encodes only what is per stream (status, snapshot, heartbeats). The wire is the
//! same: a client cannot tell the two apart (tested against the generated client).
//!
//! # Guarantees
//! - The request is decoded with the same limit as every other call
//!   ([`super::MAX_REQUEST_MESSAGE`]); no compression, as the generated service is
//!   configured.

use super::dashboard::DashboardService;
use super::watch::{Out, OutStream};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::{Buf, BufMut};
use hoist_proto::v1 as pb;
use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// The path the generated service would serve `Watch` at.
pub const PATH: &str = "/hoist.v1.Dashboard/Watch";

/// Requests decoded by prost; answers as [`Out`]: shared bytes copied, the rest encoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct WatchCodec;

#[derive(Debug, Clone, Copy, Default)]
pub struct OutEncoder;

#[derive(Debug, Clone, Copy, Default)]
pub struct RequestDecoder;

impl Encoder for OutEncoder {
    type Item = Out;
    type Error = Status;

    fn encode(&mut self, item: Out, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        match item {
            Out::Change(c) => {
                dst.put_slice(c.encoded());
                Ok(())
            }
            Out::Event(e) => pb::WatchEvent { event: Some(*e) }
                .encode(dst)
                .map_err(|e| Status::internal(format!("encoding a Watch event: {e}"))),
        }
    }
}

impl Decoder for RequestDecoder {
    type Item = pb::WatchRequest;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<pb::WatchRequest>, Status> {
        let item = pb::WatchRequest::decode(src.chunk()).map_err(|e| {
            Status::invalid_argument(format!("a WatchRequest that does not decode: {e}"))
        })?;
        let n = src.remaining();
        src.advance(n);
        Ok(Some(item))
    }
}

impl Codec for WatchCodec {
    type Encode = Out;
    type Decode = pb::WatchRequest;
    type Encoder = OutEncoder;
    type Decoder = RequestDecoder;

    fn encoder(&mut self) -> OutEncoder {
        OutEncoder
    }

    fn decoder(&mut self) -> RequestDecoder {
        RequestDecoder
    }
}

/// One Watch call as tonic's server-streaming machinery runs it.
struct Method(DashboardService);

impl tonic::server::ServerStreamingService<pb::WatchRequest> for Method {
    type Response = Out;
    type ResponseStream = OutStream;
    type Future = std::future::Ready<Result<tonic::Response<OutStream>, Status>>;

    fn call(&mut self, request: tonic::Request<pb::WatchRequest>) -> Self::Future {
        std::future::ready(Ok(tonic::Response::new(super::watch::out_stream(
            self.0.clone(),
            request.into_inner(),
        ))))
    }
}

/// The axum handler for [`PATH`].
pub async fn serve(State(svc): State<DashboardService>, req: Request) -> Response {
    let mut grpc = tonic::server::Grpc::new(WatchCodec)
        .apply_max_message_size_config(Some(super::MAX_REQUEST_MESSAGE), None);
    grpc.server_streaming(Method(svc), req).await.map(Body::new)
}
