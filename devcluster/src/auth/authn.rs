//! Who is asking: kube-apiserver's bearer-token authenticators, as a pure module.
//!
//! Mirrors, in behaviour, the authenticator chain kube-apiserver builds
//! (`pkg/kubeapiserver/authenticator/config.go`): the request's `Authorization` header
//! (`apiserver/pkg/authentication/request/bearertoken`), a union of token authenticators
//! (the static token file of `--token-file`, `token/tokenfile`, and ServiceAccount JWTs,
//! `pkg/serviceaccount/jwt.go` and `claims.go`), the group adder that puts every
//! authenticated user in `system:authenticated`, and the anonymous authenticator behind
//! `union.NewFailOnError` (`request/anonymous`). devcluster adds one static token of its
//! own, the admin token its kubeconfig carries ([`ADMIN_USER`] in `system:masters`).
//!
//! - [`Authenticator::authenticate`] turns an `Authorization` header into a [`UserInfo`]
//!   or an [`AuthnError`] whose [`AuthnError::status`] is the API server's 401 body.
//! - [`Authenticator::issue`] issues ServiceAccount tokens as `TokenRequest` does
//!   (signed ES256 JWTs with `aud`, `exp`, `iat`, `nbf`, `jti` and the `kubernetes.io`
//!   claims), [`Authenticator::review`] answers a `TokenReview`.
//! - [`TokenFile`] parses kube-apiserver's CSV token file with Go's `encoding/csv` rules.
//!
//! Guarantees:
//! - the scheme is matched case-insensitively and the header split on single spaces as
//!   bearertoken.go does; a header that carries no usable bearer token (none, another
//!   scheme, `Bearer` alone, `Bearer  x` with two spaces) is *not* a failed login: it is
//!   anonymous when anonymous requests are allowed and 401 otherwise, as on a real server;
//! - a bearer token no authenticator accepts is 401 even when anonymous requests are
//!   allowed (`union.NewFailOnError`): a bad token never degrades to anonymous;
//! - ServiceAccount tokens are refused when the signature does not verify, the issuer is
//!   not ours, none of the token's audiences is accepted, the token is expired or not yet
//!   valid (with the API server's 60 s leeway), or the ServiceAccount it names no longer
//!   exists with the uid it was issued for — checked on every request, cached or not;
//! - the identity is the real server's: `system:serviceaccount:NS:NAME`, uid the
//!   ServiceAccount's uid, groups `system:serviceaccounts`, `system:serviceaccounts:NS`,
//!   `system:authenticated`, extra `authentication.kubernetes.io/credential-id` =
//!   `JTI=<jti>` and, for bound tokens, `pod-name`/`pod-uid` and `node-name`/`node-uid`;
//! - no token and no key appears in `Debug` output or in an error message.
//!
//! The verification cache: kube-apiserver wraps its token authenticators in
//! `authentication/token/cache` with `TokenSuccessCacheTTL` 10 s and `TokenFailureCacheTTL`
//! 0 s: successes are cached by a hash of the token, failures not at all. Here the
//! cache holds the *signature-verified claims* of a token for [`CACHE_TTL_SECONDS`] by
//! SHA-256 of the token, at most [`CACHE_MAX_ENTRIES`] entries, successes only; every
//! other check (time, audience, ServiceAccount existence and uid) still runs on a hit.
//! That is stricter than the real cache, which would accept a deleted ServiceAccount's
//! token for up to 10 s: the ServiceAccount check is a map lookup for devcluster, the
//! signature is what costs, and tests should see a deletion take effect at once.
//!
//! Caveats:
//! - the signing key and the admin token are generated when the authenticator is built
//!   unless [`AuthnConfig`] gives them; this module keeps nothing on disk. A devcluster
//!   started with a state file keeps both in its identity file ([`crate::identity`]), so
//!   tokens issued before a restart still verify after it; without one, a restart makes
//!   new ones and every token issued before stops verifying;
//! - bound objects (Pod, Secret, Node) are written into the claims and reported in
//!   `extra`, but only the ServiceAccount is looked up on verification; the real server
//!   also refuses a token whose bound Pod or Secret was deleted;
//! - the `warnafter` claim, the 1-year extension of 3607 s tokens and
//!   `--service-account-max-token-expiration` are not modelled;
//! - the token file is read once; the real server does not reload it either;
//! - static tokens are found with a `HashMap` lookup, not a constant-time comparison, as
//!   in tokenfile.go; `TokenReview` error strings for unusual failures are approximate.

use crate::auth::rbac::{UserInfo, go_quote_list};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The admin identity of the token devcluster writes into its kubeconfig.
pub const ADMIN_USER: &str = "devcluster-admin";
/// The group that bypasses authorization (`user.SystemPrivilegedGroup`).
pub const SYSTEM_MASTERS: &str = "system:masters";
/// Every authenticated user is in this group (`user.AllAuthenticated`).
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The anonymous user (`user.Anonymous`).
pub const ANONYMOUS_USER: &str = "system:anonymous";
/// The anonymous user's group (`user.AllUnauthenticated`).
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";
/// The group of every ServiceAccount.
pub const ALL_SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
/// The issuer (`--service-account-issuer`) and default audience, as on a kubeadm cluster.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// `user.CredentialIDKey`.
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";
/// Extra key of the Pod a token is bound to.
pub const POD_NAME_KEY: &str = "authentication.kubernetes.io/pod-name";
/// Extra key of the uid of the Pod a token is bound to.
pub const POD_UID_KEY: &str = "authentication.kubernetes.io/pod-uid";
/// Extra key of the Node a token is bound to (directly or through its Pod).
pub const NODE_NAME_KEY: &str = "authentication.kubernetes.io/node-name";
/// Extra key of the uid of the Node a token is bound to.
pub const NODE_UID_KEY: &str = "authentication.kubernetes.io/node-uid";
/// `TokenRequest`'s default `expirationSeconds`.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// The shortest `expirationSeconds` a `TokenRequest` may ask for (10 minutes).
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// The longest `expirationSeconds` a `TokenRequest` may ask for (2^32 seconds).
pub const MAX_EXPIRATION_SECONDS: i64 = u32::MAX as i64;
/// Clock skew tolerated on `exp`, `nbf` and `iat` (go-jose's `jwt.DefaultLeeway`).
pub const LEEWAY_SECONDS: i64 = 60;
/// How long a verified signature is trusted without checking it again.
pub const CACHE_TTL_SECONDS: i64 = 10;
/// At most this many tokens are cached.
pub const CACHE_MAX_ENTRIES: usize = 1024;

