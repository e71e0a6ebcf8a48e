//! Politeness on loopback: `--rate` holds the pace the server sees, and a 429 with
//! `Retry-After` pauses its whole host, in both the reactor and the threads engine.
//!
//! The scripted server notes when it read each request (its own clock, the only one
//! that matters to a rate limiter). The bounds are generous: a window may hold one
//! request more than the rate (the bucket's burst of one), and the pause is checked
//! inside a margin of 200 ms at each end.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::scripted::{response, Script, Server};
use support::*;

/// When each request was read, and its path and try (0 for the first).
type Log = Arc<Mutex<Vec<(Instant, String, usize)>>>;

/// A server that answers every request with a small body, noting when each was read;
/// when `storm`, the first try of every path whose number ends in 0, 1 or 2 (30 %) is
/// answered `429 Too Many Requests` with `Retry-After: 1` at once, and the other
/// answers take 100 ms (so that the run is still going during each pause).
fn server(storm: bool) -> (Server, Log) {
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    let server = Server::start(move |request| {
        seen.lock()
            .unwrap()
            .push((Instant::now(), request.path.clone(), request.attempt));
        if storm && request.attempt == 0 && throttled_path(&request.path) {
            return Script::status(429, &[("Retry-After", "1")], b"slow down\n");
        }
        let body = format!("file {}\n", request.path);
        if storm {
            return Script::new()
                .sleep(Duration::from_millis(100))
                .write(response(200, &[], body.as_bytes()));
        }
        Script::ok(body)
    });
    (server, log)
}

/// True for the paths the storm answers 429 first: `/f/N` with N % 10 < 3.
fn throttled_path(path: &str) -> bool {
    let n: usize = path.rsplit('/').next().unwrap().parse().unwrap();
    n % 10 < 3
}

fn urls(server: &Server, n: usize) -> Vec<String> {
    (0..n).map(|i| server.url(&format!("/f/{i}"))).collect()
}

/// The most requests of `times` within any one second.
fn busiest_second(times: &[Instant]) -> usize {
    times
        .iter()
        .map(|&t| {
            times
                .iter()
                .filter(|&&u| u >= t && u < t + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn rate_holds_at_the_server(engine: &str) {
    let (server, log) = server(false);
    let out = out_dir();
    let urls = urls(&server, 40);
    let mut args = get_args(
        out.path(),
        &["--rate", "20/s", "-c", "8", "--engine", engine],
    );
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(run.count("ok"), 40);
    let times: Vec<Instant> = log.lock().unwrap().iter().map(|(t, _, _)| *t).collect();
    assert_eq!(times.len(), 40);
    let busiest = busiest_second(&times);
    assert!(busiest <= 21, "{engine}: {busiest} requests in one second");
    // A pace, not a cap on the total: 40 requests at 20/s span about 2 s.
    let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    assert!(span >= Duration::from_millis(1800), "{engine}: {span:?}");
}

#[test]
fn rate_twenty_a_second_holds_at_the_server_reactor() {
    rate_holds_at_the_server("reactor");
}

#[test]
fn rate_twenty_a_second_holds_at_the_server_threads() {
    rate_holds_at_the_server("threads");
}

/// When each request was read, and the `Host` it named.
type HostLog = Arc<Mutex<Vec<(Instant, String)>>>;

fn per_host_rate_holds_per_host(engine: &str) {
    let log: HostLog = Arc::default();
    let seen = Arc::clone(&log);
    let server = Server::start(move |request| {
        let host = request.host().split(':').next().unwrap_or("").to_string();
        seen.lock().unwrap().push((Instant::now(), host));
        Script::ok("x")
    });
    let out = out_dir();
    // The same server under two names: two hosts to miodl.
    let urls: Vec<String> = (0..10)
        .flat_map(|i| {
            [
                server.url(&format!("/a/{i}")),
                server.url_as("localhost", &format!("/b/{i}")),
            ]
        })
        .collect();
    let mut args = get_args(
        out.path(),
        &["--per-host-rate", "5/s", "-c", "8", "--engine", engine],
    );
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{engine}: {}", run.stderr);
    assert_eq!(run.count("ok"), 20, "{engine}");
    let log = log.lock().unwrap().clone();
    for host in ["127.0.0.1", "localhost"] {
        let times: Vec<Instant> = log
            .iter()
            .filter(|(_, h)| h == host)
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(times.len(), 10, "{engine}: {host}");
        let busiest = busiest_second(&times);
        assert!(
            busiest <= 6,
            "{engine}: {host}: {busiest} requests in one second"
        );
    }
    // The hosts went side by side, each at its own rate: together more than one alone.
    let all: Vec<Instant> = log.iter().map(|(t, _)| *t).collect();
    assert!(
        busiest_second(&all) > 6,
        "{engine}: the hosts held each other up"
    );
}

#[test]
fn per_host_rate_holds_each_host_and_not_the_other_reactor() {
    per_host_rate_holds_per_host("reactor");
}

#[test]
fn per_host_rate_holds_each_host_and_not_the_other_threads() {
    per_host_rate_holds_per_host("threads");
}

fn storm_pauses_the_host(engine: &str) {
    let (server, log) = server(true);
    let out = out_dir();
    let urls = urls(&server, 40);
    // No try to spare: a throttled answer must not use one up.
    let mut args = get_args(
        out.path(),
        &["--retries", "0", "-c", "4", "--engine", engine],
    );
    args.extend(urls.iter().map(String::as_str));
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{engine}: {}", run.stderr);
    assert_eq!(run.count("ok"), 40, "{engine}");
    assert_eq!(run.count("failed"), 0, "{engine}");
    assert_eq!(run.count("throttled"), 12, "{engine}");
    assert_eq!(run.count("retries"), 0, "{engine}");
    assert_eq!(saved(out.path()).len(), 40);
    let log = log.lock().unwrap().clone();
    // Each 429 paused the host for a second from when the client read it (just after
    // the server wrote it): no request may arrive well inside that second.
    let margin = Duration::from_millis(200);
    for (t, path, _) in log.iter().filter(|(_, p, a)| *a == 0 && throttled_path(p)) {
        let (from, to) = (*t + margin, *t + Duration::from_secs(1) - margin);
        let during: Vec<&String> = log
            .iter()
            .filter(|(u, _, _)| *u > from && *u < to)
            .map(|(_, p, _)| p)
            .collect();
        assert!(
            during.is_empty(),
            "{engine}: requests during the pause after {path}'s 429: {during:?}"
        );
    }
}

#[test]
fn a_429_storm_pauses_the_host_and_every_file_is_saved_reactor() {
    storm_pauses_the_host("reactor");
}

#[test]
fn a_429_storm_pauses_the_host_and_every_file_is_saved_threads() {
    storm_pauses_the_host("threads");
}
