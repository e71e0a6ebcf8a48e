//! `--max-time` and `--speed-limit` / `--speed-time` (docs/reference.md §3, §5): a server
//! that sends a byte every 0.3 s never trips `--timeout`, but these bounds end the try,
//! with one line naming the bound and the phase, as a retryable failure. Every story runs
//! with every engine; the large bodies also go through the reactor's disk threads and its
//! own splice path. Times are bounded generously: a trickle would last far longer.

mod support;

use std::time::Duration;

use support::scripted::*;
use support::*;

/// How far apart the trickled bytes come: well under `--timeout 5`.
const DRIP: Duration = Duration::from_millis(300);
/// A bounded run ends well within this; the trickles below last at least twice as long.
const GENEROUS: Duration = Duration::from_secs(10);

/// `bytes`, written one at a time, `DRIP` apart.
fn trickle(mut script: Script, bytes: &[u8]) -> Script {
    for byte in bytes {
        script = script.write([*byte]).sleep(DRIP);
    }
    script
}

/// A server whose answer is a whole `head`, then `body_len` bytes trickled (at most 100,
/// so the trickle lasts 30 s).
fn trickling_body(head: &'static str) -> Server {
    Server::start(move |_| trickle(Script::new().write(head), &[b'x'; 100]))
}

/// Runs `miodl get URL EXTRA --engine ENGINE`, expecting one failure whose line names
/// `cause`, within [`GENEROUS`].
fn expect_bounded(server: &Server, engine: &str, extra: &[&str], cause: &str) -> Run {
    let dir = out_dir();
    let url = server.url("/slow.bin");
    let mut args = get_args(dir.path(), extra);
    args.extend(["--engine", engine, &url]);
    let run = miodl(&args);
    assert_eq!(run.status, Some(1), "{engine} {extra:?}: {run:?}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{engine}: one line, got {lines:?}");
    assert!(lines[0].contains(&url), "{engine}: {}", lines[0]);
    assert!(
        lines[0].contains(cause),
        "{engine}: the line names {cause:?}: {}",
        lines[0]
    );
    assert!(
        run.elapsed < GENEROUS,
        "{engine}: the bound ended it, not the trickle: {:?}",
        run.elapsed
    );
    assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{engine}");
    assert_no_temp_files(dir.path());
    run
}

#[test]
fn a_head_sent_a_byte_at_a_time_runs_into_max_time() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa\r\n\r\nhello";
    for engine in ENGINES {
        let server = Server::start(move |_| trickle(Script::new(), head));
        let quick = ["--max-time", "1", "--timeout", "5", "--retries", "0"];
        expect_bounded(
            &server,
            engine,
            &quick,
            "took longer than --max-time 1 s while waiting for the response",
        );
        assert_eq!(server.stats().requests.len(), 1, "{engine}");
    }
}