/// go-jose's error for a signature that does not verify, as the real server reports it.
const CRYPTO_FAILURE: &str = "go-jose/go-jose: error in cryptographic primitive";

/// The current time in Unix seconds; injectable so tests can move time without sleeping.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| Utc::now().timestamp())
}

/// What verification needs to know about a stored ServiceAccount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountState {
    pub uid: String,
}

/// Finds a ServiceAccount by namespace and name; `None` when it does not exist.
pub type ServiceAccountLookup<'a> = &'a dyn Fn(&str, &str) -> Option<ServiceAccountState>;

/// A name and uid, as the `kubernetes.io` claims record objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl ObjectRef {
    pub fn new(name: &str, uid: &str) -> Self {
        Self {
            name: name.into(),
            uid: uid.into(),
        }
    }
}

/// The object a `TokenRequest` binds its token to (`spec.boundObjectRef`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundObject {
    /// A Pod, with the Node it runs on when it is scheduled.
    Pod {
        pod: ObjectRef,
        node: Option<ObjectRef>,
    },
    Secret(ObjectRef),
    Node(ObjectRef),
}

/// Why a `TokenRequest` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// `expirationSeconds` below ten minutes (`ValidateTokenRequest`).
    #[error(
        "spec.expirationSeconds: Invalid value: {0}: may not specify a duration less than 10 minutes"
    )]
    ExpirationTooShort(i64),
    /// `expirationSeconds` above 2^32 seconds.
    #[error(
        "spec.expirationSeconds: Invalid value: {0}: may not specify a duration larger than 2^32 seconds"
    )]
    ExpirationTooLong(i64),
    /// The JWT library failed to sign (never carries the key or the token).
    #[error("failed to sign the service account token: {0}")]
    Signing(String),
}

/// Why the authenticator could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("generating the service account signing key failed")]
    KeyGeneration,
    #[error("generating the admin token failed")]
    RandomToken,
    #[error("the service account signing key is not an unencrypted PKCS#8 P-256 key")]
    BadSigningKey,
    #[error("the admin token must not be empty or contain whitespace")]
    BadAdminToken,
}

/// A token as `TokenRequest` returns it (`status.token`, `status.expirationTimestamp`).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub expiration_timestamp: DateTime<Utc>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expiration_timestamp", &self.expiration_timestamp)
            .finish()
    }
}

/// Why a request was not authenticated. Every variant is a 401 with the same body.
///
/// The messages are the reasons the API server logs (and a `TokenReview` reports); they
/// never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthnError {
    /// No usable credentials and anonymous requests are not allowed.
    #[error("no credentials and anonymous requests are disabled")]
    Unauthenticated,
    /// A bearer token that no authenticator recognizes (bearertoken.go's error).
    #[error("invalid bearer token")]
    InvalidBearerToken,
    /// A ServiceAccount token that was recognized and refused, with the reason.
    #[error("{0}")]
    InvalidToken(String),
}

impl AuthnError {
    /// The HTTP status code: always 401.
    pub fn code(&self) -> u16 {
        401
    }

    /// The body kube-apiserver writes: `apierrors.NewUnauthorized("Unauthorized")` from
    /// `apiserver/pkg/endpoints/filters/authentication.go`, whatever the reason.
    pub fn status(&self) -> Value {
        unauthorized_status()
    }

    /// [`AuthnError::status`] as the exact bytes kube-apiserver writes (Go's field order:
    /// `kind`, `apiVersion`, `metadata`, `status`, `message`, `reason`, `code`), for
    /// callers that want byte equality rather than JSON equality (serde_json's `Value`
    /// sorts keys in this workspace).
    pub fn status_body(&self) -> &'static str {
        UNAUTHORIZED_BODY
    }
}

/// The API server's 401 body, byte for byte.
pub const UNAUTHORIZED_BODY: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;

/// The API server's 401 `Status` body.
pub fn unauthorized_status() -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401
    })
}

// ---------------------------------------------------------------------------------------
// The token file.

/// Why a token file was refused. Positions only: never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFileError {
    #[error("reading token file {path:?}: {message}")]
    Read { path: String, message: String },
    /// Go `encoding/csv`'s `ParseError`.
    #[error("token file {path:?}: parse error on line {line}, column {column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: &'static str,
    },
    /// A record with fewer than three fields (tokenfile.go's check), naming its line.
    #[error(
        "token file {path:?}, line {line}: must have at least 3 columns (token, user name, user uid), found {found}"
    )]
    Columns {
        path: String,
        line: usize,
        found: usize,
    },
}

