//! Name resolution never stops the loop (docs/architecture.md, "Names off the loop"):
//! the test supplies the resolver through the library, so it decides how long a
//! lookup takes, and nothing depends on the machine's network.
//!
//! - With one host whose lookup takes 2 s (and, so that a loaded machine cannot fail
//!   the test, until the other host's files are in, at most 30 s) and another serving
//!   200 files, the 200 files are saved while the slow lookup still runs; then the slow
//!   host's files are too, after one lookup for all of them.
//! - A failing lookup fails its host's jobs, with an error naming the host, and no
//!   other host's, in every engine.
//! - `--resolve` pins a name to 127.0.0.1 or [::1] without a lookup, and `-4` / `-6`
//!   keep one family, in every engine; the `Host` header keeps the name.
//! - Happy Eyeballs (the reactor): with `[::1]` silent (a full accept queue drops the
//!   SYN) and 127.0.0.1 serving, the file arrives after the 250 ms attempt delay, far
//!   from `--connect-timeout`, after one race; with both answering, one request is sent,
//!   to IPv6 first.
//! - An internationalized name (`bücher.example`) goes to `--resolve` and the `Host`
//!   header in punycode, in every engine, and shows in its Unicode form in an error;
//!   a name IDNA refuses is a one-line usage error.

mod support;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use miodl::{Downloader, Engine, FileHandler, JobError, Resolve, SavedFile, Url};
use support::*;

/// How long `slow.test` takes to resolve.
const SLOW: Duration = Duration::from_secs(2);

/// The longest the slow lookup waits for the other host's files.
const CAP: Duration = Duration::from_secs(30);

/// A resolver that knows `fast.test` and `slow.test` (both 127.0.0.1) and fails
/// `bad.test`; it counts its lookups and notes when each ended. `slow.test` takes
/// [`SLOW`], and then as long as it takes `fast.test`'s files to reach `wait_for` (at
/// most [`CAP`]): so a loop that goes on during the lookup passes however loaded the
/// machine, and one that stops for it cannot.
#[derive(Clone, Default)]
struct TestResolver {
    log: Arc<Mutex<Vec<(String, Instant)>>>,
    fast_saved: Arc<AtomicUsize>,
    wait_for: usize,
}

impl TestResolver {
    fn lookups(&self, host: &str) -> Vec<Instant> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|(h, _)| h == host)
            .map(|(_, t)| *t)
            .collect()
    }
}

impl Resolve for TestResolver {
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        let found = match host {
            "slow.test" => {
                thread::sleep(SLOW);
                let until = Instant::now() + CAP;
                while self.fast_saved.load(Ordering::SeqCst) < self.wait_for
                    && Instant::now() < until
                {
                    thread::sleep(Duration::from_millis(5));
                }
                Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)])
            }
            "fast.test" => Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)]),
            _ => Err(io::Error::other("temporary failure in name resolution")),
        };
        self.log
            .lock()
            .unwrap()
            .push((host.to_string(), Instant::now()));
        found
    }
}

/// Every file saved (host → times) and every failure (host, message).
#[derive(Clone, Default)]
struct Seen {
    saved: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
    failed: Arc<Mutex<Vec<(String, String)>>>,
    /// `fast.test`'s files saved so far.
    fast_saved: Arc<AtomicUsize>,
}

impl FileHandler for Seen {
    fn saved(&mut self, file: &SavedFile<'_>) {
        let host = file.url.host().to_string();
        if host == "fast.test" {
            self.fast_saved.fetch_add(1, Ordering::SeqCst);
        }
        self.saved
            .lock()
            .unwrap()
            .entry(host)
            .or_default()
            .push(Instant::now());
    }

    fn failed(&mut self, url: &Url, error: &JobError) {
        let failed = (url.host().to_string(), error.to_string());
        self.failed.lock().unwrap().push(failed);
    }
}

