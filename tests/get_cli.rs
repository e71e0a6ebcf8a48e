//! `miodl get` from the user's side: usage errors, URL lists from files and stdin,
//! credentials that stay where they belong, and a clean stop on SIGTERM/SIGINT.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use support::scripted::*;
use support::*;

/// `-u user:s3cr3t-pw` as the server must see it.
const BASIC: &str = "Basic dXNlcjpzM2NyM3QtcHc=";

/// Runs a command line that must be refused as a usage error naming `needle`.
fn expect_usage_error(server: &Server, extra: &[&str], needle: &str) {
    let parent = out_dir();
    let dir = parent.path().join("out");
    let good = server.url("/good.txt");
    let mut args = vec!["get", "-q", "-o", dir.to_str().unwrap(), &good];
    args.extend_from_slice(extra);
    let run = miodl(&args);
    assert_eq!(run.status, Some(2), "{extra:?}: {run:?}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{extra:?}: one line, got {lines:?}");
    assert!(
        lines[0].contains(needle),
        "{extra:?}: the line names {needle}: {}",
        lines[0]
    );
    assert!(run.stdout.is_empty(), "{extra:?}: {}", run.stdout);
    assert_eq!(names_in(&dir), Vec::<String>::new(), "{extra:?}");
}

#[test]
fn usage_errors_exit_2_and_download_nothing() {
    let server = Server::start(|_| Script::ok("should not be fetched"));
    expect_usage_error(&server, &["--bogus"], "--bogus");
    expect_usage_error(&server, &["-c", "abc"], "connections");
    expect_usage_error(&server, &["-c", "abc"], "abc");
    expect_usage_error(&server, &["--retries", "-3"], "retries");
    expect_usage_error(&server, &["--timeout", "soon"], "timeout");
    expect_usage_error(&server, &["-c"], "-c");
    expect_usage_error(&server, &["--engine", "turbo"], "engine");
    #[cfg(not(feature = "tls"))]
    expect_usage_error(&server, &["https://127.0.0.1/secure.txt"], "https");
    expect_usage_error(&server, &["gopher://127.0.0.1/x.txt"], "gopher");
    let spaced = server.url("/a b.txt");
    expect_usage_error(&server, &[&spaced], "a b.txt");
    expect_usage_error(
        &server,
        &["-i", "/nonexistent/miodl-list.txt"],
        "miodl-list.txt",
    );
    assert_eq!(server.stats().accepted, 0, "nothing downloaded");
}

#[test]
fn a_bad_line_in_an_input_file_is_a_usage_error() {
    let server = Server::start(|_| Script::ok("should not be fetched"));
    let dir = out_dir();
    let list = dir.path().join("urls.txt");
    std::fs::write(
        &list,
        format!("{}\nftp://example/x\n", server.url("/a.txt")),
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = miodl(&[
        "get",
        "-q",
        "-o",
        out.to_str().unwrap(),
        "-i",
        list.to_str().unwrap(),
    ]);
    assert_eq!(run.status, Some(2), "{run:?}");
    assert_eq!(run.stderr_lines().len(), 1, "{run:?}");
    assert!(
        run.stderr.contains("urls.txt"),
        "names the file: {}",
        run.stderr
    );
    assert_eq!(server.stats().accepted, 0);
}

/// A byte that is not UTF-8 in a list line is refused (as on the command line), never
/// repaired into another URL: in a file a usage error naming the file and line, on stdin
/// a failed line, the rest still fetched.
#[test]
fn a_list_line_that_is_not_utf8_is_refused() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    let list = dir.path().join("urls.txt");
    let mut bytes = format!("{}\n", server.url("/a.txt")).into_bytes();
    bytes.extend_from_slice(format!("{}\n", server.url("/b")).trim_end().as_bytes());
    bytes.extend_from_slice(b"\xFF.txt\n");
    std::fs::write(&list, &bytes).unwrap();
    let out = dir.path().join("out");
    let run = miodl(&get_args(&out, &["-i", list.to_str().unwrap()]));
    assert_eq!(run.status, Some(2), "{run:?}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{run:?}");
    assert!(
        lines[0].contains("urls.txt:2: the line is not valid UTF-8"),
        "names the file and line: {}",
        lines[0]
    );
    assert_eq!(server.stats().accepted, 0);

    let stdin_out = dir.path().join("stdin-out");
    let run = miodl_with_stdin_bytes(&get_args(&stdin_out, &["-i", "-"]), &bytes);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("stdin:2: the line is not valid UTF-8"),
        "{}",
        run.stderr
    );
    assert_files(&stdin_out, &["a.txt"]);
    let paths: Vec<String> = server
        .stats()
        .requests
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, ["/a.txt"]);
}

