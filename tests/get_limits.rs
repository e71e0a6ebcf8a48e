//! The limits of `miodl get`, observed from the server's side of the sockets: the
//! connector (`-c`), the semaphore (`--max-in-flight`), `--per-host`, `--no-keepalive`,
//! and the reactor's promise of one thread.

mod support;

use std::time::Duration;

use support::scripted::*;
use support::*;

/// A server answering every path with its own path, after `delay`.
fn slow_server(delay: Duration) -> Server {
    Server::start(move |req| {
        Script::new()
            .sleep(delay)
            .write(response(200, &[], req.path.as_bytes()))
    })
}

fn urls(server: &Server, host: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| server.url_as(host, &format!("/{host}/{i}.txt")))
        .collect()
}

fn run_get(dir: &std::path::Path, extra: &[&str], urls: &[String]) -> Run {
    let mut args = get_args(dir, extra);
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(run.count("ok"), urls.len() as u64);
    run
}

fn connector_limit_with(engine: &str) {
    let server = slow_server(Duration::from_millis(100));
    let dir = out_dir();
    let urls = urls(&server, "127.0.0.1", 40);
    let run = run_get(dir.path(), &["-c", "4", "--engine", engine], &urls);
    let stats = server.stats();
    assert_eq!(
        stats.max_open, 4,
        "{engine}: at most 4 sockets, and all 4 used"
    );
    assert_eq!(
        stats.accepted, 4,
        "{engine}: keep-alive reuses the 4 sockets"
    );
    assert_eq!(stats.requests.len(), 40);
    assert_eq!(run.count("connections_opened"), 4, "{engine}");
    assert_eq!(run.count("connections_reused"), 36, "{engine}");
    assert_eq!(run.count("peak_connections"), 4, "{engine}");
}

#[test]
fn connector_limit_caps_and_reuses_sockets_reactor() {
    connector_limit_with("reactor");
}

#[test]
fn connector_limit_caps_and_reuses_sockets_threads() {
    connector_limit_with("threads");
}

#[test]
fn semaphore_caps_requests_in_flight() {
    let server = slow_server(Duration::from_millis(100));
    let dir = out_dir();
    let urls = urls(&server, "127.0.0.1", 30);
    let run = run_get(dir.path(), &["--max-in-flight", "3", "-c", "100"], &urls);
    let stats = server.stats();
    assert_eq!(
        stats.max_in_flight, 3,
        "the server saw at most (and at some point) 3"
    );
    assert_eq!(run.count("peak_in_flight"), 3);
}

#[test]
fn per_host_limit_counts_each_host_apart() {
    // 127.0.0.1 and localhost reach the same server; only the Host header differs.
    let server = slow_server(Duration::from_millis(100));
    let dir = out_dir();
    let mut all = urls(&server, "127.0.0.1", 20);
    all.extend(urls(&server, "localhost", 20));
    run_get(dir.path(), &["--per-host", "2", "-c", "100"], &all);
    let stats = server.stats();
    for host in ["127.0.0.1", "localhost"] {
        let key = format!("{host}:{}", server.port());
        let max = stats.max_open_per_host.get(&key).copied().unwrap_or(0);
        assert_eq!(max, 2, "{key}: {:?}", stats.max_open_per_host);
    }
    assert_eq!(stats.max_open, 4, "two hosts, two sockets each");
}

/// The per-host limit holds with the threads engine too: it is an option of `get`, not
/// of one engine.
#[test]
fn per_host_limit_with_the_threads_engine() {
    let server = slow_server(Duration::from_millis(100));
    let dir = out_dir();
    let mut all = urls(&server, "127.0.0.1", 12);
    all.extend(urls(&server, "localhost", 12));
    run_get(
        dir.path(),
        &["--per-host", "2", "-c", "8", "--engine", "threads"],
        &all,
    );
    let stats = server.stats();
    for host in ["127.0.0.1", "localhost"] {
        let key = format!("{host}:{}", server.port());
        let max = stats.max_open_per_host.get(&key).copied().unwrap_or(0);
        assert!(max <= 2, "{key}: {:?}", stats.max_open_per_host);
    }
}

/// A semaphore wider than the pool changes nothing: `-c` still caps the sockets.
#[test]
fn connector_limit_holds_under_a_wider_semaphore() {
    for engine in ["reactor", "threads"] {
        let server = slow_server(Duration::from_millis(50));
        let dir = out_dir();
        let urls = urls(&server, "127.0.0.1", 24);
        let run = run_get(
            dir.path(),
            &["-c", "4", "--max-in-flight", "8", "--engine", engine],
            &urls,
        );
        let stats = server.stats();
        assert_eq!(stats.max_open, 4, "{engine}: -c 4 caps the sockets");
        assert!(
            stats.max_in_flight <= 4,
            "{engine}: {}",
            stats.max_in_flight
        );
        assert_eq!(run.count("peak_connections"), 4, "{engine}");
    }
}

/// The semaphore with the threads engine.
#[test]
fn semaphore_with_the_threads_engine() {
    let server = slow_server(Duration::from_millis(100));
    let dir = out_dir();
    let urls = urls(&server, "127.0.0.1", 15);
    let run = run_get(
        dir.path(),
        &["--max-in-flight", "3", "-c", "100", "--engine", "threads"],
        &urls,
    );
    assert_eq!(server.stats().max_in_flight, 3);
    assert_eq!(run.count("peak_in_flight"), 3);
}

