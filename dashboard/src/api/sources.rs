//! ListValueSources: the ConfigMaps or Secrets of one namespace, for the pickers of the
//! install form and Configure (a value read from a ConfigMap key or a Secret key;
//! decision 0036).
//!
//! # Guarantees
//! - Asked of the API server when called, one namespace and one kind at a time: one
//!   LIST of at most [`LIMIT`] objects (`truncated` says more exist), within
//!   [`TIMEOUT`]. Nothing is cached or watched: the dashboard keeps no ConfigMap or
//!   Secret of any namespace.
//! - Secrets are listed as metadata only (`PartialObjectMetadataList`, kube-rs'
//!   `list_metadata`): the API server sends names and metadata, never a Secret's data,
//!   so no Secret value ever reaches the dashboard, and none is answered. A Secret's
//!   keys are therefore never offered; the user types the key.
//! - ConfigMaps are answered by name with their keys (`data` and `binaryData`), never
//!   their values.
//! - What the dashboard may list is RBAC's decision, never widened here: a refusal is
//!   PERMISSION_DENIED carrying the API server's own words, and the page lets the user
//!   type the name as before.
//! - Input is checked before any request: a namespace that is not a DNS-1123 label, or
//!   a kind other than `configMap` and `secret`, is INVALID_ARGUMENT.
//!
//! # Caveats
//! - The API server has no keys-only view of a ConfigMap: a ConfigMap LIST carries the
//!   values, which the dashboard drops as it answers. So ConfigMaps are listed in pages
//!   of [`CONFIG_MAP_PAGE`] (each page's values dropped before the next is asked) and one
//!   call at a time across the dashboard: what a namespace full of 1 MiB ConfigMaps
//!   costs the dashboard is one page (at most 50 MiB), whoever asks how often.
//! - A Secret's metadata can still say something (labels, annotations such as
//!   `kubectl.kubernetes.io/last-applied-configuration`, which holds the values of a
//!   Secret made by `kubectl apply`): only the names are answered, and the
//!   metadata-only LIST is what Kubernetes offers for this; what the API server sends
//!   in metadata is its choice, not the dashboard's.

use hoist_proto::v1 as pb;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, ObjectList};
use kube::{Client, ResourceExt};
use std::time::Duration;
use tonic::Status;

/// At most this many objects are listed (by name, as the API server pages them).
pub const LIMIT: u32 = 500;

/// ConfigMaps per page: bounds the values held at once (see the module doc).
pub const CONFIG_MAP_PAGE: u32 = 50;

/// One ConfigMap listing at a time, across the dashboard.
static CONFIG_MAP_LISTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// The longest a LIST may take (all its pages).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Which objects a value may be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Self::ConfigMap => "ConfigMaps",
            Self::Secret => "Secrets",
        }
    }
}

/// The request checked: a namespace that is a DNS label, one of the two kinds.
fn checked(req: &pb::ValueSourcesRequest) -> Result<(&str, Kind), Status> {
    let kind = match req.kind.as_str() {
        "configMap" => Kind::ConfigMap,
        "secret" => Kind::Secret,
        other => {
            return Err(Status::invalid_argument(format!(
                "values are read from a \"configMap\" or a \"secret\", not {other:?}"
            )));
        }
    };
    let ns = req.namespace.as_str();
    if !hoist_core::repo::destinations::dns_label(ns) {
        return Err(Status::invalid_argument(format!(
            "namespace {ns:?} is not a DNS-1123 label (a-z, 0-9 and -, at most 63, starting and ending with a letter or digit)"
        )));
    }
    Ok((ns, kind))
}

/// ListValueSources: see the module doc.
pub async fn list(
    client: &Client,
    req: &pb::ValueSourcesRequest,
) -> Result<pb::ValueSources, Status> {
    let (ns, kind) = checked(req)?;
    let lp = ListParams::default().limit(LIMIT);
    let refused = |e: kube::Error| refusal(e, kind, ns);
    let mut answer = match kind {
        Kind::ConfigMap => {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
            within(kind, ns, config_maps(&api))
                .await?
                .map_err(refused)?
        }
        Kind::Secret => {
            let api: Api<Secret> = Api::namespaced(client.clone(), ns);
            let list = within(kind, ns, api.list_metadata(&lp))
                .await?
                .map_err(refused)?;
            let truncated = more(&list);
            let sources = list
                .items
                .iter()
                .map(|s| pb::ValueSource {
                    name: s.name_any(),
                    keys: Vec::new(),
                })
                .collect();
            pb::ValueSources { sources, truncated }
        }
    };
    answer.sources.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(answer)
}

