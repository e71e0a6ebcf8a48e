//! `miodl crawl` against the reference server's fault injection (`serve --fault`):
//! retryable faults are ridden out and every run verifies; faults that are not
//! retryable fail only the files they hit, leave no partial files, and exit 1.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use miodl::serve::{FaultKind, FaultPlan};
use support::{
    crawl, list_url, miodl, names_in, reference, sorted, verify_text, Run, ServerHandle,
};

const FILES: usize = 25;

/// The idle limit for these runs. The server never goes silent here (no `stall`
/// faults, no lag), so an idle timeout can only mean the client missed a close or a
/// reset; it is kept short so such a miss costs seconds, not minutes.
const TIMEOUT: &str = "3";

/// `miodl crawl` without `-q`, so every retry is explained on stderr.
fn crawl_loud(server: &ServerHandle, dir: &std::path::Path, extra: &[&str]) -> Run {
    let url = list_url(server);
    let out = dir.to_str().unwrap();
    let mut args = vec![
        "crawl",
        &url,
        "--json",
        "-o",
        out,
        "--retry-delay",
        "10",
        "--timeout",
        TIMEOUT,
    ];
    args.extend_from_slice(extra);
    miodl(&args)
}

/// Retries the client explained as an idle timeout ("no data for ..."): with a server
/// that closes or resets instead of stalling, each is a missed EOF/RST.
fn idle_timeouts(run: &Run) -> Vec<&str> {
    (run.stderr.lines())
        .filter(|l| l.contains("no data for"))
        .collect()
}

/// Crawls a server with `spec` injected and checks the run came through whole, and
/// that every failure was seen for what it was (never waited out as a timeout).
fn assert_survives(spec: &str, seed: u64, extra: &[&str]) -> (ServerHandle, Run) {
    let server = reference().files(FILES).seed(seed).faults(spec).start();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl_loud(&server, dir.path(), extra);
    let context = format!("fault {spec:?} seed {seed} {extra:?}");
    assert_eq!(run.status, Some(0), "{context}\n{run}");
    assert_eq!(run.count("failed"), 0, "{context}\n{run}");
    assert_eq!(run.count("ok"), FILES as u64, "{context}\n{run}");
    assert_eq!(verify_text(dir.path()), "ok: 25 files", "{context}\n{run}");
    assert_eq!(names_in(dir.path()), sorted(server.ids()), "{context}");
    assert!(
        server.stats().faults_injected() > 0,
        "{context}: the seed injected no fault, the test proves nothing"
    );
    assert_eq!(
        idle_timeouts(&run),
        Vec::<&str>::new(),
        "{context}: a close or reset was only noticed by the idle timeout\n{run}"
    );
    (server, run)
}

#[test]
fn every_first_try_503_with_retry_after_is_waited_out() {
    let server = reference().files(FILES).seed(21).faults("503:1@1").start();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(
        &list_url(&server),
        dir.path(),
        &["--retry-delay", "10", "--timeout", "10"],
    );
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(verify_text(dir.path()), "ok: 25 files", "{run}");
    assert_eq!(run.count("ok"), 25, "{run}");
    assert_eq!(run.count("failed"), 0, "{run}");
    // One pause of the host per page (5) and per file (25), each retried without
    // using up a try (docs/reference.md §5, "Throttled hosts").
    assert_eq!(run.count("throttled"), 30, "{run}");
    assert_eq!(run.count("retries"), 0, "{run}");
    assert_eq!(
        run.count("requests"),
        60 + run.count("stale_resends"),
        "every target twice\n{run}"
    );
    assert_eq!(server.stats().faults_injected(), 30, "{run}");
    for id in server.ids() {
        let n = server.stats().path_count(&format!("/api/download/{id}"));
        assert_eq!(n, 2, "{id}: a 503, then the file\n{run}");
    }
    // Retry-After: 1 wins over --retry-delay 10 ms.
    assert!(run.elapsed >= Duration::from_secs(1), "{run}");
    let elapsed_s = run.json()["elapsed_s"].as_f64().unwrap();
    assert!(elapsed_s >= 1.0, "elapsed_s {elapsed_s}\n{run}");
}

#[test]
fn reset_mid_body_twice_per_download_is_retried() {
    let (_server, run) = assert_survives("reset-body:0.3@2=/api/download/", 22, &[]);
    assert!(run.count("retries") > 0, "{run}");
}

#[test]
fn a_server_closing_idle_keep_alive_sockets_costs_no_file() {
    assert_survives("close-idle:0.3", 23, &[]);
}

#[test]
fn eof_mid_body_is_retried() {
    let (_server, run) = assert_survives("eof-body:0.2@1", 24, &[]);
    assert!(run.count("retries") > 0, "{run}");
}

#[test]
fn a_truncated_chunked_body_is_retried() {
    let (_server, run) = assert_survives("truncated-chunked:0.3@1", 25, &[]);
    assert!(run.count("retries") > 0, "{run}");
}

#[test]
fn a_short_body_is_retried() {
    let (_server, run) = assert_survives("short-body:0.3@1", 26, &[]);
    assert!(run.count("retries") > 0, "{run}");
}

#[test]
fn a_reset_before_the_head_is_retried_or_resent() {
    let (_server, run) = assert_survives("reset-head:0.3@1", 26, &[]);
    // A reset before any byte on a reused socket looks like the keep-alive race and is
    // resent at once (not a try); on a fresh socket it is a retry.
    let recovered = run.count("retries") + run.count("stale_resends");
    assert!(recovered > 0, "{run}");
}

