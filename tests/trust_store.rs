//! The system's trust store: a test CA signs the reference server's certificate, and
//! the CA reaches miodl only through `SSL_CERT_FILE` or `SSL_CERT_DIR`, as a corporate
//! CA does, never through `--cacert`.
//!
//! ```text
//!   test CA ──signs──► leaf (127.0.0.1) ──► serve --tls
//!      │
//!      └─► SSL_CERT_FILE=ca.pem  or  SSL_CERT_DIR=certs/ (hashed name) ──► miodl get
//! ```
//!
//! The machine's own environment may set both variables: every run here sets or removes
//! each of them itself.
#![cfg(feature = "tls")]

mod support;

use std::path::{Path, PathBuf};

use miodl::transport::tls::{server_config, SelfSigned};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{miodl_env, names_in, reference, Run, ServerHandle};

/// A CA (its PEM in `dir/ca.pem`) and the reference server over TLS with a certificate
/// for 127.0.0.1 that the CA signed (the chain sent is leaf then CA).
fn server_signed_by_a_test_ca(dir: &Path, files: usize) -> (ServerHandle, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    (ca_params.distinguished_name).push(rcgen::DnType::CommonName, "miodl test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let leaf = params.signed_by(&key, &ca).unwrap();
    let config = server_config(
        vec![leaf.der().clone(), ca.der().clone()],
        PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    let certificate = SelfSigned {
        cert_pem: leaf.pem(),
        config,
    };
    (reference().files(files).tls(certificate).start(), ca_pem)
}

/// Another CA's PEM (in `dir/other.pem`): a store that does not hold the test CA.
fn other_ca(dir: &Path) -> PathBuf {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let path = dir.join("other.pem");
    std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
    path
}

/// `miodl get --engine ENGINE -q --retries 0 -o OUT` of every file, under `env`.
fn get_all(server: &ServerHandle, out: &Path, engine: &str, env: &[(&str, Option<&str>)]) -> Run {
    let mut args: Vec<String> = ["get", "--engine", engine, "-q", "--retries", "0", "-o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(out.display().to_string());
    for id in server.ids() {
        args.push(format!("{}/api/download/{id}", server.base_url()));
    }
    miodl_env(&args, env)
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn a_ca_in_ssl_cert_file_is_trusted_without_cacert_by_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = server_signed_by_a_test_ca(dir.path(), 3);
    // The CA after another certificate in the bundle, as in a distribution's bundle.
    let bundle = dir.path().join("bundle.pem");
    let other = std::fs::read_to_string(other_ca(dir.path())).unwrap();
    std::fs::write(&bundle, other + &std::fs::read_to_string(&ca).unwrap()).unwrap();
    for engine in ["reactor", "threads"] {
        let out = dir.path().join(engine);
        let env = [
            ("SSL_CERT_FILE", Some(&*text(&bundle))),
            ("SSL_CERT_DIR", None),
        ];
        let run = get_all(&server, &out, engine, &env);
        assert_eq!(run.status, Some(0), "{engine}\n{run}");
        assert_eq!(names_in(&out).len(), 3, "{engine}\n{run}");
        assert_eq!(run.stderr, "", "{engine}\n{run}");
    }
}

#[test]
fn a_ca_in_ssl_cert_dir_is_trusted_under_its_hashed_name() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = server_signed_by_a_test_ca(dir.path(), 2);
    let (empty, certs) = (dir.path().join("empty"), dir.path().join("certs"));
    std::fs::create_dir(&empty).unwrap();
    std::fs::create_dir(&certs).unwrap();
    // A hashed link as c_rehash makes it, and a file that is no certificate beside it.
    std::os::unix::fs::symlink(&ca, certs.join("5d1b2c3a.0")).unwrap();
    std::fs::write(certs.join("README.pem"), "not a certificate\n").unwrap();
    for engine in ["reactor", "threads"] {
        let out = dir.path().join(engine);
        let dirs = format!("{}:{}", text(&empty), text(&certs));
        let env = [("SSL_CERT_DIR", Some(&*dirs)), ("SSL_CERT_FILE", None)];
        let run = get_all(&server, &out, engine, &env);
        assert_eq!(run.status, Some(0), "{engine}\n{run}");
        assert_eq!(names_in(&out).len(), 2, "{engine}\n{run}");
    }
}

#[test]
fn a_store_without_the_ca_is_a_certificate_error() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _ca) = server_signed_by_a_test_ca(dir.path(), 1);
    let other = text(&other_ca(dir.path()));
    let stores: [&[(&str, Option<&str>)]; 2] = [
        &[("SSL_CERT_FILE", Some(&other)), ("SSL_CERT_DIR", None)],
        // Neither variable: the distribution's bundle, if the machine has one.
        &[("SSL_CERT_FILE", None), ("SSL_CERT_DIR", None)],
    ];
    for env in stores {
        let out = dir.path().join("out");
        let run = get_all(&server, &out, "reactor", env);
        assert_eq!(run.status, Some(1), "{run}");
        assert!(run.stderr.contains("certificate not trusted"), "{run}");
        assert!(names_in(&out).is_empty(), "{run}");
    }
}

