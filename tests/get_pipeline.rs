//! `--pipeline N`: several GET requests on one socket before their answers come back.
//!
//! What must hold: the answers are matched to their requests in order, however the bytes
//! of two answers are cut across reads; a socket that dies with requests queued on it
//! sends them again on a fresh socket, not counted as tries; an answer spoiled by the
//! one before it (bytes a server should not have sent) sends its request again, alone;
//! and without keep-alive nothing is pipelined.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::thread;
use std::time::Duration;

use support::{get_args, miodl, pattern, reference, Run, ServerHandle};

fn reference_server(lag: Duration, faults: &str, files: usize) -> ServerHandle {
    reference()
        .files(files)
        .lag(lag)
        .seed(7)
        .faults(faults)
        .start()
}

/// `miodl get -q --json -o DIR -c C --retries 3 OPTIONS URLS`.
fn get(dir: &Path, connections: &str, options: &[&str], urls: &[String]) -> Run {
    let mut args = get_args(dir, &["-c", connections, "--retries", "3"]);
    args.extend_from_slice(options);
    args.extend(urls.iter().map(String::as_str));
    miodl(&args)
}

/// Each saved file is the server's pattern of its size.
fn assert_bytes_files(dir: &Path, sizes: &[usize]) {
    for &n in sizes {
        let saved = std::fs::read(dir.join(n.to_string())).expect("saved file");
        assert_eq!(saved.len(), n, "/bytes/{n}");
        assert_eq!(saved, pattern(n), "/bytes/{n}");
    }
}

#[test]
fn several_requests_go_on_one_socket_before_their_answers() {
    let sizes: Vec<usize> = (1..=12).map(|i| i * 1000).collect();
    for (options, keep_alive, depth) in [
        (&["--pipeline", "4"][..], true, 4),
        (&[][..], true, 1),
        (&["--pipeline", "4", "--no-keepalive"][..], false, 1),
    ] {
        // The lag keeps answers back, so requests pile up when the client pipelines.
        let server = reference_server(Duration::from_millis(30), "", 25);
        let urls: Vec<String> = sizes
            .iter()
            .map(|n| format!("{}/bytes/{n}", server.base_url()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let run = get(dir.path(), "1", options, &urls);
        let json = run.json();
        assert_eq!(run.status, Some(0), "{options:?}: {json}");
        assert_eq!(json["ok"], 12, "{options:?}");
        assert_eq!(json["requests"], 12, "{options:?}: no request twice");
        let sockets = if keep_alive { 1 } else { 12 };
        assert_eq!(json["connections_opened"], sockets, "{options:?}");
        assert_eq!(
            server.stats().max_in_flight_requests(),
            depth,
            "{options:?}: requests the server held at once"
        );
        assert_bytes_files(dir.path(), &sizes);
    }
}

/// The library face pipelines too: `Downloader::pipeline`.
#[test]
fn the_library_pipelines_when_asked() {
    let server = reference_server(Duration::from_millis(30), "", 25);
    let sizes: Vec<usize> = (1..=9).map(|i| i * 500).collect();
    let urls: Vec<String> = sizes
        .iter()
        .map(|n| format!("{}/bytes/{n}", server.base_url()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let report = miodl::app::downloader::Downloader::new(dir.path())
        .connections(1)
        .pipeline(4)
        .disk_threads(0)
        .get(&urls)
        .expect("the run starts");
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.summary.ok, 9);
    assert_eq!(report.summary.requests, 9);
    assert_eq!(server.stats().max_in_flight_requests(), 4);
    assert_bytes_files(dir.path(), &sizes);
}

/// Two answers, cut at every byte: the tail of the first and the head of the second
/// arrive in one read, in any proportion.
#[test]
fn two_pipelined_answers_cut_at_every_byte_are_told_apart() {
    let first = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst".to_vec();
    let second = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond".to_vec();
    let both = [first, second].concat();
    for cut in 0..=both.len() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bytes = both.clone();
        // One connection. The first request is answered alone (miodl pipelines only on
        // a socket that gave one keep-alive answer); then both pipelined requests are
        // read before their answers are written, so the client must have pipelined the
        // second (else it waits for --timeout and fails).
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            let mut heads_read = |stream: &mut std::net::TcpStream, want: usize| {
                while seen.windows(4).filter(|w| w == b"\r\n\r\n").count() < want {
                    let n = stream.read(&mut buf).unwrap();
                    assert!(n > 0, "the client closed before sending {want} requests");
                    seen.extend_from_slice(&buf[..n]);
                }
            };
            heads_read(&mut stream, 1);
            let zero = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nzero";
            stream.write_all(zero).unwrap();
            heads_read(&mut stream, 3);
            stream.write_all(&bytes[..cut]).unwrap();
            thread::sleep(Duration::from_millis(5));
            stream.write_all(&bytes[cut..]).unwrap();
            // Hold the socket until the client is done with it.
            let _ = stream.read(&mut [0u8; 64]);
        });
        let dir = tempfile::tempdir().unwrap();
        let urls = [
            format!("http://127.0.0.1:{port}/0"),
            format!("http://127.0.0.1:{port}/a"),
            format!("http://127.0.0.1:{port}/b"),
        ];
        let run = get(
            dir.path(),
            "1",
            &["--pipeline", "2", "--timeout", "5", "--retries", "0"],
            &urls,
        );
        let json = run.json();
        assert_eq!(json["ok"], 3, "cut at {cut}: {json}");
        assert_eq!(json["requests"], 3, "cut at {cut}");
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"first");
        assert_eq!(std::fs::read(dir.path().join("b")).unwrap(), b"second");
        server.join().unwrap();
    }
}

