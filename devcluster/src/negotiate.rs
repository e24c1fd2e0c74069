//! What form a resource request's answer takes, from its `Accept` header, as
//! kube-apiserver negotiates it (`NegotiateOutputMediaType`): the object itself, a
//! `meta.k8s.io` Table (see [`crate::table`]), or metadata only
//! (`PartialObjectMetadata`/`PartialObjectMetadataList`, see [`crate::partial`]).
//!
//! Guarantees:
//! - media ranges are tried in the client's order (higher `q` first, a wildcard after a
//!   named type of the same `q`, `q=0` never); the first one devcluster can answer wins,
//!   so `application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json`
//!   gets metadata and `application/json;as=Foo;g=meta.k8s.io;v=v1,application/json`
//!   gets the objects;
//! - a range with any of `as`, `g`, `v` is answerable only as one of the three
//!   `meta.k8s.io` kinds in `v1` or `v1beta1` (kube-apiserver still serves both for
//!   these; the answer names the version asked for); `as=Foo` alone is 406 NotAcceptable;
//! - `PartialObjectMetadataList` for one object and `PartialObjectMetadata` for a LIST
//!   are 406 as on kube-apiserver, which picks the range before it knows the answer's
//!   shape and does not fall back to a later one. devcluster refuses such a write before
//!   it changes anything (kube-apiserver writes, then refuses to encode the answer).
//!
//! Caveat: devcluster never answers in protobuf (requests in protobuf are decoded, see
//! [`crate::protobuf`]): a protobuf range is skipped, so a client that also accepts JSON
//! gets JSON, in the form its JSON range asks for; a protobuf-only client is refused
//! (406) before it gets here. YAML answers are not served either.

use crate::error::ApiError;
use axum::http::{HeaderMap, header};

/// `meta.k8s.io`, the group of Tables and partial metadata.
pub const META_GROUP: &str = "meta.k8s.io";

/// The form of a resource request's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The objects as stored (in the served version).
    Object,
    /// A Table of `meta.k8s.io/v1` or `meta.k8s.io/v1beta1` (the `apiVersion`).
    Table(&'static str),
    /// `PartialObjectMetadata` of that `apiVersion`: one object or each watch event.
    Metadata(&'static str),
    /// `PartialObjectMetadataList` of that `apiVersion`: a LIST.
    MetadataList(&'static str),
}

/// One media range of an `Accept` header.
struct Range<'a> {
    media: String,
    params: Vec<(String, &'a str)>,
    q: f32,
}

fn parse(accept: &str) -> Vec<Range<'_>> {
    let mut ranges: Vec<Range<'_>> = accept
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0;
            let mut params = Vec::new();
            for p in parts {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"'));
                if k == "q" {
                    q = v.parse().unwrap_or(1.0);
                } else {
                    params.push((k, v));
                }
            }
            Range { media, params, q }
        })
        .filter(|r| r.q > 0.0)
        .collect();
    // Stable: equal ranges keep the client's order.
    let wild = |r: &Range<'_>| (r.media.starts_with('*'), r.media.ends_with("/*"));
    ranges.sort_by(|a, b| {
        b.q.total_cmp(&a.q)
            .then_with(|| wild(a).0.cmp(&wild(b).0))
            .then_with(|| wild(a).1.cmp(&wild(b).1))
    });
    ranges
}

/// What devcluster answers `range` with; `None` when it cannot.
fn answerable(range: &Range<'_>) -> Option<Output> {
    if !matches!(
        range.media.as_str(),
        "" | "*/*" | "application/*" | "application/json"
    ) {
        return None;
    }
    let (mut kind, mut group, mut version) = (None, None, None);
    for (k, v) in &range.params {
        match k.as_str() {
            "as" => kind = Some(*v),
            "g" => group = Some(*v),
            "v" => version = Some(*v),
            // A watch stream is answered wherever a watch is asked for.
            "stream" if !v.is_empty() && *v != "watch" => return None,
            _ => {}
        }
    }
    if (kind, group, version) == (None, None, None) {
        return Some(Output::Object);
    }
    if group != Some(META_GROUP) {
        return None;
    }
    let api_version = match version {
        Some("v1") => "meta.k8s.io/v1",
        Some("v1beta1") => "meta.k8s.io/v1beta1",
        _ => return None,
    };
    match kind {
        Some("Table") => Some(Output::Table(api_version)),
        Some("PartialObjectMetadata") => Some(Output::Metadata(api_version)),
        Some("PartialObjectMetadataList") => Some(Output::MetadataList(api_version)),
        _ => None,
    }
}

