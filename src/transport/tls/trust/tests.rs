//! The store read from files a test writes: a bundle, a directory with hashed links and
//! files that are not certificates, a missing or empty named file.
//!
//! Layer: `transport`; may use `protocol`, `model`, `policy` and `output` (see `src/transport/mod.rs`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::*;

/// A fresh self-signed certificate, PEM.
fn pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["test.example".to_string()]).unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn builtin() -> usize {
    webpki_roots::TLS_SERVER_ROOTS.len()
}

fn named(file: Option<&Path>, dirs: &[&Path]) -> Sources {
    Sources::Named {
        file: file.map(Path::to_path_buf),
        dirs: dirs.iter().map(|d| d.to_path_buf()).collect(),
    }
}

#[test]
fn the_environment_names_the_sources_and_neither_means_the_distribution() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            (pairs.iter())
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    };
    assert_eq!(
        Sources::from_env(env(&[
            ("SSL_CERT_FILE", "/a.pem"),
            ("SSL_CERT_DIR", "/d:/e")
        ])),
        Sources::Named {
            file: Some(PathBuf::from("/a.pem")),
            dirs: vec![PathBuf::from("/d"), PathBuf::from("/e")],
        }
    );
    assert_eq!(
        Sources::from_env(env(&[("SSL_CERT_DIR", "/d::")])),
        Sources::Named {
            file: None,
            dirs: vec![PathBuf::from("/d")],
        }
    );
    // Empty values count as unset.
    for pairs in [&[][..], &[("SSL_CERT_FILE", ""), ("SSL_CERT_DIR", "")][..]] {
        let Sources::Distribution(bundles) = Sources::from_env(env(pairs)) else {
            panic!("the distribution's bundle when nothing is named");
        };
        assert_eq!(bundles[0], PathBuf::from(DISTRIBUTION_BUNDLES[0]));
    }
}

#[test]
fn a_named_bundle_adds_its_certificates_once_beside_the_built_in_roots() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (pem(), pem());
    let bundle = dir.path().join("bundle.pem");
    // A key section and a repeated certificate: the one is passed over, the other kept once.
    let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    std::fs::write(&bundle, format!("junk line\n{one}{key}{two}{one}")).unwrap();
    let trusted = load(&named(Some(&bundle), &[])).unwrap();
    assert_eq!(trusted.system, 2);
    assert_eq!(trusted.roots.len(), builtin() + 2);
    assert!(trusted.warnings.is_empty());
}

#[test]
fn a_directory_is_read_by_its_certificate_names_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::write(certs.join("one.pem"), pem()).unwrap();
    std::fs::write(certs.join("two.crt"), pem()).unwrap();
    // A hashed name of its own, and hashed links to the files above.
    std::fs::write(certs.join("0123abcd.0"), pem()).unwrap();
    std::os::unix::fs::symlink("one.pem", certs.join("89abcdef.0")).unwrap();
    std::os::unix::fs::symlink("two.crt", certs.join("89abcdef.1")).unwrap();
    // Not read: other names, a CRL's hashed name, a file that is no certificate, a
    // dangling link, a subdirectory.
    std::fs::write(certs.join("notes.txt"), pem()).unwrap();
    std::fs::write(certs.join("0123abcd.r0"), pem()).unwrap();
    std::fs::write(certs.join("broken.pem"), "not a certificate").unwrap();
    std::os::unix::fs::symlink("gone.pem", certs.join("fedcba98.0")).unwrap();
    std::fs::create_dir(certs.join("sub.pem")).unwrap();
    let missing = dir.path().join("missing");
    let trusted = load(&named(None, &[&certs, &missing])).unwrap();
    assert_eq!(trusted.system, 3);
    assert_eq!(trusted.roots.len(), builtin() + 3);
    assert_eq!(trusted.warnings.len(), 1, "{:?}", trusted.warnings);
    assert!(trusted.warnings[0].contains(&missing.display().to_string()));
}

#[test]
fn a_named_file_that_cannot_be_used_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let error = load(&named(Some(&missing), &[])).unwrap_err().to_string();
    let shown = format!("SSL_CERT_FILE={}", missing.display());
    assert!(error.contains(&shown), "{error}");
    assert!(error.contains("No such file"), "{error}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let error = load(&named(Some(&empty), &[])).unwrap_err().to_string();
    assert!(error.contains("no PEM certificate"), "{error}");
}

#[test]
fn the_first_distribution_bundle_present_is_read_and_a_bad_one_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (absent, first, second) = (
        dir.path().join("absent.crt"),
        dir.path().join("first.crt"),
        dir.path().join("second.crt"),
    );
    std::fs::write(&first, pem()).unwrap();
    std::fs::write(&second, format!("{}{}", pem(), pem())).unwrap();
    let bundles = vec![absent.clone(), first.clone(), second.clone()];
    let trusted = load(&Sources::Distribution(bundles)).unwrap();
    assert_eq!(trusted.system, 1);
    std::fs::write(&first, "empty").unwrap();
    let trusted = load(&Sources::Distribution(vec![first.clone(), second])).unwrap();
    assert_eq!(trusted.system, 0);
    assert_eq!(trusted.warnings.len(), 1);
    assert!(trusted.warnings[0].contains(&first.display().to_string()));
    let none = load(&Sources::Distribution(vec![absent])).unwrap();
    assert_eq!((none.system, none.roots.len()), (0, builtin()));
}