/// Static users of kube-apiserver's `--token-file`: `token,user,uid,"group1,group2"`.
///
/// Guarantees: parsed with Go `encoding/csv`'s rules as tokenfile.go configures them
/// (`FieldsPerRecord = -1`, no comment character, no lazy quotes, no trimming): quoted
/// fields may hold commas, `""` and newlines; a `"` inside an unquoted field is an error;
/// empty lines are skipped; a record with fewer than 3 fields is an error naming its line;
/// fields after the fourth are ignored; a record with an empty token is skipped and a
/// duplicate token replaces the earlier one (both only warned about, see
/// [`TokenFile::warnings`]); groups are the fourth field split on `,` (so an empty fourth
/// field is one empty group, as Go's `strings.Split` gives).
///
/// Caveats: there are no comments, as in the real file: a line starting with `#` is a
/// record like any other (usually too short, hence an error).
#[derive(Clone, Default)]
pub struct TokenFile {
    users: HashMap<String, UserInfo>,
    warnings: Vec<String>,
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&str> = self.users.values().map(|u| u.name.as_str()).collect();
        users.sort_unstable();
        f.debug_struct("TokenFile")
            .field("users", &users)
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl TokenFile {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, TokenFileError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TokenFileError::Read {
            path: label.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&label, &text)
    }

    /// Parses the text of a token file; `path` only names it in errors and warnings.
    pub fn parse(path: &str, text: &str) -> Result<Self, TokenFileError> {
        let records = parse_csv(text).map_err(|e| TokenFileError::Parse {
            path: path.into(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        let mut file = Self::default();
        for (record_num, (line, record)) in records.into_iter().enumerate() {
            if record.len() < 3 {
                return Err(TokenFileError::Columns {
                    path: path.into(),
                    line,
                    found: record.len(),
                });
            }
            let record_num = record_num + 1;
            let mut fields = record.into_iter();
            let token = fields.next().unwrap_or_default();
            let name = fields.next().unwrap_or_default();
            let uid = fields.next().unwrap_or_default();
            let groups = fields
                .next()
                .map(|g| g.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            if token.is_empty() {
                file.warnings.push(format!(
                    "empty token has been found in token file '{path}', record number '{record_num}'"
                ));
                continue;
            }
            if file.users.contains_key(&token) {
                file.warnings.push(format!(
                    "duplicate token has been found in token file '{path}', record number '{record_num}'"
                ));
            }
            let user = UserInfo {
                name,
                uid,
                groups,
                extra: BTreeMap::new(),
            };
            file.users.insert(token, user);
        }
        Ok(file)
    }

    /// How many tokens the file defines.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file defines no token.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// What the real server would log while loading the file (empty and duplicate tokens).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

struct CsvError {
    line: usize,
    column: usize,
    message: &'static str,
}

/// Go `encoding/csv` with `Comma = ','`, `Comment = 0`, `LazyQuotes = false`,
/// `TrimLeadingSpace = false`: the records with the line each starts on.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    const BARE_QUOTE: &str = "bare \" in non-quoted-field";
    const QUOTE: &str = "extraneous or missing \" in quoted-field";
    let normalized = text.replace("\r\n", "\n");
    let mut chars = normalized.chars().peekable();
    let mut records = Vec::new();
    let mut line = 1;
    let mut column = 0;
    while let Some(&c) = chars.peek() {
        if c == '\n' {
            chars.next();
            line += 1;
            column = 0;
            continue;
        }
        let start_line = line;
        let mut fields = Vec::new();
        'record: loop {
            let mut field = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                column += 1;
                loop {
                    match chars.next() {
                        None => {
                            return Err(CsvError {
                                line,
                                column: column + 1,
                                message: QUOTE,
                            });
                        }
                        Some('"') => {
                            column += 1;
                            match chars.peek() {
                                Some('"') => {
                                    chars.next();
                                    column += 1;
                                    field.push('"');
                                }
                                Some(',') => {
                                    chars.next();
                                    column += 1;
                                    fields.push(field);
                                    continue 'record;
                                }
                                Some('\n') => {
                                    chars.next();
                                    line += 1;
                                    column = 0;
                                    fields.push(field);
                                    break 'record;
                                }
                                None => {
                                    fields.push(field);
                                    break 'record;
                                }
                                Some(_) => {
                                    return Err(CsvError {
                                        line,
                                        column: column + 1,
                                        message: QUOTE,
                                    });
                                }
                            }
                        }
                        Some('\n') => {
                            line += 1;
                            column = 0;
                            field.push('\n');
                        }
                        Some(other) => {
                            column += 1;
                            field.push(other);
                        }
                    }
                }
            } else {
                loop {
                    match chars.next() {
                        None => {
                            fields.push(field);
                            break 'record;
                        }
                        Some(',') => {
                            column += 1;
                            fields.push(field);
                            continue 'record;
                        }
                        Some('\n') => {
                            line += 1;
                            column = 0;
                            fields.push(field);
                            break 'record;
                        }
                        Some('"') => {
                            return Err(CsvError {
                                line,
                                column: column + 1,
                                message: BARE_QUOTE,
                            });
                        }
                        Some(other) => {
                            column += 1;
                            field.push(other);
                        }
                    }
                }
            }
        }
        records.push((start_line, fields));
    }
    Ok(records)
}

// ---------------------------------------------------------------------------------------
// ServiceAccount tokens.

/// `aud`: go-jose writes an array; a single string is accepted as RFC 7519 allows.
fn audience<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Aud>::deserialize(d)? {
        None => Vec::new(),
        Some(Aud::One(s)) => vec![s],
        Some(Aud::Many(v)) => v,
    })
}

/// The `kubernetes.io` private claims (`privateClaims` of claims.go), keys in the order
/// go-jose writes them (it marshals through a map, so alphabetically).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct KubernetesClaims {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pod: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<ObjectRef>,
    #[serde(default)]
    serviceaccount: ObjectRef,
}

/// The claims of a ServiceAccount token, alphabetically as the real server writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Claims {
    #[serde(default, deserialize_with = "audience")]
    aud: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default)]
    iss: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    jti: String,
    #[serde(rename = "kubernetes.io", default)]
    kubernetes: KubernetesClaims,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default)]
    sub: String,
}

