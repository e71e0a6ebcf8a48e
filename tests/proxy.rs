//! HTTP proxies (`-x`, `--noproxy`, the `*_proxy` variables): the tests' own proxy
//! ([`support::proxy::TestProxy`]) in front of the reference server, plain and with
//! `--tls`, in every engine.
//!
//! ```text
//!   miodl ── GET http://origin/bytes/N ──► TestProxy ──► miodl serve
//!   miodl ── CONNECT origin ─► TestProxy ═══ TLS, end to end ═══► miodl serve --tls
//! ```
//!
//! What each asserts is what the proxy saw (request lines, headers, sockets) and what
//! miodl saved and said.

mod support;

use std::path::Path;

use support::proxy::TestProxy;
use support::{get_args, miodl, out_dir, pattern, reference, saved, start_with_env, Run, ENGINES};

const PASSWORD: &str = "s3cret";
/// Base64 of `alice:s3cret`, what `Proxy-Authorization: Basic` carries.
const PROXY_BASIC: &str = "YWxpY2U6czNjcmV0";
/// Base64 of `bob:hunter2`, what `-u bob:hunter2` sends.
const USER_BASIC: &str = "Ym9iOmh1bnRlcjI=";

/// `/bytes/N` URLs on `base` for N in `sizes`.
fn urls(base: &str, sizes: &[usize]) -> Vec<String> {
    sizes.iter().map(|n| format!("{base}/bytes/{n}")).collect()
}

/// Every file of `sizes` saved, byte for byte.
fn assert_files(out: &Path, sizes: &[usize], run: &Run) {
    let files = saved(out);
    for &n in sizes {
        assert_eq!(
            files.get(&n.to_string()).map(Vec::as_slice),
            Some(pattern(n).as_slice()),
            "file {n}\n{run}"
        );
    }
}

/// `get -q --json -o OUT URLS... EXTRA...`.
fn get(out: &Path, urls: &[String], extra: &[&str]) -> Run {
    let mut args = get_args(out, extra);
    args.extend(urls.iter().map(String::as_str));
    miodl(&args)
}

#[test]
fn http_goes_to_the_proxy_in_absolute_form_on_kept_sockets_in_every_engine() {
    let server = reference().start();
    let base = server.base_url();
    let sizes: Vec<usize> = (1..=20).map(|i| i * 100).collect();
    for engine in ENGINES {
        let proxy = TestProxy::start();
        let out = out_dir();
        let run = get(
            out.path(),
            &urls(&base, &sizes),
            &["-x", &proxy.url(), "-c", "2", "--engine", engine],
        );
        assert_eq!(run.status, Some(0), "{engine}\n{run}");
        assert_files(out.path(), &sizes, &run);
        let seen = proxy.seen();
        assert_eq!(seen.len(), sizes.len(), "{engine}: {seen:?}");
        for s in &seen {
            assert!(
                s.line.starts_with(&format!("GET {base}/bytes/")) && s.line.ends_with(" HTTP/1.1"),
                "{engine}: {s:?}"
            );
            assert_eq!(s.header("host"), base.strip_prefix("http://"), "{engine}");
            assert_eq!(s.header("proxy-authorization"), None);
        }
        // Keep-alive to the proxy: at most -c sockets for 20 files.
        assert!(
            proxy.sockets() <= 2,
            "{engine}: {} sockets",
            proxy.sockets()
        );
        assert_eq!(run.count("proxy_tunnels"), 0);
    }
}

#[cfg(feature = "tls")]
mod https {
    use super::*;
    use miodl::transport::tls::SelfSigned;
    use support::ServerHandle;

    /// The reference server over TLS and the `--cacert` path of its certificate.
    pub fn tls_reference(dir: &Path) -> (ServerHandle, String) {
        let certificate = SelfSigned::generate(&["127.0.0.1", "localhost"]).unwrap();
        let pem = dir.join("cert.pem");
        std::fs::write(&pem, &certificate.cert_pem).unwrap();
        let server = reference().tls(certificate).start();
        (server, pem.display().to_string())
    }

