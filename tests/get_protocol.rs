//! `miodl get` against servers that are correct, if sometimes odd: the right bytes end
//! up under the right names, with every engine, whatever valid framing the server picks.

mod support;

use std::fs;
use std::path::Path;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use support::scripted::*;
use support::*;

/// The four sizes of the byte-exact test, with their paths.
fn sized_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("/files/empty.bin", Vec::new()),
        ("/files/one.bin", bytes(1, 1)),
        ("/files/k100.bin", bytes(100 << 10, 2)),
        ("/files/m5.bin", bytes(5 << 20, 3)),
    ]
}

fn serve_files(files: Vec<(&'static str, Vec<u8>)>) -> Server {
    Server::start(
        move |req| match files.iter().find(|(path, _)| *path == req.path) {
            Some((_, body)) => Script::ok(body),
            None => Script::not_found(),
        },
    )
}

fn assert_saved(dir: &Path, name: &str, expected: &[u8]) {
    let got = fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(got.len(), expected.len(), "{name}: size");
    assert!(got == expected, "{name}: bytes differ");
}

fn byte_exact_with(engine: &str) {
    let server = serve_files(sized_files());
    let dir = out_dir();
    let urls: Vec<String> = sized_files().iter().map(|(p, _)| server.url(p)).collect();
    let mut args = get_args(dir.path(), &["--engine", engine]);
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{run:?}");
    for (path, body) in sized_files() {
        let name = path.rsplit('/').next().unwrap();
        assert_saved(dir.path(), name, &body);
    }
    assert_eq!(names_in(dir.path()).len(), 4, "{:?}", names_in(dir.path()));
    assert_eq!(run.count("ok"), 4);
    assert_eq!(run.count("failed"), 0);
    assert_eq!(run.count("bytes"), 1 + (100 << 10) + (5 << 20));
    assert_eq!(run.json()["engine"], engine);
}

#[test]
fn byte_exact_downloads_with_the_reactor() {
    byte_exact_with("reactor");
}

#[test]
fn byte_exact_downloads_with_the_blocking_engine() {
    byte_exact_with("blocking");
}

#[test]
fn byte_exact_downloads_with_the_threads_engine() {
    byte_exact_with("threads");
}

/// For each engine, on a fresh server from `make`: fetches `path` and checks the file
/// `name` holds `expected`. Returns each engine's run and server, for further checks.
fn fetch_each(
    make: &dyn Fn() -> Server,
    path: &str,
    extra: &[&str],
    name: &str,
    expected: &[u8],
) -> Vec<(&'static str, Run, Server)> {
    let mut runs = Vec::new();
    for engine in ENGINES {
        let server = make();
        let dir = out_dir();
        let url = server.url(path);
        let mut args = get_args(dir.path(), extra);
        args.extend(["--engine", engine, &url]);
        let run = miodl(&args);
        assert_eq!(run.status, Some(0), "{engine} {path}: {run:?}");
        assert_saved(dir.path(), name, expected);
        assert_eq!(names_in(dir.path()), [name], "{engine}");
        runs.push((engine, run, server));
    }
    runs
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let make = || {
        Server::start(|_| {
            Script::new()
                .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n")
                .write("5;name=value;flag\r\nhello\r\n")
                .write("1\r\n \r\n")
                .write("5;ext=\"quoted\"\r\nworld\r\n")
                .write("0;last=1\r\nX-Sum: 11\r\nX-Other: yes\r\n\r\n")
        })
    };
    fetch_each(&make, "/c.txt", &[], "c.txt", b"hello world");
}

/// The same answer in one segment: every chunk line is parsed from one buffer.
#[test]
fn chunked_body_in_one_segment() {
    let make = || {
        Server::start(|_| {
            Script::new().write(concat!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                "5;a=b\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n",
                "0\r\nX-Trailer: t\r\n\r\n",
            ))
        })
    };
    fetch_each(&make, "/one.txt", &[], "one.txt", b"hello world");
}