/// Signs and verifies ServiceAccount tokens with a P-256 key, generated at start or
/// given as PKCS#8 ([`ServiceAccountIssuer::from_pkcs8`]).
///
/// Guarantees: ES256 only (a token whose header names another algorithm, `none`
/// included, is not accepted); the header carries `kid`, the unpadded base64url SHA-256 of
/// the public key's DER `SubjectPublicKeyInfo`, as `keyIDFromPublicKey` derives it, so
/// the same key always has the same `kid` and an issuer rebuilt from it verifies the
/// tokens the earlier one signed.
///
/// Caveats: one key, never rotated.
pub struct ServiceAccountIssuer {
    issuer: String,
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl fmt::Debug for ServiceAccountIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl ServiceAccountIssuer {
    /// A new issuer named `issuer`, with a fresh key pair from aws-lc-rs.
    pub fn generate(issuer: &str) -> Result<Self, SetupError> {
        Self::from_pkcs8(issuer, &generate_signing_key()?)
    }

    /// An issuer named `issuer` signing with `pkcs8`, an unencrypted PKCS#8 (v1 or v2)
    /// DER P-256 key, as [`generate_signing_key`] makes.
    ///
    /// Guarantees: the same key gives the same `kid`, and tokens signed by any issuer
    /// built from it verify; a key that is not a P-256 PKCS#8 is
    /// [`SetupError::BadSigningKey`] (the error never contains the key).
    pub fn from_pkcs8(issuer: &str, pkcs8: &[u8]) -> Result<Self, SetupError> {
        ensure_crypto_provider()?;
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(|_| SetupError::BadSigningKey)?;
        let spki = key_pair
            .public_key()
            .as_der()
            .map_err(|_| SetupError::BadSigningKey)?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki.as_ref());
        Ok(Self {
            issuer: issuer.into(),
            kid: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            encoding: EncodingKey::from_ec_der(pkcs8),
            decoding: DecodingKey::from_ec_der(key_pair.public_key().as_ref()),
        })
    }

    /// The `iss` this issuer writes and accepts.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `kid` of the signing key.
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        now: i64,
        namespace: &str,
        name: &str,
        sa_uid: &str,
        audiences: Vec<String>,
        expiration_seconds: Option<i64>,
        bound: Option<&BoundObject>,
    ) -> Result<IssuedToken, IssueError> {
        let seconds = expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS);
        if seconds < MIN_EXPIRATION_SECONDS {
            return Err(IssueError::ExpirationTooShort(seconds));
        }
        if seconds > MAX_EXPIRATION_SECONDS {
            return Err(IssueError::ExpirationTooLong(seconds));
        }
        let exp = now.saturating_add(seconds);
        let mut kubernetes = KubernetesClaims {
            namespace: namespace.into(),
            serviceaccount: ObjectRef::new(name, sa_uid),
            ..KubernetesClaims::default()
        };
        match bound {
            Some(BoundObject::Pod { pod, node }) => {
                kubernetes.pod = Some(pod.clone());
                kubernetes.node = node.clone();
            }
            Some(BoundObject::Secret(secret)) => kubernetes.secret = Some(secret.clone()),
            Some(BoundObject::Node(node)) => kubernetes.node = Some(node.clone()),
            None => {}
        }
        let claims = Claims {
            aud: audiences,
            exp: Some(exp),
            iat: Some(now),
            iss: self.issuer.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            kubernetes,
            nbf: Some(now),
            sub: format!("system:serviceaccount:{namespace}:{name}"),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.typ = None;
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| IssueError::Signing(format!("{:?}", e.kind())))?;
        let expiration_timestamp = DateTime::from_timestamp(exp, 0).unwrap_or(DateTime::UNIX_EPOCH);
        Ok(IssuedToken {
            token,
            expiration_timestamp,
        })
    }

    /// Whether `token` is a compact JWS whose unverified `iss` is ours
    /// (`hasCorrectIssuer`): only then does this authenticator have an opinion.
    fn has_correct_issuer(&self, token: &str) -> bool {
        if token.trim_start().starts_with('{') {
            return false;
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [_, payload, _] = parts.as_slice() else {
            return false;
        };
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload) else {
            return false;
        };
        #[derive(Deserialize)]
        struct Iss {
            #[serde(default)]
            iss: String,
        }
        serde_json::from_slice::<Iss>(&bytes).is_ok_and(|c| c.iss == self.issuer)
    }

    /// The claims of `token` once its signature verifies. `Ok(None)`: not a token this
    /// issuer can parse (go-jose's `ParseSigned` failing), so no opinion.
    fn verify_signature(&self, token: &str) -> Result<Option<Claims>, String> {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(Some(data.claims)),
            Err(e) => match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidEcdsaKey => {
                    Err(CRYPTO_FAILURE.into())
                }
                _ => Ok(None),
            },
        }
    }
}

/// jsonwebtoken picks its provider from its crate features; if another crate in the build
/// enabled `rust_crypto` too, none is picked, so install aws-lc-rs explicitly.
fn ensure_crypto_provider() -> Result<(), SetupError> {
    use jsonwebtoken::crypto::CryptoProvider;
    if CryptoProvider::try_get_default().is_none() {
        // Losing a race to another installer is fine: some provider is then installed.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    }
    CryptoProvider::try_get_default()
        .map(|_| ())
        .ok_or(SetupError::KeyGeneration)
}

/// Signature-verified claims by SHA-256 of the token, for [`CACHE_TTL_SECONDS`].
#[derive(Default)]
struct TokenCache {
    entries: HashMap<[u8; 32], (i64, Arc<Claims>)>,
}

impl TokenCache {
    fn get(&self, key: &[u8; 32], now: i64) -> Option<Arc<Claims>> {
        let (at, claims) = self.entries.get(key)?;
        (now >= *at && now - *at < CACHE_TTL_SECONDS).then(|| claims.clone())
    }

    fn insert(&mut self, key: [u8; 32], now: i64, claims: Arc<Claims>) {
        if self.entries.len() >= CACHE_MAX_ENTRIES && !self.entries.contains_key(&key) {
            self.entries
                .retain(|_, (at, _)| now >= *at && now - *at < CACHE_TTL_SECONDS);
            if self.entries.len() >= CACHE_MAX_ENTRIES
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| *k)
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (now, claims));
    }
}

