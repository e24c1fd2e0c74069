//! A change as every stream sends it: encoded once, its bytes shared.
//!
//! kube-apiserver's watch cache serialises an event once per encoding and hands the
//! same bytes to every watcher (KEP-1152, `cachingObject`). The hub does the same for
//! the dashboard's streams: a [`SharedChange`] holds the change and, from the first
//! stream that sends it, the protobuf bytes of the `WatchEvent` carrying it; every
//! other stream copies those bytes into its frame instead of cloning the message and
//! encoding it again (decision 0037).
//!
//! # Guarantees
//! - [`SharedChange::encoded`] is exactly `WatchEvent { event: Change(change) }`
//!   encoded by prost (tested), computed at most once.

use bytes::Bytes;
use hoist_proto::v1 as pb;
use std::sync::OnceLock;

/// One change of the hub, with its encoding once asked for.
#[derive(Debug)]
pub struct SharedChange {
    change: pb::PackageChange,
    encoded: OnceLock<Bytes>,
}

impl SharedChange {
    pub fn new(change: pb::PackageChange) -> Self {
        Self {
            change,
            encoded: OnceLock::new(),
        }
    }

    pub fn change(&self) -> &pb::PackageChange {
        &self.change
    }

    pub fn revision(&self) -> u64 {
        self.change.revision
    }

    /// The `WatchEvent` carrying this change, as protobuf: encoded by the first caller,
    /// shared by the rest.
    pub fn encoded(&self) -> &Bytes {
        self.encoded.get_or_init(|| {
            let field = pb::watch_event::Event::Change(self.change.clone());
            let mut buf = Vec::with_capacity(field.encoded_len() + 8);
            // A WatchEvent whose only field is the `change` of the oneof.
            field.encode(&mut buf);
            Bytes::from(buf)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn the_shared_bytes_are_the_watch_event_prost_encodes() {
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
        assert_eq!(shared.encoded().as_ref(), event.encode_to_vec().as_slice());
        assert!(std::ptr::eq(shared.encoded(), shared.encoded()), "once");
        assert_eq!(
            pb::WatchEvent::decode(shared.encoded().as_ref()).expect("decodes"),
            event
        );
    }
}
