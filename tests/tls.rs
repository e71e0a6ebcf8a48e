//! HTTPS on loopback: the reference server with `--tls` in-process, and tiny rustls
//! servers on `std::net` for the certificates and streams that must fail.
//!
//! ```text
//!   miodl (reactor | threads) ── socket bytes ⇄ rustls ⇄ plaintext ⇄ Exchange
//!        ▲ --cacert cert.pem                      │
//!        └──── serve --tls (self-signed, rcgen) ◄─┘   or a bad_server() thread
//! ```
//!
//! Every failure is a story of one run: exit status 1, one stderr line naming the URL
//! and the cause, and no file left behind.
#![cfg(feature = "tls")]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miodl::transport::tls::{server_config, SelfSigned};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{list_url, miodl, names_in, reference, verify_text, Run, ServerHandle};

/// The reference server over TLS, and its certificate written where `--cacert` finds it.
fn tls_reference(files: usize, dir: &Path) -> (ServerHandle, PathBuf) {
    let certificate = SelfSigned::generate(&["127.0.0.1", "localhost"]).unwrap();
    let pem = dir.join("cert.pem");
    std::fs::write(&pem, &certificate.cert_pem).unwrap();
    let server = reference().files(files).tls(certificate).start();
    (server, pem)
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn crawl_over_https_reuses_sockets_and_resumes_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let (server, pem) = tls_reference(20, dir.path());
    let out = dir.path().join("out");
    let run = miodl(&[
        "crawl",
        &list_url(&server),
        "--cacert",
        &arg(&pem),
        "-c",
        "4",
        "-o",
        &arg(&out),
        "-q",
        "--json",
    ]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(verify_text(&out), "ok: 20 files", "{run}");
    let opened = run.count("connections_opened");
    assert!(opened <= 4, "keep-alive: at most -c sockets\n{run}");
    assert_eq!(
        run.count("tls_handshakes"),
        opened,
        "one handshake per socket"
    );
    assert!(run.count("connections_reused") > 0, "{run}");
    if opened > 1 {
        assert!(run.count("tls_resumed") > 0, "later sockets resume\n{run}");
    }
}

/// `miodl get --cacert PEM -c 1 -q --json -o OUT EXTRA` on every id of `server`.
fn get_every_id(server: &ServerHandle, pem: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<String> = ["get", "--cacert", &arg(pem), "-c", "1", "-q", "--json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["-o".to_string(), arg(out)]);
    for id in server.ids() {
        args.push(format!("{}/api/download/{id}", server.base_url()));
    }
    miodl(&args)
}

#[test]
fn get_over_https_with_one_socket_pays_one_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (server, pem) = tls_reference(5, dir.path());
    let out = dir.path().join("out");
    let run = get_every_id(&server, &pem, &out, &[]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(names_in(&out).len(), 5, "{run}");
    assert_eq!(run.count("connections_opened"), 1, "{run}");
    assert_eq!(run.count("tls_handshakes"), 1, "{run}");
    assert_eq!(run.count("connections_reused"), 4, "{run}");
}

/// Pipelined requests ride the same TLS session: one handshake, one socket, and the
/// server held several requests from it at once.
#[test]
fn pipelined_requests_share_one_tls_session() {
    let dir = tempfile::tempdir().unwrap();
    let (server, pem) = tls_reference(12, dir.path());
    let out = dir.path().join("out");
    let run = get_every_id(&server, &pem, &out, &["--pipeline", "4"]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(names_in(&out).len(), 12, "{run}");
    assert_eq!(run.count("requests"), 12, "{run}");
    assert_eq!(run.count("connections_opened"), 1, "{run}");
    assert_eq!(run.count("tls_handshakes"), 1, "{run}");
    let held = server.stats().max_in_flight_requests();
    assert!(held > 1, "requests pipelined over TLS: {held}\n{run}");
}

#[test]
fn without_keepalive_every_request_pays_a_handshake_and_most_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (server, pem) = tls_reference(6, dir.path());
    for engine in ["reactor", "threads"] {
        let out = dir.path().join(engine);
        let run = miodl(&[
            "crawl",
            &list_url(&server),
            "--cacert",
            &arg(&pem),
            "--no-keepalive",
            "--engine",
            engine,
            "-c",
            "2",
            "-o",
            &arg(&out),
            "-q",
            "--json",
        ]);
        assert_eq!(run.status, Some(0), "{run}");
        assert_eq!(verify_text(&out), "ok: 6 files", "{run}");
        let requests = run.count("requests");
        assert_eq!(run.count("tls_handshakes"), requests, "{engine}\n{run}");
        assert!(run.count("tls_resumed") > 0, "{engine}\n{run}");
    }
}

/// Runs `miodl get URL --retries 0` and checks the failure story: exit 1, one error
/// line naming the URL and `cause`, no file.
fn expect_tls_failure(url: &str, extra: &[&str], cause: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut args = vec!["get", url, "--retries", "0", "-q", "-o"];
    let out_arg = arg(&out);
    args.push(&out_arg);
    args.extend_from_slice(extra);
    let run = miodl(&args);
    assert_eq!(run.status, Some(1), "{run}");
    let errors: Vec<&str> = run
        .stderr_lines()
        .into_iter()
        .filter(|l| l.contains("error"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line\n{run}");
    assert!(errors[0].contains(url), "names the URL\n{run}");
    assert!(errors[0].contains(cause), "names {cause:?}\n{run}");
    let files = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 0, "no file left\n{run}");
    run
}

#[test]
fn an_unknown_ca_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _pem) = tls_reference(1, dir.path());
    let url = format!("{}/api/download/{}", server.base_url(), server.ids()[0]);
    expect_tls_failure(&url, &[], "certificate not trusted");
}

#[test]
fn insecure_skips_verification_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _pem) = tls_reference(1, dir.path());
    let url = format!("{}/api/download/{}", server.base_url(), server.ids()[0]);
    let out = dir.path().join("out");
    let run = miodl(&["get", &url, "--insecure", "-q", "-o", &arg(&out)]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(run.stderr.matches("--insecure").count(), 1, "{run}");
}

