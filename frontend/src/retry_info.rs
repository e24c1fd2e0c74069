//! The server's suggested retry delay: `google.rpc.RetryInfo` inside the
//! `google.rpc.Status` a gRPC error carries in `grpc-status-details-bin`.
//!
//! Decoded with three small prost messages rather than `tonic-types`, whose
//! `ErrorDetails` decodes every standard detail type and costs the web app ~10 KB gzip
//! for the one field it needs. Anything malformed is simply "no hint".

use std::time::Duration;

const RETRY_INFO: &str = "type.googleapis.com/google.rpc.RetryInfo";

#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The RetryInfo delay in an encoded `google.rpc.Status`, if there is a valid one.
pub fn from_details(details: &[u8]) -> Option<Duration> {
    use prost::Message;
    let status = RpcStatus::decode(details).ok()?;
    let any = status.details.iter().find(|a| a.type_url == RETRY_INFO)?;
    let d = RetryInfo::decode(any.value.as_slice()).ok()?.retry_delay?;
    (d.seconds >= 0 && d.nanos >= 0)
        .then(|| Duration::from_secs(d.seconds as u64) + Duration::from_nanos(d.nanos as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn the_retry_delay_is_read_and_garbage_is_no_hint() {
        let info = RetryInfo {
            retry_delay: Some(ProtoDuration {
                seconds: 2,
                nanos: 500_000_000,
            }),
        };
        let status = RpcStatus {
            details: vec![
                Any {
                    type_url: "type.googleapis.com/google.rpc.DebugInfo".into(),
                    value: vec![1, 2, 3],
                },
                Any {
                    type_url: RETRY_INFO.into(),
                    value: info.encode_to_vec(),
                },
            ],
        };
        assert_eq!(
            from_details(&status.encode_to_vec()),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(from_details(b"\xff\xff not protobuf"), None);
        assert_eq!(
            from_details(&RpcStatus { details: vec![] }.encode_to_vec()),
            None
        );
    }
}