#[test]
fn a_slow_lookup_does_not_stop_the_other_hosts() {
    let server = reference().start();
    let port = server.addr().port();
    let out = out_dir();
    // The slow host's files first: on a loop that resolved in place, nothing would
    // move for 2 s.
    let mut urls: Vec<String> = (0..10)
        .map(|i| format!("http://slow.test:{port}/bytes/{}", 5000 + i))
        .collect();
    urls.extend((0..200).map(|i| format!("http://fast.test:{port}/bytes/{}", 1000 + i)));
    let seen = Seen::default();
    let resolver = TestResolver {
        fast_saved: Arc::clone(&seen.fast_saved),
        wait_for: 200,
        ..TestResolver::default()
    };
    let report = Downloader::new(out.path())
        .engine(Engine::Reactor)
        .resolver(resolver.clone())
        .on_file(seen.clone())
        .get(urls)
        .expect("the run starts");
    assert_eq!(report.exit_code(), 0, "{:?}", seen.failed.lock().unwrap());

    let slow = resolver.lookups("slow.test");
    assert_eq!(slow.len(), 1, "one lookup for the slow host's 10 jobs");
    assert_eq!(
        resolver.lookups("fast.test").len(),
        1,
        "one for the fast host's 200"
    );
    let slow_done = slow[0];
    let saved = seen.saved.lock().unwrap();
    let fast = &saved["fast.test"];
    assert_eq!(fast.len(), 200);
    let late = fast.iter().filter(|&&t| t >= slow_done).count();
    assert_eq!(
        late, 0,
        "{late} of the 200 files waited for the slow lookup"
    );
    let slow_files = &saved["slow.test"];
    assert_eq!(slow_files.len(), 10);
    assert!(slow_files.iter().all(|&t| t >= slow_done));
    assert_eq!(support::saved(out.path()).len(), 210);
    // Counted once per host; the slowest is the slow one.
    assert_eq!(report.summary.dns_lookups, 2);
    assert!(report.summary.dns_slowest >= SLOW, "{:?}", report.summary);
    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    assert_eq!(json["dns_lookups"], 2);
    assert!(json["dns_slowest_ms"].as_u64().unwrap() >= 2000, "{json}");
}

#[test]
fn json_counts_lookups_and_neither_literals_nor_pins() {
    let server = reference().start();
    let port = server.addr().port();
    let pin = format!("pinned.test:{port}:127.0.0.1");
    for engine in ENGINES {
        let out = out_dir();
        let urls: Vec<String> = (0..3)
            .map(|i| format!("http://localhost:{port}/bytes/{}", 10 + i))
            .chain((0..3).map(|i| format!("http://pinned.test:{port}/bytes/{}", 20 + i)))
            .chain((0..3).map(|i| format!("http://127.0.0.1:{port}/bytes/{}", 30 + i)))
            .collect();
        let mut extra = vec!["--engine", engine, "-c", "1", "--resolve", &pin];
        extra.extend(urls.iter().map(String::as_str));
        let run = miodl(&get_args(out.path(), &extra));
        assert_eq!(run.status, Some(0), "{run}");
        assert_eq!(run.count("ok"), 9);
        let lookups = run.count("dns_lookups");
        if engine == "reactor" {
            assert_eq!(lookups, 1, "localhost once, for the run: {run}");
        } else {
            // Before each new socket; -c 1 keeps one, to each host in turn.
            assert!((1..=3).contains(&lookups), "{run}");
        }
        assert!(run.json()["dns_slowest_ms"].is_u64(), "{run}");
    }
}

#[test]
fn a_failed_lookup_fails_only_its_hosts_jobs_in_every_engine() {
    for engine in [Engine::Reactor, Engine::Threads, Engine::Blocking] {
        let server = reference().start();
        let port = server.addr().port();
        let out = out_dir();
        let mut urls: Vec<String> = (0..5)
            .map(|i| format!("http://bad.test:{port}/bytes/{}", 5000 + i))
            .collect();
        urls.extend((0..20).map(|i| format!("http://fast.test:{port}/bytes/{}", 1000 + i)));
        let (resolver, seen) = (TestResolver::default(), Seen::default());
        let report = Downloader::new(out.path())
            .engine(engine)
            .retries(1)
            .retry_delay(Duration::from_millis(10))
            .resolver(resolver.clone())
            .on_file(seen.clone())
            .get(urls)
            .expect("the run starts");
        assert_ne!(report.exit_code(), 0, "{engine:?}");
        assert_eq!(
            seen.saved.lock().unwrap()["fast.test"].len(),
            20,
            "{engine:?}"
        );
        let failed = seen.failed.lock().unwrap();
        assert_eq!(failed.len(), 5, "{engine:?}: {failed:?}");
        for (host, message) in failed.iter() {
            assert_eq!(host, "bad.test");
            assert_eq!(
                message, "could not resolve host: bad.test: temporary failure in name resolution",
                "{engine:?}"
            );
        }
        // A temporary failure is tried again: a second lookup at least.
        assert!(resolver.lookups("bad.test").len() >= 2, "{engine:?}");
        if engine == Engine::Reactor {
            assert!(resolver.lookups("bad.test").len() <= 10);
        }
    }
}