#[test]
fn status_500_502_504_are_retried() {
    let (_server, run) = assert_survives("500:0.3@1,502:0.3@1,504:0.3@1", 26, &[]);
    assert!(run.count("retries") > 0, "{run}");
}

const MIX: &str =
    "reset-body:0.2@1=/api/download/,close-idle:0.2,eof-body:0.2@1,truncated-chunked:0.2@1";

fn rides_out_the_mix(engine: &str) {
    let (_server, run) = assert_survives(MIX, 27, &["--engine", engine]);
    assert_eq!(run.json()["engine"], engine);
    assert!(run.count("retries") > 0, "{run}");
}

#[test]
fn the_reactor_rides_out_a_mix_of_faults() {
    rides_out_the_mix("reactor");
}

#[test]
fn the_blocking_engine_rides_out_a_mix_of_faults() {
    rides_out_the_mix("blocking");
}

#[test]
fn the_threads_engine_rides_out_a_mix_of_faults() {
    rides_out_the_mix("threads");
}

#[test]
fn with_lookahead_faulty_pages_are_still_each_read_once() {
    let (_server, run) =
        assert_survives("reset-body:0.3@1,eof-body:0.3@1", 28, &["--lookahead", "3"]);
    assert_eq!(
        run.count("pages"),
        5 + run.count("extra_pages"),
        "answered pages\n{run}"
    );
}

/// Checks a run where exactly the downloads of `doomed` got a non-retryable fault.
fn assert_only_doomed_failed(
    server: &ServerHandle,
    run: &Run,
    dir: &std::path::Path,
    doomed: &BTreeSet<String>,
) {
    assert!(!doomed.is_empty(), "the test needs at least one doomed id");
    assert_eq!(run.status, Some(1), "{run}");
    assert_eq!(run.count("failed"), doomed.len() as u64, "{run}");
    assert_eq!(run.count("ok"), (FILES - doomed.len()) as u64, "{run}");
    let survivors: Vec<&String> = server
        .ids()
        .iter()
        .filter(|id| !doomed.contains(*id))
        .collect();
    // Every other file saved, and nothing else: no partial or temporary files.
    assert_eq!(names_in(dir), sorted(&survivors), "{run}");
    for id in server.ids() {
        let n = server.stats().path_count(&format!("/api/download/{id}"));
        assert_eq!(
            n, 1,
            "{id} asked {n} times: garbage is not retryable\n{run}"
        );
    }
    assert_eq!(run.count("retries"), 0, "{run}");
    for id in doomed {
        let url = format!("{}/api/download/{id}", server.base_url());
        assert!(
            run.stderr.lines().any(|l| l.contains(&url)),
            "no error line names {url}\n{run}"
        );
    }
    let text = verify_text(dir);
    assert!(
        text.lines().all(|l| l.starts_with("missing number")),
        "verify should only miss numbers:\n{text}"
    );
}

#[test]
fn garbage_for_one_download_fails_that_file_only() {
    let probe = reference().files(FILES).seed(29).start();
    let victim = probe.ids()[7].clone();
    drop(probe);
    let spec = format!("garbage@9=/api/download/{victim}");
    let server = reference().files(FILES).seed(29).faults(&spec).start();
    assert_eq!(
        server.ids()[7],
        victim,
        "the catalog is a function of the seed"
    );
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(
        &list_url(&server),
        dir.path(),
        &["--retry-delay", "10", "--timeout", "10"],
    );
    let doomed = BTreeSet::from([victim]);
    assert_only_doomed_failed(&server, &run, dir.path(), &doomed);
}

#[test]
fn garbage_at_random_fails_exactly_the_files_it_hits() {
    let spec = "garbage:0.3=/api/download/";
    let seed = 30;
    let server = reference().files(FILES).seed(seed).faults(spec).start();
    // The fault plan is a pure function, so the test knows which downloads get garbage
    // (each download is asked once: garbage is not retried).
    let plan = FaultPlan::parse(spec).unwrap();
    let doomed: BTreeSet<String> = (server.ids().iter())
        .filter(|id| {
            plan.decide(seed, &format!("GET /api/download/{id}"), 0) == Some(FaultKind::Garbage)
        })
        .cloned()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(
        &list_url(&server),
        dir.path(),
        &["--retry-delay", "10", "--timeout", "10"],
    );
    assert_only_doomed_failed(&server, &run, dir.path(), &doomed);
    assert_eq!(server.stats().faults_injected(), doomed.len() as u64);
}

#[test]
fn an_item_url_template_to_missing_ids_saves_nothing_and_exits_1() {
    let server = reference().files(FILES).seed(31).start();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(
        &list_url(&server),
        dir.path(),
        &[
            "--retry-delay",
            "10",
            "--item-url",
            "{origin}/api/download/x{id}",
        ],
    );
    assert_eq!(run.status, Some(1), "{run}");
    assert_eq!(run.count("ok"), 0, "{run}");
    assert_eq!(run.count("failed"), 25, "{run}");
    assert_eq!(run.count("retries"), 0, "a 404 is not retryable\n{run}");
    assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{run}");
    for id in server.ids() {
        let n = server.stats().path_count(&format!("/api/download/x{id}"));
        assert_eq!(n, 1, "x{id} asked {n} times\n{run}");
    }
    assert!(
        run.stderr.lines().filter(|l| l.contains("404")).count() == 25,
        "one error line per file, naming the status\n{run}"
    );
}
