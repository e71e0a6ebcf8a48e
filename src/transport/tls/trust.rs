//! The roots a run trusts: the built-in Mozilla roots, and the system's store as
//! OpenSSL and curl find it, read once per process.
//!
//! ```text
//!   SSL_CERT_FILE=PEM bundle ─┐
//!   SSL_CERT_DIR=DIR[:DIR…] ──┼─ (neither set: the distribution's bundle, if any)
//!   webpki-roots (built in) ──┴─► one RootCertStore ─► every Connector of the process
//! ```
//!
//! Corporate networks whose proxies inspect TLS put their own CA into the system's store,
//! so a downloader that trusts only its compiled-in roots fails there. [`Sources`] says
//! where the store is (from the environment, [`Sources::from_env`]); [`load`] reads it.
//! An explicitly named file that cannot be read or holds no certificate is an error
//! naming the variable and the file; a file of a directory that is not a certificate
//! (a CRL, a README) is skipped; a distribution bundle or a directory that cannot be
//! read is a warning. Certificates met twice (a directory's hashed links, a bundle
//! beside the files it was built from) are kept once.
//!
//! Layer: `transport`; may use `protocol`, `model`, `policy` and `output` (see `src/transport/mod.rs`).

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::protocol::tls::TlsError;

/// The distributions' CA bundles, the first one present is read when neither
/// `SSL_CERT_FILE` nor `SSL_CERT_DIR` is set (the list Go's crypto/x509 reads).
pub const DISTRIBUTION_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
    "/etc/ssl/cert.pem",                  // Alpine, macOS
];

/// Where the system's store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    /// What the environment names: `SSL_CERT_FILE`, and the directories of `SSL_CERT_DIR`.
    Named {
        /// `SSL_CERT_FILE`: a PEM bundle.
        file: Option<PathBuf>,
        /// `SSL_CERT_DIR`, split at `:`.
        dirs: Vec<PathBuf>,
    },
    /// Neither variable set: the first of these bundles that exists.
    Distribution(Vec<PathBuf>),
}

impl Sources {
    /// Reads `SSL_CERT_FILE` and `SSL_CERT_DIR` with `var` (an empty value counts as
    /// unset, as in OpenSSL).
    pub fn from_env(var: impl Fn(&str) -> Option<OsString>) -> Sources {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let file = set("SSL_CERT_FILE").map(PathBuf::from);
        let dir = set("SSL_CERT_DIR");
        if file.is_none() && dir.is_none() {
            return Sources::Distribution(DISTRIBUTION_BUNDLES.iter().map(PathBuf::from).collect());
        }
        let dirs = dir
            .map(|d| {
                std::env::split_paths(&d)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Sources::Named { file, dirs }
    }
}

/// The roots of the process: the built-in ones and the system's, and what was said
/// about the store while reading it.
#[derive(Debug, Clone)]
pub struct Trusted {
    /// Every root, built-in and system.
    pub roots: RootCertStore,
    /// The system's certificates that were added (duplicates of one another not counted).
    pub system: usize,
    /// One line for each part of the store that could not be used, for stderr.
    pub warnings: Vec<String>,
}

/// The roots of this process, read from the environment's [`Sources`] the first time
/// they are asked for, and kept (the store does not change while a run goes).
pub fn trusted() -> Result<&'static Trusted, TlsError> {
    static TRUSTED: OnceLock<Result<Trusted, TlsError>> = OnceLock::new();
    TRUSTED
        .get_or_init(|| load(&Sources::from_env(|name| std::env::var_os(name))))
        .as_ref()
        .map_err(Clone::clone)
}

/// Reads `sources` beside the built-in roots.
pub fn load(sources: &Sources) -> Result<Trusted, TlsError> {
    let mut store = Store::default();
    match sources {
        Sources::Named { file, dirs } => {
            if let Some(file) = file {
                match read_bundle(file) {
                    Ok(certs) if !certs.is_empty() => store.add_all(certs),
                    Ok(_) => return Err(named_error(file, "no PEM certificate in it".into())),
                    Err(reason) => return Err(named_error(file, reason)),
                }
            }
            for dir in dirs {
                store.add_dir(dir);
            }
        }
        Sources::Distribution(bundles) => {
            if let Some(bundle) = bundles.iter().find(|b| b.exists()) {
                match read_bundle(bundle) {
                    Ok(certs) if !certs.is_empty() => store.add_all(certs),
                    Ok(_) => store.warn(bundle, "no PEM certificate in it"),
                    Err(reason) => store.warn(bundle, &reason),
                }
            }
        }
    }
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let (system, _ignored) = roots.add_parsable_certificates(store.certs);
    Ok(Trusted {
        roots,
        system,
        warnings: store.warnings,
    })
}

fn named_error(file: &Path, reason: String) -> TlsError {
    TlsError::TrustStore {
        named: format!("SSL_CERT_FILE={}", file.display()),
        reason,
    }
}

/// The system's certificates as they are read: each kept once.
#[derive(Default)]
struct Store {
    certs: Vec<CertificateDer<'static>>,
    seen: HashSet<CertificateDer<'static>>,
    warnings: Vec<String>,
}

impl Store {
    fn add_all(&mut self, certs: Vec<CertificateDer<'static>>) {
        for cert in certs {
            if self.seen.insert(cert.clone()) {
                self.certs.push(cert);
            }
        }
    }

    fn warn(&mut self, path: &Path, reason: &str) {
        let line = format!(
            "cannot use the certificates in {}: {reason}",
            path.display()
        );
        self.warnings.push(line);
    }

    /// Every certificate file of `dir` (`*.pem`, `*.crt`, `*.cer`, and OpenSSL's hashed
    /// names `0123abcd.0`), each file read once however many links lead to it.
    fn add_dir(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return self.warn(dir, &e.to_string()),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_certificate_name(p))
            .collect();
        // The order of read_dir is the file system's: sort, so a run is repeatable.
        files.sort();
        let mut read = HashSet::new();
        for path in files {
            use std::os::unix::fs::MetadataExt;
            // Follows links: a hashed link and the file it names are one file.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() || !read.insert((meta.dev(), meta.ino())) {
                continue;
            }
            // A file that is not a certificate, or cannot be read, is skipped, as
            // OpenSSL skips it.
            if let Ok(certs) = read_bundle(&path) {
                self.add_all(certs);
            }
        }
    }
}

/// Is `path` named as a certificate file of a store directory?
fn is_certificate_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if let Some((stem, ext)) = name.rsplit_once('.') {
        if ["pem", "crt", "cer"].contains(&ext) {
            return !stem.is_empty();
        }
        // OpenSSL's `c_rehash` names: eight hex digits, a dot, a number (`.r0` is a CRL).
        return stem.len() == 8
            && stem.bytes().all(|b| b.is_ascii_hexdigit())
            && !ext.is_empty()
            && ext.bytes().all(|b| b.is_ascii_digit());
    }
    false
}

/// Every certificate of a PEM file (other PEM sections, such as keys, are passed over).
fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| io_reason(&e))? {
        certs.push(cert.map_err(|e| io_reason(&e))?);
    }
    Ok(certs)
}

/// The reason of a PEM error in a user's words (`No such file or directory`, not
/// `Io(Os { code: 2, .. })`).
fn io_reason(error: &rustls::pki_types::pem::Error) -> String {
    match error {
        rustls::pki_types::pem::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