/// A small HTTP server on `listener`: answers every request with `tag` as its body and
/// `Connection: close`, and notes each `Host` header. It stops when dropped (or after
/// a minute).
struct TagServer {
    hosts: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl TagServer {
    fn start(listener: TcpListener, tag: &'static str) -> TagServer {
        let (hosts, stop) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(AtomicBool::new(false)),
        );
        let (seen, stopped) = (Arc::clone(&hosts), Arc::clone(&stop));
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::Relaxed) && Instant::now() < until {
                let Ok((mut socket, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(2));
                    continue;
                };
                socket.set_nonblocking(false).unwrap();
                socket.set_read_timeout(Some(PATIENCE)).unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                if let Some(host) = head.lines().find_map(|l| l.strip_prefix("Host: ")) {
                    seen.lock().unwrap().push(host.to_string());
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{tag}",
                    tag.len()
                );
                let _ = socket.write_all(answer.as_bytes());
            }
        });
        TagServer { hosts, stop }
    }

    fn hosts(&self) -> Vec<String> {
        self.hosts.lock().unwrap().clone()
    }
}

impl Drop for TagServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Listeners on 127.0.0.1 and [::1] with the same port.
fn both_loopbacks() -> (TcpListener, TcpListener) {
    for _ in 0..50 {
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        if let Ok(v6) = TcpListener::bind(("::1", port)) {
            return (v4, v6);
        }
    }
    panic!("no port free on both 127.0.0.1 and [::1]");
}

#[test]
fn resolve_pins_a_name_to_ipv4_or_ipv6_in_every_engine_and_the_host_header_stays() {
    let (v4, v6) = both_loopbacks();
    let port = v4.local_addr().unwrap().port();
    let (four, six) = (TagServer::start(v4, "v4"), TagServer::start(v6, "v6"));
    for engine in ENGINES {
        let out = out_dir();
        let (a, b) = (
            format!("a.test:{port}:127.0.0.1"),
            format!("b.test:{port}:[::1]"),
        );
        let urls = [
            format!("http://a.test:{port}/one"),
            format!("http://b.test:{port}/two"),
        ];
        let extra = [
            "--engine",
            engine,
            "--resolve",
            &a,
            "--resolve",
            &b,
            &urls[0],
            &urls[1],
        ];
        let run = miodl(&get_args(out.path(), &extra));
        assert_eq!(run.status, Some(0), "{run}");
        let files = support::saved(out.path());
        assert_eq!(files["one"], b"v4", "{engine}");
        assert_eq!(files["two"], b"v6", "{engine}");
    }
    assert_eq!(four.hosts(), vec![format!("a.test:{port}"); 3]);
    assert_eq!(six.hosts(), vec![format!("b.test:{port}"); 3]);
}

#[test]
fn minus_4_and_minus_6_keep_one_family_and_none_left_names_the_host() {
    let (v4, v6) = both_loopbacks();
    let port = v4.local_addr().unwrap().port();
    let (_four, _six) = (TagServer::start(v4, "v4"), TagServer::start(v6, "v6"));
    let url = format!("http://both.test:{port}/file");
    let both = format!("both.test:{port}:[::1],127.0.0.1");
    for engine in ENGINES {
        for (family, body) in [(None, "v6"), (Some("-4"), "v4"), (Some("-6"), "v6")] {
            let out = out_dir();
            let mut extra = vec!["--engine", engine, "--resolve", &both, &url];
            extra.extend(family);
            let run = miodl(&get_args(out.path(), &extra));
            assert_eq!(run.status, Some(0), "{run}");
            let files = support::saved(out.path());
            assert_eq!(files["file"], body.as_bytes(), "{engine} {family:?}");
        }
        let out = out_dir();
        let only_v6 = format!("both.test:{port}:[::1]");
        let extra = ["--engine", engine, "-4", "--resolve", &only_v6, &url];
        let run = miodl(&get_args(out.path(), &extra));
        assert_eq!(run.status, Some(1), "{run}");
        let expected =
            format!("error: {url}: could not resolve host: both.test: no IPv4 address (-4)");
        assert_eq!(run.stderr_lines(), [expected.as_str()], "{engine}");
    }
}

#[test]
fn a_bad_resolve_is_a_one_line_usage_error() {
    let out = out_dir();
    for (value, why) in [
        ("example.test:80", "expected HOST:PORT:ADDR[,ADDR...]"),
        (":80:127.0.0.1", "expected HOST:PORT:ADDR[,ADDR...]"),
        ("example.test:80:", "expected HOST:PORT:ADDR[,ADDR...]"),
        (
            "example.test:http:127.0.0.1",
            "has a port that is not 1-65535",
        ),
        ("example.test:0:127.0.0.1", "has a port that is not 1-65535"),
        (
            "example.test:80:127.0.0.1,nope",
            "has 'nope' that is not an IP address",
        ),
        (
            "example.test:80:[::1",
            "has '[::1' that is not an IP address",
        ),
        ("a\u{5d0}.test:80:127.0.0.1", "has a host name IDNA refuses"),
    ] {
        let run = miodl(&get_args(
            out.path(),
            &["--resolve", value, "http://example.test/"],
        ));
        assert_eq!(run.status, Some(2), "{run}");
        let expected =
            format!("miodl: invalid value for --resolve: '{value}' {why}; try 'miodl get --help'");
        assert_eq!(run.stderr_lines(), [expected.as_str()]);
    }
}

