//! `miodl get` against servers that fail: exit status 1, one line on stderr naming the
//! URL and the cause, and nothing in the output directory, neither under the final name
//! nor as a leftover `.miodl-*.part` temporary. Every story runs with every engine.

mod support;

use std::time::Duration;

use support::scripted::*;
use support::*;

/// For each engine, on a fresh server from `make`: runs `miodl get` on `path`,
/// expecting it to fail for a reason that contains `cause`. Returns each engine's run
/// and server for further checks.
fn expect_failure(
    make: &dyn Fn() -> Server,
    path: &str,
    name: &str,
    extra: &[&str],
    cause: &str,
) -> Vec<(&'static str, Run, Server)> {
    let mut runs = Vec::new();
    for engine in ENGINES {
        let server = make();
        let url = server.url(path);
        let run = expect_failure_of(&url, engine, name, extra, cause);
        runs.push((engine, run, server));
    }
    runs
}

/// Runs `miodl get --engine ENGINE URL`, expecting it to fail because of `cause`.
fn expect_failure_of(url: &str, engine: &str, name: &str, extra: &[&str], cause: &str) -> Run {
    let dir = out_dir();
    let mut args = get_args(dir.path(), extra);
    args.extend(["--engine", engine, url]);
    let run = miodl(&args);
    assert_eq!(run.status, Some(1), "{engine} {url}: {run:?}");
    let lines = run.stderr_lines();
    assert_eq!(
        lines.len(),
        1,
        "{engine}: one line on stderr, got {lines:?}"
    );
    assert!(
        lines[0].contains(url),
        "{engine}: the line names the URL: {}",
        lines[0]
    );
    assert!(
        lines[0].to_lowercase().contains(&cause.to_lowercase()),
        "{engine}: the line names the cause ({cause}): {}",
        lines[0]
    );
    assert!(
        !dir.path().join(name).exists(),
        "{engine}: {name} must not exist after a failure"
    );
    assert_no_temp_files(dir.path());
    assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{engine}");
    assert_eq!(run.count("failed"), 1, "{engine}");
    assert_eq!(run.count("ok"), 0, "{engine}");
    run
}

/// Checks each engine's server saw `n` requests (a failure that must not be retried).
fn assert_requests(runs: &[(&str, Run, Server)], n: usize, why: &str) {
    for (engine, _, server) in runs {
        assert_eq!(server.stats().requests.len(), n, "{engine}: {why}");
    }
}

const QUICK_RETRY: [&str; 2] = ["--retry-delay", "10"];

#[test]
fn garbage_instead_of_a_status_line() {
    let make = || {
        Server::start(|_| {
            Script::new()
                .write("HELLO THERE\r\nnot http\r\n\r\n")
                .close()
        })
    };
    let runs = expect_failure(
        &make,
        "/garbage.txt",
        "garbage.txt",
        &QUICK_RETRY,
        "bad response",
    );
    assert_requests(
        &runs,
        1,
        "a malformed answer is not retried (docs/reference.md §5)",
    );
}

#[test]
fn a_two_mebibyte_header() {
    let make = || {
        Server::start(|_| {
            let mut head = b"HTTP/1.1 200 OK\r\nX-Huge: ".to_vec();
            head.extend(std::iter::repeat_n(b'a', 2 << 20));
            head.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nhi");
            Script::new().write(head).close()
        })
    };
    let runs = expect_failure(
        &make,
        "/huge-head.txt",
        "huge-head.txt",
        &QUICK_RETRY,
        "larger than",
    );
    assert_requests(&runs, 1, "not retried");
}

#[test]
fn conflicting_content_length() {
    let make = || {
        Server::start(|_| {
            Script::new()
                .write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
                .close()
        })
    };
    let runs = expect_failure(
        &make,
        "/conflict.txt",
        "conflict.txt",
        &QUICK_RETRY,
        "content-length",
    );
    assert_requests(&runs, 1, "not retried");
}

