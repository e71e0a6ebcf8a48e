//! The client side: one `ClientConfig` per run, shared by every socket.
//!
//! ```text
//!   Connector::new(--cacert, --insecure) ── Arc<ClientConfig> ──┐ (one session cache)
//!   connect(host, socket) ──► ClientConnection (SNI = host) ────┴─► Transport::Tls
//! ```
//!
//! Sharing the `Arc<ClientConfig>` is what makes session resumption work: its default
//! in-memory store keeps the tickets of one handshake for the next socket to the same
//! host name. SNI is sent for DNS names only; rustls leaves it out for IP literals, as
//! RFC 6066 section 3 asks.
//!
//! Layer: `transport`; may use `protocol`, `model`, `policy` and `output` (see `src/transport/mod.rs`).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::{provider, ALPN_HTTP11};
use crate::protocol::tls::TlsError;
use crate::transport::Transport;

/// Opens TLS client connections with one shared configuration.
#[derive(Clone)]
pub struct Connector {
    config: Arc<ClientConfig>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Connector")
    }
}

impl Connector {
    /// Trusts Mozilla's roots (compiled in, so it works offline) and the certificates
    /// of `cacert` (PEM); `insecure` verifies nothing at all.
    pub fn new(cacert: Option<&Path>, insecure: bool) -> Result<Connector, TlsError> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Protocol(e.to_string()))?;
        let mut config = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerifier(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            if let Some(path) = cacert {
                add_pem_roots(&mut roots, path)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(Connector {
            config: Arc::new(config),
        })
    }

    /// Starts the client side of TLS on a connected (or connecting) `socket` to `host`.
    /// Nothing is sent yet: the first write or flush sends the ClientHello.
    pub fn connect<S>(&self, host: &str, socket: S) -> Result<Transport<S>, TlsError> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| TlsError::Protocol(format!("bad server name {host}: {e}")))?;
        let tls = ClientConnection::new(Arc::clone(&self.config), name)
            .map_err(|e| TlsError::from_rustls(e, true))?;
        Ok(Transport::tls(socket, rustls::Connection::Client(tls)))
    }
}

/// Adds every certificate of a PEM file to `roots`.
fn add_pem_roots(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsError> {
    let fail = |reason: String| TlsError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let mut added = 0;
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| fail(e.to_string()))? {
        let cert = cert.map_err(|e| fail(e.to_string()))?;
        roots.add(cert).map_err(|e| fail(e.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(fail("no PEM certificate in it".to_string()));
    }
    Ok(())
}

/// `--insecure`: accepts any certificate, but still checks the handshake signatures
/// (so the connection is encrypted, only not authenticated).
#[derive(Debug)]
struct NoVerifier(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