/// `-i /dev/zero` is one endless line: a usage error naming the file and line, not an
/// allocation that aborts or a read that never ends.
#[cfg(unix)]
#[test]
fn an_endless_list_line_is_a_usage_error() {
    let server = Server::start(|_| Script::ok("should not be fetched"));
    expect_usage_error(
        &server,
        &["-i", "/dev/zero"],
        "/dev/zero:1: the line is longer than 65536 bytes",
    );
    assert_eq!(server.stats().accepted, 0);
}

/// On stdin, a line over 64 KiB is a failed line and ends that input; the URLs before
/// it are fetched and the run ends.
#[test]
fn a_stdin_line_over_the_cap_ends_stdin() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    let mut input = format!("{}\n", server.url("/a.txt")).into_bytes();
    input.extend_from_slice(&vec![b'x'; 70 * 1024]);
    input.extend_from_slice(format!("\n{}\n", server.url("/after.txt")).as_bytes());
    let run = miodl_with_stdin_bytes(&get_args(dir.path(), &["-i", "-"]), &input);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("stdin:2: the line is longer than 65536 bytes"),
        "{}",
        run.stderr
    );
    assert_files(dir.path(), &["a.txt"]);
    assert_eq!(run.count("failed"), 1);
}

fn assert_files(dir: &Path, names: &[&str]) {
    assert_eq!(names_in(dir), names);
    for name in names {
        let got = std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(got, format!("/{name}"));
    }
}

#[test]
fn input_file_with_comments_and_blank_lines() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let tmp = out_dir();
    let list = tmp.path().join("urls.txt");
    let text = format!(
        "# the files of the day\n\n{}\n   \n# {}\n{}\n\n",
        server.url("/one.txt"),
        server.url("/commented.txt"),
        server.url("/two.txt"),
    );
    std::fs::write(&list, text).unwrap();
    let out = tmp.path().join("out");
    let run = miodl(&get_args(&out, &["-i", list.to_str().unwrap()]));
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_files(&out, &["one.txt", "two.txt"]);
    assert_eq!(server.stats().requests.len(), 2);
}

#[test]
fn input_from_stdin_together_with_arguments() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    let stdin = format!(
        "{}\n# skipped\n\n{}\n",
        server.url("/in1.txt"),
        server.url("/in2.txt")
    );
    let arg = server.url("/arg.txt");
    let run = miodl_with_stdin(&get_args(dir.path(), &[&arg, "-i", "-"]), &stdin);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_files(dir.path(), &["arg.txt", "in1.txt", "in2.txt"]);
    assert_eq!(run.count("ok"), 3);
}

/// `-u` goes to the hosts of URLs read from stdin (`-i -`) as to those of a file.
#[test]
fn credentials_go_to_the_hosts_read_from_stdin() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    let stdin = format!("{}\n", server.url("/in.txt"));
    let args = get_args(dir.path(), &["-u", "user:s3cr3t-pw", "-i", "-"]);
    let run = miodl_with_stdin(&args, &stdin);
    assert_eq!(run.status, Some(0), "{run:?}");
    let requests = server.stats().requests;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("authorization"),
        Some(BASIC),
        "{requests:?}"
    );
}

