//! Metadata-only answers: `PartialObjectMetadata` and `PartialObjectMetadataList` of
//! `meta.k8s.io`, what kube-rs' `Api::get_metadata`, `list_metadata`, `watch_metadata`
//! and `metadata_watcher` (and client-go's metadata client, the garbage collector's)
//! ask for with `Accept: application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1`
//! (negotiated in [`crate::negotiate`]).
//!
//! Guarantees, as kube-apiserver's `asPartialObjectMetadata[List]`:
//! - an object becomes `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
//!   "metadata":{…}}` with the object's whole `metadata` and nothing else, so a
//!   Secret's `data` never leaves the server in such an answer;
//! - a list becomes a `PartialObjectMetadataList` whose `metadata` is the list's
//!   (`resourceVersion`, `continue`, `remainingItemCount`) and whose items are each a
//!   `PartialObjectMetadata`; selectors and paging are those of a normal LIST;
//! - a watch event's object is a `PartialObjectMetadata`, a BOOKMARK's too (only its
//!   `resourceVersion`, and the `k8s.io/initial-events-end` annotation when it ends
//!   the initial events); ERROR events carry their `Status` unchanged;
//! - a write (create, update, patch, delete, `/status`, `/scale`) asked for metadata
//!   answers its object's metadata; a `Status` answer passes unchanged.
//!
//! Caveat: metadata is sent as stored, annotations included: an object applied with
//! `kubectl apply` (client-side) carries its whole last applied configuration in
//! `kubectl.kubernetes.io/last-applied-configuration`, on kube-apiserver as here.

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use serde_json::{Value, json};

/// The `apiVersion` a metadata-only answer is in (`meta.k8s.io/v1` or `v1beta1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    pub api_version: &'static str,
}

impl Partial {
    /// `obj`'s metadata as a `PartialObjectMetadata` (`{}` when it has none).
    pub fn object(&self, obj: &Value) -> Value {
        json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": self.api_version,
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        })
    }

    /// A `PartialObjectMetadataList` of `objects` with the list's `metadata`.
    pub fn list<'a>(&self, objects: impl IntoIterator<Item = &'a Value>, metadata: Value) -> Value {
        json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": self.api_version,
            "metadata": metadata,
            "items": objects.into_iter().map(|o| self.object(o)).collect::<Vec<_>>(),
        })
    }

    /// A watch BOOKMARK's object at `rv`.
    pub fn bookmark(&self, rv: u64) -> Value {
        json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": self.api_version,
            "metadata": {"resourceVersion": rv.to_string()},
        })
    }

    /// A handler's JSON answer of one object, as its metadata: a success that is an
    /// object and not a `Status` is rewritten (its headers, `Warning`s included, kept);
    /// anything else is handed back as it is.
    pub async fn rewrite(&self, response: Response) -> Response {
        if !response.status().is_success() {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        // Handlers answer from memory, so the body is whole and small enough.
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(_) => return Response::from_parts(parts, Body::empty()),
        };
        let object: Value = match serde_json::from_slice(&bytes) {
            Ok(o @ Value::Object(_)) => o,
            _ => return Response::from_parts(parts, Body::from(bytes)),
        };
        if object.get("kind").and_then(Value::as_str) == Some("Status") {
            return Response::from_parts(parts, Body::from(bytes));
        }
        let out = serde_json::to_vec(&self.object(&object)).unwrap_or_default();
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, Body::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: Partial = Partial {
        api_version: "meta.k8s.io/v1",
    };

    fn secret() -> Value {
        json!({
            "kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": "s", "namespace": "a", "labels": {"x": "y"}, "resourceVersion": "4"},
            "data": {"password": "c2VjcmV0"}, "type": "Opaque",
        })
    }

    #[test]
    fn an_object_keeps_its_metadata_and_nothing_else() {
        let p = V1.object(&secret());
        assert_eq!(
            p,
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"name": "s", "namespace": "a", "labels": {"x": "y"}, "resourceVersion": "4"}})
        );
    }

    #[test]
    fn a_list_keeps_the_list_metadata() {
        let s = secret();
        let l = V1.list([&s, &s], json!({"resourceVersion": "9", "continue": "c"}));
        assert_eq!(l["kind"], "PartialObjectMetadataList");
        assert_eq!(l["metadata"]["continue"], "c");
        assert_eq!(l["items"][1]["kind"], "PartialObjectMetadata");
        assert!(!l.to_string().contains("c2VjcmV0"));
    }

    #[tokio::test]
    async fn a_write_answer_is_rewritten_and_a_status_is_not() {
        let r = crate::respond::with_warnings(
            crate::respond::json_response(201, &secret()),
            &["careful".into()],
        );
        let r = V1.rewrite(r).await;
        assert_eq!(r.status(), 201);
        assert!(r.headers().contains_key(header::WARNING));
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .expect("body");
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v, V1.object(&secret()));

        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Success"});
        let r = V1
            .rewrite(crate::respond::json_response(200, &status))
            .await;
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(
            serde_json::from_slice::<Value>(&body).expect("json"),
            status
        );
    }
}