#[test]
fn an_unusable_ssl_cert_file_is_an_error_naming_the_variable_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = server_signed_by_a_test_ca(dir.path(), 1);
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let missing = dir.path().join("missing.pem");
    // A directory cannot be read as a file either.
    for (file, reason) in [
        (&missing, "No such file"),
        (&empty, "no PEM certificate"),
        (&dir.path().to_path_buf(), "directory"),
    ] {
        let out = dir.path().join("out");
        let env = [
            ("SSL_CERT_FILE", Some(&*text(file))),
            ("SSL_CERT_DIR", None),
        ];
        // Even with --cacert: the environment asked for a store that is not there.
        let cacert = ["--cacert", &*text(&ca)];
        let mut args = vec!["get".to_string(), "-q".to_string()];
        args.extend(cacert.iter().map(|s| s.to_string()));
        args.extend(["-o".to_string(), text(&out)]);
        args.push(format!(
            "{}/api/download/{}",
            server.base_url(),
            server.ids()[0]
        ));
        let run = miodl_env(&args, &env);
        assert_eq!(run.status, Some(2), "a usage error\n{run}");
        let lines = run.stderr_lines();
        assert_eq!(lines.len(), 1, "one line\n{run}");
        let named = format!("SSL_CERT_FILE={}", text(file));
        assert!(lines[0].contains(&named), "names it\n{run}");
        assert!(lines[0].contains(reason), "says why\n{run}");
        assert!(names_in(&out).is_empty(), "{run}");
    }
}

#[test]
fn cacert_adds_to_the_system_store() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = server_signed_by_a_test_ca(dir.path(), 1);
    let other = text(&other_ca(dir.path()));
    let out = dir.path().join("out");
    let env = [("SSL_CERT_FILE", Some(&*other)), ("SSL_CERT_DIR", None)];
    let url = format!("{}/api/download/{}", server.base_url(), server.ids()[0]);
    let args = ["get", "-q", "--cacert", &text(&ca), "-o", &text(&out), &url];
    let run = miodl_env(&args, &env);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(names_in(&out).len(), 1, "{run}");
}

#[test]
fn a_run_of_http_urls_reads_no_store_and_an_https_redirect_meets_it() {
    // A store that cannot be used is a usage error only for a run that starts with an
    // `https://` URL (above); a run of `http://` URLs never reads it, so it cannot fail
    // on it, as curl and wget do not.
    let dir = tempfile::tempdir().unwrap();
    let missing = text(&dir.path().join("missing.pem"));
    let env = [("SSL_CERT_FILE", Some(&*missing)), ("SSL_CERT_DIR", None)];
    let plain = reference().files(1).start();
    let (tls, _ca) = server_signed_by_a_test_ca(dir.path(), 1);
    let target = format!("{}/api/download/{}", tls.base_url(), tls.ids()[0]);
    let redirect = support::scripted::Server::start(move |_| {
        support::scripted::Script::redirect(302, &target)
    });
    for engine in ["reactor", "threads"] {
        let out = dir.path().join(format!("plain-{engine}"));
        let url = format!("{}/api/download/{}", plain.base_url(), plain.ids()[0]);
        let args = ["get", "-q", "--engine", engine, "-o", &*text(&out), &*url];
        let run = miodl_env(&args, &env);
        assert_eq!(run.status, Some(0), "{engine}\n{run}");
        assert_eq!(
            run.stderr_lines(),
            Vec::<&str>::new(),
            "nothing to say\n{run}"
        );
        assert_eq!(names_in(&out).len(), 1, "{engine}\n{run}");
        // Redirected to `https://` in the middle of the run: the store is read then, and
        // its error is that file's, naming the variable and the file.
        let out = dir.path().join(format!("redirected-{engine}"));
        let url = redirect.url("/moved");
        let args = [
            "get",
            "-q",
            "--engine",
            engine,
            "--retries",
            "0",
            "-o",
            &*text(&out),
            &*url,
        ];
        let run = miodl_env(&args, &env);
        assert_eq!(run.status, Some(1), "{engine}: that file failed\n{run}");
        let named = format!("SSL_CERT_FILE={missing}");
        assert!(run.stderr.contains(&named), "{engine}: names it\n{run}");
        assert!(names_in(&out).is_empty(), "{engine}\n{run}");
    }
}
