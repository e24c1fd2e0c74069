//! The served `Watch` route. The generated service would encode every message per
//! stream through tonic's codec; `/hoist.v1.Dashboard/Watch` is served here instead,
//! by a response body that is the stream's state machine itself
//! ([`super::watch::WatchState`]): a package change leaves as the hub's shared frame
//! (the same `Bytes` on every connection, no copy), anything else is framed per
//! stream. The wire is the same: a client cannot tell the two apart (tested against
//! the generated client, native gRPC and gRPC-web).
//!
//! The route sits where the generated service did: behind the [`super::guard`] and
//! tonic-web's layer, which turns a gRPC-web request into a gRPC one on the way in and
//! this body's trailers into a gRPC-web trailer frame on the way out.
//!
//! # Guarantees
//! - The request is one uncompressed message of at most [`super::MAX_REQUEST_MESSAGE`]
//!   bytes, read within [`REQUEST_READ_TIMEOUT`]; anything else is answered with a gRPC
//!   status (trailers only) and no stream starts.
//! - The stream ends with `grpc-status: 0` trailers when the server stops.

use super::dashboard::DashboardService;
use super::watch::{Out, WatchState};
use crate::cache::shared::{FRAME_HEADER, frame_header};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use hoist_proto::v1 as pb;
use http_body::Frame;
use http_body_util::BodyExt;
use prost::Message;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::Status;

/// The path the generated service would serve `Watch` at.
pub const PATH: &str = "/hoist.v1.Dashboard/Watch";

/// How long a client may take to send its (tiny) request once its headers are in.
pub const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The axum handler for [`PATH`].
pub async fn serve(State(svc): State<DashboardService>, req: Request) -> Response {
    match read_request(req.into_body()).await {
        Ok(request) => {
            let mut res = Response::new(Body::new(WatchBody {
                state: WatchState::new(svc, request),
                trailers_sent: false,
            }));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            );
            res
        }
        Err(status) => status.into_http(),
    }
}

/// Reads the request's one message (see the module's guarantees).
async fn read_request(body: Body) -> Result<pb::WatchRequest, Status> {
    let limit = super::MAX_REQUEST_MESSAGE + FRAME_HEADER;
    let read = http_body_util::Limited::new(body, limit).collect();
    let bytes = match tokio::time::timeout(REQUEST_READ_TIMEOUT, read).await {
        Err(_) => {
            return Err(Status::deadline_exceeded(
                "the WatchRequest did not arrive in time",
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Status::out_of_range(format!(
                "a WatchRequest over {} bytes",
                super::MAX_REQUEST_MESSAGE
            )));
        }
        Ok(Err(e)) => return Err(Status::unknown(format!("reading the request: {e}"))),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    decode_request(&bytes)
}

/// The first message of a gRPC request body, as tonic's server reads a unary or
/// server-streaming request (what follows the first message is not decoded).
fn decode_request(bytes: &[u8]) -> Result<pb::WatchRequest, Status> {
    let Some((head, rest)) = bytes.split_first_chunk::<FRAME_HEADER>() else {
        return Err(Status::internal("Missing request message."));
    };
    if head[0] != 0 {
        return Err(Status::unimplemented(
            "compressed requests are not accepted (no grpc-encoding is configured)",
        ));
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let message = rest
        .get(..len)
        .ok_or_else(|| Status::internal("a request message cut short"))?;
    pb::WatchRequest::decode(message)
        .map_err(|e| Status::invalid_argument(format!("a WatchRequest that does not decode: {e}")))
}

/// The response body: one gRPC frame per event, then `grpc-status: 0` trailers.
struct WatchBody {
    state: WatchState,
    trailers_sent: bool,
}

impl http_body::Body for WatchBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if this.trailers_sent {
            return Poll::Ready(None);
        }
        match this.state.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(out)) => Poll::Ready(Some(Ok(Frame::data(framed(out))))),
            Poll::Ready(None) => {
                this.trailers_sent = true;
                let mut trailers = HeaderMap::new();
                trailers.insert("grpc-status", HeaderValue::from_static("0"));
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.trailers_sent
    }
}

/// `out` as one gRPC message frame: a change's shared frame as it is, anything else
/// encoded here.
fn framed(out: Out) -> Bytes {
    match out {
        Out::Change(c) => c.framed().clone(),
        Out::Event(e) => {
            let message = pb::WatchEvent { event: Some(*e) };
            let len = message.encoded_len();
            let mut buf = Vec::with_capacity(FRAME_HEADER + len);
            frame_header(&mut buf, len);
            // Writing into a Vec cannot run out of room.
            message.encode_raw(&mut buf);
            Bytes::from(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut v = vec![flag];
        v.extend_from_slice(&(message.len() as u32).to_be_bytes());
        v.extend_from_slice(message);
        v
    }

    #[test]
    fn a_request_is_its_first_uncompressed_message() {
        let req = pb::WatchRequest {
            instance_id: "i".into(),
            resume_from: 7,
        };
        let mut body = frame(0, &req.encode_to_vec());
        body.extend(frame(0, b"ignored"));
        assert_eq!(decode_request(&body).expect("decodes"), req);
        assert_eq!(
            decode_request(&frame(0, &[])).expect("empty is the default"),
            pb::WatchRequest::default()
        );
    }

    #[test]
    fn a_missing_short_compressed_or_garbled_request_is_a_grpc_error() {
        assert_eq!(
            decode_request(&[]).expect_err("refused").code(),
            tonic::Code::Internal
        );
        assert_eq!(
            decode_request(&[0, 0, 0, 0, 9, 1])
                .expect_err("refused")
                .code(),
            tonic::Code::Internal
        );
        assert_eq!(
            decode_request(&frame(1, &[])).expect_err("refused").code(),
            tonic::Code::Unimplemented
        );
        assert_eq!(
            decode_request(&frame(0, &[0xff, 0xff]))
                .expect_err("refused")
                .code(),
            tonic::Code::InvalidArgument
        );
    }
}
