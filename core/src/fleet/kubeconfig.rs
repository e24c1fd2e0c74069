//! A member cluster's kubeconfig is hostile input (issue 20, item 3). It comes from a
//! Secret in Hoist's namespace (written by `hoist cluster add`, by hand, or by whoever
//! may write Secrets there), and the fleet controller builds a client from it inside
//! the operator, which holds near-cluster-admin rights. A kubeconfig can name files
//! (`tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token` sends the
//! operator's own token to a server of the author's choosing), run programs (`exec`,
//! `auth-provider`) or route through a proxy. [`validate`] accepts only what a probe
//! needs, given inline, and returns it as a [`Member`]: the backend builds its client
//! from those fields alone.
//!
//! What is accepted, in the chosen context's cluster and user:
//! - cluster: `server` (`https://`; `http://` only for a loopback host),
//!   `certificate-authority-data`, `tls-server-name`, `insecure-skip-tls-verify`
//!   (`true` only for a loopback host), `disable-compression`;
//! - user: `token`, `client-certificate-data` with `client-key-data`, or nothing
//!   (anonymous).
//!
//! What is refused, each with an error naming the field (`users[0].user.exec: …`):
//! `exec`, `auth-provider`, `tokenFile`, `client-certificate`, `client-key`,
//! `certificate-authority` (files on the operator's machine), `proxy-url`, the
//! impersonation fields (`as`, `as-uid`, `as-groups`, `as-user-extra`) and
//! `username`/`password`.
//!
//! Guarantees:
//! - An accepted kubeconfig's chosen cluster and user hold none of the refused fields
//!   with a value (`null` counts as absent, as it does for client-go and kube-rs; any
//!   other value, the empty string included, is refused).
//! - The [`Member`] carries only values read from accepted fields; its `server` is the
//!   URL as the `url` crate normalises it (the string a client must use, so the host
//!   checked for loopback is the host connected to).
//! - Pure: no file, environment variable, network or clock is read.
//!
//! Caveats:
//! - Other clusters, users and contexts in the file are not looked at: they are never
//!   used.
//! - Fields neither accepted nor refused (`extensions`, fields client-go does not
//!   define) are ignored: they have no effect, since the client is built from the
//!   [`Member`] alone.
//! - Which host a name resolves to is not checked: a non-loopback `https://` server may
//!   be anywhere, including the operator's own network; what the probe sends there is
//!   the member's own credential.

use base64::Engine;
use serde_json::{Map, Value};
use std::fmt;

/// The largest kubeconfig read (a Secret holds at most 1 MiB).
pub const MAX_KUBECONFIG_BYTES: usize = 1 << 20;

/// Why a kubeconfig is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeconfigError {
    #[error("the kubeconfig is not readable YAML: {0}")]
    Unreadable(String),
    #[error("the kubeconfig is larger than {MAX_KUBECONFIG_BYTES} bytes")]
    TooLarge,
    #[error("the kubeconfig names no current context; choose one")]
    NoCurrentContext,
    #[error("the kubeconfig has no context {0:?}")]
    UnknownContext(String),
    /// The chosen context names a cluster or user the file does not define.
    #[error("{field}: the kubeconfig has no {kind} {name:?}")]
    Dangling {
        field: String,
        kind: &'static str,
        name: String,
    },
    /// A field of the chosen context, cluster or user breaks a [`Rule`].
    #[error("{field}: {rule}")]
    Refused { field: String, rule: Rule },
}