#[test]
fn no_keepalive_is_one_socket_per_request() {
    for engine in ["reactor", "blocking", "threads"] {
        let server = Server::start(|req| Script::ok(req.path.as_bytes()));
        let dir = out_dir();
        let urls = urls(&server, "127.0.0.1", 10);
        let run = run_get(dir.path(), &["--no-keepalive", "--engine", engine], &urls);
        let stats = server.stats();
        assert_eq!(stats.accepted, 10, "{engine}");
        assert_eq!(stats.requests.len(), 10, "{engine}");
        for req in &stats.requests {
            assert!(req.wants_close(), "{engine}: {req:?}");
            assert_eq!(req.on_conn, 0, "{engine}: one request per socket");
        }
        assert_eq!(run.count("connections_opened"), 10, "{engine}");
        assert_eq!(run.count("connections_reused"), 0, "{engine}");
    }
}

#[test]
fn keepalive_requests_do_not_ask_to_close() {
    let server = Server::start(|req| Script::ok(req.path.as_bytes()));
    let dir = out_dir();
    run_get(dir.path(), &["-c", "1"], &urls(&server, "127.0.0.1", 3));
    for req in server.stats().requests {
        assert!(!req.wants_close(), "{req:?}");
    }
}

#[test]
fn unlimited_connector_opens_a_socket_per_waiting_request() {
    let server = slow_server(Duration::from_millis(200));
    let dir = out_dir();
    let urls = urls(&server, "127.0.0.1", 20);
    let run = run_get(dir.path(), &["-c", "0"], &urls);
    let stats = server.stats();
    assert_eq!(stats.max_open, 20, "all 20 at once");
    assert_eq!(stats.accepted, 20);
    assert_eq!(run.count("peak_connections"), 20);
}

/// Starts `miodl get` on 20 held answers, waits until the server holds `busy` of them,
/// and returns the number of the process's threads at that moment.
fn threads_while_busy(engine: &str, connections: &str, busy: usize) -> usize {
    let gate = Gate::new();
    let held = gate.clone();
    let server = Server::start(move |req| {
        Script::new()
            .wait(&held)
            .write(response(200, &[], req.path.as_bytes()))
    });
    let dir = out_dir();
    let urls = urls(&server, "127.0.0.1", 20);
    let mut args = get_args(dir.path(), &["--engine", engine, "-c", connections]);
    args.extend(urls.iter().map(String::as_str));
    let child = start(&args);
    let all_waiting = server.wait_until(|s| s.in_flight >= busy);
    let tasks = threads_of(child.pid());
    gate.open();
    let run = child.finish();
    assert!(
        all_waiting,
        "{engine}: the server never held {busy} requests"
    );
    assert_eq!(run.status, Some(0), "{engine}: {run:?}");
    assert_eq!(run.count("ok"), 20);
    tasks
}

#[test]
fn the_reactor_runs_on_one_thread() {
    let tasks = threads_while_busy("reactor", "20", 20);
    assert_eq!(tasks, 1, "the reactor engine must use exactly one thread");
}

#[test]
fn the_thread_count_check_can_fail() {
    let tasks = threads_while_busy("threads", "8", 8);
    assert!(tasks > 1, "the threads engine uses worker threads: {tasks}");
}

fn a_socket_with_nothing_left_to_carry_is_closed_before_the_run_ends_with(engine: &str) {
    // Two files on two sockets; the second answer waits for the gate. Once the list is
    // done and the first answer is in, its socket has nothing left to carry: it is
    // closed then, while the second is still in flight (as a run of 10,000 sockets
    // closes each as its answer ends, not all 10,000 after the last one).
    let gate = Gate::new();
    let held = gate.clone();
    let server = Server::start(move |req| {
        let script = if req.path == "/slow.txt" {
            Script::new().wait(&held)
        } else {
            Script::new()
        };
        script.write(response(200, &[], req.path.as_bytes()))
    });
    let out = out_dir();
    let urls = [server.url("/fast.txt"), server.url("/slow.txt")];
    let mut args = get_args(out.path(), &["-c", "2", "--engine", engine]);
    args.extend(urls.iter().map(String::as_str));
    let run = start(&args);
    let both_opened = server.wait_until(|s| s.accepted == 2 && s.requests.len() == 2);
    let fast_closed = both_opened && server.wait_until(|s| s.open == 1);
    gate.open();
    let run = run.finish();
    assert!(both_opened, "{engine}: both requests arrived\n{run}");
    assert!(
        fast_closed,
        "{engine}: the idle socket was closed while the other answer waited\n{run}"
    );
    assert_eq!(run.status, Some(0), "{engine}\n{run}");
    assert_eq!(run.count("ok"), 2, "{engine}\n{run}");
}

#[test]
fn a_socket_with_nothing_left_to_carry_is_closed_before_the_run_ends_reactor() {
    a_socket_with_nothing_left_to_carry_is_closed_before_the_run_ends_with("reactor");
}

#[test]
fn a_socket_with_nothing_left_to_carry_is_closed_before_the_run_ends_threads() {
    a_socket_with_nothing_left_to_carry_is_closed_before_the_run_ends_with("threads");
}