/// How a [`bad_server`] behaves after its handshake.
#[derive(Clone, Copy)]
enum After {
    /// Answer a whole response.
    Answer,
    /// Send a head promising 100 bytes, 10 of them, and close TCP without close_notify.
    CutMidBody,
}

/// A one-thread rustls server on `std::net` with a certificate for `names`, valid from
/// `not_before` to `not_after` (years); its PEM in `dir`.
fn bad_server(
    dir: &Path,
    names: &[&str],
    years: (i32, i32),
    after: After,
) -> (SocketAddr, PathBuf) {
    certified_server(dir, names, years, after, rcgen::IsCa::NoCa)
}

/// A [`bad_server`] whose certificate says `is_ca` (`CA:TRUE` for
/// `rcgen::IsCa::Ca`, as `openssl req -x509` makes).
fn certified_server(
    dir: &Path,
    names: &[&str],
    years: (i32, i32),
    after: After,
    is_ca: rcgen::IsCa,
) -> (SocketAddr, PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    params.is_ca = is_ca;
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let pem = dir.join("bad.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = server_config(vec![cert.der().clone()], key).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // A few connections at most; the thread ends with the test process.
        for socket in listener.incoming().take(4) {
            let Ok(socket) = socket else { continue };
            let _ = serve_one(Arc::clone(&config), socket, after);
        }
    });
    (addr, pem)
}

fn serve_one(
    config: Arc<rustls::ServerConfig>,
    socket: std::net::TcpStream,
    after: After,
) -> std::io::Result<()> {
    let tls = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut stream = rustls::StreamOwned::new(tls, socket);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    match after {
        After::Answer => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
            stream.conn.send_close_notify();
            stream.flush()?;
        }
        After::CutMidBody => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")?;
            stream.flush()?;
            // No close_notify: the TCP connection just ends.
            stream.sock.shutdown(std::net::Shutdown::Both)?;
        }
    }
    Ok(())
}

