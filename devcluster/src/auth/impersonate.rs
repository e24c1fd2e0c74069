//! Impersonation: `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and
//! `Impersonate-Extra-*` headers, as kube-apiserver's `WithImpersonation` filter reads
//! them (`kubectl --as`, `--as-group`, `--as-uid`; kube-rs `auth_info.impersonate`).
//!
//! # Guarantees
//! - Each thing asked for is authorized for the requester with the `impersonate` verb
//!   before anything else happens: `users` (core group) by name, `serviceaccounts` in
//!   their namespace for `system:serviceaccount:NS:NAME`, `groups` by name, `uids`
//!   and `userextras/KEY` in `authentication.k8s.io`. The first refusal is a 403 in the
//!   API server's words (`users "bob" is forbidden: User "alice" cannot impersonate
//!   resource "users" in API group "" at the cluster scope`), and the request is not
//!   made.
//! - The identity the request then runs as is exactly the impersonated one: its name,
//!   the groups asked for (a ServiceAccount's own groups when none were), plus
//!   `system:authenticated` (or `system:unauthenticated` for `system:anonymous`) as the
//!   API server adds them; nothing of the requester's is kept.
//! - Groups, a uid or extras without a user are refused, as the API server refuses
//!   them (500, `requested [...] without impersonating a user`).
//!
//! # Caveats
//! - The API server's error text lists Go ObjectReferences; ours names the headers
//!   instead. The status code and reason are the same.

use super::authn::{ANONYMOUS_USER, AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP};
use super::rbac::{Attributes, SERVICE_ACCOUNT_PREFIX, UserInfo};
use axum::http::HeaderMap;
use serde_json::Value;
use std::collections::BTreeMap;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";

/// One thing a request asks to act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    User(String),
    ServiceAccount { namespace: String, name: String },
    Group(String),
    Uid(String),
    Extra { key: String, value: String },
}

impl Request {
    /// The attributes the requester must be allowed (verb `impersonate`).
    fn attributes(&self, requester: &UserInfo) -> Attributes {
        let attrs = |group: &str, resource: &str| {
            Attributes::resource(requester, "impersonate", group, resource)
        };
        match self {
            Self::User(name) => attrs("", "users").named(name),
            Self::ServiceAccount { namespace, name } => attrs("", "serviceaccounts")
                .in_namespace(namespace)
                .named(name),
            Self::Group(name) => attrs("", "groups").named(name),
            Self::Uid(uid) => attrs(AUTHENTICATION_GROUP, "uids").named(uid),
            Self::Extra { key, value } => attrs(AUTHENTICATION_GROUP, "userextras")
                .subresource(key)
                .named(value),
        }
    }
}

/// Why impersonation was refused: the API server's status body.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// 500: groups, a uid or extras without a user.
    NoUser(String),
    /// 403: the requester may not impersonate one of the things asked for.
    Forbidden(Value),
}

/// What the headers ask to impersonate, in the API server's order (user, groups, uid,
/// extras); empty when they ask nothing.
pub fn requests(headers: &HeaderMap) -> Result<Vec<Request>, Refusal> {
    let text = |v: &axum::http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    let mut out = Vec::new();
    let user = headers.get(USER).map(text).filter(|u| !u.is_empty());
    if let Some(user) = &user {
        out.push(match split_service_account(user) {
            Some((namespace, name)) => Request::ServiceAccount {
                namespace: namespace.into(),
                name: name.into(),
            },
            None => Request::User(user.clone()),
        });
    }
    let mut others = Vec::new();
    for group in headers.get_all(GROUP) {
        others.push(Request::Group(text(group)));
    }
    if let Some(uid) = headers.get(UID).map(text).filter(|u| !u.is_empty()) {
        others.push(Request::Uid(uid));
    }
    let mut extras: Vec<(&str, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            name.as_str()
                .strip_prefix(EXTRA_PREFIX)
                .map(|key| (key, text(value)))
        })
        .collect();
    extras.sort_by(|a, b| a.0.cmp(b.0));
    for (key, value) in extras {
        // Keys are percent-encoded in header names (`Impersonate-Extra-acme.com%2Fproject`).
        let key = urlencoding::decode(key).map_or_else(|_| key.to_string(), |k| k.into_owned());
        others.push(Request::Extra { key, value });
    }
    if user.is_none() && !others.is_empty() {
        let asked: Vec<String> = others.iter().map(|r| format!("{r:?}")).collect();
        return Err(Refusal::NoUser(format!(
            "requested [{}] without impersonating a user",
            asked.join(" ")
        )));
    }
    out.extend(others);
    Ok(out)
}

/// `system:serviceaccount:NS:NAME` split, when it is one (`serviceaccount.SplitUsername`).
fn split_service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (namespace, name) = rest.split_once(':')?;
    let valid = |s: &str| crate::meta::check_subdomain(s).is_ok();
    (valid(namespace) && valid(name) && crate::meta::check_label(namespace).is_ok())
        .then_some((namespace, name))
}

/// The identity a request runs as: `requester` itself when the headers ask nothing,
/// else the impersonated user once `allowed` said yes to every part of it.
pub fn resolve(
    requester: UserInfo,
    headers: &HeaderMap,
    allowed: impl Fn(&Attributes) -> Result<(), Value>,
) -> Result<UserInfo, Refusal> {
    let asked = requests(headers)?;
    if asked.is_empty() {
        return Ok(requester);
    }
    let groups_specified = asked.iter().any(|r| matches!(r, Request::Group(_)));
    let mut user = UserInfo {
        name: String::new(),
        uid: String::new(),
        groups: Vec::new(),
        extra: BTreeMap::new(),
    };
    for request in &asked {
        allowed(&request.attributes(&requester)).map_err(Refusal::Forbidden)?;
        match request {
            Request::User(name) => user.name = name.clone(),
            Request::ServiceAccount { namespace, name } => {
                user.name = format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}");
                if !groups_specified {
                    user.groups = vec![
                        "system:serviceaccounts".into(),
                        format!("system:serviceaccounts:{namespace}"),
                    ];
                }
            }
            Request::Group(g) => user.groups.push(g.clone()),
            Request::Uid(uid) => user.uid = uid.clone(),
            Request::Extra { key, value } => {
                user.extra
                    .entry(key.clone())
                    .or_default()
                    .push(value.clone());
            }
        }
    }
    let has = |g: &str| user.groups.iter().any(|x| x == g);
    if user.name != ANONYMOUS_USER {
        if !has(AUTHENTICATED_GROUP) && !has(UNAUTHENTICATED_GROUP) {
            user.groups.push(AUTHENTICATED_GROUP.into());
        }
    } else if !has(UNAUTHENTICATED_GROUP) {
        user.groups.push(UNAUTHENTICATED_GROUP.into());
    }
    Ok(user)
}