/// The answer form `accept` (the request's `Accept` values joined with `,`) asks for:
/// [`Output::Object`] when it is empty; 406 NotAcceptable when no range is answerable.
pub fn output_for(accept: &str) -> Result<Output, ApiError> {
    if accept.trim().is_empty() {
        return Ok(Output::Object);
    }
    parse(accept)
        .iter()
        .find_map(answerable)
        .ok_or_else(|| ApiError::not_acceptable(accept))
}

/// The answer form of a resource request with `verb` (`get`, `list`, `watch`, or a
/// write, whose answer is one object) and `headers`; 406 when the client accepts no
/// form devcluster serves, or a list form for one object or the other way round.
pub fn output(verb: &str, headers: &HeaderMap) -> Result<Output, ApiError> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let output = output_for(&accept.join(","))?;
    let list = verb == "list";
    match output {
        Output::MetadataList(_) if !list => Err(not_acceptable_shape(
            "PartialObjectMetadataList",
            "the requested object is not a list",
        )),
        Output::Metadata(_) if list => Err(not_acceptable_shape(
            "PartialObjectMetadata",
            "the requested object is a list",
        )),
        other => Ok(other),
    }
}

fn not_acceptable_shape(asked: &str, why: &str) -> ApiError {
    ApiError::new(
        406,
        "NotAcceptable",
        format!("you requested {asked}, but {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    const METADATA_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    const CLIENT_GO_METADATA: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

    fn out(accept: &str) -> Option<Output> {
        output_for(accept).ok()
    }

    #[test]
    fn the_first_answerable_range_wins() {
        assert_eq!(out(""), Some(Output::Object));
        assert_eq!(out("application/json"), Some(Output::Object));
        assert_eq!(out("*/*"), Some(Output::Object));
        assert_eq!(out(KUBECTL_TABLE), Some(Output::Table("meta.k8s.io/v1")));
        assert_eq!(
            out(METADATA_LIST),
            Some(Output::MetadataList("meta.k8s.io/v1"))
        );
        assert_eq!(
            out(CLIENT_GO_METADATA),
            Some(Output::MetadataList("meta.k8s.io/v1")),
            "protobuf is skipped for the JSON form of the same kind"
        );
        assert_eq!(
            out("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1"),
            Some(Output::Metadata("meta.k8s.io/v1beta1"))
        );
        assert_eq!(
            out("application/json;as=Foo;g=meta.k8s.io;v=v1, application/json"),
            Some(Output::Object)
        );
        assert_eq!(
            out("application/json;q=0.5, application/json;as=Table;g=meta.k8s.io;v=v1"),
            Some(Output::Table("meta.k8s.io/v1")),
            "a higher q first"
        );
        assert_eq!(out("application/json;stream=watch"), Some(Output::Object));
    }

    #[test]
    fn nothing_answerable_is_406() {
        for accept in [
            "application/json;as=Foo;g=meta.k8s.io;v=v1",
            "application/json;as=Table;g=example.org;v=v1",
            "application/json;as=Table;g=meta.k8s.io;v=v2",
            "application/json;g=meta.k8s.io;v=v1",
            "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            "application/yaml",
            "application/json;q=0",
        ] {
            let e = output_for(accept).expect_err(accept);
            assert_eq!(e.code, 406, "{accept}");
        }
    }

    #[test]
    fn a_list_form_for_one_object_and_the_other_way_round_is_406() {
        let mut headers = HeaderMap::new();
        let mut accept = |v: &'static str| {
            headers.insert(header::ACCEPT, header::HeaderValue::from_static(v));
            headers.clone()
        };
        let list = accept(METADATA_LIST);
        assert!(output("list", &list).is_ok());
        assert!(output("get", &list).is_err());
        assert!(output("watch", &list).is_err());
        let one = accept("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1");
        assert!(output("get", &one).is_ok());
        assert!(output("watch", &one).is_ok());
        assert!(output("patch", &one).is_ok());
        assert_eq!(output("list", &one).map_err(|e| e.code), Err(406));
    }
}
