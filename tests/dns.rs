//! Name resolution never stops the loop (docs/architecture.md, "Names off the loop"):
//! the test supplies the resolver through the library, so it decides how long a
//! lookup takes, and nothing depends on the machine's network.
//!
//! - With one host whose lookup takes 2 s and another serving 200 files, the 200 files
//!   are saved while the slow lookup still runs; then the slow host's files are too,
//!   after one lookup for all of them.
//! - A failing lookup fails its host's jobs, with an error naming the host, and no
//!   other host's, in every engine.

mod support;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use miodl::{Downloader, Engine, FileHandler, JobError, Resolve, SavedFile, Url};
use support::*;

/// How long `slow.test` takes to resolve.
const SLOW: Duration = Duration::from_secs(2);

/// A resolver that knows `fast.test` and `slow.test` (both 127.0.0.1, the second after
/// [`SLOW`]) and fails `bad.test`; it counts its lookups and notes when each ended.
#[derive(Clone, Default)]
struct TestResolver {
    log: Arc<Mutex<Vec<(String, Instant)>>>,
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
}

impl FileHandler for Seen {
    fn saved(&mut self, file: &SavedFile<'_>) {
        let host = file.url.host().to_string();
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
    let (resolver, seen) = (TestResolver::default(), Seen::default());
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