#[test]
fn a_trickled_body_runs_into_max_time_and_is_retried() {
    for engine in ENGINES {
        let server = trickling_body("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
        let extra = [
            "--max-time",
            "1",
            "--timeout",
            "5",
            "--retries",
            "1",
            "--retry-delay",
            "10",
        ];
        let run = expect_bounded(
            &server,
            engine,
            &extra,
            "took longer than --max-time 1 s while reading the body",
        );
        assert_eq!(run.count("retries"), 1, "{engine}: a retryable failure");
        assert_eq!(server.stats().requests.len(), 2, "{engine}");
    }
}

#[test]
fn a_trickled_body_is_slower_than_the_speed_limit() {
    for engine in ENGINES {
        let server = trickling_body("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
        let extra = [
            "--speed-limit",
            "1000",
            "--speed-time",
            "1",
            "--timeout",
            "5",
            "--retries",
            "0",
        ];
        expect_bounded(
            &server,
            engine,
            &extra,
            "slower than --speed-limit 1000 bytes/s over --speed-time 1 s while reading the body",
        );
    }
}

/// A large body (over the 256 KiB the reactor lends to a disk thread, or splices itself
/// with `--disk-threads 0`) trickled after a quick start: both bounds still hold there.
#[test]
fn a_large_trickled_body_is_bounded_off_the_reactor_thread_too() {
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
    let cases: [(&[&str], &str); 2] = [
        (
            &["--max-time", "1.5"],
            "took longer than --max-time 1.5 s while reading the body",
        ),
        (
            &["--speed-limit", "1000", "--speed-time", "1"],
            "slower than --speed-limit 1000 bytes/s over --speed-time 1 s",
        ),
    ];
    for (bound, cause) in cases {
        for (engine, disk) in [("reactor", "2"), ("reactor", "0"), ("threads", "2")] {
            let server = trickling_body(head);
            let mut extra = vec!["--timeout", "5", "--retries", "0", "--disk-threads", disk];
            extra.extend_from_slice(bound);
            expect_bounded(&server, engine, &extra, cause);
        }
    }
}

#[test]
fn a_steady_trickle_above_the_speed_limit_passes_window_after_window() {
    // 10 bytes every 0.1 s is about 100 B/s, over windows of 0.3 s that ask for 20 B/s:
    // several windows close, each fast enough.
    let body: Vec<u8> = (0..120u8).collect();
    let expected = body.clone();
    for engine in ENGINES {
        let body = body.clone();
        let server = Server::start(move |_| {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            let mut script = Script::new().write(head);
            for chunk in body.chunks(10) {
                script = script.sleep(Duration::from_millis(100)).write(chunk);
            }
            script
        });
        let dir = out_dir();
        let url = server.url("/steady.bin");
        let extra = [
            "--speed-limit",
            "20",
            "--speed-time",
            "0.3",
            "--max-time",
            "30",
        ];
        let mut args = get_args(dir.path(), &extra);
        args.extend(["--engine", engine, &url]);
        let run = miodl(&args);
        assert_eq!(run.status, Some(0), "{engine}: {run:?}");
        assert_eq!(saved(dir.path())["steady.bin"], expected, "{engine}");
    }
}

#[test]
fn fast_downloads_within_the_bounds_succeed() {
    let server = reference().start();
    for engine in ENGINES {
        let dir = out_dir();
        let urls: Vec<String> = [1000, 300_000, 2_000_000]
            .iter()
            .flat_map(|n| {
                [
                    format!("{}/bytes/{n}", server.base_url()),
                    format!("{}/chunked/{n}", server.base_url()),
                ]
            })
            .collect();
        let extra = [
            "--max-time",
            "30",
            "--speed-limit",
            "1",
            "--speed-time",
            "10",
            "--engine",
            engine,
        ];
        let mut args = get_args(dir.path(), &extra);
        args.extend(urls.iter().map(String::as_str));
        let run = miodl(&args);
        assert_eq!(run.status, Some(0), "{engine}: {run:?}");
        assert_eq!(run.count("ok"), 6, "{engine}");
        assert_eq!(run.count("retries"), 0, "{engine}");
        let files = saved(dir.path());
        assert_eq!(files["2000000"], pattern(2_000_000), "{engine}");
    }
}

/// `--max-time` bounds a connect that never completes, long before `--connect-timeout`.
#[test]
fn a_connect_that_never_completes_runs_into_max_time() {
    let any = "127.0.0.1:0".parse().unwrap();
    let (addr, _held) = silent_listener(any).expect("a loopback port");
    let url = format!("http://{addr}/never.bin");
    for engine in ["reactor", "threads"] {
        let dir = out_dir();
        let mut args = get_args(dir.path(), &["--max-time", "1", "--connect-timeout", "30"]);
        args.extend(["--retries", "0", "--engine", engine, &url]);
        let run = miodl(&args);
        assert_eq!(run.status, Some(1), "{engine}: {run:?}");
        let lines = run.stderr_lines();
        assert_eq!(lines.len(), 1, "{engine}: one line, got {lines:?}");
        assert!(
            lines[0].contains("took longer than --max-time 1 s while connecting"),
            "{engine}: {}",
            lines[0]
        );
        assert!(run.elapsed < GENEROUS, "{engine}: {:?}", run.elapsed);
        assert_no_temp_files(dir.path());
    }
}
