//! A change as every stream sends it: encoded once, its bytes shared.
//!
//! kube-apiserver's watch cache serialises an event once per encoding and hands the
//! same bytes to every watcher (KEP-1152, `cachingObject`). The hub does the same for
//! the dashboard's streams: a [`SharedChange`] holds the change and, from the first
//! stream that sends it, the `WatchEvent` carrying it as a whole gRPC frame; every
//! other stream hands the same bytes to its connection (a reference count, no copy)
//! instead of cloning the message and encoding it again (decisions 0037, 0041).
//!
//! # Guarantees
//! - [`SharedChange::framed`] is exactly the gRPC message frame (flag 0, length, then
//!   `WatchEvent { event: Change(change) }` encoded by prost; tested), computed at
//!   most once.

use bytes::Bytes;
use hoist_proto::v1 as pb;
use std::sync::OnceLock;

/// One change of the hub, with its encoding once asked for.
#[derive(Debug)]
pub struct SharedChange {
    change: pb::PackageChange,
    framed: OnceLock<Bytes>,
}

impl SharedChange {
    pub fn new(change: pb::PackageChange) -> Self {
        Self {
            change,
            framed: OnceLock::new(),
        }
    }

    pub fn change(&self) -> &pb::PackageChange {
        &self.change
    }

    pub fn revision(&self) -> u64 {
        self.change.revision
    }

    /// The `WatchEvent` carrying this change as one gRPC message frame (the 5-byte
    /// prefix, then the protobuf): built by the first caller, shared by the rest.
    pub fn framed(&self) -> &Bytes {
        self.framed.get_or_init(|| {
            let field = pb::watch_event::Event::Change(self.change.clone());
            let len = field.encoded_len();
            let mut buf = Vec::with_capacity(FRAME_HEADER + len);
            frame_header(&mut buf, len);
            // A WatchEvent whose only field is the `change` of the oneof.
            field.encode(&mut buf);
            Bytes::from(buf)
        })
    }
}

/// A gRPC message frame's prefix: the compression flag and the length.
pub const FRAME_HEADER: usize = 5;

/// Appends the prefix of an uncompressed gRPC message frame of `len` bytes.
///
/// # Panics
/// Never for what the dashboard sends: a message over 4 GiB would not fit the prefix
/// (and is far beyond anything a stream holds).
pub fn frame_header(buf: &mut Vec<u8>, len: usize) {
    buf.push(0);
    buf.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn the_shared_bytes_are_one_grpc_frame_of_the_watch_event_prost_encodes() {
        let change = pb::PackageChange {
            revision: 7,
            change: Some(pb::package_change::Change::Upsert(pb::Package {
                key: Some(pb::PackageKey {
                    scope: pb::Scope::Namespaced as i32,
                    namespace: "team-a".into(),
                    name: "web".into(),
                }),
                ..Default::default()
            })),
        };
        let shared = SharedChange::new(change.clone());
        let event = pb::WatchEvent {
            event: Some(pb::watch_event::Event::Change(change)),
        };
        let message = event.encode_to_vec();
        let framed = shared.framed();
        assert_eq!(framed[0], 0, "not compressed");
        assert_eq!(
            u32::from_be_bytes([framed[1], framed[2], framed[3], framed[4]]) as usize,
            message.len()
        );
        assert_eq!(&framed[FRAME_HEADER..], message.as_slice());
        assert!(std::ptr::eq(shared.framed(), shared.framed()), "once");
        assert_eq!(
            pb::WatchEvent::decode(&framed[FRAME_HEADER..]).expect("decodes"),
            event
        );
    }
}