/// `100 Continue` without end (1 MiB of them, then silence, the socket open): refused
/// at the cap on all heads of one answer, not read forever nor until a timeout.
#[test]
fn endless_interim_answers() {
    let gate = Gate::new();
    let make = || {
        let held = gate.clone();
        Server::start(move |_| {
            Script::new()
                .write(b"HTTP/1.1 100 Continue\r\n\r\n".repeat(40_000))
                .wait(&held)
        })
    };
    let runs = expect_failure(
        &make,
        "/continue.txt",
        "continue.txt",
        &QUICK_RETRY,
        "bad response: response heads, interim 1xx answers included, larger than 307200 bytes",
    );
    gate.open();
    assert_requests(&runs, 1, "not retried");
}

/// A chunked body, then trailer fields without end (1 MiB of them, then silence):
/// refused at the trailer limit, and the body already received is not kept.
#[test]
fn endless_trailers() {
    let gate = Gate::new();
    let make = || {
        let held = gate.clone();
        Server::start(move |_| {
            Script::new()
                .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n")
                .write(b"X-Trailer: more\r\n".repeat(60_000))
                .wait(&held)
        })
    };
    let runs = expect_failure(
        &make,
        "/trailers.txt",
        "trailers.txt",
        &QUICK_RETRY,
        "bad response: bad chunked body: trailer fields after the last chunk longer than 65536 bytes",
    );
    gate.open();
    assert_requests(&runs, 1, "not retried");
}

/// `Transfer-Encoding: gzip, chunked`: the bytes are gzip, not the file; refused, not
/// saved (RFC 9112 §6.1).
#[test]
fn a_transfer_coding_other_than_chunked() {
    let make = || {
        Server::start(|_| {
            Script::new()
                .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
                .write("3\r\n\x1f\x08\x08\r\n0\r\n\r\n")
        })
    };
    let runs = expect_failure(
        &make,
        "/gzipped.txt",
        "gzipped.txt",
        &QUICK_RETRY,
        "bad response: unsupported transfer coding gzip",
    );
    assert_requests(&runs, 1, "not retried");
}

/// `Transfer-Encoding: chunked` on two lines is chunked applied twice: where the body
/// ends would be a guess, so it is refused (RFC 9112 §6.1).
#[test]
fn chunked_applied_twice() {
    let make = || {
        Server::start(|_| {
            Script::new()
                .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n")
                .write("Transfer-Encoding: chunked\r\n\r\n")
                .write("3\r\nabc\r\n0\r\n\r\n")
        })
    };
    let runs = expect_failure(
        &make,
        "/twice.txt",
        "twice.txt",
        &QUICK_RETRY,
        "bad response: Transfer-Encoding lists chunked more than once",
    );
    assert_requests(&runs, 1, "not retried");
}

#[test]
fn not_found() {
    let make = || Server::start(|_| Script::not_found());
    let runs = expect_failure(&make, "/missing.txt", "missing.txt", &QUICK_RETRY, "404");
    assert_requests(&runs, 1, "a 404 is not retried");
}

#[test]
fn endless_redirect_loop() {
    let make = || Server::start(|req| Script::redirect(302, &req.path));
    let runs = expect_failure(
        &make,
        "/loop.txt",
        "loop.txt",
        &["--max-redirects", "3"],
        "redirects",
    );
    // The first request and three followed redirects; the fourth is refused.
    assert_requests(&runs, 4, "1 + 3 redirects");
    for (engine, run, _) in &runs {
        assert_eq!(run.count("redirects"), 3, "{engine}");
    }
}

#[test]
fn a_stalled_server_times_out() {
    let gate = Gate::new();
    let make = || {
        let held = gate.clone();
        Server::start(move |_| Script::new().wait(&held))
    };
    let quick = ["--timeout", "0.5", "--retries", "0"];
    let runs = expect_failure(&make, "/stall.txt", "stall.txt", &quick, "no data");
    gate.open();
    for (engine, run, _) in &runs {
        assert!(
            run.elapsed >= Duration::from_millis(500),
            "{engine}: {:?}",
            run.elapsed
        );
        assert_eq!(run.count("retries"), 0, "{engine}");
    }
}