/// Server B, on another port, is where a redirect from A leads: it must never see the
/// credentials; neither must A under another name (`localhost`). The password never
/// shows in anything miodl prints.
#[test]
fn credentials_go_only_to_the_host_on_the_command_line() {
    let b = Server::start(|req| Script::ok(format!("b{}", req.path)));
    let b_url = b.url("/final.txt");
    let a_port = Arc::new(OnceLock::<u16>::new());
    let a_port_in = Arc::clone(&a_port);
    let a = Server::start(move |req| match req.path.as_str() {
        "/start/file.txt" => Script::redirect(302, "/hop"),
        "/hop" => Script::redirect(302, &b_url),
        "/alias.txt" => {
            let port = a_port_in.get().copied().unwrap_or(0);
            Script::redirect(302, &format!("http://localhost:{port}/aliased"))
        }
        "/missing.txt" => Script::not_found(),
        _ => Script::ok(format!("a{}", req.path)),
    });
    a_port.set(a.port()).unwrap();
    let dir = out_dir();
    let urls = [
        a.url("/start/file.txt"),
        a.url("/direct.txt"),
        a.url("/alias.txt"),
        a.url("/missing.txt"),
    ];
    let mut args = get_args(dir.path(), &["--events", "-u", "user:s3cr3t-pw"]);
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(1), "the 404 fails: {run:?}");
    assert_eq!(run.count("ok"), 3);

    for req in a.stats().requests {
        let expected = if req.host().starts_with("localhost") {
            None
        } else {
            Some(BASIC)
        };
        assert_eq!(req.header("authorization"), expected, "A: {req:?}");
    }
    let b_requests = b.stats().requests;
    assert_eq!(b_requests.len(), 1);
    assert_eq!(
        b_requests[0].header("authorization"),
        None,
        "B must not get the credentials: {:?}",
        b_requests[0]
    );
    for secret in ["s3cr3t-pw", "dXNlcjpzM2NyM3QtcHc"] {
        assert!(!run.stdout.contains(secret), "stdout shows {secret}");
        assert!(!run.stderr.contains(secret), "stderr shows {secret}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("file.txt")).unwrap(),
        "b/final.txt"
    );
}

/// A server that starts every answer, sends part of the body, and holds the rest until
/// the test opens the gate.
fn half_answering_server(gate: &Gate) -> Server {
    let held = gate.clone();
    Server::start(move |_| {
        Script::new()
            .write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            .write(bytes(20_000, 3))
            .wait(&held)
    })
}

/// Stops a run mid-body with `signal`; checks status, summary, and a clean directory.
fn stop_with(signal: &str, status: i32, engine: &str) {
    // The blocking engine works on one file at a time.
    let busy = if engine == "blocking" { 1 } else { 3 };
    let gate = Gate::new();
    let server = half_answering_server(&gate);
    let dir = out_dir();
    let urls: Vec<String> = (0..3)
        .map(|i| server.url(&format!("/big{i}.bin")))
        .collect();
    let out = dir.path().to_str().unwrap();
    let mut args = vec![
        "get", "-q", "--json", "--engine", engine, "-c", "3", "-o", out,
    ];
    args.extend(urls.iter().map(String::as_str));
    let mut child = start(&args);
    let pid = child.pid();
    let held = server.wait_until(|s| s.in_flight == busy);
    // Wait until the bodies are being written (staged files, named or not).
    eventually(|| files_open_under(pid, dir.path()) >= busy);
    let staged_seen = files_open_under(pid, dir.path());
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    // A generous bound: a run that ignores the signal waits on the held answers forever.
    let code = child.wait(Duration::from_secs(15));
    gate.open();
    let run = child.finish();
    assert!(held, "{engine}: the server never held {busy} requests");
    assert_eq!(staged_seen, busy, "{engine}: files being written");
    assert_eq!(code, Some(status), "{engine} {signal}: {run:?}");
    let summary = run.json();
    assert_eq!(summary["ok"], 0, "{summary}");
    assert_eq!(
        names_in(dir.path()),
        Vec::<String>::new(),
        "{engine} {signal}"
    );
}

#[test]
fn sigterm_stops_the_reactor_cleanly() {
    stop_with("TERM", 143, "reactor");
}

#[test]
fn sigint_stops_the_reactor_cleanly() {
    stop_with("INT", 130, "reactor");
}

#[test]
fn sigterm_stops_the_threads_engine_cleanly() {
    stop_with("TERM", 143, "threads");
}

#[test]
fn sigint_stops_the_blocking_engine_cleanly() {
    stop_with("INT", 130, "blocking");
}

/// Starts `miodl get -q -c 3 OPTIONS` on three bodies that `server` (a
/// [`half_answering_server`]) holds half-way; returns the run and its pid.
fn get_three_held_bodies(server: &Server, dir: &Path, options: &[&str]) -> (Started, u32) {
    let urls: Vec<String> = (0..3)
        .map(|i| server.url(&format!("/big{i}.bin")))
        .collect();
    let mut args = vec!["get", "-q", "-c", "3"];
    args.extend_from_slice(options);
    args.extend(["-o", dir.to_str().unwrap()]);
    args.extend(urls.iter().map(String::as_str));
    let child = start(&args);
    let pid = child.pid();
    (child, pid)
}

