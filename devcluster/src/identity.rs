//! The server's identity across restarts: with `--state FILE` and authentication, the
//! CA, the admin token and the ServiceAccount signing key are kept in `FILE.identity`,
//! as kube-apiserver keeps its CA, serving keys and `--service-account-key-file` on disk.
//!
//! The file is JSON:
//!
//! ```json
//! {
//!   "format": 1,
//!   "caKey": "-----BEGIN PRIVATE KEY-----\n…",
//!   "caCert": "-----BEGIN CERTIFICATE-----\n…",
//!   "adminToken": "…",
//!   "serviceAccountSigningKey": "<standard base64 of the PKCS#8 DER P-256 key>"
//! }
//! ```
//!
//! Guarantees:
//! - created at the first start with a state file (and authentication), loaded at every
//!   later one: the same CA certificate is served and put in the kubeconfig, the same
//!   admin token accepted, and ServiceAccount tokens signed before the restart verify
//!   after it (same key, same `kid`);
//! - written atomically (a temporary file beside it, synced, renamed, the folder
//!   synced), with mode 0600: it holds secrets;
//! - a file that cannot be read or used stops the start with
//!   [`StartError::ReadIdentity`] or [`StartError::CorruptIdentity`], never a silently
//!   new identity; the file is left as it was;
//! - no secret appears in an error message or in `Debug` output.
//!
//! Caveats:
//! - the serving certificate is not kept: a new one, signed by the kept CA, is made at
//!   each start (clients trust the CA, so they do not notice);
//! - the file is read once at start; a file left wider than 0600 is used and warned
//!   about, not narrowed;
//! - two devclusters started at once on the same state file, both finding no identity
//!   file, each write one and the last rename wins (sharing a state file is unsupported
//!   anyway);
//! - moving the identity file away gives a new identity at the next start: every
//!   kubeconfig and ServiceAccount token issued before then stops working.

use crate::auth::authn::{self, ServiceAccountIssuer};
use crate::auth::tls::{self, CaMaterial};
use crate::error::StartError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The identity file's format version.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    format: u32,
    ca_key: String,
    ca_cert: String,
    admin_token: String,
    service_account_signing_key: String,
}

/// What a devcluster that authenticates keeps across restarts. Handle as a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerIdentity {
    /// The CA that signs the serving certificate ([`tls::identity_with_ca`]).
    pub ca: CaMaterial,
    /// The admin token of the kubeconfig ([`authn::AuthnConfig::admin_token`]).
    pub admin_token: String,
    /// The ServiceAccount signing key, PKCS#8 DER ([`authn::AuthnConfig::signing_key`]).
    pub signing_key: Vec<u8>,
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("ca", &self.ca)
            .field("admin_token", &"<redacted>")
            .field("signing_key", &"<redacted>")
            .finish()
    }
}

impl ServerIdentity {
    /// A fresh CA, admin token and signing key.
    pub fn generate() -> Result<Self, StartError> {
        let auth = |reason: String| StartError::Auth { reason };
        Ok(Self {
            ca: tls::new_ca().map_err(|e| auth(e.to_string()))?,
            admin_token: authn::generate_admin_token().map_err(|e| auth(e.to_string()))?,
            signing_key: authn::generate_signing_key().map_err(|e| auth(e.to_string()))?,
        })
    }

    /// Whether every part can be used: the CA key and certificate parse and belong
    /// together, the admin token is a token, the signing key is a P-256 PKCS#8.
    fn check(&self) -> Result<(), String> {
        tls::check_ca(&self.ca).map_err(|e| e.to_string())?;
        if self.admin_token.is_empty() || self.admin_token.chars().any(char::is_whitespace) {
            return Err("the admin token is empty or contains whitespace".into());
        }
        ServiceAccountIssuer::from_pkcs8(authn::ISSUER, &self.signing_key)
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Where the identity of a devcluster with `state_file` is kept: beside it, the state
/// file's name with `.identity` appended (`state.json` → `state.json.identity`).
pub fn path_for(state_file: &Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_os_string();
    name.push(".identity");
    PathBuf::from(name)
}

/// Loads the identity file at `path`; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<ServerIdentity>, StartError> {
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StartError::ReadIdentity {
                path: shown,
                source,
            });
        }
    };
    let corrupt = |reason: String| StartError::CorruptIdentity {
        path: shown.clone(),
        reason,
    };
    // serde_json's message may quote the file's text: report only where it failed.
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| {
        corrupt(format!(
            "not the expected JSON: {:?} error at line {}, column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    if saved.format != FORMAT {
        return Err(corrupt(format!("unknown format {}", saved.format)));
    }
    let signing_key = STANDARD
        .decode(saved.service_account_signing_key.trim())
        .map_err(|_| corrupt("serviceAccountSigningKey is not base64".into()))?;
    let identity = ServerIdentity {
        ca: CaMaterial {
            key_pem: saved.ca_key,
            cert_pem: saved.ca_cert,
        },
        admin_token: saved.admin_token,
        signing_key,
    };
    identity.check().map_err(corrupt)?;
    warn_if_readable_by_others(path);
    Ok(Some(identity))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "the identity file holds secrets and is readable by others: chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// Writes `identity` to `path` atomically, mode 0600.
pub fn save(identity: &ServerIdentity, path: &Path) -> std::io::Result<()> {
    let saved = Saved {
        format: FORMAT,
        ca_key: identity.ca.key_pem.clone(),
        ca_cert: identity.ca.cert_pem.clone(),
        admin_token: identity.admin_token.clone(),
        service_account_signing_key: STANDARD.encode(&identity.signing_key),
    };
    let bytes = serde_json::to_vec_pretty(&saved).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        // A temporary file left by a crash may be wider: narrow it before writing.
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // The rename is durable only once the folder's entry is: sync the folder too.
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The identity kept at `path`, or a fresh one written there when there is none.
///
/// Errors: [`StartError::ReadIdentity`] and [`StartError::CorruptIdentity`] for a file
/// that exists and cannot be used (it is not replaced), [`StartError::WriteIdentity`]
/// when a fresh identity cannot be written (the server does not start with an identity
/// it could not keep).
pub fn load_or_create(path: &Path) -> Result<ServerIdentity, StartError> {
    if let Some(identity) = load(path)? {
        return Ok(identity);
    }
    let identity = ServerIdentity::generate()?;
    save(&identity, path).map_err(|source| StartError::WriteIdentity {
        path: path.display().to_string(),
        source,
    })?;
    tracing::info!(path = %path.display(), "new devcluster identity written");
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_file_is_the_state_files_name_with_identity_appended() {
        assert_eq!(
            path_for(Path::new("/tmp/x/state.json")),
            Path::new("/tmp/x/state.json.identity")
        );
        assert_eq!(path_for(Path::new("state")), Path::new("state.identity"));
    }

    #[test]
    fn a_saved_identity_loads_back_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.identity");
        let first = load_or_create(&path).expect("created");
        let again = load_or_create(&path).expect("loaded");
        assert_eq!(first, again);
        assert!(!format!("{again:?}").contains(&again.admin_token));
    }

    #[test]
    fn errors_about_a_corrupt_file_do_not_quote_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.identity");
        std::fs::write(&path, br#"{"format": "secret-token-text"}"#).expect("write");
        let message = load(&path).expect_err("corrupt").to_string();
        assert!(!message.contains("secret-token-text"), "{message}");
    }
}