#[test]
fn a_server_stalling_mid_body_leaves_no_temporary() {
    let gate = Gate::new();
    let make = || {
        let held = gate.clone();
        Server::start(move |_| {
            Script::new()
                .write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                .write(bytes(30_000, 5))
                .wait(&held)
        })
    };
    let quick = ["--timeout", "0.5", "--retries", "0"];
    expect_failure(&make, "/half.bin", "half.bin", &quick, "no data");
    gate.open();
}

/// A large body (the zero-copy path, moved by a disk thread or by the reactor thread)
/// that stalls, is reset, or is cut short fails like a small one, for every engine.
#[test]
fn a_large_body_that_stalls_or_breaks_fails_the_same_everywhere() {
    let gate = Gate::new();
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n";
    let stories: [(&str, &dyn Fn() -> Server); 3] = [
        ("no data", &|| {
            let held = gate.clone();
            Server::start(move |_| {
                Script::new()
                    .write(head)
                    .write(bytes(600_000, 5))
                    .wait(&held)
            })
        }),
        ("reset", &|| {
            Server::start(move |_| Script::new().write(head).write(bytes(600_000, 5)).reset())
        }),
        ("closed", &|| {
            Server::start(move |_| Script::new().write(head).write(bytes(600_000, 5)).close())
        }),
    ];
    let quick = ["--timeout", "0.5", "--retries", "0"];
    for (cause, make) in stories {
        for disk in ["0", "2"] {
            let options = [&quick[..], &["--disk-threads", disk]].concat();
            expect_failure(make, "/large.bin", "large.bin", &options, cause);
        }
    }
    gate.open();
}

#[test]
fn max_filesize_announced() {
    let make = || Server::start(|_| Script::ok(bytes(5000, 1)));
    let limit = ["--max-filesize", "1000"];
    let runs = expect_failure(&make, "/big.bin", "big.bin", &limit, "max-filesize");
    assert_requests(&runs, 1, "not retried");
}

#[test]
fn max_filesize_unannounced_chunked() {
    let make = || {
        Server::start(|_| {
            // 0x258 = 600 bytes a chunk: the first fits under the limit, the second not.
            let chunk = format!("258\r\n{}\r\n", "x".repeat(600));
            Script::new()
                .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .write(&chunk)
                .sleep(Duration::from_millis(50))
                .write(&chunk)
                .write(&chunk)
                .write("0\r\n\r\n")
        })
    };
    let limit = ["--max-filesize", "1000"];
    let runs = expect_failure(
        &make,
        "/chunked-big.bin",
        "chunked-big.bin",
        &limit,
        "max-filesize",
    );
    assert_requests(&runs, 1, "not retried");
}

#[test]
fn connect_refused() {
    for engine in ENGINES {
        let port = dead_port();
        let url = format!("http://127.0.0.1:{port}/nobody.txt");
        let retry = ["--retries", "1", "--retry-delay", "10"];
        let run = expect_failure_of(&url, engine, "nobody.txt", &retry, "connect");
        assert_eq!(run.count("retries"), 1, "{engine}");
    }
}

#[test]
fn one_missing_among_fifty_good_files() {
    let server = Server::start(|req| {
        if req.path == "/g/missing.txt" {
            Script::not_found()
        } else {
            Script::ok(req.path.as_bytes())
        }
    });
    let dir = out_dir();
    let mut urls: Vec<String> = (0..50)
        .map(|i| server.url(&format!("/g/{i}.txt")))
        .collect();
    urls.insert(25, server.url("/g/missing.txt"));
    let mut args = get_args(dir.path(), &["-c", "8"]);
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert_eq!(run.count("ok"), 50);
    assert_eq!(run.count("failed"), 1);
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("/g/missing.txt") && lines[0].contains("404"));
    let names = names_in(dir.path());
    assert_eq!(names.len(), 50, "{names:?}");
    for i in 0..50 {
        let got = std::fs::read(dir.path().join(format!("{i}.txt"))).unwrap();
        assert_eq!(got, format!("/g/{i}.txt").as_bytes());
    }
    assert!(!dir.path().join("missing.txt").exists());
}
