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
//! The roots are the built-in ones and the system's store (see [`super::trust`]); a
//! certificate given with `--cacert` is trusted as one more root beside them. When the server presents
//! that very certificate (byte for byte) as its own and it says `CA:TRUE` (what
//! `openssl req -x509` makes), webpki refuses it (`CaUsedAsEndEntity`: a CA must not
//! be an end entity). [`PinnedOrWebPki`] accepts exactly that case, after webpki has
//! checked the dates (it does so before the CA flag) and with the name checked here; the
//! handshake signature proves the server holds the key, as for any certificate.
//!
//! Layer: `transport`; may use `protocol`, `model`, `policy` and `output` (see `src/transport/mod.rs`).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::{provider, ALPN_HTTP11};
use crate::protocol::tls::{is_ca_used_as_end_entity, TlsError};
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
    /// Trusts Mozilla's roots (compiled in, so it works offline), the system's store
    /// ([`trusted`](super::trust::trusted): `SSL_CERT_FILE`, `SSL_CERT_DIR` or the
    /// distribution's bundle, read once per process) and the certificates of `cacert`
    /// (PEM), which add to the others; `insecure` verifies nothing at all and reads no
    /// store.
    pub fn new(cacert: Option<&Path>, insecure: bool) -> Result<Connector, TlsError> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Protocol(e.to_string()))?;
        let config = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerifier(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = super::trust::trusted()?.roots.clone();
            let Some(path) = cacert else {
                return Ok(Connector::with(
                    builder.with_root_certificates(roots).with_no_client_auth(),
                ));
            };
            let given = add_pem_roots(&mut roots, path)?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| TlsError::Protocol(e.to_string()))?;
            let verifier = PinnedOrWebPki { webpki, given };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        };
        Ok(Connector::with(config))
    }

    fn with(mut config: ClientConfig) -> Connector {
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Connector {
            config: Arc::new(config),
        }
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

/// Checks that `--cacert`'s file can be read and holds a certificate (nothing else is
/// read: the system's store waits for the first `https://` socket, see
/// `crate::transport::Opener`).
pub fn check_cacert(path: &Path) -> Result<(), TlsError> {
    add_pem_roots(&mut RootCertStore::empty(), path).map(drop)
}

/// Adds every certificate of a PEM file to `roots`, and returns them.
fn add_pem_roots(
    roots: &mut RootCertStore,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let mut given = Vec::new();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| fail(e.to_string()))? {
        let cert = cert.map_err(|e| fail(e.to_string()))?;
        roots.add(cert.clone()).map_err(|e| fail(e.to_string()))?;
        given.push(cert);
    }
    if given.is_empty() {
        return Err(fail("no PEM certificate in it".to_string()));
    }
    Ok(given)
}

/// `--cacert`: webpki's verification, and one exception to it: a server certificate
/// that is byte for byte one of the `--cacert` certificates, refused by webpki only
/// because it is a CA certificate (`CA:TRUE`), is accepted if it names the server.
#[derive(Debug)]
struct PinnedOrWebPki {
    webpki: Arc<WebPkiServerVerifier>,
    /// The certificates of the `--cacert` file.
    given: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(refused) => refused,
        };
        // webpki checks an end entity's dates before its CA flag, so this error means
        // the dates are good: what is left to check is the name.
        if is_ca_used_as_end_entity(&refused) && self.given.iter().any(|c| c == end_entity) {
            verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        Err(refused)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
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