/// Up to [`LIMIT`] ConfigMaps by name with their keys, in pages of
/// [`CONFIG_MAP_PAGE`], one listing at a time (see the module doc).
async fn config_maps(api: &Api<ConfigMap>) -> Result<pb::ValueSources, kube::Error> {
    let _one_at_a_time = CONFIG_MAP_LISTING.acquire().await;
    let mut sources = Vec::new();
    let mut lp = ListParams::default().limit(CONFIG_MAP_PAGE);
    loop {
        let page = api.list(&lp).await?;
        sources.extend(page.items.iter().map(config_map));
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        let full = sources.len() >= LIMIT as usize;
        match next {
            Some(token) if !full => lp = lp.continue_token(&token),
            _ => {
                let truncated = (full && more(&page)) || sources.len() > LIMIT as usize;
                sources.truncate(LIMIT as usize);
                return Ok(pb::ValueSources { sources, truncated });
            }
        }
    }
}

/// `call` within [`TIMEOUT`]; DEADLINE_EXCEEDED after it.
async fn within<T>(
    kind: Kind,
    ns: &str,
    call: impl std::future::Future<Output = T>,
) -> Result<T, Status> {
    tokio::time::timeout(TIMEOUT, call).await.map_err(|_| {
        Status::deadline_exceeded(format!(
            "the API server did not list the {} of {ns} within {} s",
            kind.plural(),
            TIMEOUT.as_secs()
        ))
    })
}

/// Whether the API server holds more than it listed.
fn more<T: Clone>(list: &ObjectList<T>) -> bool {
    list.metadata
        .continue_
        .as_deref()
        .is_some_and(|c| !c.is_empty())
        || list.metadata.remaining_item_count.is_some_and(|n| n > 0)
}

/// A ConfigMap's name and keys, sorted; its values left behind.
fn config_map(c: &ConfigMap) -> pb::ValueSource {
    let mut keys: Vec<String> = c
        .data
        .iter()
        .flat_map(|d| d.keys())
        .chain(c.binary_data.iter().flat_map(|d| d.keys()))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    pb::ValueSource {
        name: c.name_any(),
        keys,
    }
}

/// The API server's refusal: 403 PERMISSION_DENIED in its own words, a bad request
/// INVALID_ARGUMENT, anything else UNAVAILABLE.
fn refusal(e: kube::Error, kind: Kind, ns: &str) -> Status {
    match &e {
        kube::Error::Api(s) if s.code == 403 => Status::permission_denied(s.message.clone()),
        kube::Error::Api(s) if s.code == 400 || s.code == 422 => {
            Status::invalid_argument(s.message.clone())
        }
        _ => Status::unavailable(format!("cannot list the {} of {ns}: {e}", kind.plural())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(namespace: &str, kind: &str) -> pb::ValueSourcesRequest {
        pb::ValueSourcesRequest {
            namespace: namespace.into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn only_a_dns_label_and_the_two_kinds_are_asked_for() {
        assert_eq!(
            checked(&req("team-a", "configMap")).ok(),
            Some(("team-a", Kind::ConfigMap))
        );
        assert_eq!(
            checked(&req("team-a", "secret")).ok(),
            Some(("team-a", Kind::Secret))
        );
        for (ns, kind, says) in [
            ("", "secret", "DNS-1123"),
            ("Team-A", "secret", "DNS-1123"),
            ("a/b", "configMap", "DNS-1123"),
            ("-a", "configMap", "DNS-1123"),
            (&"a".repeat(64), "configMap", "DNS-1123"),
            ("team-a", "package", "not \"package\""),
            ("team-a", "", "not \"\""),
        ] {
            let e = checked(&req(ns, kind)).expect_err(ns);
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert!(e.message().contains(says), "{ns} {kind}: {}", e.message());
        }
    }

    #[test]
    fn a_config_map_is_answered_with_its_keys_never_its_values() {
        let mut c = ConfigMap::default();
        c.metadata.name = Some("sizes".into());
        c.data = Some(
            [
                ("web".to_string(), "3".to_string()),
                ("db".into(), "1".into()),
            ]
            .into(),
        );
        c.binary_data = Some([("logo".to_string(), k8s_openapi::ByteString(vec![1, 2]))].into());
        let s = config_map(&c);
        assert_eq!(s.name, "sizes");
        assert_eq!(s.keys, ["db", "logo", "web"]);
    }
}