/// 200,000 one-byte chunks, a large chunk among them, and tiny ones again: the pieces
/// are gathered before they are written (not one `write(2)` each), and the file holds
/// every byte, in order, with every engine.
#[test]
fn one_byte_chunks_arrive_byte_exact() {
    let body = bytes(200_000 + (100 << 10), 7);
    let (tiny, rest) = body.split_at(150_000);
    let (large, tail) = rest.split_at(100 << 10);
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = |wire: &mut Vec<u8>, piece: &[u8]| {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    };
    tiny.iter()
        .for_each(|b| chunk(&mut wire, std::slice::from_ref(b)));
    chunk(&mut wire, large);
    tail.iter()
        .for_each(|b| chunk(&mut wire, std::slice::from_ref(b)));
    wire.extend_from_slice(b"0\r\n\r\n");
    let wire = Arc::new(wire);
    let make = || {
        let wire = Arc::clone(&wire);
        Server::start(move |_| Script::new().write(&wire[..]))
    };
    fetch_each(&make, "/tiny.bin", &[], "tiny.bin", &body);
}

#[test]
fn chunked_wins_over_content_length() {
    let make = || {
        Server::start(|_| {
            Script::new()
                .write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
                .write("a\r\n0123456789\r\n0\r\n\r\n")
        })
    };
    fetch_each(&make, "/both.txt", &[], "both.txt", b"0123456789");
}

#[test]
fn close_delimited_body() {
    let head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
    let make = || {
        let body = bytes(200 << 10, 7);
        Server::start(move |_| Script::new().write(head).write(&body).close())
    };
    fetch_each(&make, "/cd.bin", &[], "cd.bin", &bytes(200 << 10, 7));
}

#[test]
fn http_1_0_response() {
    let make = || {
        Server::start(|_| {
            Script::new()
                .write("HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nold10\n")
                .close()
        })
    };
    fetch_each(&make, "/old.txt", &[], "old.txt", b"old10\n");
}

/// `100 Continue` and the final answer in one segment, as most servers send them.
#[test]
fn continue_before_the_answer() {
    let make = || {
        Server::start(|_| {
            let mut bytes = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
            bytes.extend(response(200, &[], b"after continue"));
            Script::new().write(bytes)
        })
    };
    let quick = ["--timeout", "3", "--retries", "0"];
    fetch_each(&make, "/cont.txt", &quick, "cont.txt", b"after continue");
}

/// `100 Continue`, a pause, then the final answer.
#[test]
fn continue_then_a_pause_then_the_answer() {
    let make = || {
        Server::start(|_| {
            Script::new()
                .write("HTTP/1.1 100 Continue\r\n\r\n")
                .sleep(Duration::from_millis(20))
                .write(response(200, &[], b"after continue"))
        })
    };
    let quick = ["--timeout", "3", "--retries", "0"];
    fetch_each(&make, "/cont.txt", &quick, "cont.txt", b"after continue");
}

#[test]
fn no_content_makes_an_empty_file() {
    let make = || Server::start(|_| Script::status(204, &[], b""));
    fetch_each(&make, "/nothing.txt", &[], "nothing.txt", b"");
}

#[test]
fn redirect_chain_with_relative_and_absolute_locations() {
    let make = || {
        let port = Arc::new(OnceLock::<u16>::new());
        let port_in = Arc::clone(&port);
        let server = Server::start(move |req| match req.path.as_str() {
            // An absolute-path reference.
            "/start/r1.txt" => Script::redirect(301, "/hop/r2"),
            // An absolute URL.
            "/hop/r2" => {
                let port = port_in.get().copied().unwrap_or(0);
                Script::redirect(302, &format!("http://127.0.0.1:{port}/dir/r3"))
            }
            // A relative reference, resolved against /dir/r3.
            "/dir/r3" => Script::redirect(307, "final.txt"),
            "/dir/final.txt" => Script::ok("the end of the chain"),
            _ => Script::not_found(),
        });
        port.set(server.port()).unwrap();
        server
    };
    let runs = fetch_each(
        &make,
        "/start/r1.txt",
        &[],
        "r1.txt",
        b"the end of the chain",
    );
    for (engine, run, server) in runs {
        assert_eq!(run.count("redirects"), 3, "{engine}");
        let paths: Vec<String> = server
            .stats()
            .requests
            .iter()
            .map(|r| r.path.clone())
            .collect();
        assert_eq!(
            paths,
            ["/start/r1.txt", "/hop/r2", "/dir/r3", "/dir/final.txt"],
            "{engine}"
        );
    }
}

/// The keep-alive race, made certain: each socket answers one request, then closes when
/// the next request arrives, without a byte and without having said `Connection: close`.
#[test]
fn server_closing_idle_keepalive_sockets_is_resent_not_retried() {
    for engine in ENGINES {
        stale_sockets_are_resent(engine);
    }
}