fn token_key(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

// ---------------------------------------------------------------------------------------
// TokenReview.

/// `authentication.k8s.io/v1` `TokenReviewStatus`.
///
/// Serializes as the API server does: `authenticated`, `audiences` and `error` are
/// omitted when false or empty (`omitempty`), `user` is always present (`{}` when the
/// token was not authenticated), its fields omitted when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenReviewStatus {
    pub authenticated: bool,
    pub user: Option<UserInfo>,
    pub audiences: Vec<String>,
    pub error: Option<String>,
}

impl Serialize for TokenReviewStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct User<'a> {
            #[serde(skip_serializing_if = "str::is_empty")]
            username: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            uid: &'a str,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            groups: &'a [String],
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            extra: &'a BTreeMap<String, Vec<String>>,
        }
        #[derive(Serialize)]
        struct Status<'a> {
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            authenticated: bool,
            user: User<'a>,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            audiences: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a str>,
        }
        let empty = BTreeMap::new();
        let user = match &self.user {
            Some(u) => User {
                username: &u.name,
                uid: &u.uid,
                groups: &u.groups,
                extra: &u.extra,
            },
            None => User {
                username: "",
                uid: "",
                groups: &[],
                extra: &empty,
            },
        };
        Status {
            authenticated: self.authenticated,
            user,
            audiences: &self.audiences,
            error: self.error.as_deref(),
        }
        .serialize(s)
    }
}

// ---------------------------------------------------------------------------------------
// The authenticator.

/// How to build an [`Authenticator`].
#[derive(Clone, Default)]
pub struct AuthnConfig {
    /// Allow requests without credentials as `system:anonymous` (`--anonymous-auth`).
    pub anonymous: bool,
    /// Extra static users (`--token-file`).
    pub token_file: Option<TokenFile>,
    /// The admin token to accept; `None` generates one (32 random bytes, base64url).
    pub admin_token: Option<String>,
    /// The ServiceAccount signing key, unencrypted PKCS#8 DER of a P-256 key (see
    /// [`ServiceAccountIssuer::from_pkcs8`]); `None` generates one.
    pub signing_key: Option<Vec<u8>>,
    /// The audiences the API server accepts (`--api-audiences`); empty means the issuer.
    pub api_audiences: Vec<String>,
    /// The clock; `None` is the system clock.
    pub clock: Option<Clock>,
}

impl fmt::Debug for AuthnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthnConfig")
            .field("anonymous", &self.anonymous)
            .field("token_file", &self.token_file)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|_| "<redacted>"),
            )
            .field("api_audiences", &self.api_audiences)
            .finish_non_exhaustive()
    }
}

/// kube-apiserver's authenticator chain for devcluster: the admin token, the token file,
/// ServiceAccount JWTs, then anonymous.
///
/// Guarantees: see the module docs. Safe to share between request tasks (`Send + Sync`;
/// the verification cache is behind a mutex held only for a map operation).
///
/// Caveats: see the module docs.
pub struct Authenticator {
    admin_token: String,
    static_tokens: HashMap<String, UserInfo>,
    issuer: ServiceAccountIssuer,
    api_audiences: Vec<String>,
    anonymous: bool,
    clock: Clock,
    cache: Mutex<TokenCache>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("admin_token", &"<redacted>")
            .field("static_users", &self.static_tokens.len())
            .field("issuer", &self.issuer)
            .field("api_audiences", &self.api_audiences)
            .field("anonymous", &self.anonymous)
            .finish_non_exhaustive()
    }
}

/// The outcome of the token authenticators for one token: `Ok(None)` when none of them
/// has an opinion (tokenunion's "not ok, no error").
type TokenOutcome = Result<Option<(UserInfo, Vec<String>)>, String>;

impl Authenticator {
    /// An authenticator with the admin token and signing key of `config`, each fresh
    /// when not given.
    pub fn new(config: AuthnConfig) -> Result<Self, SetupError> {
        let admin_token = match config.admin_token {
            Some(t) if t.is_empty() || t.chars().any(char::is_whitespace) => {
                return Err(SetupError::BadAdminToken);
            }
            Some(t) => t,
            None => random_token()?,
        };
        let issuer = match &config.signing_key {
            Some(pkcs8) => ServiceAccountIssuer::from_pkcs8(ISSUER, pkcs8)?,
            None => ServiceAccountIssuer::generate(ISSUER)?,
        };
        let api_audiences = if config.api_audiences.is_empty() {
            vec![ISSUER.to_string()]
        } else {
            config.api_audiences
        };
        let mut static_tokens = config.token_file.map(|f| f.users).unwrap_or_default();
        static_tokens.insert(
            admin_token.clone(),
            UserInfo::new(ADMIN_USER, &[SYSTEM_MASTERS, AUTHENTICATED_GROUP]),
        );
        Ok(Self {
            admin_token,
            static_tokens,
            issuer,
            api_audiences,
            anonymous: config.anonymous,
            clock: config.clock.unwrap_or_else(system_clock),
            cache: Mutex::new(TokenCache::default()),
        })
    }

