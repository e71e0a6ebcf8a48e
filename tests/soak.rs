//! The soak: a long crawl against a misbehaving in-process reference server, checking that
//! nothing is lost, nothing is doubled, and memory stays flat.
//!
//! Ignored by default (it takes a while); run it in release:
//!
//! ```text
//! cargo test --release --test soak -- --ignored --nocapture
//! SOAK_FILES=20000 cargo test --release --test soak -- --ignored --nocapture   # shorter
//! SOAK_PIPELINE=8 SOAK_CONNECTIONS=8 cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! `--timeout` comes from `SOAK_TIMEOUT`, 2 s by default, to bound a run that goes wrong.
//! (An earlier note here said a FIN arriving with the last bytes could be missed after a
//! short read. It is not: epoll queues the socket again when the FIN lands after the
//! event was taken, and an event that carries the FIN makes the reactor read to EOF.
//! Checked: `miodl serve --port 18112 --files 3000 --seed 9 --fault
//! eof-body:0.2@1,reset-body:0.1@1,short-body:0.1@1`, then `miodl crawl
//! http://127.0.0.1:18112/api/list_files -c 64 --lookahead 4 --retries 5 --retry-delay 1
//! --timeout 30 -q --json -o OUT`: 1,250 retries, 0 failed, 0.26 s; and `SOAK_TIMEOUT=30`
//! soaks take the same 40 s as 2 s ones.)
//!
//! 5 % of requests get a retryable fault (1 % each: reset mid-body, close an idle
//! keep-alive socket, 503 with `Retry-After: 1`, EOF mid-body, reset before the head).
//! `miodl crawl --lookahead 4 -c 64 --retries 10 --retry-delay 1` must save every one of
//! the server's ids exactly once; `miodl verify` checks `1 of N` .. `N of N`.
//!
//! Memory: VmRSS is sampled at ~10 % of the expected requests, then until the end. The
//! server runs in this process, so its memory counts too, and three maps grow with every
//! distinct id by design:
//! - the pager's set of ids handed out (exactly-once across pages): ~100 B per id;
//! - the server's fault dice count requests per identity (`Context::seen`), one entry per
//!   download and per page: ~130 B per id;
//! - the server's per-path request counters (`ServerStats::path_count`): ~120 B per id.
//!
//! So the allowance is [`FLAT_BYTES`] (allocator slack, buffers, hash tables doubling)
//! plus [`PER_ID_BYTES`] for each id handed out after the 10 % sample. A leak per request
//! (a buffer or a job record kept) would break it at once at this scale.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use miodl::app::cli::{parse, Command};
use miodl::app::run::{execute, prepare_crawl, Stderr};
use miodl::app::verify::verify;
use miodl::model::stop::Stop;
use support::reference;

/// Growth allowed whatever the number of ids: allocator slack, pools, table doubling.
const FLAT_BYTES: u64 = 16 << 20;
/// Growth allowed per id handed out after the 10 % sample (the three maps above, with
/// room for hash tables at their least dense).
const PER_ID_BYTES: u64 = 600;

/// Resident set size of this process, in bytes (`VmRSS`), or the peak (`VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field}"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of kB");
    kib * 1024
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

/// A temporary output directory, on /dev/shm when it is writable (no disk in the way).
fn output_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    tempfile::Builder::new()
        .prefix("miodl-soak-")
        .tempdir_in(shm)
        .or_else(|_| tempfile::tempdir())
        .expect("a temporary directory")
}