    #[test]
    fn https_goes_through_connect_with_tls_to_the_origin_in_every_engine() {
        let dir = tempfile::tempdir().unwrap();
        let (server, pem) = tls_reference(dir.path());
        let base = server.base_url();
        let origin = base.strip_prefix("https://").unwrap().to_string();
        let sizes = [10, 4096, 70_000, 5, 300];
        for engine in ENGINES {
            let proxy = TestProxy::start();
            let out = out_dir();
            let run = get(
                out.path(),
                &urls(&base, &sizes),
                &[
                    "-x",
                    &proxy.url(),
                    "--cacert",
                    &pem,
                    "-c",
                    "2",
                    "-u",
                    "bob:hunter2",
                    "--engine",
                    engine,
                ],
            );
            assert_eq!(run.status, Some(0), "{engine}\n{run}");
            assert_files(out.path(), &sizes, &run);
            let seen = proxy.seen();
            assert!(!seen.is_empty() && seen.len() <= 2, "{engine}: {seen:?}");
            for s in &seen {
                // Only the CONNECT: the requests, -u's Authorization with them, are
                // inside TLS.
                assert_eq!(s.line, format!("CONNECT {origin} HTTP/1.1"), "{engine}");
                assert_eq!(s.header("host"), Some(origin.as_str()));
                assert_eq!(s.header("authorization"), None, "{engine}");
            }
            assert_eq!(
                run.count("proxy_tunnels"),
                seen.len() as u64,
                "{engine}\n{run}"
            );
            assert!(run.count("tls_handshakes") >= 1, "{run}");
            // No warning: the proxy cannot read what goes in a tunnel.
            assert!(!run.stderr.contains("sees the credentials"), "{run}");
        }
    }

    #[test]
    fn a_refused_connect_names_the_proxy_and_its_answer_in_every_engine() {
        let dir = tempfile::tempdir().unwrap();
        let (server, pem) = tls_reference(dir.path());
        let base = server.base_url();
        let origin = base.strip_prefix("https://").unwrap().to_string();
        for (status, reason) in [(407, "Proxy Authentication Required"), (502, "Bad Gateway")] {
            let proxy = TestProxy::refusing(status, reason);
            for engine in ENGINES {
                let out = out_dir();
                let run = get(
                    out.path(),
                    &urls(&base, &[10]),
                    &[
                        "-x",
                        &proxy.url(),
                        "--cacert",
                        &pem,
                        "--retries",
                        "0",
                        "--engine",
                        engine,
                    ],
                );
                assert_eq!(run.status, Some(1), "{run}");
                let line = format!(
                    "proxy {} refused CONNECT {origin}: {status} {reason}",
                    proxy.authority()
                );
                assert!(run.stderr.contains(&line), "wanted {line:?}\n{run}");
                assert!(saved(out.path()).is_empty());
            }
        }
    }