    /// The admin token, for the kubeconfig devcluster writes. Handle as a secret.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Whether requests without credentials are let in as `system:anonymous`.
    pub fn anonymous(&self) -> bool {
        self.anonymous
    }

    /// The audiences the API server accepts (the issuer unless configured).
    pub fn api_audiences(&self) -> &[String] {
        &self.api_audiences
    }

    /// The ServiceAccount token issuer.
    pub fn issuer(&self) -> &ServiceAccountIssuer {
        &self.issuer
    }

    /// Issues a ServiceAccount token as `TokenRequest` does.
    ///
    /// `audiences` empty means the API server's audiences; `expiration_seconds` `None`
    /// means 3600; below 600 or above 2^32 is refused with the API server's field error.
    /// `iat` and `nbf` are now, `exp` now + expiration, `jti` a fresh UUID.
    pub fn issue(
        &self,
        namespace: &str,
        name: &str,
        sa_uid: &str,
        audiences: &[String],
        expiration_seconds: Option<i64>,
        bound_object: Option<&BoundObject>,
    ) -> Result<IssuedToken, IssueError> {
        let audiences = if audiences.is_empty() {
            self.api_audiences.clone()
        } else {
            audiences.to_vec()
        };
        self.issuer.issue(
            (self.clock)(),
            namespace,
            name,
            sa_uid,
            audiences,
            expiration_seconds,
            bound_object,
        )
    }

    /// Authenticates a request by its `Authorization` header.
    pub fn authenticate(
        &self,
        authorization_header: Option<&str>,
        lookup: ServiceAccountLookup<'_>,
    ) -> Result<UserInfo, AuthnError> {
        let Some(token) = authorization_header.and_then(bearer_token) else {
            return if self.anonymous {
                Ok(UserInfo::new(ANONYMOUS_USER, &[UNAUTHENTICATED_GROUP]))
            } else {
                Err(AuthnError::Unauthenticated)
            };
        };
        match self.authenticate_token(token, &self.api_audiences, lookup) {
            Ok(Some((user, _))) => Ok(user),
            Ok(None) => Err(AuthnError::InvalidBearerToken),
            Err(reason) => Err(AuthnError::InvalidToken(reason)),
        }
    }

    /// Answers a `TokenReview` of `token` for `audiences` (empty: the API server's).
    ///
    /// As the real `TokenReview` storage does, the token goes through the request
    /// authenticator, so the user is in `system:authenticated`; `audiences` in the status
    /// are those of the token the reviewer asked for (for static tokens, the API
    /// server's); `error` is the reason a token was refused.
    ///
    /// Caveats: the API server answers an empty `spec.token` with a 400 before reviewing;
    /// that is the caller's to do (here it is simply not authenticated).
    pub fn review(
        &self,
        token: &str,
        audiences: &[String],
        lookup: ServiceAccountLookup<'_>,
    ) -> TokenReviewStatus {
        let requested = if audiences.is_empty() {
            &self.api_audiences[..]
        } else {
            audiences
        };
        let outcome = if token.is_empty() {
            Ok(None)
        } else {
            self.authenticate_token(token, requested, lookup)
        };
        match outcome {
            Ok(Some((user, audiences))) => TokenReviewStatus {
                authenticated: true,
                user: Some(user),
                audiences,
                error: None,
            },
            Ok(None) => TokenReviewStatus {
                error: (!token.is_empty()).then(|| AuthnError::InvalidBearerToken.to_string()),
                ..TokenReviewStatus::default()
            },
            Err(reason) => TokenReviewStatus {
                error: Some(reason),
                ..TokenReviewStatus::default()
            },
        }
    }

    /// The token union: static tokens (audience-agnostic, answered only when the
    /// requested audiences include the API server's), then ServiceAccount tokens.
    fn authenticate_token(
        &self,
        token: &str,
        requested: &[String],
        lookup: ServiceAccountLookup<'_>,
    ) -> TokenOutcome {
        if let Some(user) = self.static_tokens.get(token) {
            if !intersect(&self.api_audiences, requested).is_empty() {
                return Ok(Some((
                    with_authenticated_group(user.clone()),
                    self.api_audiences.clone(),
                )));
            }
            return Ok(None);
        }
        let now = (self.clock)();
        let key = token_key(token);
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key, now);
        // A cached token passed the issuer check and the signature: the same bytes pass
        // them again, so neither is redone (nor the token's JSON parsed) on a hit.
        let (claims, fresh) = match cached {
            Some(claims) => (claims, false),
            None if !self.issuer.has_correct_issuer(token) => return Ok(None),
            None => match self.issuer.verify_signature(token)? {
                Some(claims) => (Arc::new(claims), true),
                None => return Ok(None),
            },
        };
        let result = self.validate(&claims, now, requested, lookup)?;
        if fresh {
            self.cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(key, now, claims);
        }
        Ok(Some(result))
    }

    /// Everything after the signature: issuer, audience (jwt.go), time and the
    /// ServiceAccount (claims.go's `Validate`), in the real server's order.
    fn validate(
        &self,
        claims: &Claims,
        now: i64,
        requested: &[String],
        lookup: ServiceAccountLookup<'_>,
    ) -> Result<(UserInfo, Vec<String>), String> {
        if claims.iss != self.issuer.issuer {
            return Err(format!("token issuer {:?} is invalid", claims.iss));
        }
        let token_audiences = if claims.aud.is_empty() {
            self.api_audiences.clone()
        } else {
            claims.aud.clone()
        };
        let audiences = intersect(&token_audiences, requested);
        if audiences.is_empty() {
            return Err(format!(
                "token audiences {} is invalid for the target audiences {}",
                go_quote_list(&token_audiences),
                go_quote_list(requested)
            ));
        }
        if claims.nbf.is_some_and(|nbf| now + LEEWAY_SECONDS < nbf) {
            return Err("service account token is not valid yet".into());
        }
        if claims.exp.is_some_and(|exp| now - LEEWAY_SECONDS > exp) {
            return Err("service account token has expired".into());
        }
        if claims.iat.is_some_and(|iat| now + LEEWAY_SECONDS < iat) {
            return Err(
                "service account token claims could not be validated due to unexpected validation error"
                    .into(),
            );
        }
        let k = &claims.kubernetes;
        let sa = &k.serviceaccount;
        let Some(state) = lookup(&k.namespace, &sa.name) else {
            return Err(format!("serviceaccounts {:?} not found", sa.name));
        };
        if state.uid != sa.uid {
            return Err(format!(
                "service account UID ({}) does not match claim ({})",
                state.uid, sa.uid
            ));
        }
        let mut user = UserInfo::service_account(&k.namespace, &sa.name);
        user.uid = sa.uid.clone();
        if let Some(pod) = &k.pod
            && !pod.name.is_empty()
            && !pod.uid.is_empty()
        {
            user.extra
                .insert(POD_NAME_KEY.into(), vec![pod.name.clone()]);
            user.extra.insert(POD_UID_KEY.into(), vec![pod.uid.clone()]);
        }
        if !claims.jti.is_empty() {
            user.extra.insert(
                CREDENTIAL_ID_KEY.into(),
                vec![format!("JTI={}", claims.jti)],
            );
        }
        if let Some(node) = &k.node
            && !node.name.is_empty()
        {
            user.extra
                .insert(NODE_NAME_KEY.into(), vec![node.name.clone()]);
            if !node.uid.is_empty() {
                user.extra
                    .insert(NODE_UID_KEY.into(), vec![node.uid.clone()]);
            }
        }
        Ok((user, audiences))
    }
}