impl KubeconfigError {
    /// The field the error is about (`users[0].user.exec`), when it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Dangling { field, .. } | Self::Refused { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// What a refused field breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    #[error("a member kubeconfig may not run a program; use a token or client certificate data")]
    RunsProgram,
    #[error(
        "a member kubeconfig may not use an auth provider (they run programs and fetch tokens); \
         use a token or client certificate data"
    )]
    AuthProvider,
    /// The file-path field; the inline field to use instead.
    #[error("a member kubeconfig may not read files on the operator's machine; inline it as {0}")]
    ReadsFile(&'static str),
    #[error("a member kubeconfig may not send its requests through a proxy")]
    Proxy,
    #[error(
        "a member kubeconfig may not impersonate; give the credential of the identity to probe with"
    )]
    Impersonates,
    #[error(
        "basic authentication was removed from Kubernetes in 1.19; use a token or client \
         certificate data"
    )]
    BasicAuth,
    #[error(
        "plain http is allowed only for a loopback server (127.0.0.0/8, ::1, localhost); use https"
    )]
    PlainHttp,
    #[error(
        "skipping TLS verification is allowed only for a loopback server (127.0.0.0/8, ::1, \
         localhost); give certificate-authority-data"
    )]
    InsecureTls,
    #[error("the cluster has no server")]
    NoServer,
    /// Why the server is not usable.
    #[error("the server {0}")]
    BadServer(&'static str),
    #[error("must be a string")]
    NotString,
    #[error("must be true or false")]
    NotBool,
    #[error("must be a mapping")]
    NotMapping,
    #[error("must be a list")]
    NotList,
    #[error("is not base64")]
    NotBase64,
    #[error("client-certificate-data needs client-key-data beside it")]
    CertificateWithoutKey,
    #[error("client-key-data needs client-certificate-data beside it")]
    KeyWithoutCertificate,
}

/// What an accepted kubeconfig says, and all a client for the member may use.
#[derive(Clone, PartialEq, Eq)]
pub struct Member {
    /// `https://…`, or `http://…` for a loopback host; normalised (see the module).
    pub server: String,
    /// Whether the server's host is a loopback name or address.
    pub loopback: bool,
    /// Base64 of PEM certificates, as in the kubeconfig.
    pub certificate_authority_data: Option<String>,
    /// `true` only when [`Member::loopback`].
    pub insecure_skip_tls_verify: bool,
    pub tls_server_name: Option<String>,
    pub disable_compression: bool,
    /// A bearer token.
    pub token: Option<String>,
    pub client_certificate: Option<ClientCertificate>,
}

/// A client certificate and its key, each base64 of PEM as in the kubeconfig.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub certificate_data: String,
    pub key_data: String,
}

impl fmt::Debug for Member {
    /// Secrets are not shown: a Debug print may reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("server", &self.server)
            .field("loopback", &self.loopback)
            .field(
                "certificate_authority_data",
                &self.certificate_authority_data.as_ref().map(|_| "…"),
            )
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("tls_server_name", &self.tls_server_name)
            .field("disable_compression", &self.disable_compression)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("client_certificate", &self.client_certificate)
            .finish()
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientCertificate { <redacted> }")
    }
}

/// Fields of a user that are refused, in the order they are checked, and why.
///
/// `username` and `password` are refused rather than passed on: every Kubernetes
/// version Hoist supports refuses basic authentication (removed in 1.19), so such a
/// kubeconfig cannot work, and a password is typically a person's reused credential
/// that has no business in a Secret the operator reads.
///
/// The impersonation fields are refused although they read no file and run no
/// program: the client is built from the accepted fields only, so dropping them
/// silently would probe as another identity than the kubeconfig says.
pub const REFUSED_USER_FIELDS: [(&str, Rule); 11] = [
    ("exec", Rule::RunsProgram),
    ("auth-provider", Rule::AuthProvider),
    ("tokenFile", Rule::ReadsFile("token")),
    (
        "client-certificate",
        Rule::ReadsFile("client-certificate-data"),
    ),
    ("client-key", Rule::ReadsFile("client-key-data")),
    ("as", Rule::Impersonates),
    ("as-uid", Rule::Impersonates),
    ("as-groups", Rule::Impersonates),
    ("as-user-extra", Rule::Impersonates),
    ("username", Rule::BasicAuth),
    ("password", Rule::BasicAuth),
];

/// Fields of a cluster that are refused, in the order they are checked, and why.
pub const REFUSED_CLUSTER_FIELDS: [(&str, Rule); 2] = [
    (
        "certificate-authority",
        Rule::ReadsFile("certificate-authority-data"),
    ),
    ("proxy-url", Rule::Proxy),
];

/// Parses `text` as one YAML document (at most [`MAX_KUBECONFIG_BYTES`]).
pub fn parse(text: &str) -> Result<Value, KubeconfigError> {
    if text.len() > MAX_KUBECONFIG_BYTES {
        return Err(KubeconfigError::TooLarge);
    }
    serde_yaml_ng::from_str(text).map_err(|e| KubeconfigError::Unreadable(e.to_string()))
}

