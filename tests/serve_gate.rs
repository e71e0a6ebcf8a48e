//! The reference server as a real API's gate (docs/reference.md, `serve`): a quota
//! (`--rate-limit`, `429` with `Retry-After`) that miodl's politeness meets, and a
//! required `Authorization` (`--require-auth`, `401`) that `-H` and `-u` satisfy.
//! Crawls and downloads go over loopback to the server in this process.

mod support;

use std::time::Duration;

use miodl::model::options::Rate;
use miodl::serve::{spawn, RequiredAuth, ServeConfig};
use support::*;

fn server(rate_limit: Option<Rate>, require_auth: Option<&str>) -> miodl::serve::ServerHandle {
    spawn(ServeConfig {
        port: 0,
        files: 40,
        rate_limit,
        require_auth: require_auth.map(|v| RequiredAuth(v.to_string())),
        ..ServeConfig::default()
    })
    .expect("start the reference server")
}

fn per_second(count: u32) -> Option<Rate> {
    Some(Rate {
        count,
        per: Duration::from_secs(1),
    })
}

/// A crawl that ignores the quota meets 429s, waits out each `Retry-After` and still
/// saves every file; one whose `--rate` stays under the quota meets none.
#[test]
fn a_crawl_meets_the_servers_quota_with_retry_after_or_with_rate() {
    for engine in ["reactor", "threads"] {
        let srv = server(per_second(20), None);
        let dir = out_dir();
        let run = crawl(&list_url(&srv), dir.path(), &["--engine", engine]);
        assert_eq!(run.status, Some(0), "{engine}: {run:?}");
        assert_eq!(verify_text(dir.path()), "ok: 40 files", "{engine}");
        let refused = srv.stats().rate_limited();
        assert!(refused > 0, "{engine}: 48 requests at once exceed 20");
        assert!(run.count("throttled") > 0, "{engine}: {run:?}");
        assert_eq!(run.count("retries"), 0, "{engine}: a 429 is no retry");

        let srv = server(per_second(20), None);
        let dir = out_dir();
        let extra = ["--engine", engine, "--rate", "15/s"];
        let run = crawl(&list_url(&srv), dir.path(), &extra);
        assert_eq!(run.status, Some(0), "{engine}: {run:?}");
        assert_eq!(verify_text(dir.path()), "ok: 40 files", "{engine}");
        assert_eq!(
            srv.stats().rate_limited(),
            0,
            "{engine}: --rate kept under it"
        );
        assert_eq!(run.count("throttled"), 0, "{engine}");
    }
}

/// `-H 'Authorization: ...'` and `-u` meet `--require-auth`; without them every file
/// fails with the server's 401, and the value is never printed.
#[test]
fn required_authorization_is_met_by_h_and_u_and_missing_is_a_401() {
    let srv = server(None, Some("Bearer t0ken-s3cret"));
    let dir = out_dir();
    let header = ["-H", "Authorization: Bearer t0ken-s3cret"];
    let run = crawl(&list_url(&srv), dir.path(), &header);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(verify_text(dir.path()), "ok: 40 files");
    assert_eq!(srv.stats().unauthorized(), 0);

    let dir = out_dir();
    let url = format!("{}/bytes/64", srv.base_url());
    let run = miodl(&get_args(dir.path(), &[&url]));
    assert_eq!(run.status, Some(1), "{run:?}");
    let lines = run.stderr_lines();
    assert!(lines.iter().any(|l| l.contains("401")), "{lines:?}");
    assert_eq!(srv.stats().unauthorized(), 1);
    assert_no_temp_files(dir.path());

    // user:pass in Basic is dXNlcjpwYXNz.
    let srv = server(None, Some("Basic dXNlcjpwYXNz"));
    let dir = out_dir();
    let url = format!("{}/bytes/64", srv.base_url());
    let run = miodl(&get_args(dir.path(), &["-u", "user:pass", &url]));
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(saved(dir.path())["64"], pattern(64));
    let printed = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !printed.contains("dXNlcjpwYXNz") && !printed.contains("pass"),
        "{printed}"
    );
}
