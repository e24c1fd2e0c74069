//! One probe of a member: `GET /version` (is it there, which version) and the
//! `kube-system` namespace (its UID is the cluster's identity), within one deadline.
//! 401 and 403 are a refused credential; anything else that fails is a failure.
//!
//! A member is hostile input twice over (issue 20): its kubeconfig, and its answers.
//!
//! Guarantees:
//! - [`member_client`] builds a client only for a kubeconfig
//!   [`hoist_core::fleet::kubeconfig::check`] accepted, from the fields it returned:
//!   no file named by the kubeconfig is read, no program runs, no proxy it names is
//!   used, and nothing is sent anywhere before it is accepted. The kube-rs kubeconfig
//!   handed to `Config::from_custom_kubeconfig` is made here and holds no path, no
//!   `exec` and no `auth-provider`, so kube-rs has nothing to read or run (it reads
//!   `~/.kube/config` and the in-cluster token only from `Config::infer` and
//!   `Config::from_kubeconfig`, never called here).
//! - [`probe`] reads at most [`MAX_ANSWER_BYTES`] of each of its two answers (and
//!   stops reading at that point), so a member answering with gigabytes costs the
//!   operator well under 1 MiB; such an answer is a failed probe.
//! - What a probe puts in a status is Hoist's own words, a status code, at most a
//!   Kubernetes `reason` word from an error answer, and a version and UID checked for
//!   length and characters: an answer's body never reaches a status verbatim. Transport
//!   errors are shown without control characters and cut short.
//!
//! Caveats:
//! - kube-rs still applies the operator's own `HTTPS_PROXY`/`https_proxy` environment
//!   (the operator's configuration, not the member's), and with no
//!   `certificate-authority-data` the operating system's trust store is used.
//! - Which address a server's name resolves to is not checked here.

use hoist_core::fleet::kubeconfig::{self, KubeconfigError, Member};
use hoist_core::fleet::probe::Outcome;
use kube::Client;
use std::time::Duration;

/// The most of one answer a probe reads.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The longest version or UID a probe keeps.
const MAX_WORD: usize = 128;

/// Probes the member behind `client`, giving up after `deadline`.
pub async fn probe(client: &Client, deadline: Duration) -> Outcome {
    let run = async {
        let version: VersionAnswer = get(client, "/version").await?;
        let version = version
            .git_version
            .filter(|v| word(v, |c| c.is_ascii_alphanumeric() || ".+-_~".contains(c)))
            .ok_or_else(|| Outcome::Failed("/version answered no usable gitVersion".to_string()))?;
        let ns: NamespaceAnswer = get(client, "/api/v1/namespaces/kube-system").await?;
        let identity = ns.metadata.uid.unwrap_or_default();
        if identity.is_empty() {
            return Err(Outcome::Failed("kube-system has no uid".into()));
        }
        if !word(&identity, |c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(Outcome::Failed("kube-system has no usable uid".into()));
        }
        Ok(Outcome::Ok { identity, version })
    };
    match tokio::time::timeout(deadline, run).await {
        Ok(Ok(outcome) | Err(outcome)) => outcome,
        Err(_) => Outcome::Failed(format!("no answer within {}s", deadline.as_secs())),
    }
}

/// The part of a `/version` answer a probe reads; the rest is skipped unread into
/// memory (serde ignores unknown fields without keeping them).
#[derive(serde::Deserialize)]
struct VersionAnswer {
    #[serde(rename = "gitVersion")]
    git_version: Option<String>,
}

/// The part of the `kube-system` Namespace a probe reads.
#[derive(serde::Deserialize)]
struct NamespaceAnswer {
    #[serde(default)]
    metadata: NamespaceMeta,
}

#[derive(serde::Deserialize, Default)]
struct NamespaceMeta {
    uid: Option<String>,
}

/// The part of an error answer (a Kubernetes Status) a probe may show.
#[derive(serde::Deserialize)]
struct StatusAnswer {
    reason: Option<String>,
}

/// Whether `s` is 1..=[`MAX_WORD`] characters, each allowed by `ok`.
fn word(s: &str, ok: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.len() <= MAX_WORD && s.chars().all(ok)
}