    #[test]
    fn the_environment_names_the_https_proxy_and_no_proxy_bypasses_it() {
        let dir = tempfile::tempdir().unwrap();
        let (server, pem) = tls_reference(dir.path());
        let base = server.base_url();
        let proxy = TestProxy::start();
        let out = out_dir();
        let mut args = get_args(out.path(), &["--cacert", &pem]);
        let list = urls(&base, &[10, 20]);
        args.extend(list.iter().map(String::as_str));
        let run = start_with_env(&args, &[("https_proxy", &proxy.url())]).finish();
        assert_eq!(run.status, Some(0), "{run}");
        assert_files(out.path(), &[10, 20], &run);
        assert!(proxy.seen().iter().all(|s| s.line.starts_with("CONNECT ")));
        assert_eq!(run.count("proxy_tunnels"), proxy.seen().len() as u64);

        let bypassed = TestProxy::start();
        let out = out_dir();
        let mut args = get_args(out.path(), &["--cacert", &pem]);
        args.extend(list.iter().map(String::as_str));
        let env = [
            ("HTTPS_PROXY", bypassed.url()),
            ("NO_PROXY", "127.0.0.1".into()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = start_with_env(&args, &env).finish();
        assert_eq!(run.status, Some(0), "{run}");
        assert!(bypassed.seen().is_empty(), "{:?}", bypassed.seen());
        assert_eq!(run.count("proxy_tunnels"), 0);
    }
}

#[test]
fn http_proxy_and_no_proxy_come_from_the_environment_as_curl_reads_them() {
    let server = reference().start();
    let base = server.base_url();
    let list = urls(&base, &[7, 8]);
    let run_with = |env: &[(&str, &str)], extra: &[&str]| {
        let out = out_dir();
        let mut args = get_args(out.path(), extra);
        args.extend(list.iter().map(String::as_str));
        let run = start_with_env(&args, env).finish();
        assert_eq!(run.status, Some(0), "{run}");
        assert_files(out.path(), &[7, 8], &run);
        run
    };
    let proxy = TestProxy::start();
    run_with(&[("http_proxy", &proxy.url())], &[]);
    assert_eq!(proxy.seen().len(), 2);
    assert!(proxy.seen()[0].line.starts_with("GET http://"));

    // Not HTTP_PROXY (curl reads only the lowercase one); no_proxy and --noproxy bypass.
    let unused = TestProxy::start();
    run_with(&[("HTTP_PROXY", &unused.url())], &[]);
    run_with(
        &[("http_proxy", &unused.url()), ("no_proxy", "127.0.0.1")],
        &[],
    );
    run_with(&[("all_proxy", &unused.url()), ("NO_PROXY", "*")], &[]);
    run_with(
        &[],
        &["-x", &unused.url(), "--noproxy", "localhost,127.0.0.1"],
    );
    assert!(unused.seen().is_empty(), "{:?}", unused.seen());
    assert_eq!(unused.sockets(), 0);

    // -x beats the environment, --noproxy beats no_proxy.
    let chosen = TestProxy::start();
    run_with(
        &[("http_proxy", &unused.url()), ("no_proxy", "127.0.0.1")],
        &["-x", &chosen.url(), "--noproxy", ""],
    );
    assert_eq!(chosen.seen().len(), 2);
    assert!(unused.seen().is_empty());
}

#[test]
fn a_plain_407_names_the_proxy_and_an_unreachable_proxy_is_named_too() {
    let server = reference().start();
    let base = server.base_url();
    let proxy = TestProxy::refusing(407, "Proxy Authentication Required");
    for engine in ENGINES {
        let out = out_dir();
        let run = get(
            out.path(),
            &urls(&base, &[10]),
            &["-x", &proxy.url(), "--engine", engine],
        );
        assert_eq!(run.status, Some(1), "{run}");
        let line = format!(
            "proxy {} refused GET {base}/bytes/10: 407 Proxy Authentication Required",
            proxy.authority()
        );
        assert!(
            run.stderr.contains(&line),
            "{engine}: wanted {line:?}\n{run}"
        );
        // Not tried again: a 407 will not pass.
        assert_eq!(run.count("retries"), 0, "{run}");
    }
    // A port nothing listens on (bound, then let go).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for engine in ENGINES {
        let out = out_dir();
        let run = get(
            out.path(),
            &urls(&base, &[10]),
            &[
                "-x",
                &format!("http://alice:{PASSWORD}@127.0.0.1:{port}"),
                "--retries",
                "0",
                "--engine",
                engine,
            ],
        );
        assert_eq!(run.status, Some(1), "{run}");
        let line = format!("proxy 127.0.0.1:{port}: connect failed");
        assert!(
            run.stderr.contains(&line),
            "{engine}: wanted {line:?}\n{run}"
        );
        assert!(!run.stderr.contains(PASSWORD), "{run}");
    }
}

#[test]
fn proxy_credentials_reach_the_proxy_only_and_are_never_printed() {
    let server = reference().start();
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    let proxy = TestProxy::start();
    let with_credentials = format!("http://alice:{PASSWORD}@{}", proxy.authority());
    for engine in ENGINES {
        let out = out_dir();
        let mut args = vec!["get", "-v", "--json", "--events", "--trace"];
        let trace_arg = trace.display().to_string();
        let out_arg = out.path().display().to_string();
        args.extend([trace_arg.as_str(), "-o", &out_arg, "-x", &with_credentials]);
        args.extend(["--engine", engine]);
        let list = urls(&base, &[10, 11]);
        args.extend(list.iter().map(String::as_str));
        let run = miodl(&args);
        assert_eq!(run.status, Some(0), "{run}");
        for text in [
            &run.stdout,
            &run.stderr,
            &std::fs::read_to_string(&trace).unwrap(),
        ] {
            assert!(
                !text.contains(PASSWORD) && !text.contains(PROXY_BASIC),
                "{run}"
            );
        }
    }
    let basic = format!("Basic {PROXY_BASIC}");
    assert!(proxy
        .seen()
        .iter()
        .all(|s| s.header("proxy-authorization") == Some(&basic)));

    // A host in --noproxy is a direct request: the proxy's credentials do not go with it.
    let origin = TestProxy::start();
    let out = out_dir();
    let run = get(
        out.path(),
        &[format!("{}/direct", origin.url())],
        &["-x", &with_credentials, "--noproxy", "127.0.0.1"],
    );
    assert_eq!(run.status, Some(0), "{run}");
    let seen = origin.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].line, "GET /direct HTTP/1.1");
    assert_eq!(seen[0].header("proxy-authorization"), None);
}