/// A listener on `[::1]:port` that never accepts ([`support::silent_listener`]): a
/// connect to it gets no answer, as from a host whose IPv6 is broken. `None` if the
/// port is taken on `[::1]`.
fn silent_v6(port: u16) -> Option<Box<dyn std::any::Any + Send>> {
    let addr: SocketAddr = format!("[::1]:{port}").parse().unwrap();
    support::silent_listener(addr).map(|(_, held)| held)
}

#[test]
fn happy_eyeballs_the_second_address_wins_after_the_attempt_delay() {
    let (server, silent) = (0..50)
        .find_map(|_| {
            let server = reference().start();
            let silent = silent_v6(server.addr().port())?;
            Some((server, silent))
        })
        .expect("no port free on both 127.0.0.1 and [::1]");
    let port = server.addr().port();
    let pin = format!("race.test:{port}:[::1],127.0.0.1");
    let url = format!("http://race.test:{port}/bytes/4096");
    let out = out_dir();
    let extra = ["--connect-timeout", "10", "--resolve", &pin, &url];
    let started = Instant::now();
    let run = miodl(&get_args(out.path(), &extra));
    let took = started.elapsed();
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(support::saved(out.path())["4096"].len(), 4096);
    assert_eq!(run.count("happy_eyeballs_races"), 1, "{run}");
    // About the 250 ms attempt delay, far from the 10 s connect timeout.
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(silent);
}

#[test]
fn happy_eyeballs_with_both_families_answering_sends_one_request() {
    let (v4, v6) = both_loopbacks();
    let port = v4.local_addr().unwrap().port();
    let (four, six) = (TagServer::start(v4, "v4"), TagServer::start(v6, "v6"));
    let pin = format!("both.test:{port}:127.0.0.1,[::1]");
    let url = format!("http://both.test:{port}/file");
    let out = out_dir();
    let run = miodl(&get_args(out.path(), &["--resolve", &pin, &url]));
    assert_eq!(run.status, Some(0), "{run}");
    // IPv6 first (RFC 8305 §4), though the pin names IPv4 first.
    assert_eq!(support::saved(out.path())["file"], b"v6");
    assert_eq!(run.count("ok"), 1);
    assert_eq!(run.count("requests"), 1, "{run}");
    // Let a stray second connect show up at the IPv4 server, if there were one.
    thread::sleep(Duration::from_millis(300));
    assert_eq!(six.hosts().len(), 1);
    assert!(four.hosts().is_empty(), "{:?}", four.hosts());
}

#[test]
fn an_international_name_goes_to_dns_and_host_in_punycode_in_every_engine() {
    let (v4, v6) = both_loopbacks();
    drop(v6);
    let port = v4.local_addr().unwrap().port();
    let server = TagServer::start(v4, "idn");
    let url = format!("http://bücher.example:{port}/x");
    // A pin in either form pins the same name.
    let pins = [
        format!("xn--bcher-kva.example:{port}:127.0.0.1"),
        format!("BÜCHER.example:{port}:127.0.0.1"),
    ];
    for engine in ENGINES {
        for pin in &pins {
            let out = out_dir();
            let run = miodl(&get_args(
                out.path(),
                &["--engine", engine, "--resolve", pin, &url],
            ));
            assert_eq!(run.status, Some(0), "{run}");
            assert_eq!(run.count("dns_lookups"), 0, "{run}");
            assert_eq!(support::saved(out.path())["x"], b"idn", "{engine}");
        }
    }
    assert_eq!(
        server.hosts(),
        vec![format!("xn--bcher-kva.example:{port}"); 6]
    );
    // What IDNA refuses is a one-line usage error naming the host.
    let out = out_dir();
    let run = miodl(&get_args(out.path(), &["http://a\u{5d0}.example/x"]));
    assert_eq!(run.status, Some(2), "{run}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{run}");
    assert!(
        lines[0].contains("invalid host \"a\u{5d0}.example\""),
        "{run}"
    );
}

#[test]
fn a_failed_international_name_is_reported_in_its_unicode_form() {
    let out = out_dir();
    let port = support::dead_port();
    let pin = format!("xn--bcher-kva.example:{port}:127.0.0.1");
    let url = format!("http://bücher.example:{port}/x");
    let run = miodl(&get_args(
        out.path(),
        &["--retries", "0", "--resolve", &pin, &url],
    ));
    assert_eq!(run.status, Some(1), "{run}");
    let lines = run.stderr_lines();
    assert!(lines[0].starts_with(&format!("error: {url}: ")), "{run}");
}