#[test]
fn an_expired_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, pem) = bad_server(dir.path(), &["127.0.0.1"], (2000, 2001), After::Answer);
    let url = format!("https://{addr}/file.txt");
    expect_tls_failure(&url, &["--cacert", &arg(&pem)], "certificate expired");
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, pem) = bad_server(dir.path(), &["example.org"], (2020, 2100), After::Answer);
    let url = format!("https://{addr}/file.txt");
    expect_tls_failure(
        &url,
        &["--cacert", &arg(&pem)],
        "certificate is for another name",
    );
}

#[test]
fn the_bad_server_works_when_nothing_is_wrong() {
    // The control for the two tests above: same server, good dates and name.
    let dir = tempfile::tempdir().unwrap();
    let (addr, pem) = bad_server(dir.path(), &["127.0.0.1"], (2020, 2100), After::Answer);
    let out = dir.path().join("out");
    let url = format!("https://{addr}/file.txt");
    let run = miodl(&["get", &url, "--cacert", &arg(&pem), "-q", "-o", &arg(&out)]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(std::fs::read(out.join("file.txt")).unwrap(), b"ok");
}

/// A self-signed `CA:TRUE` certificate, as `openssl req -x509` makes.
fn ca_true() -> rcgen::IsCa {
    rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained)
}

/// The server's own certificate is a CA certificate, given with `--cacert`: that very
/// certificate is trusted (webpki alone refuses a CA as an end entity).
#[test]
fn a_self_signed_ca_certificate_given_with_cacert_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["localhost", "127.0.0.1"];
    let (addr, pem) = certified_server(dir.path(), &names, (2020, 2100), After::Answer, ca_true());
    let out = dir.path().join("out");
    let url = format!("https://{addr}/file.txt");
    let run = miodl(&["get", &url, "--cacert", &arg(&pem), "-q", "-o", &arg(&out)]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(std::fs::read(out.join("file.txt")).unwrap(), b"ok");
}

/// The exception for a CA certificate given with `--cacert` still checks its dates and
/// its name; without `--cacert` the error says what the certificate is.
#[test]
fn a_ca_certificate_as_the_servers_own_is_checked_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, pem) = certified_server(
        dir.path(),
        &["127.0.0.1"],
        (2000, 2001),
        After::Answer,
        ca_true(),
    );
    let url = format!("https://{addr}/file.txt");
    expect_tls_failure(&url, &["--cacert", &arg(&pem)], "certificate expired");

    let dir = tempfile::tempdir().unwrap();
    let (addr, pem) = certified_server(
        dir.path(),
        &["example.org"],
        (2020, 2100),
        After::Answer,
        ca_true(),
    );
    let url = format!("https://{addr}/file.txt");
    expect_tls_failure(
        &url,
        &["--cacert", &arg(&pem)],
        "certificate is for another name",
    );

    let dir = tempfile::tempdir().unwrap();
    let (addr, _pem) = certified_server(
        dir.path(),
        &["127.0.0.1"],
        (2020, 2100),
        After::Answer,
        ca_true(),
    );
    let url = format!("https://{addr}/file.txt");
    let run = expect_tls_failure(
        &url,
        &[],
        "the certificate is a CA certificate (CA:TRUE) used as the server's own certificate",
    );
    assert!(!run.stderr.contains("othererror"), "{run}");
}

#[test]
fn a_plain_http_server_on_the_https_port_is_not_tls() {
    let server = reference().start();
    let url = format!("https://{}/api/list_files", server.addr());
    expect_tls_failure(&url, &[], "not a TLS server");
}

#[test]
fn a_tls_close_without_close_notify_mid_body_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, pem) = bad_server(dir.path(), &["127.0.0.1"], (2020, 2100), After::CutMidBody);
    let url = format!("https://{addr}/file.txt");
    expect_tls_failure(
        &url,
        &["--cacert", &arg(&pem)],
        "connection closed without TLS close_notify",
    );
}