fn stale_sockets_are_resent(engine: &str) {
    let server = Server::start(|req| {
        if req.on_conn == 0 {
            Script::ok(format!("body of {}", req.path))
        } else {
            Script::new().close()
        }
    });
    let dir = out_dir();
    let urls: Vec<String> = (0..6).map(|i| server.url(&format!("/s{i}.txt"))).collect();
    let mut args = get_args(
        dir.path(),
        &["-c", "1", "--retries", "0", "--engine", engine],
    );
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{engine}: {run:?}");
    for i in 0..6 {
        assert_saved(
            dir.path(),
            &format!("s{i}.txt"),
            format!("body of /s{i}.txt").as_bytes(),
        );
    }
    assert_eq!(run.count("retries"), 0, "{engine}");
    assert_eq!(run.count("failed"), 0, "{engine}");
    assert!(run.count("stale_resends") > 0, "{engine}: {}", run.json());
}

/// The racy form: the server closes right after each answer, still without
/// `Connection: close`. The client may or may not notice before reusing the socket;
/// either way every file arrives and no try is spent.
#[test]
fn server_closing_after_every_answer_without_saying_so() {
    let server = Server::start(|req| Script::ok(format!("body of {}", req.path)).close());
    let dir = out_dir();
    let urls: Vec<String> = (0..20).map(|i| server.url(&format!("/r{i}.txt"))).collect();
    let mut args = get_args(dir.path(), &["-c", "2", "--retries", "0"]);
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(run.count("ok"), 20);
    assert_eq!(run.count("retries"), 0);
    for i in 0..20 {
        assert_saved(
            dir.path(),
            &format!("r{i}.txt"),
            format!("body of /r{i}.txt").as_bytes(),
        );
    }
    assert_no_temp_files(dir.path());
}

/// A server that says `Connection: close` and closes: the client must not try to reuse
/// the socket, so there is nothing stale to resend.
#[test]
fn connection_close_answers_are_not_reused() {
    for engine in ENGINES {
        let server = Server::start(|req| {
            Script::status(200, &[("Connection", "close")], req.path.as_bytes()).close()
        });
        let dir = out_dir();
        let urls: Vec<String> = (0..8).map(|i| server.url(&format!("/cc{i}"))).collect();
        let mut args = get_args(dir.path(), &["-c", "1", "--engine", engine]);
        args.extend(urls.iter().map(String::as_str));
        let run = miodl(&args);
        assert_eq!(run.status, Some(0), "{engine}: {run:?}");
        assert_eq!(server.stats().accepted, 8, "{engine}");
        assert_eq!(run.count("stale_resends"), 0, "{engine}");
        assert_eq!(run.count("connections_reused"), 0, "{engine}");
        assert_eq!(run.count("requests"), 8, "{engine}");
    }
}