/// [`parse`], then [`validate`].
pub fn check(text: &str, context: Option<&str>) -> Result<Member, KubeconfigError> {
    validate(&parse(text)?, context)
}

/// Checks the cluster and user of `context` (the current context when `None`) in the
/// kubeconfig `doc` and returns what a client may use. See the module for the rules;
/// the first refused field is named (user fields before cluster fields, each in the
/// order of [`REFUSED_USER_FIELDS`] and [`REFUSED_CLUSTER_FIELDS`]).
pub fn validate(doc: &Value, context: Option<&str>) -> Result<Member, KubeconfigError> {
    let root = doc
        .as_object()
        .ok_or_else(|| refused("(top)", Rule::NotMapping))?;
    let wanted = match context {
        Some(c) => c.to_string(),
        None => match root.get("current-context") {
            None | Some(Value::Null) => return Err(KubeconfigError::NoCurrentContext),
            Some(Value::String(s)) if s.is_empty() => {
                return Err(KubeconfigError::NoCurrentContext);
            }
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(refused("current-context", Rule::NotString)),
        },
    };
    let (ci, ctx) = named(root, "contexts", "context", &wanted)?
        .ok_or_else(|| KubeconfigError::UnknownContext(wanted.clone()))?;
    let ctx_field = |key: &str| format!("contexts[{ci}].context.{key}");
    let cluster_name = match ctx.get("cluster") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => {
            return Err(KubeconfigError::Dangling {
                field: ctx_field("cluster"),
                kind: "cluster",
                name: String::new(),
            });
        }
        Some(_) => return Err(refused(ctx_field("cluster"), Rule::NotString)),
    };
    let user_name = match ctx.get("user") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(refused(ctx_field("user"), Rule::NotString)),
    };
    let user =
        match &user_name {
            None => None,
            Some(name) => Some(named(root, "users", "user", name)?.ok_or_else(|| {
                KubeconfigError::Dangling {
                    field: ctx_field("user"),
                    kind: "user",
                    name: name.clone(),
                }
            })?),
        };
    let (ki, cluster) = named(root, "clusters", "cluster", &cluster_name)?.ok_or_else(|| {
        KubeconfigError::Dangling {
            field: ctx_field("cluster"),
            kind: "cluster",
            name: cluster_name.clone(),
        }
    })?;
    let (token, client_certificate) = match user {
        None => (None, None),
        Some((ui, user)) => credentials(ui, user)?,
    };
    let at = |key: &str| format!("clusters[{ki}].cluster.{key}");
    for (key, rule) in REFUSED_CLUSTER_FIELDS {
        if present(cluster, key).is_some() {
            return Err(refused(at(key), rule));
        }
    }
    let raw = match present(cluster, "server") {
        None => return Err(refused(at("server"), Rule::NoServer)),
        Some(Value::String(s)) => s,
        Some(_) => return Err(refused(at("server"), Rule::NotString)),
    };
    let (server, loopback, http) = server(raw).map_err(|rule| refused(at("server"), rule))?;
    if http && !loopback {
        return Err(refused(at("server"), Rule::PlainHttp));
    }
    let certificate_authority_data = base64_field(cluster, "certificate-authority-data", &at)?;
    let tls_server_name = string_field(cluster, "tls-server-name", &at)?;
    let insecure_skip_tls_verify = bool_field(cluster, "insecure-skip-tls-verify", &at)?;
    if insecure_skip_tls_verify && !loopback {
        return Err(refused(at("insecure-skip-tls-verify"), Rule::InsecureTls));
    }
    let disable_compression = bool_field(cluster, "disable-compression", &at)?;
    Ok(Member {
        server,
        loopback,
        certificate_authority_data,
        insecure_skip_tls_verify,
        tls_server_name,
        disable_compression,
        token,
        client_certificate,
    })
}

type Credentials = (Option<String>, Option<ClientCertificate>);

/// An entry of a named list: its index and its inner mapping.
type Entry<'a> = (usize, &'a Map<String, Value>);