#[test]
fn credentials_of_http_urls_through_a_proxy_are_said_once_on_stderr() {
    let server = reference().start();
    let base = server.base_url();
    let proxy = TestProxy::start();
    let out = out_dir();
    let run = get(
        out.path(),
        &urls(&base, &[1, 2, 3]),
        &["-x", &proxy.url(), "-u", "bob:hunter2"],
    );
    assert_eq!(run.status, Some(0), "{run}");
    let warning = format!(
        "miodl: warning: the HTTP proxy {} sees the credentials of http:// URLs",
        proxy.authority()
    );
    assert_eq!(run.stderr.matches(&warning).count(), 1, "{run}");
    assert!(!run.stderr.contains("hunter2") && !run.stderr.contains(USER_BASIC));
    // The proxy does see them, as every HTTP proxy would.
    let user = format!("Basic {USER_BASIC}");
    assert!(proxy
        .seen()
        .iter()
        .all(|s| s.header("authorization") == Some(&user)));
    // Without credentials, no warning.
    let out = out_dir();
    let run = get(out.path(), &urls(&base, &[1]), &["-x", &proxy.url()]);
    assert!(!run.stderr.contains("sees the credentials"), "{run}");
}

#[test]
fn socks_and_other_proxy_schemes_are_refused_from_the_command_line_and_the_environment() {
    let out = out_dir();
    for bad in [
        "socks5://alice:s3cret@127.0.0.1:1080",
        "socks4://127.0.0.1:1080",
        "https://127.0.0.1:3128",
    ] {
        let run = get(out.path(), &["http://127.0.0.1:9/x".into()], &["-x", bad]);
        assert_eq!(run.status, Some(2), "{run}");
        assert!(run.stderr.contains("only http:// proxies"), "{run}");
        assert!(!run.stderr.contains(PASSWORD), "{run}");
    }
    for name in ["http_proxy", "https_proxy", "ALL_PROXY"] {
        let args = get_args(out.path(), &["http://127.0.0.1:9/x"]);
        let run = start_with_env(&args, &[(name, "socks5://alice:s3cret@127.0.0.1:1080")]).finish();
        assert_eq!(run.status, Some(2), "{run}");
        let line = format!("invalid proxy in {name}: 'socks5://***@127.0.0.1:1080'");
        assert!(run.stderr.contains(&line), "wanted {line:?}\n{run}");
        assert!(!run.stderr.contains(PASSWORD), "{run}");
    }
}