/// A new socket carries one request until its first answer shows the server keeps it
/// open (and, after a failed pipeline, RFC 9112 §9.3.2 asks for exactly that).
#[test]
fn a_new_socket_sends_its_first_request_alone() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        // Everything the client sends before the first answer: it must be one request.
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        let before_first_answer = seen.windows(4).filter(|w| w == b"\r\n\r\n").count();
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        stream.write_all(answer).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // Then the other two, pipelined now that the socket proved itself.
        while seen.windows(4).filter(|w| w == b"\r\n\r\n").count() < 3 {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the client closed before sending three requests");
            seen.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(&[&answer[..], &answer[..]].concat())
            .unwrap();
        let _ = stream.read(&mut buf);
        before_first_answer
    });
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = ["x", "y", "z"]
        .iter()
        .map(|p| format!("http://127.0.0.1:{port}/{p}"))
        .collect();
    let run = get(dir.path(), "1", &["--pipeline", "4"], &urls);
    let json = run.json();
    assert_eq!(json["ok"], 3, "{json}");
    assert_eq!(
        server.join().unwrap(),
        1,
        "requests before the first answer"
    );
}

/// Sockets reset, closed or cut short with requests queued on them: every file still
/// arrives whole, the queued requests go again without counting as tries.
#[test]
fn pipelined_requests_survive_every_retryable_fault() {
    let faults = "close-idle:0.05@1,reset-body:0.03@1,eof-body:0.03@1,reset-head:0.03@1,\
                  eof-head:0.03@1,503:0.03@1,short-body:0.02@1,reset-mid-head:0.02@1";
    let server = reference_server(Duration::ZERO, faults, 600);
    let dir = tempfile::tempdir().unwrap();
    let list = format!("{}/api/list_files", server.base_url());
    let mut args = vec!["crawl", "-q", "--json", "-c", "4", "--pipeline", "8"];
    args.extend(["--lookahead", "4", "--retries", "5", "--retry-delay", "10"]);
    args.extend(["-o", dir.path().to_str().unwrap(), &list]);
    let run = miodl(&args);
    let json = run.json();
    assert_eq!(run.status, Some(0), "{json}");
    assert_eq!(json["ok"], 600, "{json}");
    assert_eq!(json["failed"], 0, "{json}");
    assert!(server.stats().faults_injected() > 20, "{json}");
    let held = server.stats().max_in_flight_requests();
    assert!(held > 4, "more requests than sockets at once: {held}");
    assert!(
        json["stale_resends"].as_u64().unwrap() > 0,
        "queued requests were resent: {json}"
    );
    let verify = miodl(&["verify", dir.path().to_str().unwrap()]);
    assert_eq!(verify.status, Some(0), "{verify:?}");
}

/// A server that sends more bytes than its answer announced spoils the answer queued
/// behind it: that request goes again, alone, on a fresh socket; nothing fails.
#[test]
fn an_answer_spoiled_by_the_one_before_goes_again_alone() {
    let server = reference_server(Duration::ZERO, "long-body@1=/bytes/2000", 25);
    let sizes = [1000, 2000, 3000, 4000];
    let urls: Vec<String> = sizes
        .iter()
        .map(|n| format!("{}/bytes/{n}", server.base_url()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let run = get(dir.path(), "1", &["--pipeline", "4"], &urls);
    let json = run.json();
    assert_eq!(run.status, Some(0), "{json}");
    assert_eq!(json["ok"], 4, "{json}");
    assert_eq!(json["retries"], 0, "not counted as tries: {json}");
    assert!(json["stale_resends"].as_u64().unwrap() >= 1, "{json}");
    assert_bytes_files(dir.path(), &sizes);
}

#[test]
fn pipeline_zero_is_a_usage_error() {
    let run = miodl(&["get", "--pipeline", "0", "http://127.0.0.1:9/x"]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("--pipeline"), "{}", run.stderr);
}