/// The user's token and client certificate, once no refused field is present.
fn credentials(ui: usize, user: &Map<String, Value>) -> Result<Credentials, KubeconfigError> {
    let at = |key: &str| format!("users[{ui}].user.{key}");
    for (key, rule) in REFUSED_USER_FIELDS {
        if present(user, key).is_some() {
            return Err(refused(at(key), rule));
        }
    }
    let token = string_field(user, "token", &at)?;
    let certificate = base64_field(user, "client-certificate-data", &at)?;
    let key = base64_field(user, "client-key-data", &at)?;
    let client_certificate = match (certificate, key) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(refused(
                at("client-certificate-data"),
                Rule::CertificateWithoutKey,
            ));
        }
        (None, Some(_)) => {
            return Err(refused(at("client-key-data"), Rule::KeyWithoutCertificate));
        }
        (Some(certificate_data), Some(key_data)) => Some(ClientCertificate {
            certificate_data,
            key_data,
        }),
    };
    Ok((token, client_certificate))
}

fn refused(field: impl Into<String>, rule: Rule) -> KubeconfigError {
    KubeconfigError::Refused {
        field: field.into(),
        rule,
    }
}

/// `map[key]` unless absent or `null`.
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// The first entry of the list `list` (`contexts`, `clusters`, `users`) whose `name` is
/// `name`, as its index and its `inner` mapping (as kube-rs and client-go pick).
fn named<'a>(
    root: &'a Map<String, Value>,
    list: &str,
    inner: &str,
    name: &str,
) -> Result<Option<Entry<'a>>, KubeconfigError> {
    let entries = match present(root, list) {
        None => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(refused(list, Rule::NotList)),
    };
    for (i, entry) in entries.iter().enumerate() {
        let Some(entry) = entry.as_object() else {
            return Err(refused(format!("{list}[{i}]"), Rule::NotMapping));
        };
        if entry.get("name").and_then(Value::as_str) != Some(name) {
            continue;
        }
        return match present(entry, inner) {
            Some(Value::Object(m)) => Ok(Some((i, m))),
            // `user: {}` and a missing `user:` are the same anonymous user.
            None if inner == "user" => Ok(Some((i, empty_map()))),
            _ => Err(refused(format!("{list}[{i}].{inner}"), Rule::NotMapping)),
        };
    }
    Ok(None)
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

fn string_field(
    map: &Map<String, Value>,
    key: &str,
    at: &dyn Fn(&str) -> String,
) -> Result<Option<String>, KubeconfigError> {
    match present(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(refused(at(key), Rule::NotString)),
    }
}

fn base64_field(
    map: &Map<String, Value>,
    key: &str,
    at: &dyn Fn(&str) -> String,
) -> Result<Option<String>, KubeconfigError> {
    let value = string_field(map, key, at)?;
    if let Some(v) = &value
        && base64::engine::general_purpose::STANDARD.decode(v).is_err()
    {
        return Err(refused(at(key), Rule::NotBase64));
    }
    Ok(value)
}

fn bool_field(
    map: &Map<String, Value>,
    key: &str,
    at: &dyn Fn(&str) -> String,
) -> Result<bool, KubeconfigError> {
    match present(map, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(refused(at(key), Rule::NotBool)),
    }
}

/// The server normalised, whether its host is loopback, whether it is plain http.
fn server(raw: &str) -> Result<(String, bool, bool), Rule> {
    let url = url::Url::parse(raw).map_err(|_| Rule::BadServer("is not a URL"))?;
    let http = match url.scheme() {
        "https" => false,
        "http" => true,
        _ => return Err(Rule::BadServer("must be an https:// URL")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Rule::BadServer("may not carry a user or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Rule::BadServer("may not carry a query or fragment"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => return Err(Rule::BadServer("has no host")),
    };
    Ok((url.to_string(), loopback, http))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(cluster: Value, user: Value) -> Value {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "c", "cluster": cluster}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        })
    }

    #[test]
    fn the_server_is_normalised_so_the_host_checked_is_the_host_used() {
        let m = validate(
            &doc(
                serde_json::json!({"server": "http://127.1:8080"}),
                serde_json::json!({}),
            ),
            None,
        )
        .expect("127.1 is 127.0.0.1");
        assert_eq!(m.server, "http://127.0.0.1:8080/");
        assert!(m.loopback);
    }

    #[test]
    fn secrets_are_not_shown_by_debug() {
        let m = validate(
            &doc(
                serde_json::json!({"server": "https://example.com"}),
                serde_json::json!({"token": "s3cr3t"}),
            ),
            None,
        )
        .expect("accepted");
        assert!(!format!("{m:?}").contains("s3cr3t"));
    }
}
