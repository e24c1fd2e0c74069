//! HTTPS for a devcluster that authenticates: client-go (kubectl) sends credentials only
//! over TLS (kubernetes/kubectl#744), so a server that asks for tokens must speak it.
//!
//! # Guarantees
//! - A serving certificate for `127.0.0.1`, `::1` and `localhost` is made at each start
//!   (rcgen, on the workspace's aws-lc-rs), signed by a CA that is either fresh
//!   ([`identity`]) or given ([`identity_with_ca`], the CA kept in a devcluster's identity
//!   file, [`crate::identity`]); that CA is what the kubeconfig and
//!   [`crate::DevCluster::client`] trust, nothing else is.
//! - A given CA is served unchanged (the same certificate, byte for byte, in the chain
//!   and as [`Identity::ca_pem`]/[`Identity::ca_der`]), so a kubeconfig written for an
//!   earlier start still trusts the server; a CA whose key does not match its
//!   certificate is refused ([`TlsError::BadCa`]).
//! - A client that does not finish its handshake within [`HANDSHAKE_TIMEOUT`] is
//!   dropped.
//!
//! # Caveats
//! - This module keeps nothing on disk. Without a state file the CA lives as long as the
//!   process: a restarted devcluster has a new one, and a kubeconfig written before does
//!   not trust it (write it again). With a state file the CA is kept beside it (see
//!   [`crate::identity`]); the serving certificate is still new at every start.
//! - A given CA must be one [`new_ca`] made: the serving certificate names it as issuer
//!   by the distinguished name `CN=devcluster-ca`, which is not read from the
//!   certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

/// How long a client has to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The serving identity: the acceptor, and the CA's certificate for clients.
pub struct Identity {
    pub acceptor: TlsAcceptor,
    /// The CA, PEM (the kubeconfig's `certificate-authority-data`, base64 of this).
    pub ca_pem: String,
    /// The CA, DER (kube-rs' `Config::root_cert`).
    pub ca_der: Vec<u8>,
}

/// A CA as it is kept: its private key (PKCS#8 PEM) and its certificate (PEM).
///
/// The key is a secret: `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct CaMaterial {
    /// The CA's private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: String,
    /// The CA's certificate, PEM (`-----BEGIN CERTIFICATE-----`).
    pub cert_pem: String,
}

impl std::fmt::Debug for CaMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaMaterial")
            .field("key_pem", &"<redacted>")
            .field("cert_pem", &self.cert_pem)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot make the certificates: {0}")]
    Certificates(#[from] rcgen::Error),
    #[error("cannot set up TLS: {0}")]
    Rustls(#[from] rustls::Error),
    /// A given CA that cannot be used (never carries the key).
    #[error("unusable CA: {0}")]
    BadCa(&'static str),
}

/// The CA's parameters: the same at every start, so a kept CA key signs serving
/// certificates whose issuer name is the kept certificate's subject.
fn ca_params() -> Result<rcgen::CertificateParams, rcgen::Error> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa};
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "devcluster-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    Ok(ca_params)
}

/// Makes a fresh CA (a P-256 key and its self-signed certificate).
pub fn new_ca() -> Result<CaMaterial, TlsError> {
    let ca_key = rcgen::KeyPair::generate()?;
    let ca = ca_params()?.self_signed(&ca_key)?;
    Ok(CaMaterial {
        key_pem: ca_key.serialize_pem(),
        cert_pem: ca.pem(),
    })
}

/// The CA's key and certificate (DER), checked to belong together.
fn parse_ca(ca: &CaMaterial) -> Result<(rcgen::KeyPair, CertificateDer<'static>), TlsError> {
    let key = rcgen::KeyPair::from_pem(&ca.key_pem)
        .map_err(|_| TlsError::BadCa("the key is not a PKCS#8 PEM private key"))?;
    let cert = CertificateDer::from_pem_slice(ca.cert_pem.as_bytes())
        .map_err(|_| TlsError::BadCa("the certificate is not a PEM certificate"))?;
    // Without an X.509 parser: the certificate's SubjectPublicKeyInfo holds the key's
    // public point verbatim, so a certificate for another key does not contain it.
    let public = key.public_key_raw();
    if public.is_empty() || !cert.windows(public.len()).any(|w| w == public) {
        return Err(TlsError::BadCa("the key does not match the certificate"));
    }
    Ok((key, cert))
}

/// Checks that `ca` can be used by [`identity_with_ca`]: the key parses, the
/// certificate parses, and they belong together.
pub fn check_ca(ca: &CaMaterial) -> Result<(), TlsError> {
    parse_ca(ca).map(|_| ())
}

/// Makes a fresh CA and a certificate for the loopback names, signed by it.
pub fn identity() -> Result<Identity, TlsError> {
    identity_with_ca(&new_ca()?)
}

/// Makes a certificate for the loopback names signed by `ca`, which is served as is.
pub fn identity_with_ca(ca: &CaMaterial) -> Result<Identity, TlsError> {
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};
    let (ca_key, ca_der) = parse_ca(ca)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "devcluster");
    params.subject_alt_names.extend([
        SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])),
        SanType::IpAddress(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ]);
    let issuer = rcgen::Issuer::new(ca_params()?, ca_key);
    let cert = params.signed_by(&key, &issuer)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca_der.clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )?;
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Identity {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem: ca.cert_pem.clone(),
        ca_der: ca_der.to_vec(),
    })
}

/// Handshakes in flight at once; more connections wait in the kernel's backlog.
pub const MAX_HANDSHAKES: usize = 256;

/// A TCP listener whose connections are TLS, for `axum::serve`.
///
/// Guarantees: each handshake runs in its own task, bounded by [`HANDSHAKE_TIMEOUT`]
/// and [`MAX_HANDSHAKES`] at once, so a slow or stalled client delays no other; the
/// accepting task ends when the listener is dropped.
pub struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp` (must be called within a Tokio runtime).
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        let accepting = tokio::spawn(async move {
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (stream, addr) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %addr, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task is gone (aborted): no connection comes any more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_ca_is_served_unchanged() {
        let ca = new_ca().expect("ca");
        let a = identity_with_ca(&ca).expect("first");
        let b = identity_with_ca(&ca).expect("second");
        assert_eq!(a.ca_pem, ca.cert_pem);
        assert_eq!(a.ca_der, b.ca_der);
    }

    #[test]
    fn a_ca_whose_key_is_not_its_certificates_is_refused() {
        let (one, two) = (new_ca().expect("one"), new_ca().expect("two"));
        let mixed = CaMaterial {
            key_pem: one.key_pem,
            cert_pem: two.cert_pem.clone(),
        };
        assert!(matches!(check_ca(&mixed), Err(TlsError::BadCa(_))));
        let garbage = CaMaterial {
            key_pem: "not a key".into(),
            cert_pem: two.key_pem.clone(),
        };
        assert!(matches!(check_ca(&garbage), Err(TlsError::BadCa(_))));
        assert!(!format!("{two:?}").contains("PRIVATE KEY"));
    }
}