/// The token of an `Authorization` header as bearertoken.go finds it: trimmed, split on
/// single spaces into at most three parts, the scheme `bearer` in any case, the second
/// part non-empty. `None`: the header is not a bearer token at all.
fn bearer_token(header: &str) -> Option<&str> {
    let header = header.trim();
    if header.is_empty() {
        return None;
    }
    let mut parts = header.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `group.AuthenticatedGroupAdder`: add `system:authenticated` unless the user is
/// anonymous or already in it or in `system:unauthenticated`.
fn with_authenticated_group(mut user: UserInfo) -> UserInfo {
    let skip = user.name == ANONYMOUS_USER
        || user
            .groups
            .iter()
            .any(|g| g == AUTHENTICATED_GROUP || g == UNAUTHENTICATED_GROUP);
    if !skip {
        user.groups.push(AUTHENTICATED_GROUP.into());
    }
    user
}

/// `authenticator.Audiences.Intersect`: the members of `a` also in `b`, in `a`'s order.
fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|x| b.contains(x)).cloned().collect()
}

/// 32 bytes from the system CSPRNG, unpadded base64url.
fn random_token() -> Result<String, SetupError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SetupError::RandomToken)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh admin token, as [`Authenticator::new`] makes when none is given: 32 random
/// bytes, unpadded base64url (43 characters).
pub fn generate_admin_token() -> Result<String, SetupError> {
    random_token()
}

