//! `-H`, `-A`: custom request headers on pages and downloads, in every engine, and the
//! credentials rule for a custom `Authorization` or `Cookie` (docs/reference.md §3, "Who
//! gets the credentials"): only to the hosts named on the command line, never printed.

mod support;

use std::sync::{Arc, OnceLock};

use support::scripted::*;
use support::*;

const ENGINES: [&str; 3] = ["reactor", "blocking", "threads"];
const SECRET: &str = "Bearer SECRET-t0ken";

#[test]
fn custom_headers_and_user_agent_reach_every_download_in_every_engine() {
    for engine in ENGINES {
        let server = Server::start(|req| Script::ok(req.path.as_bytes()));
        let dir = out_dir();
        let (a, b) = (server.url("/a.txt"), server.url("/b.txt"));
        let args = get_args(
            dir.path(),
            &[
                "--engine",
                engine,
                "-H",
                "X-Probe:  one two ",
                "-A",
                "probe/9",
                "-H",
                "Accept: text/plain",
                "-H",
                "X-Gone:",
                &a,
                &b,
            ],
        );
        let run = miodl(&args);
        assert_eq!(run.status, Some(0), "{engine}: {run:?}");
        let requests = server.stats().requests;
        assert_eq!(requests.len(), 2, "{engine}");
        for req in &requests {
            assert_eq!(req.header("x-probe"), Some("one two"), "{engine}: {req:?}");
            assert_eq!(
                req.header("user-agent"),
                Some("probe/9"),
                "{engine}: {req:?}"
            );
            assert_eq!(
                req.header("accept"),
                Some("text/plain"),
                "{engine}: {req:?}"
            );
            assert_eq!(req.header("x-gone"), None, "{engine}: {req:?}");
            let agents = req
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("user-agent"));
            assert_eq!(agents.count(), 1, "one User-Agent, not two: {req:?}");
            assert_eq!(
                req.header("accept-encoding"),
                None,
                "not without --compressed"
            );
        }
    }
}

#[test]
fn an_empty_value_removes_a_default_header() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    let url = server.url("/x.txt");
    let run = miodl(&get_args(
        dir.path(),
        &["-H", "User-Agent:", "-H", "accept:", &url],
    ));
    assert_eq!(run.status, Some(0), "{run:?}");
    let req = &server.stats().requests[0];
    assert_eq!(req.header("user-agent"), None, "{req:?}");
    assert_eq!(req.header("accept"), None, "{req:?}");
}

/// A crawl's list pages carry the headers too, and so do its downloads; a custom
/// `Authorization` goes to LIST_URL's host, not to an item URL on another port.
#[test]
fn a_crawl_sends_the_headers_on_pages_and_the_secret_only_to_the_list_host() {
    for engine in ENGINES {
        let other = Server::start(|req| Script::ok(format!("other{}", req.path)));
        let far = other.url("/far.txt");
        let list = Server::start(move |req| match req.path.as_str() {
            "/list" => Script::status(
                200,
                &[("Content-Type", "application/json")],
                format!("[\"/near.txt\", \"{far}\"]"),
            ),
            _ => Script::ok(format!("list{}", req.path)),
        });
        let dir = out_dir();
        let run = crawl(
            &list.url("/list"),
            dir.path(),
            &[
                "--pages",
                "link",
                "--engine",
                engine,
                "--events",
                "-H",
                "X-Probe: 1",
                "-H",
                &format!("Authorization: {SECRET}"),
            ],
        );
        assert_eq!(run.status, Some(0), "{engine}: {run:?}");
        let near = list.stats().requests;
        assert_eq!(near.len(), 2, "{engine}: the page and /near.txt: {near:?}");
        for req in &near {
            assert_eq!(req.header("x-probe"), Some("1"), "{engine}: {req:?}");
            assert_eq!(
                req.header("authorization"),
                Some(SECRET),
                "{engine}: {req:?}"
            );
        }
        let far = other.stats().requests;
        assert_eq!(far.len(), 1, "{engine}");
        assert_eq!(
            far[0].header("x-probe"),
            Some("1"),
            "{engine}: {:?}",
            far[0]
        );
        assert_eq!(
            far[0].header("authorization"),
            None,
            "{engine}: {:?}",
            far[0]
        );
        assert_no_secret(&run);
    }
}