/// Large plain bodies are lent, with their socket, to disk threads: up to
/// `--disk-threads` of them, started only when a large body comes; with 0, the reactor
/// stays one thread.
#[test]
fn large_bodies_are_lent_to_at_most_disk_threads_threads() {
    for (disk_threads, expected, total) in [("2", 2, 3), ("0", 0, 1)] {
        let gate = Gate::new();
        let server = half_answering_server(&gate);
        let dir = out_dir();
        let (mut child, pid) =
            get_three_held_bodies(&server, dir.path(), &["--disk-threads", disk_threads]);
        eventually(|| {
            files_open_under(pid, dir.path()) == 3 && threads_named(pid, "miodl-disk") == expected
        });
        // Time for a wrong thread to appear, too.
        std::thread::sleep(Duration::from_millis(100));
        let (staged, disk, tasks) = (
            files_open_under(pid, dir.path()),
            threads_named(pid, "miodl-disk"),
            threads_of(pid),
        );
        child.kill();
        let _ = child.wait(Duration::from_secs(10));
        gate.open();
        assert_eq!(
            staged, 3,
            "--disk-threads {disk_threads}: bodies being written"
        );
        assert_eq!(
            disk, expected,
            "--disk-threads {disk_threads}: disk threads"
        );
        assert_eq!(tasks, total, "--disk-threads {disk_threads}: all threads");
    }
}

/// SIGKILL gives no chance to clean up. Bodies staged as unnamed files (`O_TMPFILE`,
/// Linux) vanish with the process; named temporaries stay, but never under a final name.
#[test]
fn sigkill_mid_body_leaves_no_file_under_a_final_name() {
    let gate = Gate::new();
    let server = half_answering_server(&gate);
    let dir = out_dir();
    let (mut child, pid) = get_three_held_bodies(&server, dir.path(), &[]);
    eventually(|| files_open_under(pid, dir.path()) >= 3);
    assert_eq!(files_open_under(pid, dir.path()), 3, "bodies being written");
    child.kill();
    assert_eq!(child.wait(Duration::from_secs(10)), None);
    gate.open();
    let left = names_in(dir.path());
    match miodl::output::sink::OutputDir::create(dir.path())
        .unwrap()
        .staging()
    {
        miodl::output::sink::Staging::Unnamed => assert_eq!(left, Vec::<String>::new()),
        miodl::output::sink::Staging::Named => {
            assert_eq!(left.len(), 3, "{left:?}");
            assert!(left.iter().all(|n| n.starts_with(".miodl-")), "{left:?}");
        }
    }
}

/// `--events` also reports a failed file, with its URL and the cause.
#[test]
fn events_report_failures_too() {
    let server = Server::start(|req| match req.path.as_str() {
        "/gone.txt" => Script::not_found(),
        _ => Script::ok("here"),
    });
    let dir = out_dir();
    let (good, gone) = (server.url("/here.txt"), server.url("/gone.txt"));
    let run = miodl(&[
        "get",
        "-q",
        "--events",
        "-o",
        dir.path().to_str().unwrap(),
        &good,
        &gone,
    ]);
    assert_eq!(run.status, Some(1), "{run:?}");
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect();
    assert_eq!(events.len(), 2, "{}", run.stdout);
    let failed = events
        .iter()
        .find(|e| e["event"] == "failed")
        .expect("a failed event");
    assert_eq!(failed["url"], gone.as_str());
    assert!(
        failed["error"].as_str().unwrap_or("").contains("404"),
        "{failed}"
    );
    let saved = events
        .iter()
        .find(|e| e["event"] == "saved")
        .expect("a saved event");
    assert_eq!(saved["url"], good.as_str());
}

/// An output directory that cannot be created: exit status 3, nothing downloaded.
#[test]
fn output_that_cannot_be_written_exits_3() {
    let server = Server::start(|_| Script::ok("x"));
    let tmp = out_dir();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let out = file.join("sub");
    let url = server.url("/x.txt");
    let run = miodl(&["get", "-q", "-o", out.to_str().unwrap(), &url]);
    assert_eq!(run.status, Some(3), "{run:?}");
    assert_eq!(run.stderr_lines().len(), 1, "{run:?}");
    assert_eq!(server.stats().requests.len(), 0);
}