/// A fresh ServiceAccount signing key: a P-256 key pair from aws-lc-rs as unencrypted
/// PKCS#8 v1 DER, for [`ServiceAccountIssuer::from_pkcs8`] and [`AuthnConfig`]. Handle as
/// a secret.
pub fn generate_signing_key() -> Result<Vec<u8>, SetupError> {
    let key_pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| SetupError::KeyGeneration)?;
    let pkcs8 = key_pair
        .to_pkcs8v1()
        .map_err(|_| SetupError::KeyGeneration)?;
    Ok(pkcs8.as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    const T0: i64 = 1_700_000_000;

    fn clocked() -> (Authenticator, Arc<AtomicI64>) {
        let now = Arc::new(AtomicI64::new(T0));
        let n = now.clone();
        let config = AuthnConfig {
            clock: Some(Arc::new(move || n.load(Ordering::SeqCst))),
            ..AuthnConfig::default()
        };
        let authn = Authenticator::new(config).expect("authenticator");
        (authn, now)
    }

    fn sa_exists(ns: &str, name: &str) -> Option<ServiceAccountState> {
        (ns == "team-a" && name == "builder").then(|| ServiceAccountState {
            uid: "uid-1".into(),
        })
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn admin_token_is_43_chars_of_base64url_and_differs_each_start() {
        let a = Authenticator::new(AuthnConfig::default()).expect("a");
        let b = Authenticator::new(AuthnConfig::default()).expect("b");
        assert_eq!(a.admin_token().len(), 43);
        assert!(
            a.admin_token()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a.admin_token(), b.admin_token());
    }

    #[test]
    fn an_authenticator_rebuilt_from_the_same_key_and_token_accepts_what_the_first_issued() {
        let key = generate_signing_key().expect("key");
        let token = generate_admin_token().expect("token");
        let build = || {
            Authenticator::new(AuthnConfig {
                admin_token: Some(token.clone()),
                signing_key: Some(key.clone()),
                ..AuthnConfig::default()
            })
            .expect("authenticator")
        };
        let (first, second) = (build(), build());
        assert_eq!(first.issuer().key_id(), second.issuer().key_id());
        assert_eq!(second.admin_token(), token);
        let issued = first
            .issue("team-a", "builder", "uid-1", &[], None, None)
            .expect("issue");
        let user = second
            .authenticate(Some(&bearer(&issued.token)), &sa_exists)
            .expect("the rebuilt authenticator verifies the earlier token");
        assert_eq!(user.name, "system:serviceaccount:team-a:builder");
        let other = Authenticator::new(AuthnConfig::default()).expect("other");
        assert!(
            other
                .authenticate(Some(&bearer(&issued.token)), &sa_exists)
                .is_err()
        );
    }

    #[test]
    fn a_signing_key_that_is_not_p256_pkcs8_is_refused() {
        assert_eq!(
            ServiceAccountIssuer::from_pkcs8(ISSUER, b"not a key").map(|_| ()),
            Err(SetupError::BadSigningKey)
        );
    }

    #[test]
    fn bearer_header_is_split_like_bearertoken_go() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bEaReR abc"), Some("abc"));
        assert_eq!(bearer_token("  Bearer abc  "), Some("abc"));
        assert_eq!(bearer_token("Bearer abc def"), Some("abc"));
        assert_eq!(bearer_token("Bearer  abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token(""), None);
    }

    #[test]
    fn claims_are_written_as_the_api_server_writes_them() {
        let (authn, _) = clocked();
        let bound = BoundObject::Pod {
            pod: ObjectRef::new("web-0", "pod-uid"),
            node: Some(ObjectRef::new("node-1", "node-uid")),
        };
        let issued = authn
            .issue("team-a", "builder", "uid-1", &[], Some(600), Some(&bound))
            .expect("issue");
        let parts: Vec<&str> = issued.token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(
            header,
            json!({"alg": "ES256", "kid": authn.issuer().key_id()})
        );
        let payload =
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("utf8");
        let claims: Value = serde_json::from_str(&payload).expect("json");
        let jti = claims["jti"].as_str().expect("jti").to_string();
        assert_eq!(
            claims,
            json!({
                "aud": [ISSUER],
                "exp": T0 + 600,
                "iat": T0,
                "iss": ISSUER,
                "jti": jti,
                "kubernetes.io": {
                    "namespace": "team-a",
                    "node": {"name": "node-1", "uid": "node-uid"},
                    "pod": {"name": "web-0", "uid": "pod-uid"},
                    "serviceaccount": {"name": "builder", "uid": "uid-1"}
                },
                "nbf": T0,
                "sub": "system:serviceaccount:team-a:builder"
            })
        );
        assert!(
            payload.starts_with("{\"aud\":"),
            "keys in go-jose order: {payload}"
        );
        assert_eq!(issued.expiration_timestamp.timestamp(), T0 + 600);
    }

    #[test]
    fn verified_signatures_are_cached_but_the_service_account_is_checked_every_time() {
        let (authn, now) = clocked();
        let token = authn
            .issue("team-a", "builder", "uid-1", &[], None, None)
            .expect("issue")
            .token;
        assert_eq!(
            serde_json::from_str::<Value>(UNAUTHORIZED_BODY).ok(),
            Some(unauthorized_status())
        );
        authn
            .authenticate(Some(&bearer(&token)), &sa_exists)
            .expect("first");
        assert_eq!(authn.cache.lock().expect("lock").entries.len(), 1);
        let gone = |_: &str, _: &str| None;
        assert!(authn.authenticate(Some(&bearer(&token)), &gone).is_err());
        // Past the TTL the entry is stale and is replaced on the next success.
        now.fetch_add(CACHE_TTL_SECONDS, Ordering::SeqCst);
        let key = token_key(&token);
        assert!(
            authn
                .cache
                .lock()
                .expect("lock")
                .get(&key, now.load(Ordering::SeqCst))
                .is_none()
        );
        authn
            .authenticate(Some(&bearer(&token)), &sa_exists)
            .expect("again");
        assert!(
            authn
                .cache
                .lock()
                .expect("lock")
                .get(&key, now.load(Ordering::SeqCst))
                .is_some()
        );
    }

    #[test]
    fn failed_verifications_are_not_cached() {
        let (authn, _) = clocked();
        let token = authn
            .issue("team-a", "builder", "uid-1", &[], None, None)
            .expect("issue")
            .token;
        let gone = |_: &str, _: &str| None;
        assert!(authn.authenticate(Some(&bearer(&token)), &gone).is_err());
        assert!(authn.cache.lock().expect("lock").entries.is_empty());
    }

    #[test]
    fn the_cache_holds_at_most_its_bound() {
        let mut cache = TokenCache::default();
        for i in 0..(CACHE_MAX_ENTRIES + 50) {
            let key = token_key(&i.to_string());
            cache.insert(key, T0 + i as i64 / 200, Arc::new(Claims::default()));
        }
        assert_eq!(cache.entries.len(), CACHE_MAX_ENTRIES);
        // The newest entry survived.
        let newest = token_key(&(CACHE_MAX_ENTRIES + 49).to_string());
        assert!(cache.entries.contains_key(&newest));
    }

    #[test]
    fn csv_parser_follows_go_encoding_csv() {
        let ok = |t: &str| parse_csv(t).ok();
        assert_eq!(
            ok("a,\"b,c\",\"d\"\"e\"\n\n\nf,g\r\n"),
            Some(vec![
                (1, vec!["a".into(), "b,c".into(), "d\"e".into()]),
                (4, vec!["f".into(), "g".into()]),
            ])
        );
        assert_eq!(
            ok("\"multi\nline\",x\ny"),
            Some(vec![
                (1, vec!["multi\nline".into(), "x".into()]),
                (3, vec!["y".into()]),
            ])
        );
        assert_eq!(
            ok("a,b,"),
            Some(vec![(1, vec!["a".into(), "b".into(), "".into()])])
        );
        let err = |t: &str| parse_csv(t).err().map(|e| (e.line, e.column, e.message));
        assert_eq!(
            err("ok\nab\"c"),
            Some((2, 3, "bare \" in non-quoted-field"))
        );
        assert_eq!(
            err("\"ab\"c"),
            Some((1, 5, "extraneous or missing \" in quoted-field"))
        );
        assert!(err("\"open").is_some());
    }
}