/// Server B, on another port, is where a redirect from A leads: it never sees the
/// custom `Authorization` or `Cookie`, and neither does A under another name. The
/// secret is in nothing miodl prints, `-v` and `--trace` included.
#[test]
fn a_custom_authorization_never_follows_a_redirect_nor_is_printed() {
    for engine in ENGINES {
        let b = Server::start(|req| Script::ok(format!("b{}", req.path)));
        let b_url = b.url("/final.txt");
        let a_port = Arc::new(OnceLock::<u16>::new());
        let a_port_in = Arc::clone(&a_port);
        let a = Server::start(move |req| match req.path.as_str() {
            "/start.txt" => Script::redirect(302, &b_url),
            "/alias.txt" => {
                let port = a_port_in.get().copied().unwrap_or(0);
                Script::redirect(302, &format!("http://localhost:{port}/aliased"))
            }
            "/missing.txt" => Script::not_found(),
            _ => Script::ok(format!("a{}", req.path)),
        });
        a_port.set(a.port()).unwrap();
        let dir = out_dir();
        let trace = dir.path().join("run.trace.json");
        let out = dir.path().join("out");
        let urls = [
            a.url("/start.txt"),
            a.url("/direct.txt"),
            a.url("/alias.txt"),
            a.url("/missing.txt"),
        ];
        let auth = format!("Authorization: {SECRET}");
        let mut args = get_args(
            &out,
            &[
                "--engine",
                engine,
                "--events",
                "-v",
                "--trace",
                trace.to_str().unwrap(),
                "-H",
                &auth,
                "-H",
                "Cookie: session=SECRET-c00kie",
            ],
        );
        args.extend(urls.iter().map(String::as_str));
        let run = miodl(&args);
        assert_eq!(run.status, Some(1), "{engine}: the 404 fails: {run:?}");
        assert_eq!(run.count("ok"), 3, "{engine}");
        for req in a.stats().requests {
            let (auth, cookie) = if req.host().starts_with("localhost") {
                (None, None)
            } else {
                (Some(SECRET), Some("session=SECRET-c00kie"))
            };
            assert_eq!(req.header("authorization"), auth, "{engine} A: {req:?}");
            assert_eq!(req.header("cookie"), cookie, "{engine} A: {req:?}");
        }
        let b_requests = b.stats().requests;
        assert_eq!(b_requests.len(), 1, "{engine}");
        assert_eq!(
            b_requests[0].header("authorization"),
            None,
            "{engine}: B got it"
        );
        assert_eq!(b_requests[0].header("cookie"), None, "{engine}: B got it");
        assert_no_secret(&run);
        assert!(
            run.stderr.contains("> Authorization: [redacted]"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("> Cookie: [redacted]"),
            "{}",
            run.stderr
        );
        let traced = std::fs::read_to_string(&trace).expect("a trace");
        assert!(
            !traced.contains("SECRET"),
            "{engine}: the trace shows the secret"
        );
    }
}

/// A custom `Authorization` stands in for `-u`'s: one header, the custom one.
#[test]
fn a_custom_authorization_replaces_the_user_option() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    let url = server.url("/x.txt");
    let auth = format!("Authorization: {SECRET}");
    let run = miodl(&get_args(dir.path(), &["-u", "u:p", "-H", &auth, &url]));
    assert_eq!(run.status, Some(0), "{run:?}");
    let req = &server.stats().requests[0];
    let all: Vec<_> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .collect();
    assert_eq!(all.len(), 1, "{req:?}");
    assert_eq!(req.header("authorization"), Some(SECRET));
}

#[test]
fn bad_header_values_are_usage_errors_that_do_not_quote_the_value() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let url = server.url("/x.txt");
    let cases: [(&str, &str); 6] = [
        ("-H", "NoColonSECRET"),
        ("-H", "Bad Name: SECRET"),
        ("-H", "X-A: SECRET\r\nHost: evil"),
        ("-H", "Host: SECRET"),
        ("-H", "content-length: 5"),
        ("-A", "agent\nSECRET"),
    ];
    for (flag, value) in cases {
        let dir = out_dir();
        let run = miodl(&get_args(dir.path(), &[flag, value, &url]));
        assert_eq!(run.status, Some(2), "{value:?}: {run:?}");
        let lines = run.stderr_lines();
        assert_eq!(lines.len(), 1, "{value:?}: one line: {lines:?}");
        assert!(
            lines[0].contains("--header") || lines[0].contains("--user-agent"),
            "{lines:?}"
        );
        assert!(!run.stderr.contains("SECRET"), "{value:?}: {}", run.stderr);
    }
    assert!(server.stats().requests.is_empty(), "nothing was sent");
}

fn assert_no_secret(run: &Run) {
    for secret in ["SECRET-t0ken", "SECRET-c00kie"] {
        assert!(
            !run.stdout.contains(secret),
            "stdout shows {secret}: {}",
            run.stdout
        );
        let shown = run
            .stderr
            .lines()
            .filter(|l| l.contains(secret))
            .collect::<Vec<_>>();
        assert!(shown.is_empty(), "stderr shows {secret}: {shown:?}");
    }
}

/// The library checks its headers as the command line does: before anything is sent.
#[test]
fn the_library_refuses_a_bad_header_before_anything_is_sent() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    for (name, value) in [("Host", "x"), ("X-A", "b\r\nX-B: c"), ("Bad Name", "v")] {
        let result = miodl::Downloader::new(dir.path())
            .header(name, value)
            .get([server.url("/x.txt")]);
        match result {
            Err(miodl::StartError::Header(e)) => assert!(!e.to_string().contains("X-B"), "{e}"),
            other => panic!("{name}: {:?}", other.map(|_| ())),
        }
    }
    let report = miodl::Downloader::new(dir.path())
        .header("X-A", "b")
        .user_agent("lib/1")
        .get([server.url("/x.txt")])
        .expect("a run");
    assert_eq!(report.summary.ok, 1);
    let req = &server.stats().requests[0];
    assert_eq!(
        (req.header("x-a"), req.header("user-agent")),
        (Some("b"), Some("lib/1"))
    );
}