/// `GET path` on the member, its body read up to [`MAX_ANSWER_BYTES`] and parsed as
/// a `T` (never as a whole JSON tree); any failure as the probe's [`Outcome`], in
/// Hoist's words.
async fn get<T: serde::de::DeserializeOwned>(client: &Client, path: &str) -> Result<T, Outcome> {
    let request = axum::http::Request::get(path)
        .header(axum::http::header::ACCEPT, "application/json")
        .body(kube::client::Body::empty())
        .map_err(|e| Outcome::Failed(summary(&e.to_string())))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| Outcome::Failed(summary(&e.to_string())))?;
    let status = response.status();
    let body = axum::body::to_bytes(
        axum::body::Body::new(response.into_body()),
        MAX_ANSWER_BYTES,
    )
    .await;
    let body = match body {
        Ok(b) => b,
        Err(e) if too_large(&e) => {
            return Err(Outcome::Failed(format!(
                "{path} answered more than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        Err(e) => return Err(Outcome::Failed(summary(&e.to_string()))),
    };
    if !status.is_success() {
        let why = format!("{path} answered {status}{}", reason_of(&body));
        return Err(match status.as_u16() {
            401 | 403 => Outcome::Refused(format!("the credential is refused: {why}")),
            _ => Outcome::Failed(why),
        });
    }
    serde_json::from_slice(&body).map_err(|_| Outcome::Failed(format!("{path} answered no JSON")))
}

/// Whether a body read failed at the size limit.
fn too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit exceeded") {
            return true;
        }
        source = s.source();
    }
    false
}

/// ` (Reason)` when `body` is a Kubernetes Status whose `reason` is one plain word;
/// nothing else of an error answer is ever shown.
fn reason_of(body: &[u8]) -> String {
    serde_json::from_slice::<StatusAnswer>(body)
        .ok()
        .and_then(|s| s.reason)
        .filter(|r| r.len() <= 64 && !r.is_empty() && r.chars().all(|c| c.is_ascii_alphabetic()))
        .map(|r| format!(" ({r})"))
        .unwrap_or_default()
}

/// An error's text without control characters, cut to 200 characters.
fn summary(text: &str) -> String {
    let mut chars = text.chars().map(|c| if c.is_control() { ' ' } else { c });
    let mut out: String = chars.by_ref().take(200).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Why there is no client for a member.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// The kubeconfig is refused (or unusable): nothing was sent anywhere.
    #[error("the kubeconfig is refused: {0}")]
    Kubeconfig(#[from] KubeconfigError),
    #[error("no client for the member: {0}")]
    Client(String),
}

/// A client for the member a kubeconfig describes (`context`: the current one when
/// unset), with short timeouts: a probe must never hang on a member. The kubeconfig is
/// checked first (see the module) and the client built from what the check returned.
pub async fn member_client(
    kubeconfig: &str,
    context: Option<&str>,
    timeout: Duration,
) -> Result<Client, MemberError> {
    let member = kubeconfig::check(kubeconfig, context)?;
    client_for(&member, timeout).await
}

/// A client from an accepted [`Member`]'s fields and nothing else.
pub async fn client_for(member: &Member, timeout: Duration) -> Result<Client, MemberError> {
    use kube::config::{AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster};
    let bad = |e: &dyn std::fmt::Display| MemberError::Client(summary(&e.to_string()));
    let name = "member".to_string();
    let user = AuthInfo {
        token: member.token.clone().map(Into::into),
        client_certificate_data: member
            .client_certificate
            .as_ref()
            .map(|c| c.certificate_data.clone()),
        client_key_data: member
            .client_certificate
            .as_ref()
            .map(|c| c.key_data.clone().into()),
        ..Default::default()
    };
    let cluster = Cluster {
        server: Some(member.server.clone()),
        certificate_authority_data: member.certificate_authority_data.clone(),
        insecure_skip_tls_verify: Some(member.insecure_skip_tls_verify),
        tls_server_name: member.tls_server_name.clone(),
        disable_compression: Some(member.disable_compression),
        ..Default::default()
    };
    let kc = Kubeconfig {
        clusters: vec![NamedCluster {
            name: name.clone(),
            cluster: Some(cluster),
            ..Default::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: name.clone(),
            auth_info: Some(user),
            ..Default::default()
        }],
        contexts: vec![kube::config::NamedContext {
            name: name.clone(),
            context: Some(Context {
                cluster: name.clone(),
                user: Some(name.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }],
        current_context: Some(name),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .map_err(|e| bad(&e))?;
    config.connect_timeout = Some(timeout);
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    hoist_kube::client::from_config(config).map_err(|e| bad(&e))
}
