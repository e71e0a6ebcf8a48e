//! Why a TLS connection failed, in words a user can act on.
//!
//! rustls's own errors are precise but speak TLS (`InvalidCertificate(UnknownIssuer)`);
//! [`TlsError`] sorts them into the handful of causes a downloader meets, each with a
//! lowercase one-line `Display` and a verdict on whether another try may help. It
//! travels inside an `io::Error` (the transport speaks `Read`/`Write`) and is taken out
//! again by [`TlsError::from_io`] when the job's error is built.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::fmt;
use std::io;

use rustls::{CertificateError, Error};

/// Why a TLS connection failed. `#[non_exhaustive]`: a later version may sort more
/// causes out of [`TlsError::Protocol`], so a `match` outside miodl needs a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    /// The server's certificate chains to no trusted root (pass `--cacert FILE`).
    NotTrusted,
    /// The server's certificate is past its `notAfter` date.
    Expired,
    /// The server's certificate does not name the host of the URL.
    WrongName,
    /// The server's own certificate is a CA certificate (`CA:TRUE`), which webpki
    /// refuses as an end entity (unless it is one given with `--cacert`).
    CaAsServer,
    /// The certificate is unusable for another reason (rustls's words).
    BadCertificate(String),
    /// The server answered the ClientHello with something that is not TLS.
    NotTls,
    /// The server closed the connection before the handshake finished.
    ClosedInHandshake,
    /// The TLS stream ended without `close_notify`: the data may be truncated.
    NoCloseNotify,
    /// The server sent a fatal alert (it refused the handshake).
    Alert(String),
    /// Any other TLS protocol failure (rustls's words).
    Protocol(String),
    /// `--cacert FILE` could not be read or holds no certificate.
    CaFile {
        /// The file as given.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The system's trust store named by the environment (`SSL_CERT_FILE`) could not
    /// be read or holds no certificate.
    TrustStore {
        /// The variable and the file, `SSL_CERT_FILE=PATH`.
        named: String,
        /// What went wrong.
        reason: String,
    },
}

impl TlsError {
    /// Sorts a rustls error; `handshaking` tells "not TLS at all" from a later fault.
    pub fn from_rustls(error: Error, handshaking: bool) -> TlsError {
        match error {
            Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => TlsError::NotTrusted,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsError::Expired
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsError::WrongName,
                CertificateError::Other(other) if is_ca_other(&other) => TlsError::CaAsServer,
                other => TlsError::BadCertificate(format!("{other:?}").to_lowercase()),
            },
            Error::InvalidMessage(_) | Error::PeerSentOversizedRecord if handshaking => {
                TlsError::NotTls
            }
            Error::AlertReceived(alert) => TlsError::Alert(format!("{alert:?}").to_lowercase()),
            other => TlsError::Protocol(other.to_string()),
        }
    }

    /// Wraps it in an `io::Error` for the transport's `Read`/`Write`.
    pub fn into_io(self) -> io::Error {
        let kind = match self {
            TlsError::NoCloseNotify | TlsError::ClosedInHandshake => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }

    /// The TLS cause of an I/O error, if it has one.
    pub fn from_io(error: &io::Error) -> Option<TlsError> {
        error.get_ref()?.downcast_ref::<TlsError>().cloned()
    }

    /// True when another try may succeed: a stream cut short, as a reset would be.
    /// A certificate or protocol fault will be the same next time.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TlsError::NoCloseNotify | TlsError::ClosedInHandshake)
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::NotTrusted => f.write_str(
                "certificate not trusted: it chains to no known root (pass --cacert FILE)",
            ),
            TlsError::Expired => f.write_str("certificate expired"),
            TlsError::WrongName => f.write_str("certificate is for another name"),
            TlsError::CaAsServer => f.write_str(
                "the certificate is a CA certificate (CA:TRUE) used as the server's own \
                 certificate: trusted only when that very certificate is given with --cacert",
            ),
            TlsError::BadCertificate(why) => write!(f, "bad certificate: {why}"),
            TlsError::NotTls => f.write_str("not a TLS server: it answered with something else"),
            TlsError::ClosedInHandshake => {
                f.write_str("connection closed during the TLS handshake")
            }
            TlsError::NoCloseNotify => {
                f.write_str("connection closed without TLS close_notify: the data may be truncated")
            }
            TlsError::Alert(alert) => write!(f, "the server refused TLS: alert {alert}"),
            TlsError::Protocol(why) => write!(f, "tls failed: {}", why.to_lowercase()),
            TlsError::CaFile { path, reason } => {
                write!(f, "cannot use --cacert {path}: {reason}")
            }
            TlsError::TrustStore { named, reason } => {
                write!(f, "cannot use the trust store {named}: {reason}")
            }
        }
    }
}

impl std::error::Error for TlsError {}

/// Is it webpki's `CaUsedAsEndEntity`: the server's own certificate is a CA
/// certificate (rustls passes it on as an "other" certificate error)?
pub fn is_ca_used_as_end_entity(error: &Error) -> bool {
    match error {
        Error::InvalidCertificate(CertificateError::Other(other)) => is_ca_other(other),
        _ => false,
    }
}

fn is_ca_other(other: &rustls::OtherError) -> bool {
    matches!(
        other.0.downcast_ref::<webpki::Error>(),
        Some(webpki::Error::CaUsedAsEndEntity)
    )
}