/// `--timeout` is an idle limit, not a total one: a body that trickles in for longer
/// than the timeout, a piece every 100 ms, arrives whole.
#[test]
fn a_slow_but_steady_body_is_not_a_timeout() {
    let make = || {
        Server::start(|_| {
            let mut script = Script::new().write("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
            for piece in ["ab", "cd", "ef", "gh", "ij", "kl"] {
                script = script.sleep(Duration::from_millis(150)).write(piece);
            }
            script
        })
    };
    let quick = ["--timeout", "0.5", "--retries", "0"];
    for (engine, run, _) in fetch_each(
        &make,
        "/trickle.txt",
        &quick,
        "trickle.txt",
        b"abcdefghijkl",
    ) {
        assert!(
            run.elapsed >= Duration::from_millis(900),
            "{engine}: {:?}",
            run.elapsed
        );
    }
}

#[test]
fn service_unavailable_with_retry_after_then_ok() {
    let make = || {
        Server::start(|req| {
            if req.attempt == 0 {
                Script::status(503, &[("Retry-After", "1")], b"busy\n")
            } else {
                Script::ok("served at last")
            }
        })
    };
    let runs = fetch_each(
        &make,
        "/busy.txt",
        &["--retry-delay", "10"],
        "busy.txt",
        b"served at last",
    );
    for (engine, run, server) in runs {
        // The 503 paused the host: tried again without using up a try.
        assert_eq!(run.count("throttled"), 1, "{engine}");
        assert_eq!(run.count("retries"), 0, "{engine}");
        assert!(
            run.elapsed >= Duration::from_secs(1),
            "{engine}: {:?}",
            run.elapsed
        );
        assert_eq!(server.stats().requests.len(), 2, "{engine}");
    }
}

#[test]
fn reset_mid_body_then_good_on_retry() {
    let expected = bytes(64 << 10, 9);
    let make = || {
        let body = expected.clone();
        Server::start(move |req| {
            if req.attempt == 0 {
                let mut head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                    .into_bytes();
                head.extend_from_slice(&body[..body.len() / 2]);
                Script::new()
                    .write(head)
                    .sleep(Duration::from_millis(50))
                    .reset()
            } else {
                Script::ok(&body)
            }
        })
    };
    let runs = fetch_each(
        &make,
        "/reset.bin",
        &["--retry-delay", "10"],
        "reset.bin",
        &expected,
    );
    for (engine, run, _) in runs {
        assert_eq!(run.count("retries"), 1, "{engine}");
    }
}

#[test]
fn short_body_then_good_on_retry() {
    let make = || {
        Server::start(|req| {
            if req.attempt == 0 {
                Script::new()
                    .write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a part")
                    .close()
            } else {
                Script::ok("the whole thing")
            }
        })
    };
    let runs = fetch_each(
        &make,
        "/short.txt",
        &["--retry-delay", "10"],
        "short.txt",
        b"the whole thing",
    );
    for (engine, run, _) in runs {
        assert_eq!(run.count("retries"), 1, "{engine}");
    }
}

/// `--events`: a line per file the moment it is saved, so a fast file's line arrives
/// while a slow one is still being served.
#[test]
fn events_are_written_as_files_finish() {
    let gate = Gate::new();
    let held = gate.clone();
    let server = Server::start(move |req| match req.path.as_str() {
        "/slow.txt" => Script::new().wait(&held).write(response(200, &[], b"slow")),
        _ => Script::ok("fast"),
    });
    let dir = out_dir();
    let (slow, fast) = (server.url("/slow.txt"), server.url("/fast.txt"));
    let mut child = start(&[
        "get",
        "-q",
        "--events",
        "-o",
        dir.path().to_str().unwrap(),
        &slow,
        &fast,
    ]);
    let (lines, reader) = line_channel(child.child.stdout.take().unwrap());
    let first = lines.recv_timeout(Duration::from_secs(10));
    // Whatever happened, let the slow answer go so the run can end.
    gate.open();
    let first = first.expect("a line for the fast file while the slow one waits");
    let event: serde_json::Value = serde_json::from_str(&first).expect("a JSON line");
    assert_eq!(event["event"], "saved", "{first}");
    assert_eq!(event["url"], fast.as_str(), "{first}");
    assert_eq!(event["bytes"], 4);
    let second = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("second line");
    let event: serde_json::Value = serde_json::from_str(&second).expect("a JSON line");
    assert_eq!(event["url"], slow.as_str(), "{second}");
    assert_eq!(child.wait(WATCHDOG), Some(0));
    let _ = reader.join();
    assert!(
        matches!(
            lines.recv_timeout(Duration::ZERO),
            Err(RecvTimeoutError::Disconnected)
        ),
        "one line per file"
    );
}

#[test]
fn two_urls_with_one_name_both_survive() {
    let server = Server::start(|req| Script::ok(format!("from {}", req.path)));
    let dir = out_dir();
    let (a, b) = (server.url("/a/x.txt"), server.url("/b/x.txt"));
    let run = miodl(&get_args(dir.path(), &[&a, &b]));
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(names_in(dir.path()), ["x.txt", "x.txt.1"]);
    assert_saved(dir.path(), "x.txt", b"from /a/x.txt");
    assert_saved(dir.path(), "x.txt.1", b"from /b/x.txt");
}

#[test]
fn many_small_files_over_one_keepalive_socket() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    let urls: Vec<String> = (0..30).map(|i| server.url(&format!("/k/{i}"))).collect();
    let mut args = get_args(dir.path(), &["-c", "1"]);
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(server.stats().accepted, 1);
    assert_eq!(run.count("connections_opened"), 1);
    assert_eq!(run.count("connections_reused"), 29);
    for i in 0..30 {
        assert_saved(dir.path(), &i.to_string(), format!("/k/{i}").as_bytes());
    }
}