#[test]
#[ignore = "a long run: cargo test --release --test soak -- --ignored --nocapture"]
fn a_long_faulty_crawl_loses_nothing_doubles_nothing_and_stays_flat() {
    let files: usize = std::env::var("SOAK_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // miodl's default read timeout is 30 s. Until the short-read bug is fixed (module
    // docs), every eof-body and reset-body fault waits out the timeout, so the soak runs
    // with a short one by default; SOAK_TIMEOUT=30 shows the bug.
    let timeout = std::env::var("SOAK_TIMEOUT").unwrap_or_else(|_| "2".to_string());
    // SOAK_PIPELINE=8 runs the same story with HTTP pipelining.
    let pipeline = std::env::var("SOAK_PIPELINE").unwrap_or_else(|_| "1".to_string());
    // Pipelining needs a full pool: SOAK_CONNECTIONS=8 with it.
    let connections = std::env::var("SOAK_CONNECTIONS").unwrap_or_else(|_| "64".to_string());
    let faults = "reset-body:0.01,close-idle:0.01,503:0.01,eof-body:0.01,reset-head:0.01";
    let server = reference().files(files).seed(7).faults(faults).start();
    let stats = server.stats();
    let out = output_dir();
    let list_url = format!("{}/api/list_files", server.base_url());
    let argv = [
        "miodl",
        "crawl",
        &list_url,
        "--lookahead",
        "4",
        "-c",
        &connections,
        "--retries",
        "10",
        "--retry-delay",
        "1",
        "--timeout",
        &timeout,
        "--pipeline",
        &pipeline,
        "-q",
        "-o",
        out.path().to_str().expect("utf-8 path"),
    ];
    let Command::Crawl(args) = parse(argv.iter().map(Into::into)).expect("arguments") else {
        panic!("not a crawl");
    };
    let plan = prepare_crawl(args).expect("plan");

    // Pages of 5 (the server's cap) plus downloads, before any retry.
    let expected = (files + files.div_ceil(5) + 1) as u64;
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (done, stats) = (Arc::clone(&done), Arc::clone(&stats));
        thread::spawn(move || {
            // (requests, rss) at the 10 % sample, then the highest rss seen after it.
            let mut first: Option<(u64, u64)> = None;
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                let requests = stats.requests();
                if first.is_none() && requests >= expected / 10 {
                    first = Some((requests, status_kib("VmRSS:")));
                }
                if first.is_some() {
                    peak = peak.max(status_kib("VmRSS:"));
                }
                thread::sleep(Duration::from_millis(20));
            }
            (first, peak)
        })
    };

    let started = Instant::now();
    let report = execute(plan, &Stop::new(), Stderr::Silent).expect("the crawl runs");
    let wall = started.elapsed();
    let rss_end = status_kib("VmRSS:");
    done.store(true, Ordering::Relaxed);
    let (first, peak) = sampler.join().expect("sampler");
    let (requests_at_10, rss_10) = first.expect("a sample at 10 %");
    let rss_100 = peak.max(rss_end);

    let requests = stats.requests();
    let verified = verify(out.path()).expect("verify");
    println!("soak: {files} files, faults {faults}");
    println!(
        "soak: {requests} requests ({} beyond one per page and file), {} faults injected, wall {:.1} s ({:.0} req/s)",
        requests.saturating_sub(expected),
        stats.faults_injected(),
        wall.as_secs_f64(),
        requests as f64 / wall.as_secs_f64()
    );
    println!("soak: summary {}", report.json());
    println!(
        "soak: rss at 10 % ({requests_at_10} requests) {}, at 100 % {} (after the run {}, peak VmHWM {})",
        mib(rss_10),
        mib(rss_100),
        mib(rss_end),
        mib(status_kib("VmHWM:"))
    );
    println!("soak: verify: {verified}");
    server.shutdown().expect("server stops");

    assert_eq!(report.exit_code(), 0, "{}", report.json());
    assert!(verified.is_ok(), "{verified}");
    assert_eq!(verified.files, files, "files saved");
    assert_eq!(verified.total, Some(files as u64), "x of N");
    let ids_after_10 = files as u64 - (files as u64 * requests_at_10 / expected).min(files as u64);
    let allowance = FLAT_BYTES + PER_ID_BYTES * ids_after_10;
    println!(
        "soak: growth {} allowed {} ({} + {PER_ID_BYTES} B x {ids_after_10} ids)",
        mib(rss_100.saturating_sub(rss_10)),
        mib(allowance),
        mib(FLAT_BYTES)
    );
    assert!(
        rss_100 <= rss_10 + allowance,
        "rss grew from {} to {}, more than {}",
        mib(rss_10),
        mib(rss_100),
        mib(allowance)
    );
}
