//! The server side, for `miodl serve --tls` and the tests' servers.
//!
//! ```text
//!   SelfSigned::generate(names) ──► certificate (PEM, for the client's --cacert)
//!                               └─► Arc<ServerConfig> ──► ServerConnection per socket
//! ```
//!
//! A certificate made at start with rcgen: nothing to install, nothing to expire
//! between runs. The client trusts it by `--cacert` on the PEM file `serve` writes.
//!
//! Layer: `transport`; may use `protocol`, `model`, `policy` and `output` (see `src/transport/mod.rs`).

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

use super::{provider, ALPN_HTTP11};
use crate::protocol::tls::TlsError;

/// A fresh self-signed certificate and the server configuration that presents it.
#[derive(Debug, Clone)]
pub struct SelfSigned {
    /// The certificate, PEM-encoded: what a client passes as `--cacert`.
    pub cert_pem: String,
    /// The server configuration (TLS 1.2 and 1.3, ALPN `http/1.1`).
    pub config: Arc<ServerConfig>,
}

impl SelfSigned {
    /// A certificate valid for `names` (DNS names or IP literals) from now on.
    pub fn generate(names: &[&str]) -> Result<SelfSigned, TlsError> {
        let fail = |e: rcgen::Error| TlsError::Protocol(format!("cannot make a certificate: {e}"));
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = rcgen::KeyPair::generate().map_err(fail)?;
        let params = rcgen::CertificateParams::new(names).map_err(fail)?;
        let cert = params.self_signed(&key).map_err(fail)?;
        let config = server_config(
            vec![cert.der().clone()],
            PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )?;
        Ok(SelfSigned {
            cert_pem: cert.pem(),
            config,
        })
    }
}

/// A server configuration presenting `chain` with `key`: TLS 1.2 and 1.3, ALPN
/// `http/1.1`, rustls's default session cache (so clients can resume).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Protocol(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Protocol(e.to_string()))?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}
