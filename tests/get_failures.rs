//! `miodl get` against servers that fail: exit status 1, one line on stderr naming the
//! URL and the cause, and nothing in the output directory, neither under the final name
//! nor as a leftover `.miodl-*.part` temporary.

mod support;

use std::time::Duration;

use support::*;

/// Runs `miodl get` on one URL, expecting it to fail for a reason that contains `cause`.
fn expect_failure(url: &str, name: &str, extra: &[&str], cause: &str) -> Run {
    let dir = out_dir();
    let mut args = get_args(dir.path(), extra);
    args.push(url);
    let run = miodl(&args);
    assert_eq!(run.status, Some(1), "{url}: {run:?}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "one line on stderr, got {lines:?}");
    assert!(
        lines[0].contains(url),
        "the line names the URL: {}",
        lines[0]
    );
    assert!(
        lines[0].to_lowercase().contains(&cause.to_lowercase()),
        "the line names the cause ({cause}): {}",
        lines[0]
    );
    assert!(
        !dir.path().join(name).exists(),
        "{name} must not exist after a failure"
    );
    assert_no_temp_files(dir.path());
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
    assert_eq!(run.count("failed"), 1);
    assert_eq!(run.count("ok"), 0);
    run
}

#[test]
fn garbage_instead_of_a_status_line() {
    let server = Server::start(|_| {
        Script::new()
            .write("HELLO THERE\r\nnot http\r\n\r\n")
            .close()
    });
    let url = server.url("/garbage.txt");
    expect_failure(
        &url,
        "garbage.txt",
        &["--retry-delay", "10"],
        "bad response",
    );
    // A malformed answer is not retryable (SPEC section 5).
    assert_eq!(server.stats().requests.len(), 1);
}

#[test]
fn a_two_mebibyte_header() {
    let server = Server::start(|_| {
        let mut head = b"HTTP/1.1 200 OK\r\nX-Huge: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', 2 << 20));
        head.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nhi");
        Script::new().write(head).close()
    });
    let url = server.url("/huge-head.txt");
    expect_failure(
        &url,
        "huge-head.txt",
        &["--retry-delay", "10"],
        "larger than",
    );
    assert_eq!(server.stats().requests.len(), 1, "not retried");
}

#[test]
fn conflicting_content_length() {
    let server = Server::start(|_| {
        Script::new()
            .write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
            .close()
    });
    let url = server.url("/conflict.txt");
    expect_failure(
        &url,
        "conflict.txt",
        &["--retry-delay", "10"],
        "content-length",
    );
    assert_eq!(server.stats().requests.len(), 1, "not retried");
}

#[test]
fn not_found() {
    let server = Server::start(|_| Script::not_found());
    let url = server.url("/missing.txt");
    expect_failure(&url, "missing.txt", &["--retry-delay", "10"], "404");
    assert_eq!(server.stats().requests.len(), 1, "a 404 is not retried");
}

#[test]
fn endless_redirect_loop() {
    let server = Server::start(|req| Script::redirect(302, &req.path));
    let url = server.url("/loop.txt");
    let run = expect_failure(&url, "loop.txt", &["--max-redirects", "3"], "redirects");
    // The first request and three followed redirects; the fourth is refused.
    assert_eq!(server.stats().requests.len(), 4);
    assert_eq!(run.count("redirects"), 3);
}

#[test]
fn a_stalled_server_times_out() {
    let gate = Gate::new();
    let held = gate.clone();
    let server = Server::start(move |_| Script::new().wait(&held));
    let url = server.url("/stall.txt");
    let run = expect_failure(
        &url,
        "stall.txt",
        &["--timeout", "0.5", "--retries", "0"],
        "no data",
    );
    assert!(
        run.elapsed >= Duration::from_millis(500),
        "{:?}",
        run.elapsed
    );
    assert_eq!(run.count("retries"), 0);
    gate.open();
}

#[test]
fn a_server_stalling_mid_body_leaves_no_temporary() {
    let gate = Gate::new();
    let held = gate.clone();
    let server = Server::start(move |_| {
        Script::new()
            .write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            .write(bytes(30_000, 5))
            .wait(&held)
    });
    let url = server.url("/half.bin");
    expect_failure(
        &url,
        "half.bin",
        &["--timeout", "0.5", "--retries", "0"],
        "no data",
    );
    gate.open();
}

#[test]
fn max_filesize_announced() {
    let server = Server::start(|_| Script::ok(bytes(5000, 1)));
    let url = server.url("/big.bin");
    expect_failure(&url, "big.bin", &["--max-filesize", "1000"], "max-filesize");
}

#[test]
fn max_filesize_unannounced_chunked() {
    let server = Server::start(|_| {
        let chunk = format!("258\r\n{}\r\n", "x".repeat(600));
        Script::new()
            .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .write(&chunk)
            .sleep(Duration::from_millis(50))
            .write(&chunk)
            .write(&chunk)
            .write("0\r\n\r\n")
    });
    let url = server.url("/chunked-big.bin");
    expect_failure(
        &url,
        "chunked-big.bin",
        &["--max-filesize", "1000"],
        "max-filesize",
    );
}

#[test]
fn connect_refused() {
    let port = dead_port();
    let url = format!("http://127.0.0.1:{port}/nobody.txt");
    let run = expect_failure(
        &url,
        "nobody.txt",
        &["--retries", "1", "--retry-delay", "10"],
        "connect",
    );
    assert_eq!(run.count("retries"), 1);
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
